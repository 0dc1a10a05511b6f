"""Benchmarks of serial ports on the network and of labgrid places. Prints figures and
ratios; asserts nothing.

    python -m benchmarks.lab_bench [--exchanges N] [--runs N] [--skip-runs] [--skip-place]

1. Transport overhead per exchange: an MCU as fast as it can be (a process on the pty's
   master side: `get_down`, then wait for the module's answer) served by certkit's
   `SerialLink` over the local pty, over RFC 2217 and over a raw socket through Debian's
   ser2net in front of the same pty (as labgrid's exporter runs it, and with ser2net's
   `chardelay` off): milliseconds per exchange and the ratio to the pty.
2. Per SER exchange as a rule sees it: `certkit run` of the kettle's SER family against the
   reference MCU over its pty and over RFC 2217 (ser2net): the median `reply time` the rules
   measured (downlink sent to `result` received), the ratio, and the runs' wall time.
3. A labgrid place (tests/lab/labgrid_lab.py: coordinator, exporter, ser2net, the MCU behind
   its power outlet): `certkit run --bench` on it, the time from the place's acquisition to
   its first rule, and the wait for the place itself.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import tempfile
import time
import tty
from datetime import datetime
from pathlib import Path

from certkit.evidence import EvidenceLog
from certkit.links.serial.module import SerialLink
from tests.lab.labgrid_lab import start_lab  # tests.lab's real parts: ser2net, labgrid
from tests.lab.processes import Ser2net, start_mcu
from tests.support.cli import certkit, run_certkit
from tests.support.paths import KETTLE
from tests.support.results import RunResult

RUN_S = 300.0


# ------------------------------------------------------- 1. transport overhead


def _fast_mcu(fd: int, count: int, results: multiprocessing.connection.Connection) -> None:
    """`count` get_down exchanges as fast as the module answers; the seconds they took."""
    def exchange() -> None:
        os.write(fd, b"get_down\r")
        got = b""
        while not got.endswith(b"\r"):
            got += os.read(fd, 64)

    for _ in range(20):  # the module's reader and the network path warm up
        exchange()
    started = time.perf_counter()
    for _ in range(count):
        exchange()
    results.send(time.perf_counter() - started)


def exchange_ms(port_of: dict[str, str], master: int, kind: str, count: int) -> float:
    link = SerialLink(EvidenceLog(), port_of[kind])
    link.open(10)
    try:
        time.sleep(0.3)
        receive, send = multiprocessing.Pipe(duplex=False)
        mcu = multiprocessing.Process(target=_fast_mcu, args=(master, count, send))
        mcu.start()
        if not receive.poll(RUN_S):
            mcu.kill()
            raise RuntimeError(f"{kind}: the MCU did not finish {count} exchanges")
        seconds = receive.recv()
        mcu.join(10)
    finally:
        link.close(10)
    return seconds / count * 1000


def transport_overhead(count: int) -> None:
    print(f"1. transport overhead: {count} get_down exchanges with an MCU as fast as the "
          "module answers")
    master, slave = os.openpty()
    tty.setraw(slave)
    figures = {}
    try:
        figures["pty"] = exchange_ms({"pty": os.ttyname(slave)}, master, "pty", count)
        for chardelay in (True, False):
            with tempfile.TemporaryDirectory(prefix="certkit-lab-bench-") as folder:
                ser2net = Ser2net(Path(folder), os.ttyname(slave), chardelay=chardelay)
                try:
                    ports = {"rfc2217": ser2net.rfc2217, "socket": ser2net.socket}
                    for kind in ports:
                        name = kind + ("" if chardelay else " (ser2net chardelay: false)")
                        figures[name] = exchange_ms(ports, master, kind, count)
                finally:
                    ser2net.child.stop()
    finally:
        os.close(master)
        os.close(slave)
    for kind, ms in figures.items():
        print(f"   {kind:<36} {ms:7.3f} ms per exchange  ({1000 / ms:6.0f}/s)  "
              f"ratio to the pty {ms / figures['pty']:.2f}")


# --------------------------------------------------- 2. per SER exchange, as rules see it


def certify(out: Path, port: str, reset: str) -> RunResult:
    return run_certkit(KETTLE, out, "--serial", port, "--reset", f"cmd:{reset}",
                       "--rules", "SER-*", timeout=RUN_S)


def reply_times(run: RunResult) -> list[float]:
    return [m["value"] for m in run.figures("reply time")]


def ser_family(runs: int) -> None:
    print(f"2. per SER exchange: certkit run --rules 'SER-*' (kettle) x{runs} per port")
    with tempfile.TemporaryDirectory(prefix="certkit-lab-bench-") as folder:
        base = Path(folder)
        emulator = start_mcu(base, KETTLE)
        ser2net = Ser2net(base, emulator.port)
        try:
            results: dict[str, tuple[list[float], list[float], set[str]]] = {}
            for kind, port in (("pty", emulator.port), ("rfc2217", ser2net.rfc2217)):
                walls, replies, verdicts = [], [], set()
                for n in range(runs):
                    run = certify(base / f"{kind}-{n}", port, emulator.reset)
                    walls.append(run.seconds)
                    replies += reply_times(run)
                    verdicts.add(run.verdict["verdict"])
                results[kind] = (walls, replies, verdicts)
        finally:
            ser2net.child.stop()
            emulator.stop()
    pty_reply = statistics.median(results["pty"][1])
    for kind, (walls, replies, verdicts) in results.items():
        reply = statistics.median(replies)
        print(f"   {kind:<8} reply time median {reply:6.2f} ms (n={len(replies)}, p90 "
              f"{statistics.quantiles(replies, n=10)[-1]:.2f} ms), ratio to the pty "
              f"{reply / pty_reply:.2f}; run wall {statistics.median(walls):.1f} s; "
              f"{', '.join(sorted(verdicts))}")


# ---------------------------------------------------------------- 3. a labgrid place


def on_a_place(runs: int) -> None:
    print(f"3. a labgrid place: certkit run --bench, SER family, x{runs}")
    with tempfile.TemporaryDirectory(prefix="certkit-lab-bench-") as folder:
        base = Path(folder)
        (base / "lab").mkdir()
        lab = start_lab(base / "lab")
        try:
            (base / "kettle.yaml").write_text(KETTLE.read_text())
            bench = base / "bench.yaml"
            bench.write_text(f"""certkit-bench: 1
