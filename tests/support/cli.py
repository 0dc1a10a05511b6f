"""The certkit command as a user runs it: `python -m certkit ...` in a subprocess of this
interpreter, from the repository root, with a deadline."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.paths import ROOT
from tests.support.results import RunResult

RUN_TIMEOUT_S = 120.0


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str
    seconds: float = 0.0


def certkit_command(*args: object, prefix: Sequence[str] = ()) -> list[str]:
    """The command line; `prefix` runs it under another command (faketime, setpriv...)."""
    return [*prefix, sys.executable, "-m", "certkit", *map(str, args)]


def start_certkit(*args: object, env: dict[str, str] | None = None, cwd: Path | None = None,
                  prefix: Sequence[str] = (), **popen: Any) -> subprocess.Popen:
    """`certkit ARGS...` started, for a test that acts while it runs; `env` adds to this
    process's environment. Streams are the caller's (`stdout=`, `stderr=`, `text=`...)."""
    return subprocess.Popen(certkit_command(*args, prefix=prefix), cwd=cwd or ROOT,
                            env={**os.environ, **(env or {})}, **popen)


def finish(process: subprocess.Popen, timeout: float = RUN_TIMEOUT_S) -> tuple[str, str]:
    """A started command's (stdout, stderr), killed and failed if it outlives `timeout`."""
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        raise AssertionError(f"{' '.join(map(str, process.args))} did not end within "
                             f"{timeout} s:\n{stdout}{stderr}") from None
    return stdout or "", stderr or ""


def certkit(*args: object, timeout: float = RUN_TIMEOUT_S, env: dict[str, str] | None = None,
            cwd: Path | None = None, prefix: Sequence[str] = (), **popen: Any) -> CliResult:
    """Run the certkit command to its end: exit code, output and wall time. `popen` goes to
    subprocess.Popen (e.g. `preexec_fn=` to limit the run's resources)."""
    started = time.monotonic()
    process = start_certkit(*args, env=env, cwd=cwd, prefix=prefix, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, encoding="utf-8", errors="replace", **popen)
    stdout, stderr = finish(process, timeout)
    return CliResult(process.returncode, stdout, stderr, time.monotonic() - started)


def run_certkit(profile: Path | str, out: Path, *args: object, timeout: float = RUN_TIMEOUT_S,
                env: dict[str, str] | None = None, prefix: Sequence[str] = ()) -> RunResult:
    """`certkit run PROFILE --out OUT ARGS...` to its end, its results read from OUT."""
    done = certkit("run", profile, "--out", out, *args, timeout=timeout, env=env, prefix=prefix)
    return RunResult(done.code, Path(out), done.stdout, done.stderr, done.seconds)


def finish_run(process: subprocess.Popen, out: Path, started: float,
               timeout: float = RUN_TIMEOUT_S) -> RunResult:
    """A `certkit run` started with `start_certkit` (stdout and stderr piped, text), to its
    end; `started` is its time.monotonic() at start."""
    stdout, stderr = finish(process, timeout)
    return RunResult(process.returncode, Path(out), stdout, stderr, time.monotonic() - started)
