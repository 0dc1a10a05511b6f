"""Bad input and faults end cleanly (issue 11): exit 2 for usage or input, 3 for INCOMPLETE,
never a traceback, never 1 for a lab fault; a verdict.json whenever one can be written."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from certkit.checks import LabError
from certkit.links.serial.reset import ShellCommand
from tests.support.cli import certkit, start_certkit
from tests.support.paths import KETTLE, ROOT
from tests.support.results import outcomes, read_verdict

WAITING_RULE = '''
import os
import time
from pathlib import Path

import pytest

MARKS = Path(os.environ["CERTKIT_TEST_MARKS"])


@pytest.fixture
def slow_to_close():
    yield
    (MARKS / "tearing-down").touch()
    time.sleep(3)  # like a link that takes its time to close


@pytest.mark.certkit_rule("LAB-100", level="M", title="Waits to be interrupted")
def test_waits(slow_to_close):
    (MARKS / "running").touch()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.05)
'''


def start_run(tmp_path: Path, *args: object, **popen) -> subprocess.Popen:
    rules = tmp_path / "waiting_rule.py"
    rules.write_text(WAITING_RULE)
    (tmp_path / "marks").mkdir(exist_ok=True)
    return start_certkit("run", KETTLE, "--rules", "DSN-00[1-3]", "--rules", "LAB-100",
                         "--add-rules", rules, *args,
                         env={"CERTKIT_TEST_MARKS": str(tmp_path / "marks")},
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def wait_for(path: Path, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.005)


# ---------------------------------------------------------------- the output folder


@pytest.mark.parametrize("where, message", [
    ("a-file", "is a file, not a folder"),
    ("a-file/out", "cannot create it: Not a directory"),
    ("/proc/certkit-out", "cannot create it"),
])
def test_an_unusable_out_is_a_usage_error(tmp_path, where, message):
    (tmp_path / "a-file").write_text("not a folder")
    result = certkit("run", KETTLE, "--rules", "DSN-001", "--out", tmp_path / where)
    assert result.code == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def limited_writes(max_bytes: int):
    """The run's files may grow to max_bytes only: writes past it fail as on a full disk."""
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG rather than death
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    return limit


def test_a_run_that_can_write_nothing_exits_3_with_one_line(tmp_path):
    out = tmp_path / "out"
    done = certkit("run", KETTLE, "--rules", "DSN-00[1-3]", "--out", out,
                   preexec_fn=limited_writes(1))
    assert done.code == 3
    assert "Traceback" not in done.stdout + done.stderr
    assert "INTERNALERROR" not in done.stdout
    assert "could not be written" in done.stderr and "File too large" in done.stderr
    assert not (out / "verdict.json").exists()


def test_a_run_that_cannot_write_its_evidence_ends_incomplete_with_the_reason(tmp_path):
    rules = tmp_path / "chatty_rule.py"
    rules.write_text(textwrap.dedent('''
        import pytest

        @pytest.mark.certkit_rule("LAB-101", level="M", title="Writes a lot of evidence")
        def test_chatty(evidence):
            for n in range(2000):
                evidence.note(f"line {n} of a long exchange " + "x" * 40)
    '''))
    out = tmp_path / "out"
    done = certkit("run", KETTLE, "--rules", "DSN-001", "--rules", "LAB-101",
                   "--add-rules", rules, "--out", out,
                   preexec_fn=limited_writes(64 * 1024))  # the evidence is ~150 kB
    assert done.code == 3, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stdout + done.stderr
    verdict = read_verdict(out)
    assert verdict["verdict"] == "INCOMPLETE" and verdict["complete"] is False
    assert "could not write its results" in verdict["stop_reason"]
    assert "LAB-101.log: File too large" in verdict["stop_reason"]
    lab = next(r for r in verdict["custom_rules"]["rules"] if r["rule"].endswith("LAB-101"))
    assert lab["outcome"] == "error" and lab["evidence"] is None


# ---------------------------------------------------------------- profiles


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "huge"])
def test_a_profile_that_is_no_regular_file_is_refused_unread(tmp_path, kind):
    path = tmp_path / "profile.yaml"
    if kind == "fifo":
        os.mkfifo(path)  # reading it would block for ever
    elif kind == "device":
        path = Path("/dev/zero")  # reading it would never end
    elif kind == "folder":
        path.mkdir()
    else:
        path.write_bytes(b"# " + b"x" * (1 << 20) + b"\n")
    for command in (["run", path, "--out", tmp_path / "out"], ["lint", path]):
        result = certkit(*command, timeout=30)
        assert result.code == 2, result
        assert "Traceback" not in result.stderr
    expected = {"fifo": "is a FIFO", "device": "is a device", "folder": "is a folder",
                "huge": "certkit reads files of at most 1048576 bytes"}[kind]
    assert expected in result.stderr


