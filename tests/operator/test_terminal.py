"""The terminal operator in a real terminal (a tmux pane): each kind of question answered
as an operator types it, the deadline passing with no answer, and two processes (as the
DUTs of a bench run) that share one operator asking one at a time."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

from certkit.evidence import EvidenceLog
from certkit.operator import NoOperator, Status, TerminalOperator, for_run, unattended
from certkit.operator.base import Kind, Question
from certkit.operator.terminal import parse
from tests.operator.terminal import Pane
from tests.support.paths import ROOT


@pytest.fixture
def pane_of():
    panes: list[Pane] = []

    def start(*command: str, env: dict[str, str] | None = None) -> Pane:
        pane = Pane(list(command), ROOT, env or {})
        panes.append(pane)
        return pane

    yield start
    for pane in panes:
        pane.close()


def ask(out: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "tests.operator.ask", str(out), *args]


def answer_of(out: Path) -> dict:
    return json.loads(out.read_text("utf-8"))


@pytest.mark.parametrize(("args", "typed", "value", "shown"), [
    (("do-now", "Press the pairing button"), [""], True, "done"),
    (("do-now", "Press the pairing button"), ["n"], False, "cannot"),
    (("yes-no", "Is the LED green?"), ["maybe", "y"], True, "yes"),
    (("confirm", "The lid is closed"), [""], True, "confirmed"),
    (("choose", "Which colour is the LED?", "red", "green", "blue"), ["2"], "green", "green"),
    (("choose", "Which colour is the LED?", "red", "green", "blue"), ["blue"], "blue", "blue"),
])
def test_each_kind_of_question_is_answered_at_the_terminal(pane_of, tmp_path, args, typed,
                                                           value, shown):
    out = tmp_path / "answer.json"
    pane = pane_of(*ask(out, *args, "--dut", "kettle-a"))
    screen = pane.wait_for(r"certkit operator \[kettle-a\]: answer within 30 s")
    assert args[1] in screen
    for line in typed:
        pane.send(line, "Enter")
        if line == "maybe":  # not an answer: asked again, with what answers
            pane.wait_for(r"\(y: yes, n: no\) > ", count=2)
    assert pane.exit_code() == 0
    answer = answer_of(out)
    assert answer["status"] == "answered" and answer["value"] == value
    question, said = answer["evidence"]
    assert f"operator -> {Kind(args[0]).value}: {args[1]}" in question
    assert f"operator <- {shown} after " in said


def test_no_answer_by_the_deadline(pane_of, tmp_path):
    out = tmp_path / "answer.json"
    pane = pane_of(*ask(out, "do-now", "Warm the sensor", "--deadline", "1"))
    pane.wait_for(r"Warm the sensor")
    assert pane.exit_code() == 0
    assert "(no answer within 1 s; certkit goes on without it)" in pane.screen()
    answer = answer_of(out)
    assert answer["status"] == "no answer" and answer["value"] is None
    assert answer["evidence"][1].endswith("operator <- no answer within 1 s")


def test_keys_typed_before_the_question_do_not_answer_it(tmp_path):
    """A stray Enter pressed earlier is not taken as `done`: the deadline passes."""
    controller, terminal = os.openpty()
    try:
        os.write(controller, b"\n")
        operator = TerminalOperator(EvidenceLog(), terminal=os.ttyname(terminal))
        answer = operator.do_now("Power-cycle the device", 0.5)
        assert answer.status is Status.NO_ANSWER
    finally:
        os.close(controller)
        os.close(terminal)


def test_two_processes_ask_one_at_a_time(pane_of, tmp_path):
    """As the DUT processes of a bench run: each in a session of its own (no controlling
    terminal), given the bench's terminal and lock file; the second question shows only
    once the first is answered, and each names its DUT."""
    lock = tmp_path / "operator.lock"
    outs = {name: tmp_path / f"{name}.json" for name in ("kettle-a", "kettle-b")}
    script = ("import os, subprocess, sys\n"
              "terminal = os.ttyname(0)  # as the bench runner names its terminal\n"
              "runs = [subprocess.Popen([sys.executable, '-m', 'tests.operator.ask', out, "
              "'do-now', 'Press the pairing button of ' + name, '--terminal', terminal, "
              "'--lock', sys.argv[2], '--dut', name], start_new_session=True, "
              "stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)\n"
              "        for name, out in zip(sys.argv[3::2], sys.argv[4::2])]\n"
              "sys.exit(max(run.wait(60) for run in runs))\n")
    pane = pane_of(sys.executable, "-c", script, "-", str(lock),
                   *[str(x) for name, out in outs.items() for x in (name, out)])
    first = pane.wait_for(r"certkit operator \[kettle-[ab]\]")
    assert len(re.findall(r"certkit operator \[", first)) == 1
    first_dut = "kettle-a" if "[kettle-a]" in first else "kettle-b"
    assert lock.read_text().startswith(f"{first_dut}: Press the pairing button")
    pane.send("", "Enter")
    second = pane.wait_for(r"certkit operator \[", count=2)
    second_dut = ({"kettle-a", "kettle-b"} - {first_dut}).pop()
    assert f"[{second_dut}]" in second
    pane.send("", "Enter")
    assert pane.exit_code() == 0
    a, b = answer_of(outs[first_dut]), answer_of(outs[second_dut])
    assert a["value"] is True and b["value"] is True
    assert a["answered"] <= b["asked"]  # the second was shown after the first's answer
    assert lock.read_text() == ""  # no question on the screen any more


def test_parse_reads_what_operators_type():
    choose = Question(Kind.CHOOSE, "Which?", 5, ("red", "green"))
    assert parse(choose, "1\n") == "red" and parse(choose, "GREEN") == "green"
    assert parse(choose, "3") is None and parse(choose, "") is None
    yes_no = Question(Kind.YES_NO, "Lit?", 5)
    assert parse(yes_no, "") is None and parse(yes_no, "Yes") is True
    do_now = Question(Kind.DO_NOW, "Press it", 5)
    assert parse(do_now, "") is True and parse(do_now, "cannot") is False


def test_an_unattended_run_answers_no_operator_at_once():
    evidence = EvidenceLog()
    for why, operator in [
        ("--no-operator", for_run(evidence, no_operator=True, stdin_is_terminal=True)),
        ("a CI run (CI=true)", for_run(evidence, stdin_is_terminal=True,
                                       environ={"CI": "true"})),
        ("the run was not started from a terminal", for_run(evidence, environ={})),
        ("every transport is emulated: no device for an operator to act on",
         for_run(evidence, stdin_is_terminal=True, all_emulated=True, environ={})),
    ]:
        assert isinstance(operator, NoOperator) and not operator.present
        answer = operator.yes_no("Is the LED green?", 600)
        assert answer.status is Status.NO_OPERATOR and answer.why == why
    assert unattended(False, True, {"CI": "false"}) is None
    assert isinstance(for_run(evidence, stdin_is_terminal=True, environ={}), TerminalOperator)
    lines = [item.line() for item in evidence.since(0)]
    assert lines[0].endswith("operator -> yes-no: Is the LED green? (deadline 600 s)")
    assert lines[1].endswith("operator <- no operator (--no-operator)")
