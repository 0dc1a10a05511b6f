"""How long certifying the multi-transport kettle takes, what it costs, and a fleet figure.

    python benchmarks/interop_bench.py [--profile PROFILE] [--fleet 10] [--parallel 2]

Prints:

1. the wall time of `certkit run PROFILE --emulate` (every transport, every
   rule), with the time per rule family and the part the standard imposes
   (waits a conformant device cannot shorten: SER-002's 3 s polling window,
   the waits the rules record as "imposed wait" or "waited");
2. the peak memory (max RSS) of that run, from /usr/bin/time -v;
3. the fleet figure: `--fleet` emulated kettles certified one after another,
   then `--parallel` at a time, and the ratio of the two wall times.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KETTLE = ROOT / "profiles" / "acme.kettle.k1.yaml"
SER_002_WINDOW_S = 3.0
IMPOSED = re.compile(r"imposed wait: (\d+(?:\.\d+)?) ms")
WAITED = re.compile(r"waited (\d+(?:\.\d+)?) s")


def certify(profile: Path, out: Path, timed: bool = False) -> tuple[float, int, str]:
    """(wall s, max RSS in KiB or 0, verdict) of one `certkit run --emulate`."""
    command = [sys.executable, "-m", "certkit", "run", str(profile), "--emulate", "--out",
               str(out)]
    if timed:
        command = ["/usr/bin/time", "-v", *command]
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    wall = time.monotonic() - started
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    verdict = json.loads((out / "verdict.json").read_text("utf-8"))["verdict"]
    return wall, int(rss.group(1)) if rss else 0, verdict


def breakdown(out: Path) -> tuple[dict[str, float], float]:
    """Seconds per rule family, and the seconds the standard imposes."""
    document = json.loads((out / "verdict.json").read_text("utf-8"))
    families: dict[str, float] = defaultdict(float)
    imposed = 0.0
    for result in document["rules"]:
        rule = result["rule"]
        family = "INT+SEC-002" if rule.startswith("INT-") or rule == "SEC-002" else rule[:3]
        families[family] += result.get("duration_s") or 0.0
        if rule == "SER-002" and result["outcome"] == "pass":
            imposed += SER_002_WINDOW_S
        evidence = out / result["evidence"] if result.get("evidence") else None
        if evidence and evidence.exists():
            text = evidence.read_text("utf-8", errors="replace")
            imposed += sum(float(x) / 1000 for x in IMPOSED.findall(text))
            imposed += sum(float(x) for x in WAITED.findall(text))
    return dict(families), imposed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", type=Path, default=KETTLE)
    parser.add_argument("--fleet", type=int, default=10)
    parser.add_argument("--parallel", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="certkit-interop-bench-") as folder:
        base = Path(folder)
        wall, rss, verdict = certify(args.profile, base / "single", timed=True)
        families, imposed = breakdown(base / "single")
        print(f"full run ({args.profile.name}, --emulate, every rule): {wall:.1f} s wall, "
              f"verdict {verdict} (goal: at most 20 s)")
        for family, seconds in sorted(families.items(), key=lambda kv: -kv[1]):
            print(f"  {family:<12} {seconds:6.2f} s")
        print(f"  imposed by the standard: {imposed:.1f} s; the rest is harness and start-up: "
              f"{wall - sum(families.values()):.1f} s outside the rules")
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
