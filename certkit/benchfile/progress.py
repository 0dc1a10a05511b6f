"""What a DUT's run has done so far, read from its verdict.json (rewritten after each
instance), and the live table of a bench's DUTs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

STILL_GOING = "not run: the run is still going"


@dataclass
class Progress:
    name: str
    current: str = ""        # the rule being checked (the first pending one in run order)
    done: int = 0
    planned: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    verdict: str | None = None  # once the run has ended
    exit: int | None = None

    def line(self) -> str:
        state = self.verdict or (f"running {self.current}" if self.current else "starting")
        return (f"{self.name}: {state} ({self.done}/{self.planned or '?'} done: "
                f"{self.passed} pass, {self.failed} fail, {self.errors} error)")


def read_progress(name: str, out: Path) -> Progress:
    progress = Progress(name)
    path = out / "verdict.json"
    if not path.exists():  # a DUT resumed (certkit run --resume): its attempt's, until merged
        attempts = [p for p in out.glob("runs/*/verdict.json") if p.parent.name.isdigit()]
        path = max(attempts, key=lambda p: int(p.parent.name), default=path)
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return progress
    results = list(document.get("rules", [])) + list(
        document.get("custom_rules", {}).get("rules", []))
    pending = [r for r in results if r.get("message", "").startswith(STILL_GOING)]
    progress.planned = len(results)
    progress.done = len(results) - len(pending)
    progress.passed = sum(r.get("outcome") == "pass" for r in results)
    progress.failed = sum(r.get("outcome") == "fail" for r in results)
    progress.errors = sum(r.get("outcome") == "error" for r in results) - len(pending)
    if pending:
        from certkit.standard import BUILTIN, UnknownStandard, standard

        try:  # the run order of the standard the DUT's profile names
            order = standard(str(document.get("standard", BUILTIN))).catalogue.run_position
        except UnknownStandard:
            order = standard(BUILTIN).catalogue.run_position
        progress.current = min((r["rule"] for r in pending), key=order)
    return progress


HEADER = ("DUT", "rule", "done", "pass", "fail", "error", "verdict")


def table(rows: list[Progress]) -> list[str]:
    cells = [HEADER] + [
        (p.name, "" if p.verdict else p.current, f"{p.done}/{p.planned or '?'}",
         str(p.passed), str(p.failed), str(p.errors),
         p.verdict or "…") for p in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADER))]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
