"""Bench faults are never fails (ECS-1 C-2), under a seeded schedule of kills.

Each run is `python -m certkit run` on the reference kettle; at a moment the
schedule draws, a part of the *bench* is killed with SIGKILL:

- `broker`: the embedded broker, a child process of the run, during MQT
  rules and during INT rules; the kills alternate between the default
  embedded broker (mosquitto where installed) and `embedded:amqtt`, and the
  process killed is whichever broker child certkit started;
- `ble-hci`: the BLE emulator in its own process behind HCI over TCP
  (`--ble-adapter bumble:tcp-client:...`): the controller certkit's central
  talks to goes away;
- `serial-pty`: the serial emulator in its own process (`python -m
  certkit_emulators.serial`), which holds the pty's master: certkit's port breaks.

A moment is "once N instances of the run have ended, plus D seconds", so it
lands inside an instance whatever the machine's speed. Every run must end
within its bound as CERTIFIED (the kill came too late to matter) or
INCOMPLETE, never NOT CERTIFIED, with no `fail` at all (the emulators are
conformant: any fail would be a bench fault misreported), and every instance
of the killed transport's own rules that ended after the kill is an `error`.

The seed is printed; `CERTKIT_BENCH_FAULT_SEED=<seed>` replays the same
schedule. Runs are restricted with --rules to the families around the kill,
two at a time (two cores).
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from certkit.design import lint_file
from certkit.plan import make_plan
from tests.support.cli import start_certkit
from tests.support.paths import KETTLE
from tests.support.processes import BleEmulatorProcess, SerialEmulatorProcess
from tests.support.results import instance_id, read_verdict

SEED = int(os.environ.get("CERTKIT_BENCH_FAULT_SEED") or secrets.randbelow(1_000_000))
RUN_BOUND_S = 60.0     # no kettle run may take longer, whatever is killed
POLL_S = 0.02          # how often verdict.json is read while a run goes on
NOTICED_S = 0.5        # an instance that ended this long after a kill ran on a broken bench
MAX_DELAY_S = 0.3      # a kill comes up to this long after its instance count is reached
WORKERS = 2
BROKER_KILLS_PER_FAMILY = 5   # during MQT rules and during INT rules: 10 in all
BLE_KILLS = 3
SERIAL_KILLS = 3
BROKER_NAMES = ("mosquitto", "amqtt")

# What each run checks, and the rules of the killed transport itself.
FAMILIES: dict[str, tuple[tuple[str, ...], str]] = {
    "broker": (("MQT-*", "INT-*"), "MQT-"),
    "ble-hci": (("BLE-*", "SEC-004", "INT-00[245]"), "BLE-"),
    "serial-pty": (("SER-*", "INT-00[245]"), "SER-"),
}


@dataclass(frozen=True)
class Kill:
    target: str      # broker, ble-hci, serial-pty
    after: int       # kill once this many instances of the run have ended...
    delay_s: float   # ...and this much later
    broker: str = "" # for broker kills: the --mqtt-broker the run gets ("" = the default)

    @property
    def name(self) -> str:
        what = f"{self.target}-{self.broker.removeprefix('embedded:')}" if self.broker \
            else self.target
        return f"{what}-after-{self.after}-{round(self.delay_s * 1000)}ms"


@dataclass
class KillRun:
    kill: Kill
    out: Path
    code: int | None = None
    seconds: float = 0.0
    verdict: dict = field(default_factory=dict)
    killed: str = ""                    # what was killed (pid and command)
    killed_at: float | None = None      # time.monotonic() of the kill
    during: list[str] = field(default_factory=list)  # the first instances seen ending after it
    ended_at: dict[str, float] = field(default_factory=dict)  # instance -> first seen ended
    stderr: str = ""

    @property
    def results(self) -> dict[str, dict]:
        return {instance_id(r): r for r in self.verdict.get("rules", [])}

    def describe(self) -> str:
        counts = Counter(r["outcome"] for r in self.results.values())
        return (f"{self.kill.name}: killed {self.killed or 'nothing'} during "
                f"{' or '.join(self.during) or 'the end of the run'} -> "
                f"{self.verdict.get('verdict', 'no verdict')} in {self.seconds:.1f} s "
                f"({dict(counts)})")


def _count(patterns: tuple[str, ...]) -> int:
    """Instances a run restricted to `patterns` records (not-applicable ones included)."""
    return len(make_plan(lint_file(KETTLE).profile, patterns).instances)


def schedule(seed: int) -> list[Kill]:
    """The kills of one seed: 10 broker kills (half during MQT, half during INT rules),
    BLE HCI peer kills and serial pty kills, each at a moment of its own."""
    rng = random.Random(seed)
    kills: list[Kill] = []
    mqt, interop = _count(("MQT-*",)), _count(("INT-*",))
    # Never after the last instance but one: a kill must land before the run closes its links.
    moments = (rng.sample(range(mqt), BROKER_KILLS_PER_FAMILY)
               + rng.sample(range(mqt, mqt + interop - 1), BROKER_KILLS_PER_FAMILY))
    kills += [Kill("broker", n, round(rng.uniform(0, MAX_DELAY_S), 3),
                   "" if i % 2 else "embedded:amqtt") for i, n in enumerate(moments)]
    for target, times in (("ble-hci", BLE_KILLS), ("serial-pty", SERIAL_KILLS)):
        total = _count(FAMILIES[target][0])
        kills += [Kill(target, n, round(rng.uniform(0, MAX_DELAY_S), 3))
                  for n in rng.sample(range(total - 1), times)]
    return kills


# ------------------------------------------------------------------ the bench's parts


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:  # it ended meanwhile
            continue
        parent = re.search(r"^PPid:\s+(\d+)", status, re.MULTILINE)
        if parent and int(parent.group(1)) == pid:
            found.append((int(entry.name), cmdline))
    return found


def _broker_of(run_pid: int) -> tuple[int, str] | None:
    """The embedded broker certkit started (mosquitto or amqtt), once it runs."""
    return next(((pid, cmd) for pid, cmd in _children(run_pid)
                 if any(name in cmd for name in BROKER_NAMES)), None)


Victim = Callable[[int], tuple[int, str] | None]  # run pid -> (pid, command) to kill


@contextlib.contextmanager
def _bench(kill: Kill) -> Iterator[tuple[list[str], Victim]]:
    """The run's bench options and how to find what the kill hits."""
    target = kill.target
    if target == "broker":
        yield ["--emulate", *(["--mqtt-broker", kill.broker] if kill.broker else [])], _broker_of
    elif target == "ble-hci":
        emulator = BleEmulatorProcess(KETTLE)
        try:
            yield (["--emulate", "serial,mqtt", "--ble-adapter", emulator.adapter],
                   lambda _: (emulator.proc.pid, "the BLE emulator behind HCI over TCP"))
        finally:
            emulator.stop()
    else:
        emulator = SerialEmulatorProcess(KETTLE)
        try:
            yield (["--emulate", "mqtt,ble", "--serial", emulator.port,
                    "--reset", f"cmd:{emulator.reset}"],
                   lambda _: (emulator.proc.pid, f"the serial emulator holding {emulator.port}"))
        finally:
            emulator.stop()


