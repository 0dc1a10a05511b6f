"""Wall time of `certkit lint` and of a design-only `certkit run`.

    python -m benchmarks.lint_bench [--repeat N] [--lint-only]

Prints the median of N runs of each case, start-up included (each case is a
fresh `python -m certkit` process, as a user or CI would run it). The goal for
one profile is 0.15 s on the project's 2-core machine when it is quiet; on a busy
machine compare with the bare interpreter's start, printed beside it.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.cli import certkit
from tests.support.paths import KETTLE
from tests.support.paths import PROFILES as FOLDER

PROFILES = sorted(p for p in FOLDER.glob("*.yaml")
                  if not p.name.endswith(".bench.yaml"))  # device profiles only
GOAL_ONE_PROFILE_S = 0.15


def timed(args: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        certkit(*args, timeout=300)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--lint-only", action="store_true", help="skip the design-only run")
    options = parser.parse_args()
    repeat = options.repeat
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    interpreter = time.perf_counter() - start

    one = timed(["lint", str(PROFILES[0])], repeat)
    print(f"lint, 1 profile:      {one:.3f} s  (goal {GOAL_ONE_PROFILE_S} s, "
          f"ratio {one / GOAL_ONE_PROFILE_S:.2f}; bare interpreter start {interpreter:.3f} s)")

    with tempfile.TemporaryDirectory() as folder:
        copies = [Path(folder) / f"p{i:03d}-{PROFILES[i % len(PROFILES)].name}" for i in range(200)]
        for i, copy in enumerate(copies):
            shutil.copy(PROFILES[i % len(PROFILES)], copy)
        many = timed(["lint", *map(str, copies)], max(1, repeat // 2))
        print(f"lint, 200 profiles:   {many:.3f} s  "
              f"({(many - one) / 199 * 1000:.2f} ms per extra profile)")

        if options.lint_only:
            return
        out = Path(folder) / "run"
        design = timed(["run", str(KETTLE), "--out", str(out),
                        "--rules", "PRF-*", "--rules", "DSN-*", "--rules", "SEC-001"],
                       max(1, repeat // 2))
        print(f"run, kettle, design rules only: {design:.3f} s")


if __name__ == "__main__":
    main()
