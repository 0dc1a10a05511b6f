"""Helpers for the BLE tests: CLI runs, the emulator as its own process, profiles."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from certkit.design import lint_file
from certkit.profile.model import Profile
from tests.conftest import KETTLE, PROFILES, ROOT, certkit, outcomes, read_verdict

SENSOR = PROFILES / "acme.sensor.th1.yaml"
BLE_RULES = ("--rules", "BLE-*", "--rules", "SEC-004")
RUN_TIMEOUT_S = 90
WORKERS = 2  # the CLI runs are mostly start-up work: two at a time on this 2-core machine


def profile(path: Path) -> Profile:
    return lint_file(path).profile


@dataclass
class Run:
    code: int
    verdict: dict
    out: Path
    seconds: float
    stderr: str

    @property
    def outcomes(self) -> dict[str, str]:
        return outcomes(self.verdict)

    def result(self, instance_id: str) -> dict:
        for r in self.verdict["rules"]:
            rid = f"{r['rule']}[{r['instance']}]" if r["instance"] else r["rule"]
            if rid == instance_id:
                return r
        raise KeyError(instance_id)

    def failed(self, level: str | None = None) -> dict[str, str]:
        """{instance: message} of the failures (of one level)."""
        return {(f"{r['rule']}[{r['instance']}]" if r["instance"] else r["rule"]): r["message"]
                for r in self.verdict["rules"]
                if r["outcome"] == "fail" and (level is None or r["level"] == level)}


def run_cli(profile_path: Path, out: Path, *args: str) -> Run:
    started = time.monotonic()
    result = certkit("run", profile_path, "--out", out, *args, timeout=RUN_TIMEOUT_S)
    return Run(result.code, read_verdict(out), out, time.monotonic() - started, result.stderr)


def run_many(jobs: dict[str, tuple]) -> dict[str, Run]:
    """Run `run_cli(*args)` for every job, two at a time; {name: Run}."""
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = {name: pool.submit(job[0], *job[1:]) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


class EmulatorProcess:
    """`python -m certkit_emulators.ble PROFILE` with an HCI endpoint on a free TCP port."""

    def __init__(self, profile_path: Path, *args: str) -> None:
        # stderr to a file: a pipe nobody reads could fill up and stall the emulator.
        self.stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "certkit_emulators.ble", str(profile_path),
             "--hci", "tcp-server:127.0.0.1:0", *args],
            stdout=subprocess.PIPE, stderr=self.stderr, text=True, cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        line = self._ready_line(timeout=30)
        _, spec, self.address, self.name = line.split()
        self.hci = spec
        self.adapter = "bumble:" + spec.replace("tcp-server", "tcp-client")

    def _ready_line(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], deadline - time.monotonic())
            if not ready:
                break
            line = self.proc.stdout.readline()
            if line.startswith("ready "):
                return line.strip()
            if not line and self.proc.poll() is not None:
                self.stderr.seek(0)
                raise RuntimeError(f"the emulator exited: {self.stderr.read()}")
        self.stop()
        raise RuntimeError("the emulator did not say ready in time")

    def stop(self, timeout: float = 5.0) -> int | None:
        return stop_child(self.proc, self.stderr, timeout)


def stop_child(proc: subprocess.Popen, stderr: IO[str], timeout: float = 5.0) -> int | None:
    """Terminate an emulator process (kill it if it lingers) and close its streams."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    proc.stdout.close()
    stderr.close()
    return proc.returncode


def run_over_tcp(profile_path: Path, out: Path, emulator_args: tuple[str, ...],
                 *args: str) -> tuple[Run, EmulatorProcess, int | None]:
    """An emulator process, a `certkit run` over `bumble:tcp-client:...`, then stop it."""
    emulator = EmulatorProcess(profile_path, *emulator_args)
    try:
        run = run_cli(profile_path, out, "--ble-adapter", emulator.adapter, *args)
    finally:
        code = emulator.stop()
    return run, emulator, code


@pytest.fixture(scope="session")
def kettle() -> Profile:
    return profile(KETTLE)


@pytest.fixture(scope="session")
def sensor() -> Profile:
    return profile(SENSOR)


@pytest.fixture
def emulator_process() -> Iterator[type[EmulatorProcess]]:
    started: list[EmulatorProcess] = []

    class Tracked(EmulatorProcess):
        def __init__(self, *args: object) -> None:
            super().__init__(*args)
            started.append(self)

    yield Tracked
    for each in started:
        each.stop()
