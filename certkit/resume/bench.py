"""`certkit run --bench BENCH.yaml --resume OUT`: each selected DUT resumed from OUT/<name>/.

A DUT with something to re-run gets `certkit run --resume OUT/<name> --out OUT2/<name>` (its
bench file's profile and bench, checked against its earlier run here first); a DUT with
nothing left in error or not run is copied into OUT2/<name>/ as it was and listed in
bench.json with `"resumed": false`. OUT is never changed.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

from certkit.benchfile.load import Dut
from certkit.resume.earlier import ResumeError, load, same_bench, same_profile, separate
from certkit.verdict import Verdict


def split(folder: Path, duts: list[Dut], out: Path | None) -> tuple[list[Dut], list[Dut]]:
    """(the DUTs to resume, those with nothing to re-run); raises ResumeError naming the DUT
    whose earlier run is missing or whose profile or bench the bench file changed."""
    if out is not None:
        separate(folder, out)
    if not (folder / "bench.json").is_file():
        raise ResumeError(f"{folder}: no bench.json (not the folder of a certkit run --bench)")
    again: list[Dut] = []
    kept: list[Dut] = []
    for dut in duts:
        try:
            earlier = load(folder / dut.name)
            same_profile(earlier, dut.profile)
            if dut.labgrid is None:  # a place's port is known once held: its run checks it
                same_bench(earlier, dut.bench.describe())
        except ResumeError as exc:
            raise ResumeError(f"DUT {dut.name}: {exc}") from None
        (again if earlier.to_rerun() else kept).append(dut)
    if not again:
        raise ResumeError(f"nothing to re-run: no DUT of {folder} selected has an instance "
                          "left in error or not run")
    return again, kept


def keep(folder: Path, out: Path, duts: list[Dut]) -> list[dict[str, Any]]:
    """Copy the DUTs with nothing to re-run into `out` as they were; their bench.json
    entries."""
    entries = []
    for dut in duts:
        shutil.copytree(folder / dut.name, out / dut.name, symlinks=True)
        verdict = load(out / dut.name).document["verdict"]
        entries.append({"name": dut.name, "verdict": verdict, "out": str(out / dut.name),
                        "exit": Verdict(verdict).exit_code, "resumed": False})
    return entries


def resume_args(args: argparse.Namespace, dut: Dut) -> list[str]:
    """What a DUT's own `certkit run` gets to resume its earlier run."""
    earlier = getattr(args, "resume", None)
    return [f"--resume={earlier / dut.name}"] if earlier is not None else []
