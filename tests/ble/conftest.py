"""Helpers for the BLE tests: CLI runs two at a time, a run over HCI/TCP, profiles."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from certkit.profile.model import Profile
from tests.support.cli import run_certkit
from tests.support.paths import SENSOR
from tests.support.processes import BleEmulatorProcess
from tests.support.profiles import load_profile
from tests.support.results import RunResult

BLE_RULES = ("--rules", "BLE-*", "--rules", "SEC-004")
RUN_TIMEOUT_S = 90
WORKERS = 2  # the CLI runs are mostly start-up work: two at a time on this 2-core machine


def run_cli(profile_path: Path, out: Path, *args: str) -> RunResult:
    return run_certkit(profile_path, out, *args, timeout=RUN_TIMEOUT_S)


def run_many(jobs: dict[str, tuple]) -> dict[str, RunResult]:
    """Run `job[0](*job[1:])` for every job, two at a time; {name: result}."""
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = {name: pool.submit(job[0], *job[1:]) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def run_over_tcp(profile_path: Path, out: Path, emulator_args: tuple[str, ...],
                 *args: str) -> tuple[RunResult, BleEmulatorProcess, int | None]:
    """An emulator process, a `certkit run` over `bumble:tcp-client:...`, then stop it."""
    emulator = BleEmulatorProcess(profile_path, *emulator_args)
    try:
        run = run_cli(profile_path, out, "--ble-adapter", emulator.adapter, *args)
    finally:
        code = emulator.stop()
    return run, emulator, code


@pytest.fixture(scope="session")
def sensor() -> Profile:
    return load_profile(SENSOR)

