"""Many DUTs at once: `certkit run --bench` of emulated devices against each alone.

    python -m benchmarks.bench_bench [--kettles 10] [--skip-family] [--skip-kettles]

Prints:

1. the five example profiles (profiles/lab.bench.yaml, every transport emulated)
   each certified alone (`certkit run PROFILE --emulate ...`, one after another):
   wall time and peak memory (max RSS, /usr/bin/time -v) of each;
2. the five certified at once by one `certkit run --bench`: wall time as a ratio
   to the slowest of them alone (goal: at most 1.5), and the peak memory of the
   whole bench (every process: the bench, each DUT's run, brokers, emulators),
   sampled from /proc, per DUT;
3. `--kettles` emulated kettles certified at once by one `--bench` versus one
   kettle by a `--bench` of one (goal: at most 2.5).

Every rule runs. On a shared machine the figures move with the load: the load
average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.support.cli import run_certkit, start_certkit
from tests.support.paths import KETTLE, PROFILES

LAB = PROFILES / "lab.bench.yaml"
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def alone(profile: Path, emulate: list[str], out: Path) -> tuple[float, int, str]:
    """(wall s, max RSS KiB, verdict) of one DUT certified alone."""
    started = time.monotonic()
    run = run_certkit(profile, out, f"--emulate={','.join(emulate)}", timeout=900,
                      prefix=("/usr/bin/time", "-v"))
    wall = time.monotonic() - started
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
    return wall, int(rss.group(1)) if rss else 0, run.verdict["verdict"]


def _tree_rss_kib(root: int) -> int:
    """The resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            rss[int(entry.name)] = int((entry / "statm").read_text().split()[1]) * PAGE_KIB
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


def bench(path: Path, out: Path) -> tuple[float, int, list[dict], int]:
    """(wall s, peak RSS KiB of the whole process tree, bench.json's duts, exit code)."""
    started = time.monotonic()
    process = start_certkit("run", "--bench", path, "--out", out, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(0.2):
            peak = max(peak, _tree_rss_kib(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        code = process.wait(timeout=1800)
    finally:
        stop.set()
        sampler.join(5)
        if process.poll() is None:
            process.kill()
    wall = time.monotonic() - started
    duts = json.loads((out / "bench.json").read_text("utf-8"))["duts"]
    return wall, peak, duts, code


def kettles_file(folder: Path, count: int) -> Path:
    path = folder / f"kettles-{count}.bench.yaml"
    lines = ["certkit-bench: 1", "duts:"]
    for n in range(1, count + 1):
        lines += [f"  - name: kettle-{n:02d}", f"    profile: {KETTLE}",
                  "    emulate: [serial, mqtt, ble]"]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def family(base: Path) -> None:
    from certkit.benchfile import load_bench_file

    duts = load_bench_file(LAB).duts
    singles = {}
    for dut in duts:
        wall, rss, verdict = alone(dut.profile, sorted(dut.bench.emulate), base / dut.name)
        singles[dut.name] = wall
        print(f"  {dut.name:9} alone: {wall:5.1f} s wall, peak {rss / 1024:5.0f} MiB, {verdict}")
    slowest = max(singles, key=singles.get)
    wall, peak, results, code = bench(LAB, base / "lab")
    ratio = wall / singles[slowest]
    print(f"five at once (certkit run --bench profiles/lab.bench.yaml): {wall:.1f} s wall, "
          f"exit {code}; {ratio:.2f} x the slowest alone ({slowest}, {singles[slowest]:.1f} s) "
          f"(goal: at most 1.5, {'met' if ratio <= 1.5 else 'NOT met'})")
    print(f"  peak memory of the whole bench {peak / 1024:.0f} MiB, "
          f"{peak / 1024 / len(duts):.0f} MiB per DUT")
    print("  verdicts: " + ", ".join(f"{d['name']} {d['verdict']}" for d in results))


def kettles(base: Path, count: int) -> None:
    one_wall, one_peak, one, _ = bench(kettles_file(base, 1), base / "k1")
    many_wall, many_peak, many, code = bench(kettles_file(base, count), base / f"k{count}")
    ratio = many_wall / one_wall
    verdicts = sorted({d["verdict"] for d in many})
    print(f"one kettle by --bench: {one_wall:.1f} s wall, peak {one_peak / 1024:.0f} MiB "
          f"({one[0]['verdict']})")
    print(f"{count} kettles at once: {many_wall:.1f} s wall, peak {many_peak / 1024:.0f} MiB "
          f"({many_peak / 1024 / count:.0f} MiB per DUT), exit {code}, verdicts "
          f"{', '.join(verdicts)}; {ratio:.2f} x one (goal: at most 2.5, "
          f"{'met' if ratio <= 2.5 else 'NOT met'})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kettles", type=int, default=10)
    parser.add_argument("--skip-family", action="store_true")
    parser.add_argument("--skip-kettles", action="store_true")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {load()} before")
    with tempfile.TemporaryDirectory(prefix="certkit-bench-bench-") as folder:
        base = Path(folder)
        if not args.skip_family:
            family(base)
        if not args.skip_kettles:
            kettles(base, args.kettles)
    print(f"load average {load()} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