def _ended(out: Path) -> list[str]:
    """Instances verdict.json records as ended so far (not the `not run` placeholders)."""
    try:
        document = read_verdict(out)
    except (OSError, ValueError):
        return []
    return [instance_id(r) for r in document["rules"]
            if not r["message"].startswith("not run")]


def run_with_kill(kill: Kill, folder: Path) -> KillRun:
    run = KillRun(kill, folder / kill.name)
    patterns = [arg for p in FAMILIES[kill.target][0] for arg in ("--rules", p)]
    with _bench(kill) as (bench_args, victim), \
            tempfile.TemporaryFile("w+") as stderr:
        started = time.monotonic()
        proc = start_certkit("run", KETTLE, "--out", run.out, *bench_args, *patterns,
                             stdout=subprocess.DEVNULL, stderr=stderr, text=True)
        due: float | None = None
        try:
            while proc.poll() is None and time.monotonic() - started < RUN_BOUND_S * 2:
                now = time.monotonic()
                for instance in _ended(run.out):
                    run.ended_at.setdefault(instance, now)
                if run.killed_at is None and len(run.ended_at) >= kill.after:
                    due = due or now + kill.delay_s
                    target = victim(proc.pid) if now >= due else None
                    if target is not None:
                        os.kill(target[0], signal.SIGKILL)
                        run.killed_at = time.monotonic()
                        run.killed = f"{target[1]} (pid {target[0]})"
                time.sleep(POLL_S)
        finally:
            if proc.poll() is None:
                proc.kill()
            run.code = proc.wait(10)
            run.seconds = time.monotonic() - started
        stderr.seek(0)
        run.stderr = stderr.read()
    for instance in _ended(run.out):
        run.ended_at.setdefault(instance, time.monotonic())
    with contextlib.suppress(OSError, ValueError):
        run.verdict = read_verdict(run.out)
    if run.killed_at is not None:
        # Instances that end within one poll of each other are told apart by nothing.
        after = {i: t for i, t in run.ended_at.items() if t > run.killed_at}
        first = min(after.values(), default=None)
        run.during = [i for i, t in after.items() if t == first]
    return run


