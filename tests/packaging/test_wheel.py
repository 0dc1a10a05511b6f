"""The wheel is the whole product: built from the checkout and installed in a
fresh virtual environment outside it, certkit certifies the example kettle.

The wheel's dependencies come from the package registry, held to the test
lock (constraints/test.txt), so the venv is what `pip install certkit` gives.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.paths import ROOT
from tests.support.results import read_verdict

pytestmark = pytest.mark.slow

LOCK = ROOT / "constraints" / "test.txt"
SOURCE_FOLDERS = ("certkit", "emulators", "profiles")  # what the wheel is made of
SHIPPED_SUFFIXES = {".py", ".yaml", ".json", ".ini"}
KETTLE = "acme.kettle.k1"


@dataclass(frozen=True)
class Installed:
    wheel: Path
    source: Path  # the copy of the checkout the wheel was built from
    venv: Path
    home: Path  # a user's folder, outside the checkout

    def run(self, *argv: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return subprocess.run([str(a) for a in argv], cwd=self.home, env=env, text=True,
                              capture_output=True, timeout=timeout, check=False)

    def bin(self, name: str) -> Path:
        return self.venv / "bin" / name


def installed_folder(source_folder: str) -> str:
    """Where a source folder lands in the wheel (pyproject's package-dir, else as it is)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    package_dirs = pyproject["tool"]["setuptools"].get("package-dir", {})
    mapped = {folder: package for package, folder in package_dirs.items()}
    return mapped.get(source_folder, source_folder).replace(".", "/")


def copy_of_the_checkout(target: Path) -> Path:
    """Build from a copy: a build leaves build/ and egg-info behind in its source tree."""
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(
        ".*", "node_modules", "reports", "build", "dist", "*.egg-info", "__pycache__"))
    return target


def run_checked(argv: list[str | Path], timeout: float) -> None:
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert proc.returncode == 0, f"{' '.join(map(str, argv))}:\n{proc.stdout}\n{proc.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    source = copy_of_the_checkout(work / "source")
    run_checked([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                 "-w", work / "dist", source], timeout=300)
    (wheel,) = (work / "dist").glob("certkit-*.whl")
    venv = work / "venv"
    run_checked([sys.executable, "-m", "venv", venv], timeout=120)
    run_checked([venv / "bin" / "python", "-m", "pip", "install", "-q",
                 "--constraint", LOCK, wheel], timeout=600)
    home = work / "home"
    home.mkdir()
    return Installed(wheel, source, venv, home)


def test_the_wheel_holds_every_module_and_data_file_and_nothing_else(
        installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    expected = set()
    for folder in SOURCE_FOLDERS:
        for path in (installed.source / folder).rglob("*"):
            if path.suffix in SHIPPED_SUFFIXES and "__pycache__" not in path.parts:
                inside = path.relative_to(installed.source / folder).as_posix()
                expected.add(f"{installed_folder(folder)}/{inside}")
    assert "certkit/suite/pytest.ini" in expected
    assert f"certkit/examples/{KETTLE}.yaml" in expected
    assert sorted(expected - names) == []
    top_level = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert top_level == {installed_folder(folder).split("/")[0] for folder in SOURCE_FOLDERS}


def test_certkit_runs_from_the_venv_not_the_checkout(installed: Installed) -> None:
    where = installed.run(installed.bin("python"), "-c",
                          "import certkit, sys; print(certkit.__file__); print(sys.path)")
    assert where.returncode == 0, where.stderr
    module, path = where.stdout.splitlines()
    assert Path(module).is_relative_to(installed.venv)
    assert str(ROOT) not in path
    version = installed.run(installed.bin("python"), "-m", "certkit", "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("certkit ")


def test_an_example_started_with_init_is_certified_against_the_emulators(
        installed: Installed) -> None:
    listing = installed.run(installed.bin("certkit"), "examples")
    assert listing.returncode == 0, listing.stderr
    assert KETTLE in listing.stdout
    init = installed.run(installed.bin("certkit"), "init", "kettle")
    assert init.returncode == 0, init.stderr
    run = installed.run(installed.bin("certkit"), "run", f"{KETTLE}.yaml", "--emulate",
                        "--out", "kettle-run", timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "VERDICT: CERTIFIED" in run.stdout
    verdict = read_verdict(installed.home / "kettle-run")
    assert verdict["verdict"] == "CERTIFIED"


def test_pytest_runs_the_installed_suite_with_pyargs(installed: Installed) -> None:
    profile = installed.home / "serial-kettle.yaml"
    shutil.copyfile(ROOT / "profiles" / f"{KETTLE}.yaml", profile)
    proc = installed.run(installed.bin("pytest"), "--pyargs", "certkit.suite",
                         "--certkit-profile", profile, "--certkit-emulate", "serial",
                         "--certkit-rules", "SER-*", "--certkit-out", "pyargs-run",
                         timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "VERDICT: CERTIFIED" in proc.stdout
    verdict = read_verdict(installed.home / "pyargs-run")
    serial_rules = {r["rule"] for r in verdict["rules"] if r["rule"].startswith("SER-")}
    assert serial_rules and all(r["outcome"] == "pass" for r in verdict["rules"]
                                if r["rule"] in serial_rules and r["level"] == "M")
    assert verdict["partial"] is True  # --certkit-rules chose the serial rules only
