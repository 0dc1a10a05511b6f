"""The operator at a terminal: questions written to it and answers read from it.

It reads and writes the terminal device itself (`/dev/tty`, or the path of the bench
runner's terminal), never stdin or stdout: pytest captures those while rules run.
While a question is shown, the live progress line is not redrawn over it, and the
instance's last-resort deadline and the run's bound stand still (`deadline.paused`): the
question's own deadline bounds the wait. With a lock file (a bench run), one process at a
time shows a question; each question names the DUT it is about.
"""

from __future__ import annotations

import os
import select
import termios
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from certkit.evidence import EvidenceLog
from certkit.operator.base import Answer, Kind, Operator, Question, Status
from certkit.operator.lock import PromptLock, PromptLockTimeout

# How long a question may wait for other DUTs' questions to be answered before it is shown.
LOCK_WAIT_S = 900.0

HINTS = {
    Kind.CONFIRM: "Enter: confirm, n: decline",
    Kind.YES_NO: "y: yes, n: no",
    Kind.CHOOSE: "a number or a choice",
    Kind.DO_NOW: "Enter when done, n: cannot",
}


def parse(question: Question, typed: str) -> bool | str | None:
    """The answer a typed line gives, or None when it answers nothing (asked again)."""
    word = typed.strip().lower()
    if question.kind is Kind.CHOOSE:
        if word.isdigit() and 1 <= int(word) <= len(question.choices):
            return question.choices[int(word) - 1]
        matches = [c for c in question.choices if c.lower() == word]
        return matches[0] if matches else None
    if word in ("y", "yes") or (word in ("", "done", "d") and question.kind is not Kind.YES_NO):
        return True
    if word in ("n", "no") or (word == "cannot" and question.kind is Kind.DO_NOW):
        return False
    return None


class TerminalOperator(Operator):
    present = True

    def __init__(self, evidence: EvidenceLog | None = None, dut: str = "",
                 terminal: str = "/dev/tty", lock: Path | None = None) -> None:
        super().__init__(evidence, dut)
        self.terminal = terminal
        self.lock = PromptLock(lock) if lock else None
        self._in_process = threading.Lock()

    @property
    def shown(self) -> str:
        return f"at the terminal {self.terminal}" + (f" (one question at a time: {self.lock.path})"
                                                     if self.lock else "")

    def _answer(self, question: Question) -> Answer:
        from certkit.deadline import paused
        from certkit.report.progress import operator_pause

        with self._in_process, paused():
            if self.lock is not None:
                try:
                    self.lock.acquire(LOCK_WAIT_S, f"{question.dut}: {question.text}")
                except PromptLockTimeout as exc:
                    self._shown(question)
                    return Answer(question, Status.NO_ANSWER, why=str(exc))
            try:
                with operator_pause():  # the live status line must not overwrite it
                    return self._at_terminal(question)
            finally:
                if self.lock is not None:
                    self.lock.release()

    def _at_terminal(self, question: Question) -> Answer:
        self._shown(question)
        try:
            fd = os.open(self.terminal, os.O_RDWR | os.O_NOCTTY)
        except OSError as exc:
            return Answer(question, Status.NO_OPERATOR,
                          why=f"the terminal {self.terminal} cannot be opened: "
                              f"{exc.strerror or exc}")
        try:
            try:
                termios.tcflush(fd, termios.TCIFLUSH)  # keys typed before the question
            except termios.error:
                pass  # not a terminal (a pipe in a test harness): nothing typed ahead
            return self._converse(fd, question)
        except KeyboardInterrupt:  # Ctrl-C, SIGTERM: the run stops, the question ends its line
            os.write(fd, b"\n  (the run was stopped)\n")
            raise
        finally:
            os.close(fd)

    def _converse(self, fd: int, question: Question) -> Answer:
        asked_at = datetime.now(UTC)
        started = time.monotonic()
        give_up = started + question.deadline_s
        os.write(fd, _block(question).encode("utf-8", "replace"))
        while True:
            left = give_up - time.monotonic()
            ready = select.select([fd], [], [], max(left, 0.0))[0] if left > 0 else []
            if not ready:
                os.write(fd, f"\n  (no answer within {question.deadline_s:g} s; certkit "
                             "goes on without it)\n".encode())
                return Answer(question, Status.NO_ANSWER, asked_at=asked_at,
                              waited_s=time.monotonic() - started)
            typed = os.read(fd, 1024)
            now = time.monotonic()
            if not typed:  # the terminal hung up, or Ctrl-D
                return Answer(question, Status.NO_ANSWER, asked_at=asked_at,
                              waited_s=now - started, answered_mono=now,
                              why="the terminal closed without an answer")
            value = parse(question, typed.decode("utf-8", "replace"))
            if value is not None:
                return Answer(question, Status.ANSWERED, value, asked_at, now - started,
                              answered_mono=now)
            os.write(fd, f"  ({HINTS[question.kind]}) > ".encode())


def _block(question: Question) -> str:
    """The question as the operator sees it: who asks, about which DUT, by when."""
    about = f" [{question.dut}]" if question.dut else ""
    lines = [f"\n\ncertkit operator{about}: answer within {question.deadline_s:g} s",
             f"  {question.text}"]
    lines += [f"    {n}) {choice}" for n, choice in enumerate(question.choices, 1)]
    lines.append(f"  ({HINTS[question.kind]}) > ")
    return "\n".join(lines)
