"""Signing and verifying certification records; generating the HTML report.

    python -m benchmarks.record_bench

Signs and verifies a record of 500 rule instances (median of 50), then
times `certkit report` (Allure 3 HTML + summary) on a run of the kettle with
every rule planned.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certkit.certificate import make_record, sign, verify
from tests.support.cli import certkit, run_certkit
from tests.support.paths import KETTLE


def record_of(instances: int) -> dict:
    rules = [{"rule": f"SER-{i % 13 + 1:03d}", "instance": f"2.{i}", "level": "M",
              "outcome": "pass", "message": "expected code 0 within 1000 ms, observed 0 in 12 ms",
              "duration_s": 0.012} for i in range(instances)]
    document = {"verdict": "CERTIFIED", "standard": "ECS-1.0", "certkit": "0.1.0",
                "suite_sha256": "cd" * 32, "bench_as_run": {"serial": "emulated"},
                "partial": False,
                "profile": {"path": "p.yaml", "sha256": "ab" * 32, "model": "acme.kettle.k1"},
                "selection": [], "complete": True, "waivers": [], "rules": rules,
                "started": "2026-11-22T10:00:00+00:00", "finished": "2026-11-22T10:00:20+00:00"}
    return make_record(document, {"model": "acme.kettle.k1", "firmware": "1.4.2"})


def median_ms(action, repeat: int = 50) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    key = Ed25519PrivateKey.generate()
    record = record_of(500)
    certificate = sign(record, key)
    print(f"sign, 500 instances:   {median_ms(lambda: sign(record, key)):.2f} ms")
    print(f"verify, 500 instances: "
          f"{median_ms(lambda: verify(certificate, key.public_key())):.2f} ms")

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run"
        run_certkit(KETTLE, out, timeout=600)
        start = time.perf_counter()
        done = certkit("report", out, timeout=600)
        took = time.perf_counter() - start
        count = len(list((out / "allure-results").glob("*-result.json")))
        state = "ok" if done.code == 0 else f"failed: {done.stderr.strip()[:200]}"
        print(f"certkit report of the kettle run ({count} Allure results): {took:.2f} s ({state})")


if __name__ == "__main__":
    main()
