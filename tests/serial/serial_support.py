"""Helpers for the serial tests: profiles, and `certkit run` as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from certkit.design import lint_file
from certkit.profile.model import Profile

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "profiles"
RUN_TIMEOUT_S = 120


def load_profile(name: str) -> Profile:
    profile = lint_file(PROFILES / f"{name}.yaml").profile
    assert profile is not None, f"{name} fails lint"
    return profile


@dataclass
class Run:
    code: int
    wall_s: float
    out: Path
    stdout: str
    stderr: str

    @property
    def verdict(self) -> dict:
        return json.loads((self.out / "verdict.json").read_text("utf-8"))

    def results(self, prefix: str = "SER-") -> list[dict]:
        return [r for r in self.verdict["rules"] if r["rule"].startswith(prefix)]

    def outcomes(self, rule: str) -> list[str]:
        return [r["outcome"] for r in self.results() if r["rule"] == rule]

    def failed(self, level: str | None = None) -> list[dict]:
        return [r for r in self.results()
                if r["outcome"] == "fail" and (level is None or r["level"] == level)]

    def evidence(self, instance: str) -> str:
        return (self.out / "evidence" / f"{instance}.log").read_text("utf-8")

    def explain(self) -> str:
        rows = [f"{r['rule']}[{r['instance']}] {r['outcome']}: {r['message']}"
                for r in self.results() if r["outcome"] != "pass"]
        return f"exit {self.code} after {self.wall_s:.1f} s\n" + "\n".join(rows) + self.stderr


def certkit_command(profile: str, out: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "certkit", "run", str(PROFILES / f"{profile}.yaml"),
            "--out", str(out), *args]


def finish(process: subprocess.Popen, started: float, out: Path) -> Run:
    try:
        stdout, stderr = process.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        raise AssertionError(f"certkit run did not end within {RUN_TIMEOUT_S} s:\n{stdout}")
    return Run(process.returncode, time.monotonic() - started, out, stdout, stderr)


def start_certkit(profile: str, out: Path, *args: str) -> tuple[subprocess.Popen, float]:
    process = subprocess.Popen(certkit_command(profile, out, *args), cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return process, time.monotonic()


def run_certkit(profile: str, out: Path, *args: str) -> Run:
    process, started = start_certkit(profile, out, *args)
    return finish(process, started, out)
