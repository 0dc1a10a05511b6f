"""How long certifying the multi-transport kettle takes, what it costs, and a fleet figure.

    python -m benchmarks.interop_bench [--profile PROFILE] [--fleet 10] [--parallel 2]

Prints:

1. the wall time of `certkit run PROFILE --emulate` (every transport, every
   rule), with the time per rule family, the part the standard imposes
   (windows a conformant device cannot shorten: SER-002's polling window,
   reply-ms after invalid input) and the time spent waiting for the DUT
   (reconnects, advertising), both read from the `imposed wait` and
   `wait for the DUT` measurements in verdict.json;
2. the peak memory (max RSS) of that run, from /usr/bin/time -v;
3. the fleet figure: `--fleet` emulated kettles certified one after another,
   then `--parallel` at a time, and the ratio of the two wall times.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support.cli import run_certkit
from tests.support.paths import KETTLE
from tests.support.results import RunResult

TIME_V = ("/usr/bin/time", "-v")


def certify(profile: Path, out: Path, timed: bool = False) -> tuple[float, int, str]:
    """(wall s, max RSS in KiB or 0, verdict) of one `certkit run --emulate`."""
    started = time.monotonic()
    run = run_certkit(profile, out, "--emulate", timeout=600, prefix=TIME_V if timed else ())
    wall = time.monotonic() - started
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
    return wall, int(rss.group(1)) if rss else 0, run.verdict["verdict"]


def breakdown(out: Path) -> tuple[dict[str, float], float, float]:
    """Seconds per rule family, the seconds the standard imposes, and the seconds spent
    waiting for the DUT."""
    run = RunResult.of(out)
    families: dict[str, float] = defaultdict(float)
    for result in run.results():
        rule = result["rule"]
        family = "INT+SEC-002" if rule.startswith("INT-") or rule == "SEC-002" else rule[:3]
        families[family] += result.get("duration_s") or 0.0
    imposed, dut = run.waits_s()
    return dict(families), imposed, dut


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", type=Path, default=KETTLE)
    parser.add_argument("--fleet", type=int, default=10)
    parser.add_argument("--parallel", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="certkit-interop-bench-") as folder:
        base = Path(folder)
        wall, rss, verdict = certify(args.profile, base / "single", timed=True)
        families, imposed, dut = breakdown(base / "single")
        print(f"full run ({args.profile.name}, --emulate, every rule): {wall:.1f} s wall, "
              f"verdict {verdict} (goal: at most 20 s)")
        for family, seconds in sorted(families.items(), key=lambda kv: -kv[1]):
            print(f"  {family:<12} {seconds:6.2f} s")
        print(f"  imposed by the standard: {imposed:.1f} s; waiting for the DUT: {dut:.1f} s; "
              f"harness and start-up: {wall - sum(families.values()):.1f} s outside the rules")
        print(f"peak memory (max RSS): {rss / 1024:.0f} MiB")
        started = time.monotonic()
        for i in range(args.fleet):
            certify(args.profile, base / f"seq-{i}")
        sequential = time.monotonic() - started
        started = time.monotonic()
        with ThreadPoolExecutor(args.parallel) as pool:
            verdicts = list(pool.map(lambda i: certify(args.profile, base / f"par-{i}")[2],
                                     range(args.fleet)))
        together = time.monotonic() - started
        print(f"fleet of {args.fleet}: one after another {sequential:.1f} s, {args.parallel} at "
              f"a time {together:.1f} s, ratio {sequential / together:.2f}x "
              f"({verdicts.count('CERTIFIED')}/{args.fleet} CERTIFIED together)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
