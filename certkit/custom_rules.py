"""Rules of one's own: their namespace, and what collection refuses.

A test outside certkit's suite package marked `certkit_rule("LAB-001", level=...,
title=...)` is a rule of one's own. Its ID is its own: it may not be a rule of
the standard, nor look like one (a family of the catalogue, PRF-, DSN-, SER-,
MQT-, BLE-, INT-, SEC-), and it is recorded as `custom:LAB-001`, apart from
the standard's results. Whatever is wrong with such a test (its ID, a missing
level or title, a file that does not import) refuses the run at collection,
before any device is touched, as `file:line: what` (docs/custom-rules.md).
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import certkit.suite
from certkit.plan import selected
from certkit.report.record import CUSTOM
from certkit.standard.catalogue import Catalogue, Rule, catalogue

SUITE = Path(certkit.suite.__file__).resolve().parent
CUSTOM_ID = re.compile(r"[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)+")


class RuleRefused(ValueError):
    """A test cannot run as a rule; the message is `file:line: what`."""


def in_suite(path: Path, suite: Path | Sequence[Path] = SUITE) -> bool:
    """Whether a test file is part of the standard's suite (the only place its rules live;
    ECS-1.0's: certkit's own), or of a test module a declared transport adds to it."""
    suites = [suite] if isinstance(suite, Path) else suite
    return any(Path(path).resolve().is_relative_to(each.resolve()) for each in suites)


def shown(path: Path) -> str:
    """A path as a user reads it: relative to the working folder when inside it."""
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else Path(relative).as_posix()


def location(path: Path, function: Callable[..., object] | None) -> str:
    """`file:line` of a test's certkit_rule marker (of the function when the marker is not
    found in its source; of the file alone without a function)."""
    line = getattr(getattr(function, "__code__", None), "co_firstlineno", 0)
    try:
        if function is not None:
            lines, first = inspect.getsourcelines(function)
            line = first + next((n for n, text in enumerate(lines) if "certkit_rule" in text), 0)
    except (OSError, TypeError):
        pass
    return f"{shown(Path(path))}:{line}"


def custom_rule(rule_id: object, options: Mapping[str, object], where: str,
                rules: Catalogue | None = None) -> Rule:
    """The rule a test of one's own checks, in the `custom:` namespace; refused with
    `where` (file:line) when it claims or imitates the standard (`rules`, the run's
    catalogue) or lacks level or title."""
    rules = rules or catalogue()
    if not isinstance(rule_id, str):
        raise RuleRefused(f"{where}: certkit_rule({rule_id!r}): a rule ID is a string "
                          "such as 'LAB-001'")
    if rule_id in rules:
        number = rule_id.partition("-")[2]
        raise RuleRefused(
            f"{where}: certkit_rule({rule_id!r}) claims a rule of {rules.standard}; only "
            f"certkit's suite checks the standard's rules. Give a rule of your own an ID of "
            f"its own, e.g. LAB-{number}, which certkit records as {CUSTOM}LAB-{number}")
    family = rule_id.split("-", 1)[0].upper()
    if family in rules.families:
        raise RuleRefused(
            f"{where}: certkit_rule({rule_id!r}): {family}- IDs belong to {rules.standard} "
            f"({', '.join(sorted(rules.families))}); give a rule of your own another prefix, "
            "e.g. LAB-001")
    if not CUSTOM_ID.fullmatch(rule_id):
        raise RuleRefused(
            f"{where}: certkit_rule({rule_id!r}): a rule ID of your own is a prefix and a "
            f"number or name joined by '-', e.g. LAB-001 (certkit records it as "
            f"{CUSTOM}LAB-001; do not write the '{CUSTOM}' yourself)")
    level, title = options.get("level"), options.get("title")
    if level not in ("M", "R") or not isinstance(title, str) or not title.strip():
        missing = [name for name, bad in (("level='M' or 'R'", level not in ("M", "R")),
                                          ("a title", not isinstance(title, str)
                                           or not str(title).strip())) if bad]
        raise RuleRefused(f"{where}: certkit_rule({rule_id!r}): a rule of your own needs "
                          f"{' and '.join(missing)}")
    return Rule(id=CUSTOM + rule_id, level=level, section=str(options.get("section", "")),
                transport=str(options.get("transport", "custom")), title=title,
                text=str(options.get("text", title)),
                deadline_s=options.get("deadline_s"))  # type: ignore[arg-type]


def selected_rule(rule_id: str, patterns: Sequence[str]) -> bool:
    """`--rules` selects a rule of one's own by its ID with or without `custom:`."""
    return selected(rule_id, patterns) or (
        rule_id.startswith(CUSTOM) and selected(rule_id.removeprefix(CUSTOM), patterns))


def load_problem(path: Path, report_text: str) -> str:
    """`file:line: what` for a test file that could not be collected (a syntax error, an
    import that failed, ...), from pytest's report of it."""
    where = shown(Path(path))
    if Path(path).is_file():
        try:
            compile(Path(path).read_bytes(), str(path), "exec")
        except SyntaxError as exc:
            return f"{where}:{exc.lineno}: {type(exc).__name__}: {exc.msg}"
        except ValueError as exc:  # null bytes
            return f"{where}: cannot be compiled: {exc}"
    lines = [line for line in report_text.splitlines() if line.strip()]
    what = next((line[1:].strip() for line in reversed(lines) if line.startswith("E ")),
                lines[-1].strip() if lines else "could not be collected")
    numbers = re.findall(rf"{re.escape(Path(path).name)}:(\d+)", report_text)
    return f"{where}:{numbers[-1]}: {what}" if numbers else f"{where}: {what}"
