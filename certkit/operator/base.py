"""The operator interface: what rules and the bench may ask the person at the bench.

Four kinds of question, each with a deadline (seconds the operator has to answer):

- `confirm(text)`: the operator acknowledges (or declines) a statement;
- `yes_no(text)`: a yes or a no;
- `choose(text, choices)`: one of several answers;
- `do_now(action)`: the operator does something to the DUT now (press the pairing
  button, power-cycle the device) and says when it is done, or that it cannot be done.

Every question gets an `Answer`, never an exception: answered (with its value), `no
operator` (an unattended run answers at once) or `no answer` (the deadline passed). The
caller decides what each means for its rule. Question and answer go into the run's
evidence with their times (`operator ->` the question, `operator <-` the answer), so the
instance that asked keeps them.
"""

from __future__ import annotations

import abc
import enum
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from certkit.evidence import EvidenceLog

DEFAULT_DEADLINE_S = 120.0
CHANNEL = "operator"


class Kind(str, enum.Enum):
    CONFIRM = "confirm"
    YES_NO = "yes-no"
    CHOOSE = "choose"
    DO_NOW = "do-now"


class Status(str, enum.Enum):
    ANSWERED = "answered"
    NO_OPERATOR = "no operator"
    NO_ANSWER = "no answer"  # the deadline passed


@dataclass(frozen=True)
class Question:
    kind: Kind
    text: str
    deadline_s: float
    choices: tuple[str, ...] = ()
    dut: str = ""  # the DUT the question is about (several may share one operator)

    def __post_init__(self) -> None:
        if self.deadline_s <= 0:
            raise ValueError(f"an operator question needs a positive deadline: {self!r}")
        if self.kind is Kind.CHOOSE and len(self.choices) < 2:
            raise ValueError(f"choose needs two choices or more: {self.choices!r}")

    def shown(self) -> str:
        """The question in one line, as the evidence shows it."""
        extra = f" [{' | '.join(self.choices)}]" if self.choices else ""
        return f"{self.kind.value}: {self.text}{extra} (deadline {self.deadline_s:g} s)"


@dataclass(frozen=True)
class Answer:
    question: Question
    status: Status
    # confirm, yes_no, do_now: True (confirmed, yes, done) or False; choose: the choice.
    value: bool | str | None = None
    asked_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    waited_s: float = 0.0  # from the question shown to the answer (or the deadline)
    why: str = ""  # NO_OPERATOR: why the run has none; NO_ANSWER: what came instead
    answered_mono: float = field(default_factory=time.monotonic)  # when the answer came

    @property
    def answered(self) -> bool:
        return self.status is Status.ANSWERED

    @property
    def affirmative(self) -> bool:
        """Confirmed, yes, or done."""
        return self.answered and self.value is True

    def shown(self) -> str:
        if self.status is Status.NO_OPERATOR:
            return f"no operator ({self.why})" if self.why else "no operator"
        if self.status is Status.NO_ANSWER:
            return self.why or f"no answer within {self.question.deadline_s:g} s"
        value = self.value
        if isinstance(value, bool):
            value = {Kind.CONFIRM: ("declined", "confirmed"), Kind.YES_NO: ("no", "yes"),
                     Kind.DO_NOW: ("cannot", "done")}[self.question.kind][value]
        return f"{value} after {self.waited_s:.1f} s"

    def describe(self) -> str:
        """For a rule's message: what the operator was asked and what came of it."""
        return f"the operator was asked to {self.question.text!r}: {self.shown()}"


class Operator(abc.ABC):
    """The person at the bench, or their absence. One per run (`certkit.operator.current`)."""

    present: bool

    def __init__(self, evidence: EvidenceLog | None = None, dut: str = "") -> None:
        self.evidence = evidence
        self.dut = dut

    def confirm(self, text: str, deadline_s: float = DEFAULT_DEADLINE_S) -> Answer:
        return self.ask(Question(Kind.CONFIRM, text, deadline_s, dut=self.dut))

    def yes_no(self, text: str, deadline_s: float = DEFAULT_DEADLINE_S) -> Answer:
        return self.ask(Question(Kind.YES_NO, text, deadline_s, dut=self.dut))

    def choose(self, text: str, choices: list[str] | tuple[str, ...],
               deadline_s: float = DEFAULT_DEADLINE_S) -> Answer:
        return self.ask(Question(Kind.CHOOSE, text, deadline_s, tuple(choices), dut=self.dut))

    def do_now(self, action: str, deadline_s: float = DEFAULT_DEADLINE_S) -> Answer:
        return self.ask(Question(Kind.DO_NOW, action, deadline_s, dut=self.dut))

    def ask(self, question: Question) -> Answer:
        answer = self._answer(question)
        self._record("<-", answer.shown(), at=answer.answered_mono)
        return answer

    @property
    @abc.abstractmethod
    def shown(self) -> str:
        """Who answers, as the verdict's bench shows it."""

    @abc.abstractmethod
    def _answer(self, question: Question) -> Answer:
        """Put the question (calling `_shown` as the operator gets it) and get its answer."""

    def _shown(self, question: Question) -> None:
        self._record("->", question.shown())

    def _record(self, direction: str, text: str, at: float | None = None) -> None:
        if self.evidence is not None:
            self.evidence.record(CHANNEL, direction, text, at=at)


class NoOperator(Operator):
    """An unattended run (CI, `--no-operator`, no terminal): every question is answered
    `no operator` at once."""

    present = False

    def __init__(self, why: str, evidence: EvidenceLog | None = None, dut: str = "") -> None:
        super().__init__(evidence, dut)
        self.why = why

    @property
    def shown(self) -> str:
        return f"none ({self.why})"

    def _answer(self, question: Question) -> Answer:
        self._shown(question)
        return Answer(question, Status.NO_OPERATOR, why=self.why)
