"""The folder a run writes into: always its own.

A run never writes into a folder holding another run's results (an old
certificate.json beside a new verdict would tell two stories): `--out` must
be new or empty, `--force` empties a previous run's folder first, and a
default folder is created atomically with a name no other run can take.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

RUN_MARKER = "verdict.json"  # what every run folder holds, from the run's start


class OutputFolderError(ValueError):
    """The output folder cannot be used, with the reason."""


def _entries(folder: Path) -> list[Path]:
    # An empty allure-results folder is what Allure makes before any result.
    return [p for p in folder.iterdir()
            if not (p.name == "allure-results" and p.is_dir() and not any(p.iterdir()))]


def prepare(out: Path, force: bool = False) -> Path:
    """Make `out` an empty folder for a new run, or raise OutputFolderError."""
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise OutputFolderError(f"{out}: is a file, not a folder")
        try:
            entries = _entries(out)
        except OSError as exc:
            raise OutputFolderError(f"{out}: cannot list it: {exc.strerror}") from None
        if entries and not force:
            raise OutputFolderError(
                f"{out}: holds files already (another run's results?); give a new or empty "
                "folder, or --force to replace a previous run's results")
        if entries:
            if not (out / RUN_MARKER).is_file():
                raise OutputFolderError(
                    f"{out}: --force replaces only a certkit run's folder, and this one has no "
                    f"{RUN_MARKER}; give a new or empty folder")
            _empty(out)
    else:
        try:
            out.mkdir(parents=True)
        except OSError as exc:
            raise OutputFolderError(f"{out}: cannot create it: {exc.strerror}") from None
    _check_writable(out)
    return out


def _empty(folder: Path) -> None:
    """Remove what a previous run left, the verdict last: a folder without one is free."""
    try:
        for entry in sorted(folder.iterdir(), key=lambda p: p.name == RUN_MARKER):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    except OSError as exc:
        raise OutputFolderError(f"{folder}: cannot remove the previous run's results: "
                                f"{exc.strerror}") from None


def _check_writable(folder: Path) -> None:
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".certkit-probe.")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputFolderError(f"{folder}: cannot write into it: {exc.strerror}") from None


def default_folder(model: str, base: Path = Path("reports")) -> Path:
    """reports/<model>-<date>-<time>.<microseconds>, created here: mkdir is atomic, so two
    runs started at once never share a folder (the second takes a -2 suffix)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S.%f")
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputFolderError(f"{base}: cannot create it: {exc.strerror}") from None
    for suffix in range(1, 1000):
        folder = base / (f"{model}-{stamp}" + (f"-{suffix}" if suffix > 1 else ""))
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputFolderError(f"{folder}: cannot create it: {exc.strerror}") from None
        _check_writable(folder)
        return folder
    raise OutputFolderError(f"{base}: no free folder name for {model}-{stamp}")
