"""The shared child-process helper (tests/support/processes.py) as the lab uses it: a line
found by its prefix, the output kept in a log, a child in a session of its own stopped or
killed with what it started."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.support.processes import STOP_TIMEOUT_S, ChildProcess

# Prints a line to stderr and some to stdout, starts a grandchild (a sleeping Python) and
# names it, then waits to be stopped.
PARENT = """
import subprocess, sys, time
print("oops on stderr", file=sys.stderr, flush=True)
print("noise", flush=True)
print("port: /dev/pts/42 ", flush=True)
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print(f"grandchild: {grandchild.pid}", flush=True)
time.sleep(600)
"""


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def gone(pid: int, timeout: float = STOP_TIMEOUT_S) -> bool:
    """Whether process `pid` has ended (a zombie nobody reaped counts) within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def kill_if_left(pid: int) -> None:
    try:
        psutil.Process(pid).kill()
    except psutil.NoSuchProcess:
        pass


def test_a_line_is_found_by_its_prefix_and_the_output_kept_in_the_log(tmp_path: Path) -> None:
    log = tmp_path / "child.log"
    with ChildProcess(python(PARENT), "parent", log=log, session=True) as child:
        assert child.expect("port:") == "/dev/pts/42"
        grandchild = int(child.expect("grandchild:"))
    kill_if_left(grandchild)
    kept = log.read_text("utf-8").splitlines()
    assert {"oops on stderr", "noise", "port: /dev/pts/42 "} <= set(kept)
    assert not child.running


@pytest.mark.parametrize("end", ["stop", "kill"])
def test_a_child_in_a_session_ends_with_what_it_started(tmp_path: Path, end: str) -> None:
    child = ChildProcess(python(PARENT), "parent", log=tmp_path / "child.log", session=True)
    grandchild = int(child.expect("grandchild:"))
    try:
        getattr(child, end)()
        assert gone(grandchild), f"{end}() left the grandchild {grandchild} running"
        assert not child.running
    finally:
        child.stop()
        kill_if_left(grandchild)


def test_a_line_that_never_comes_stops_the_child_and_says_which(tmp_path: Path) -> None:
    child = ChildProcess(python("import time; print('hello', flush=True); time.sleep(600)"),
                         "quiet one")
    with pytest.raises(RuntimeError, match="the quiet one did not print 'ready:' within 1 s"):
        child.expect("ready:", timeout=1.0)
    assert not child.running
    early = ChildProcess(python("import sys; print('bye'); sys.exit('gave up')"), "leaver")
    with pytest.raises(RuntimeError, match="the leaver exited: gave up"):
        early.expect("ready:")
    assert not early.running