# ------------------------------------------------------------------ the schedule


def _announce(request: pytest.FixtureRequest, text: str) -> None:
    """Straight to the terminal, so the seed shows in CI logs whatever the outcome."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        if reporter is not None:
            reporter.write_line(text)
        else:
            print(text, file=sys.stderr)


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest, tmp_path_factory) -> list[KillRun]:
    kills = schedule(SEED)
    _announce(request, f"\nbench-fault schedule: seed {SEED} ({len(kills)} runs; replay with "
                       f"CERTKIT_BENCH_FAULT_SEED={SEED})")
    folder = tmp_path_factory.mktemp("bench-faults")
    with ThreadPoolExecutor(WORKERS) as pool:
        done = list(pool.map(lambda k: run_with_kill(k, folder), kills))
    verdicts = Counter(r.verdict.get("verdict", "no verdict") for r in done)
    messages = [r["message"] for run in done for r in run.results.values()]
    turned = sum("; the DUT appeared to" in m for m in messages)
    _announce(request, "\n".join(
        [f"bench-fault schedule, seed {SEED}: {len(done)} runs, " + ", ".join(
            f"{count} {verdict}" for verdict, count in sorted(verdicts.items()))
         + f"; {turned} pass/fail outcomes turned error by a bench fault",
         *(f"  {r.describe()}" for r in done)]))
    return done


def _holds(run: KillRun) -> None:
    """C-2 by construction: the run ends in time, never NOT CERTIFIED, and the killed
    transport's rules that ran on the broken bench end in error."""
    why = f"seed {SEED}, {run.describe()}\n{run.stderr[-2000:]}"
    assert run.killed_at is not None, f"nothing was killed: {why}"
    assert run.seconds < RUN_BOUND_S, f"the run took {run.seconds:.0f} s: {why}"
    assert run.verdict.get("verdict") in ("CERTIFIED", "INCOMPLETE"), why
    assert run.code == (0 if run.verdict["verdict"] == "CERTIFIED" else 3), why
    assert "overall bound" not in (run.verdict.get("stop_reason") or ""), why
    failed = {i: r["message"] for i, r in run.results.items() if r["outcome"] == "fail"}
    assert not failed, f"fails on a broken bench: {failed}; {why}"
    own = FAMILIES[run.kill.target][1]
    broken = {i: r["outcome"] for i, r in run.results.items()
              if i.startswith(own) and r["outcome"] != "not-applicable"
              and run.ended_at.get(i, 0.0) > run.killed_at + NOTICED_S}
    assert set(broken.values()) <= {"error"}, f"ran on a broken bench: {broken}; {why}"


def _of(runs: list[KillRun], target: str) -> list[KillRun]:
    return [run for run in runs if run.kill.target == target]


def test_the_schedule_is_replayable_from_its_seed():
    assert schedule(SEED) == schedule(SEED)
    kills = schedule(SEED)
    broker = [k for k in kills if k.target == "broker"]
    assert len(broker) >= 10 and len({k.after for k in broker}) == len(broker)
    assert len(_of_kills(kills, "ble-hci")) >= 3 and len(_of_kills(kills, "serial-pty")) >= 3


def _of_kills(kills: list[Kill], target: str) -> list[Kill]:
    return [k for k in kills if k.target == target]


def test_killing_the_broker_never_makes_a_fail(runs):
    broker = _of(runs, "broker")
    assert len(broker) >= 10
    for run in broker:
        _holds(run)
    during = {instance.split("-")[0] for run in broker for instance in run.during}
    assert {"MQT", "INT"} <= during, [run.describe() for run in broker]


def test_killing_the_ble_hci_peer_never_makes_a_fail(runs):
    for run in _of(runs, "ble-hci"):
        _holds(run)


def test_breaking_the_serial_pty_never_makes_a_fail(runs):
    for run in _of(runs, "serial-pty"):
        _holds(run)

