"""Shared helpers for certkit's own tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ROOT / "profiles"
KETTLE = PROFILES / "acme.kettle.k1.yaml"

settings.register_profile("certkit", deadline=None, max_examples=100)
settings.load_profile("certkit")


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


def certkit(*args: str, timeout: float = 120, env: dict | None = None,
            cwd: Path | None = None) -> CliResult:
    """Run the certkit command as a user would, in a subprocess with a deadline."""
    proc = subprocess.run([sys.executable, "-m", "certkit", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=cwd or ROOT)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def read_verdict(out: Path) -> dict:
    return json.loads((out / "verdict.json").read_text("utf-8"))


def outcomes(verdict: dict) -> dict[str, str]:
    """{"SER-004[2.1]": "pass", ...} from a verdict document."""
    return {(f"{r['rule']}[{r['instance']}]" if r["instance"] else r["rule"]): r["outcome"]
            for r in verdict["rules"]}


@pytest.fixture
def kettle_text() -> str:
    return KETTLE.read_text("utf-8")