# ---------------------------------------------------------------- interrupts


@pytest.mark.parametrize("moment, signum", [
    ("0.3 s", signal.SIGINT), ("0.5 s", signal.SIGINT), ("folder made", signal.SIGINT),
    ("session started", signal.SIGINT), ("0.3 s", signal.SIGTERM),
    ("folder made", signal.SIGTERM), ("session started", signal.SIGTERM)])
def test_an_early_interrupt_leaves_a_verdict(tmp_path, moment, signum):
    """Ctrl-C or SIGTERM while certkit imports or lints, as soon as the run's folder exists
    (pytest is starting), as soon as the session wrote its first verdict."""
    out = tmp_path / "out"
    proc = start_run(tmp_path, "--out", out)
    try:
        if moment.endswith(" s"):
            time.sleep(float(moment.split()[0]))
        else:
            wait_for(out if moment == "folder made" else out / "verdict.json", proc)
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 3, stdout[-2000:] + stderr[-2000:]
    assert "Traceback" not in stdout + stderr
    verdict = read_verdict(out)
    assert verdict["complete"] is False and verdict["verdict"] == "INCOMPLETE"
    assert "interrupted" in verdict["stop_reason"]


def test_a_double_ctrl_c_still_leaves_a_verdict(tmp_path):
    out = tmp_path / "out"
    proc = start_run(tmp_path, "--out", out)
    try:
        wait_for(tmp_path / "marks" / "running", proc)
        proc.send_signal(signal.SIGINT)
        wait_for(tmp_path / "marks" / "tearing-down", proc)
        proc.send_signal(signal.SIGINT)  # while the first one is being handled
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 3, stdout[-2000:] + stderr[-2000:]
    assert "Traceback" not in stdout + stderr
    verdict = read_verdict(out)
    assert verdict["complete"] is False and verdict["verdict"] == "INCOMPLETE"
    assert "interrupted" in verdict["stop_reason"]
    assert [outcomes(verdict)[f"DSN-00{n}"] for n in (1, 2, 3)] == ["pass"] * 3
    assert (out / "junit.xml").is_file()


WATCHDOG_SCRIPT = """
import signal, time
from certkit.deadline import RunWatchdog
signal.signal(signal.SIGINT, signal.SIG_IGN)  # as for `certkit run ... &` from a script
watchdog = RunWatchdog(0.3)
watchdog.start()
try:
    time.sleep(20)
    print("not interrupted")
except KeyboardInterrupt as exc:
    print(f"interrupted: {exc}")
"""


def test_the_run_bound_holds_with_sigint_ignored():
    proc = subprocess.run([sys.executable, "-c", WATCHDOG_SCRIPT], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.stdout.strip() == "interrupted: the run passed its overall bound of 0.3 s", \
        proc.stdout + proc.stderr


# ---------------------------------------------------------------- the reset command


def test_a_reset_command_that_hangs_leaves_no_process_behind(tmp_path):
    pid_file = tmp_path / "pid"
    reset = ShellCommand(f"sleep 60 & echo $! > {pid_file}; wait")
    with pytest.raises(LabError, match="did not finish within 0.5 s"):
        reset.reset(None, timeout=0.5)
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while alive(pid):
        assert time.monotonic() < deadline, f"the reset command's sleep ({pid}) survived"
        time.sleep(0.05)


def alive(pid: int) -> bool:
    """A process that has not exited (a zombie waiting for its reaper has)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_a_run_whose_allure_results_cannot_be_written_ends_incomplete(tmp_path):
    rules = tmp_path / "vandal_rule.py"
    rules.write_text(textwrap.dedent('''
        import shutil
        from pathlib import Path

        import pytest

        @pytest.mark.certkit_rule("LAB-102", level="M", title="Replaces allure-results by a file")
        def test_vandal(request):
            out = Path(request.config.getoption("--certkit-out"))
            shutil.rmtree(out / "allure-results")
            (out / "allure-results").write_text("a file now")
    '''))
    out = tmp_path / "out"
    result = certkit("run", KETTLE, "--rules", "DSN-001", "--rules", "LAB-102",
                     "--add-rules", rules, "--out", out)
    assert result.code == 3, result.stdout[-2000:] + result.stderr[-2000:]
    assert "INTERNALERROR" not in result.stdout and "Traceback" not in result.stderr
    verdict = read_verdict(out)
    assert verdict["complete"] is False
    assert "the Allure results could not be written: Not a directory" in verdict["stop_reason"]
    assert (out / "junit.xml").is_file()
