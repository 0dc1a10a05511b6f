"""BLE: GATT reads per second, connect time, and the wall time of an emulated kettle run.

    python -m benchmarks.ble_bench [--reads 1000] [--rounds 5] [--runs 3]

1. Reads per second of one characteristic (kettle.temperature) of the
   reference emulator: through certkit's BLE link (synchronous calls bridged
   to the loop thread, evidence recorded for each) against a bare
   bleak-over-bumble loop (one coroutine awaiting `read_gatt_char`), rounds
   alternating; in process, and across processes over HCI on TCP.
   Goal: the link keeps at least 0.8 of the bare rate.
2. Connect time (connection, MTU exchange, whole GATT discovery), both ways.
3. `certkit run profiles/acme.kettle.k1.yaml --emulate ble --rules 'BLE-*'
   --rules SEC-004`, wall time split into what the standard imposes (the
   waits it asks for: listening to advertising, a property changing by
   itself, re-advertising; and the GATT work of the rules) and the rest
   (interpreter and pytest start-up, collection, opening the link, reports),
   with a design-rules-only run for the fixed cost of any run.

Figures only, no timed asserts; numbers vary with the machine's load.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bleak import BleakClient
from bleak.backends.device import BLEDevice

from certkit.bench import Bench
from certkit.design import lint_file
from certkit.evidence import EvidenceLog
from certkit.links import open_link
from certkit.links.aio import LoopThread
from certkit.links.ble.bumble_backend import BumbleCentral, BumbleClient
from certkit.links.ble.codec import characteristic_uuid
from tests.support.cli import run_certkit
from tests.support.paths import KETTLE
from tests.support.processes import BleEmulatorProcess
from tests.support.results import RunResult

UUID = characteristic_uuid(2, 2)  # kettle.temperature
GOAL = 0.8
CONNECTS = 10


class Bare:
    """bleak over bumble with nothing of certkit's link in between."""

    def __init__(self, adapter: str | None, emulator_link=None) -> None:
        self.loop = LoopThread("bare")
        self.loop.start()
        self.adapter, self.emulator_link = adapter, emulator_link
        self.emulator = None

    def open(self, profile, address: str | None) -> None:
        if self.adapter is None:  # its own emulator on its own in-process link
            from certkit_emulators.ble import BleEmulator

            self.emulator = BleEmulator(profile, loop=self.loop)
            self.emulator.start(10)
            address = self.emulator.address
        self.loop.run(self._open(address), 20)

    async def _open(self, address: str) -> None:
        link = self.emulator.link if self.emulator else None
        self.central = await BumbleCentral.open(self.adapter or "virtual", link=link)
        from bumble import hci

        details = hci.Address(address, hci.Address.RANDOM_DEVICE_ADDRESS)
        self.device = BLEDevice(address, None, details)
        await self._connect()

    async def _connect(self) -> float:
        started = time.perf_counter()
        self.client = BleakClient(self.device, timeout=10, backend=BumbleClient,
                                  bumble=self.central)
        await self.client.connect()
        self.char = self.client.services.get_characteristic(UUID)
        return (time.perf_counter() - started) * 1000

    def reads_per_s(self, n: int) -> float:
        async def loop() -> float:
            started = time.perf_counter()
            for _ in range(n):
                await self.client.read_gatt_char(self.char)
            return n / (time.perf_counter() - started)
        return self.loop.run(loop(), 120)

    def connect_ms(self) -> float:
        # Disconnect and connect as two calls, as the link does: connecting in the
        # same loop turn as the disconnect catches the peripheral's very first
        # re-advertisement (the virtual radio has no timing), one 20 ms advertising
        # interval sooner than any later connect would.
        self.loop.run(self.client.disconnect(), 10)
        return self.loop.run(self._connect(), 30)

    def close(self) -> None:
        self.loop.run(self.central.close(2), 5)
        if self.emulator:
            self.emulator.stop(3)
        self.loop.stop(3)


