"""The evidence files of a run: evidence/<instance>.log for each rule instance, and
evidence/after-the-last-rule.log for what came after the last check (links closing)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from certkit.evidence import EvidenceItem
from certkit.report.record import write_atomically

AFTER_THE_LAST_RULE = Path("evidence") / "after-the-last-rule.log"


def safe(name: str) -> str:
    """An instance ID as a file name."""
    return re.sub(r"[^A-Za-z0-9._\[\]-]", "_", name)


def instance_file(instance_id: str) -> Path:
    """Where an instance's evidence goes, relative to the run's folder."""
    return Path("evidence") / f"{safe(instance_id)}.log"


def write_instance_evidence(out: Path, instance_id: str, title: str, label: str,
                            outcome: str, message: str, items: Iterable[EvidenceItem]) -> Path:
    """Write an instance's evidence under its header; returns the file relative to `out`.
    Raises OSError when it cannot be written."""
    relative = instance_file(instance_id)
    lines = [f"{instance_id} {title}", f"instance: {label or 'once'}",
             f"outcome: {outcome}", f"message: {message}", ""]
    lines += [entry.line() for entry in items]
    write_atomically(out / relative, "\n".join(lines) + "\n")
    return relative


def write_after_last_rule(out: Path, items: list[EvidenceItem]) -> None:
    """What happened after the last instance's check is the run's, not its (nothing written
    when nothing happened)."""
    if items:
        write_atomically(out / AFTER_THE_LAST_RULE,
                         "after the last rule instance (links closing)\n\n"
                         + "".join(entry.line() + "\n" for entry in items))
