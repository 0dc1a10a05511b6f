"""Do verdicts hold from one run to the next? Reruns of the same emulated device.

    python -m benchmarks.rerun_bench [--profile PROFILE] [--repeat 20] [-- EXTRA RUN ARGS]

Certifies the profile against the reference emulators `--repeat` times, one
run after another, and prints each run's verdict and wall time, then the
number of runs whose verdict, or whose outcome of any rule instance, differs
from the first run's (the goal is 0 of each), with the instances that moved.
Extra arguments go to `certkit run` (e.g. `-- --variant mqtt:qos2`).
It also says whether pytest-randomly is installed, since a run must be
immune to it.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
from pathlib import Path

from tests.support.cli import run_certkit
from tests.support.paths import KETTLE


def certify(profile: Path, out: Path, extra: list[str]) -> tuple[float, str, dict[str, str]]:
    """(wall s, verdict, {instance: outcome}) of one `certkit run --emulate`."""
    run = run_certkit(profile, out, "--emulate", *extra, timeout=900)
    try:
        return run.seconds, run.verdict["verdict"], run.outcomes
    except (OSError, ValueError):
        tail = (run.stderr or run.stdout).strip().splitlines()[-1:] or ["(no output)"]
        return run.seconds, f"NO VERDICT (exit {run.code}: {tail[0][:120]})", {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", type=Path, default=KETTLE)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("extra", nargs="*", help="arguments for certkit run (after --)")
    args = parser.parse_args()
    randomly = importlib.util.find_spec("pytest_randomly") is not None
    print(f"profile {args.profile.name}, {args.repeat} runs, pytest-randomly "
          f"{'installed' if randomly else 'not installed'}")
    walls, verdicts, changed_runs, moved = [], [], 0, set()
    with tempfile.TemporaryDirectory(prefix="certkit-rerun-") as tmp:
        first: dict[str, str] | None = None
        for n in range(args.repeat):
            wall, verdict, outcomes = certify(args.profile, Path(tmp) / f"run{n}", args.extra)
            walls.append(wall)
            verdicts.append(verdict)
            if first is None:
                first = outcomes
            diff = {key for key in first.keys() | outcomes.keys()
                    if first.get(key) != outcomes.get(key)}
            changed_runs += bool(diff)
            moved |= diff
            print(f"  run {n + 1:2d}: {verdict:<14} {wall:5.1f} s"
                  + (f"  moved: {', '.join(sorted(diff))}" if diff else ""))
    verdict_changes = sum(v != verdicts[0] for v in verdicts)
    missing = sum(v.startswith("NO VERDICT") for v in verdicts)
    if missing:
        print(f"runs without a verdict: {missing} (the figures below mean nothing)")
    print(f"wall time: min {min(walls):.1f} s, median {statistics.median(walls):.1f} s, "
          f"max {max(walls):.1f} s")
    print(f"verdict changes from the first run: {verdict_changes} of {args.repeat - 1} "
          "(goal 0)")
    print(f"runs with any instance outcome changed: {changed_runs} (goal 0)"
          + (f"; instances that moved: {', '.join(sorted(moved))}" if moved else ""))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