class ViaLink:
    """certkit's BLE link, as the rules use it."""

    def __init__(self, profile, bench: Bench) -> None:
        self.link = open_link("ble", profile, bench, EvidenceLog(), 30)
        self.link.ensure_connected()

    def reads_per_s(self, n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            self.link.read(UUID)
        return n / (time.perf_counter() - started)

    def connect_ms(self) -> float:
        self.link.disconnect()
        return self.link.connect()

    def close(self) -> None:
        self.link.close(5)


def compare(title: str, bare: Bare, via: ViaLink, reads: int, rounds: int) -> None:
    bare.reads_per_s(100), via.reads_per_s(100)  # warm up
    bare_rates, link_rates = [], []
    for _ in range(rounds):
        bare_rates.append(bare.reads_per_s(reads))
        link_rates.append(via.reads_per_s(reads))
    b, v = statistics.median(bare_rates), statistics.median(link_rates)
    print(f"{title}")
    print(f"  GATT reads/s, bare bleak-over-bumble loop: {b:8.0f}  "
          f"(rounds {', '.join(f'{r:.0f}' for r in bare_rates)})")
    print(f"  GATT reads/s, certkit BLE link:            {v:8.0f}  "
          f"(rounds {', '.join(f'{r:.0f}' for r in link_rates)})")
    print(f"  ratio link/bare: {v / b:.2f} (goal at least {GOAL}: "
          f"{'met' if v / b >= GOAL else 'NOT met'}); "
          f"bridge and evidence cost {1e6 / v - 1e6 / b:.0f} us per read")
    bc, vc = [], []
    for _ in range(CONNECTS):  # alternating, so both see the same load
        bc.append(bare.connect_ms())
        vc.append(via.connect_ms())
    print(f"  connect + MTU + GATT discovery, median of {CONNECTS}: bare "
          f"{statistics.median(bc):.1f} ms, link {statistics.median(vc):.1f} ms "
          f"(max {max(bc):.1f} / {max(vc):.1f} ms)")


def certkit_run(out: Path, *rules: str, emulate: bool = True) -> tuple[RunResult, datetime]:
    """A `certkit run` of the kettle, and when it was launched."""
    launched = datetime.now().astimezone()
    run = run_certkit(KETTLE, out, *(["--emulate", "ble"] if emulate else []),
                      *(x for rule in rules for x in ("--rules", rule)), timeout=300)
    return run, launched


def split(run: RunResult, launched: datetime) -> dict[str, float]:
    """Where the wall time of one run went (from verdict.json and the evidence logs)."""
    verdict, wall = run.verdict, run.seconds
    begun = datetime.fromisoformat(verdict["started"])
    ended = datetime.fromisoformat(verdict["finished"])
    rules = run.in_rules_s()
    waited = sum(run.waits_s())  # the link's waits for the DUT, the rules' imposed ones
    # The link opens in BLE-001's setup: its duration less the check after "found the DUT".
    first = run.evidence("BLE-001")
    times = [float(t) for t in re.findall(r"^\s+([0-9.]+) ", first, re.MULTILINE)]
    found = float(re.search(r"^\s+([0-9.]+) ble <- found the DUT", first, re.MULTILINE).group(1))
    ble001 = run.result("BLE-001")["duration_s"]
    opened = ble001 - (times[-1] - found)
    start_up = (begun - launched).total_seconds()
    session = (ended - begun).total_seconds()
    return {"wall": wall, "start-up": start_up, "collection": session - rules,
            "open": opened, "waits": waited, "work": rules - opened - waited,
            "reports": wall - start_up - session}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    profile = lint_file(KETTLE).profile

    bare = Bare(None)
    bare.open(profile, None)
    via = ViaLink(profile, Bench(emulate=frozenset({"ble"})))
    compare("in process (each with its own reference emulator on a LocalLink)", bare, via,
            args.reads, args.rounds)
    via.close()
    bare.close()

    # One emulator process each: a peripheral takes one connection at a time.
    with BleEmulatorProcess(KETTLE) as first, BleEmulatorProcess(KETTLE) as second:
        bare = Bare(first.hci_client)
        bare.open(profile, first.address)
        wired = {"ble": {"adapter": second.adapter, "address": second.address}}
        via = ViaLink(profile, Bench(wiring=wired))
        compare("across processes (each with a reference emulator in its own process, "
                "HCI over tcp-client)", bare, via, args.reads, args.rounds)
        via.close()
        bare.close()

    with tempfile.TemporaryDirectory() as folder:
        runs = [split(*certkit_run(Path(folder) / f"ble{i}", "BLE-*", "SEC-004"))
                for i in range(args.runs)]
        design = [certkit_run(Path(folder) / f"design{i}", "PRF-001", emulate=False)[0].seconds
                  for i in range(args.runs)]
    f = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    fixed = statistics.median(design)
    print(f"certkit run kettle --emulate ble --rules 'BLE-*' --rules SEC-004, median of "
          f"{args.runs}: {f['wall']:.2f} s wall")
    print(f"  imposed by the standard: {f['waits']:.2f} s of waits it asks for (advertising "
          f"listened to, read-only properties changing by themselves, re-advertising)")
    print(f"                         + {f['work']:.2f} s of rule work (reads, writes, pairing, "
          "notifications, 5 connects, closing the link)")
    print(f"  the rest:                {f['start-up']:.2f} s start-up (interpreter, CLI, lint, "
          f"pytest), {f['collection']:.2f} s collecting the suite,")
    print(f"                           {f['open']:.2f} s opening the link (bleak and bumble "
          f"imports, emulator, central, scan), {f['reports']:.2f} s reports and exit")
    print(f"  for comparison, a run of PRF-001 alone (no BLE): {fixed:.2f} s wall")


if __name__ == "__main__":
    main()
