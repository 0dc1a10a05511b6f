"""A run's verdict.json read as data for the benchmarks: time in the rules, the waits the
rules and links recorded (`EvidenceLog.waited`), and measured figures by name."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from certkit.evidence import DUT_WAIT, IMPOSED_WAIT


def load(out: Path) -> dict:
    return json.loads((Path(out) / "verdict.json").read_text("utf-8"))


def results(document: dict, families: Iterable[str] = ()) -> list[dict]:
    """The rule results, only those of these families (e.g. "MQT") when given."""
    wanted = tuple(families)
    return [r for r in document["rules"] if not wanted or r["rule"][:3] in wanted]


def in_rules_s(document: dict, families: Iterable[str] = ()) -> float:
    """Seconds spent in rule instances (their durations added up)."""
    return sum(r.get("duration_s") or 0.0 for r in results(document, families))


def figures(document: dict, name: str, families: Iterable[str] = ()) -> list[dict]:
    """Every measurement called `name`, in the order of the results."""
    return [m for r in results(document, families) for m in r.get("measurements") or []
            if m["name"] == name and m["value"] is not None]


def seconds(figure: dict) -> float:
    scale = {"s": 1.0, "ms": 0.001}
    return figure["value"] * scale[figure["unit"]]


def waits_s(document: dict, families: Iterable[str] = ()) -> tuple[float, float]:
    """(imposed by the standard, waiting for the DUT), in seconds."""
    families = tuple(families)
    return (sum(seconds(m) for m in figures(document, IMPOSED_WAIT, families)),
            sum(seconds(m) for m in figures(document, DUT_WAIT, families)))
