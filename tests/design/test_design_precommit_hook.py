"""The pre-commit hook definition (.pre-commit-hooks.yaml) runs `certkit lint` on profiles."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import yaml

from tests.design.conftest import EXAMPLES, Kettle
from tests.support.paths import ROOT


def _hook() -> dict:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))
    (hook,) = [h for h in hooks if h["id"] == "certkit-lint"]
    assert hook["language"] == "python"  # pre-commit installs certkit from this repository
    return hook


def _run_hook(hook: dict, files: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """As pre-commit runs it: the entry's words, then the matching files."""
    selected = [f for f in files
                if re.search(hook["files"], f) and not re.search(hook["exclude"], f)]
    command = shlex.split(hook["entry"])
    venv_bin = Path(ROOT / ".venv" / "bin")
    return subprocess.run([str(venv_bin / command[0]), *command[1:], *selected],
                          capture_output=True, text=True, cwd=cwd, timeout=60, check=False)


def test_hook_selects_profiles_only() -> None:
    hook = _hook()
    pattern = hook["files"]
    assert all(re.search(pattern, str(p.relative_to(ROOT))) for p in EXAMPLES)
    assert re.search(hook["exclude"], "profiles/lab.bench.yaml")
    assert not re.search(hook["exclude"], "profiles/acme.kettle.k1.yaml")
    assert re.search(pattern, "firmware/certkit/acme.kettle.k1.yaml")
    assert not re.search(pattern, ".github/workflows/certify.yml")
    assert not re.search(pattern, "profiles/README.md")


def test_hook_passes_the_examples_and_stops_a_broken_profile(kettle: Kettle,
                                                              tmp_path: Path) -> None:
    hook = _hook()
    clean = _run_hook(hook, [str(p.relative_to(ROOT)) for p in EXAMPLES], ROOT)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    (tmp_path / "certkit").mkdir()
    kettle.edit("  model: acme.kettle.k1\n", "  model: Acme.Kettle.K1\n") \
        .write(tmp_path / "certkit", "kettle.yaml")
    broken = _run_hook(hook, ["certkit/kettle.yaml", "README.md"], tmp_path)
    assert broken.returncode == 1
    assert broken.stdout.startswith("certkit/kettle.yaml:") and ": error: DSN-001 " in broken.stdout