duts:
  - name: kettle
    profile: kettle.yaml
    emulate: [mqtt, ble]
    serial: {{reset: power}}
    labgrid: {{place: kettle, coordinator: "{lab.coordinator}"}}
""")
            for n in range(runs):
                out = base / f"out-{n}"
                wall = certkit("run", "--bench", bench, "--out", out, "--rules", "SER-*",
                               timeout=RUN_S, env=lab.env()).seconds
                summary = json.loads((out / "bench.json").read_text())["duts"][0]
                verdict = RunResult.of(out / "kettle").verdict
                trace = json.loads((out / "kettle" / "trace.json").read_text())
                first = min(e["ts"] for e in trace["traceEvents"] if e.get("ph") == "X") / 1e6
                acquired = datetime.fromisoformat(verdict["bench_as_run"]["lab"]["acquired"])
                session = datetime.fromisoformat(verdict["started"])
                to_session = (session - acquired).total_seconds()
                print(f"   run {n + 1}: {verdict['verdict']}; waited {summary['labgrid']['waited_s']:.2f} s "
                      f"for the place; acquisition to first rule {to_session + first:.2f} s "
                      f"(to the DUT run's session {to_session:.2f} s, then links and identity "
                      f"{first:.2f} s); bench wall {wall:.1f} s")
        finally:
            lab.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exchanges", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-runs", action="store_true")
    parser.add_argument("--skip-place", action="store_true")
    args = parser.parse_args()
    transport_overhead(args.exchanges)
    if not args.skip_runs:
        ser_family(args.runs)
    if not args.skip_place:
        on_a_place(args.runs)


if __name__ == "__main__":
    main()
