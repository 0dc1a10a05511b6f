"""What `certkit run` shows while it goes: in a real terminal (tmux), in a CI log, with -q.

The live display redraws one status line (instance, transport, done/total, elapsed, an
estimate from the plan), puts fails and errors above it as they happen and the operator's
lines (the MQTT endpoint) on lines of their own, and ends with certkit's verdict table:
no pytest dots, no closing line of pytest's own counts.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from certkit.design import lint_file
from certkit.plan import make_plan
from certkit.report.progress import (
    REDRAW_S,
    Progress,
    clock,
    operator_pause,
    transport_of,
    typical_s,
)
from tests.report.test_html_report import ARTIFACTS
from tests.support.cli import certkit, certkit_command
from tests.support.paths import KETTLE, ROOT

TMUX = shutil.which("tmux")
SELECTION = ("--rules", "SER-00[12]", "--rules", "MQT-001")
RUN_DEADLINE_S = 150


def _tmux(*args: str) -> str:
    return subprocess.run([TMUX, *args], capture_output=True, text=True, timeout=10,
                          check=True).stdout


@pytest.fixture
def terminal_run(tmp_path) -> list[str]:
    """`certkit run` in a 100x40 tmux terminal (SER-001 made to fail); every screen seen
    while it ran, the last one after it ended."""
    if TMUX is None:
        pytest.fail("tmux is needed for this test (dev/test installs it)")
    session = f"certkit-progress-{uuid.uuid4().hex[:8]}"
    command = shlex.join(certkit_command("run", KETTLE, "--emulate", "--fault",
                                         "serial:wrong-model", *SELECTION,
                                         "--out", tmp_path / "out"))
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in os.environ.items()
                   if k in ("PATH", "HOME", "PYTHONPATH", "VIRTUAL_ENV") or k.startswith("CERTKIT"))
    script = f"cd {shlex.quote(str(ROOT))} && env {env} TERM=xterm {command}; echo CERTKIT-EXIT=$?"
    _tmux("-L", session, "new-session", "-d", "-s", session, "-x", "100", "-y", "40", script
          + "; sleep 60")
    screens: list[str] = []
    try:
        deadline = time.monotonic() + RUN_DEADLINE_S
        while time.monotonic() < deadline:
            screen = _tmux("-L", session, "capture-pane", "-p", "-t", session)
            screens.append(screen)
            if "CERTKIT-EXIT=" in screen:
                break
            time.sleep(0.2)
        else:
            pytest.fail("certkit run did not end in the terminal within "
                        f"{RUN_DEADLINE_S} s:\n{screens[-1] if screens else ''}")
    finally:
        subprocess.run([TMUX, "-L", session, "kill-server"], capture_output=True, timeout=10,
                       check=False)
    return screens


def test_live_progress_in_a_terminal(terminal_run):
    final = terminal_run[-1]
    lines = [line.rstrip() for line in final.splitlines()]
    # While it ran: a status line with done/total, elapsed, the estimate and the instance.
    status = [line for screen in terminal_run for line in screen.splitlines()
              if re.search(r"\[\d/3\] \d+:\d\d elapsed, ~\d+:\d\d left", line)]
    assert status, "no status line was ever shown"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)  # what the terminal showed, for people
    (ARTIFACTS / "progress-terminal.txt").write_text(
        "while running:\n" + next(s for s in terminal_run if status[-1] in s).rstrip()
        + "\n\nat the end:\n" + final.rstrip() + "\n", "utf-8")
    assert any("SER-002 (serial)" in line for line in status), status[-5:]
    # The fail as it happened, with its message, on a line of its own.
    fail = [line for line in lines if line.startswith("FAIL    SER-001: ")]
    assert fail and "expected" in fail[0], final
    # The operator's line starts a line (never mid-row), and is there once.
    endpoint = [line for line in lines if "MQTT endpoint for the DUT:" in line]
    assert len(endpoint) == 1 and endpoint[0].startswith("certkit: MQTT endpoint"), final
    # certkit's table and verdict, no pytest dots or pytest counts.
    assert "SER-001   M   FAIL    1/1" in final
    assert "instances: 2 pass, 1 fail" in final
    assert "VERDICT: NOT CERTIFIED" in final and "CERTKIT-EXIT=1" in final
    assert not [line for line in lines if re.fullmatch(r"[.FEsxw]+( +\[ *\d+%\])?", line)]
    assert " passed" not in final and " failed" not in final
    # The status line is gone once the verdict shows.
    assert not any("elapsed" in line for line in lines), final


def test_plain_lines_in_a_ci_log(tmp_path):
    result = certkit("run", KETTLE, "--emulate", "--fault", "serial:wrong-model", *SELECTION,
                     "--out", tmp_path / "out")
    assert result.code == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "\r" not in result.stdout and "\x1b" not in result.stdout  # a log, not a terminal
    assert re.fullmatch(r"certkit: 3 rule instances, about \d+:\d\d by the plan", lines[0])
    done = [line for line in lines if re.match(r"\[\d/3 \d+:\d\d\] ", line)]
    assert sorted(line.split()[2:4] for line in done) == [  # in the catalogue's run order
        ["FAIL", "SER-001"], ["pass", "MQT-001"], ["pass", "SER-002"]], done
    assert re.search(r"\] FAIL    SER-001 \(\d+\.\d s\): expected", result.stdout)
    assert lines[-1] == "VERDICT: NOT CERTIFIED (partial: only rules matching SER-00[12], MQT-001)"
    assert "certkit: MQTT endpoint for the DUT: mqtt://" in result.stdout
    assert " passed" not in result.stdout and " failed" not in result.stdout


def test_quiet_prints_the_verdict_only(tmp_path):
    result = certkit("run", KETTLE, "--emulate", "--rules", "SER-001", "-q",
                     "--out", tmp_path / "out")
    assert result.code == 0, result.stdout + result.stderr
    assert result.stdout == "VERDICT: CERTIFIED (partial: only rules matching SER-001)\n"
    assert (Path(tmp_path / "out") / "verdict.json").exists()


def test_the_estimate_comes_from_the_plan():
    """No past runs: each instance's typical time from its rule's limits, what is left
    scaled by how the run has kept to the plan so far."""
    plan = make_plan(lint_file(KETTLE).profile, ())
    shown = io.StringIO()
    progress = Progress("plain", shown)
    progress.begin(plan.instances)
    try:
        planned = {i.id: typical_s(i.rule) if i.applies else 0.0 for i in plan.instances}
        total = sum(planned.values())
        assert shown.getvalue() == (f"certkit: {len(plan.instances)} rule instances, about "
                                    f"{clock(total)} by the plan\n")
        int_005 = next(i for i in plan.instances if i.rule.id == "INT-005")
        dsn_001 = next(i for i in plan.instances if i.rule.id == "DSN-001")
        assert typical_s(int_005.rule) > 100 * typical_s(dsn_001.rule)  # 50 cycles
        assert (transport_of(int_005), transport_of(dsn_001)) == ("serial", "design")
        serial = [i for i in plan.instances if i.rule.transport == "serial" and i.applies][:5]
        for instance in serial[:4]:  # as planned: what is left is the rest of the plan
            progress.finished_instance(instance.id, "pass", "", planned[instance.id])
        left = total - sum(planned[i.id] for i in serial[:4])
        assert progress.left_s() == pytest.approx(left)
        progress.finished_instance(serial[4].id, "pass", "", 2 * planned[serial[4].id] + sum(
            planned[i.id] for i in serial[:4]))  # the run now takes twice the plan's time
        left -= planned[serial[4].id]
        assert progress.left_s() == pytest.approx(2 * left)
    finally:
        progress.end()


def test_an_operator_question_is_not_overwritten_by_the_status_line():
    """While the operator is asked to reset the DUT (serial --reset prompt), the live status
    line is cleared and not redrawn, even by its ticker; it shows again afterwards."""
    plan = make_plan(lint_file(KETTLE).profile, ("SER-00[12]",))
    shown = io.StringIO()
    progress = Progress("live", shown, width=lambda: 100)
    progress.begin(plan.instances)
    try:
        progress.started_instance(plan.instances[0])
        assert re.search(r"\r\x1b\[K\[0/2\] 0:00 elapsed, ~\d+:\d\d left \| SER-001 \(serial\) 0 s$",
                         shown.getvalue())
        with operator_pause():
            asked = shown.getvalue()
            assert asked.endswith("\r\x1b[K")  # the status line cleared for the question
            progress.started_instance(plan.instances[1])
            time.sleep(3 * REDRAW_S)  # the ticker's turns pass too
            assert shown.getvalue() == asked
        assert shown.getvalue()[len(asked):].startswith("\r\x1b[K[0/2] ")
    finally:
        progress.end()
