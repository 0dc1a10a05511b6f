"""Waivers: an ecosystem engineer's acceptance of a known failure.

A waivers file is YAML, checked like a profile (positions in every error):

    waivers:
      - rule: ECS-1.0:SER-009    # the standard's name and the rule's ID; SER-009 alone
                                 # is ECS-1.0's (as written before standards were objects)
        instance: "2.2"          # optional: all instances of the rule when absent
        reason: sensor noise, fixed in firmware 1.5
        reviewer: j.chen@ecosystem.example
        expires: 2027-03-31      # ISO date; the waiver stops applying after it

A waiver turns a `fail` of its rule (and instance) into `waived`, until it
expires. It never touches any other outcome: an `error` stays an error, and
a waiver for a rule that passed is reported as unused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from certkit.design import ProfileReadError, read_profile
from certkit.design.document import StrictValidator, describe_schema_error
from certkit.profile.yaml12 import Position, YamlError, load_yaml
from certkit.standard import BUILTIN, Standard, UnknownStandard, split, standard
from certkit.verdict import Outcome, RuleResult

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["waivers"],
    "properties": {
        "waivers": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["rule", "reason", "reviewer", "expires"],
                "properties": {
                    "rule": {"type": "string"},
                    "instance": {"type": "string"},
                    "reason": {"type": "string", "minLength": 1},
                    "reviewer": {"type": "string", "minLength": 1},
                    "expires": {"type": "string"},
                },
            },
        }
    },
}


class WaiverError(ValueError):
    """The waivers file is unreadable or wrong; the message names file, line and column."""


@dataclass(frozen=True)
class Waiver:
    rule: str
    reason: str
    reviewer: str
    expires: date
    instance: str | None = None
    line: int = 0
    standard: str = BUILTIN  # whose rule `rule` is

    @property
    def qualified(self) -> str:
        return f"{self.standard}:{self.rule}"

    def covers(self, result: RuleResult) -> bool:
        """Results are of the run's standard, which load_waivers checked a waiver names."""
        return result.rule == self.rule and self.instance in (None, result.instance)

    def expired(self, today: date) -> bool:
        return today > self.expires

    def as_json(self) -> dict[str, Any]:
        data = {"rule": self.rule, "id": self.qualified, "instance": self.instance,
                "reason": self.reason,
                "reviewer": self.reviewer, "expires": self.expires.isoformat()}
        return {key: value for key, value in data.items() if value is not None}


def load_waivers(path: Path, run_standard: Standard | None = None) -> list[Waiver]:
    """The waivers of a file; with `run_standard`, each must name a rule of it (a waiver of
    another standard's rule could never apply, so it is refused rather than ignored)."""
    try:
        text, _ = read_profile(path)
    except ProfileReadError as exc:
        raise WaiverError(str(exc)) from None
    try:
        document = load_yaml(text)
    except YamlError as exc:
        raise _error(path, exc.position, exc.message) from None
    errors = sorted(StrictValidator(SCHEMA).iter_errors(document.value),
                    key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        where, message, key = describe_schema_error(errors[0])[0]
        raise _error(path, document.position(where, key=key), message)
    waivers = []
    for index, entry in enumerate(document.value["waivers"]):
        at = ("waivers", index)
        named, rule_id = split(entry["rule"])
        try:
            owner = standard(named)
        except UnknownStandard as exc:
            raise _error(path, document.position(at + ("rule",)), f"{entry['rule']!r}: {exc}") \
                from None
        if run_standard is not None and owner.name == run_standard.name:
            owner = run_standard  # with the rules the profile's transports add to it
        if rule_id not in owner.catalogue:
            raise _error(path, document.position(at + ("rule",)),
                         f"{entry['rule']!r} is not a rule of {owner.name}")
        if run_standard is not None and owner is not run_standard:
            raise _error(path, document.position(at + ("rule",)),
                         f"{entry['rule']!r} is a rule of {owner.name}, but the profile states "
                         f"conformance to {run_standard.name} (write "
                         f"{run_standard.name}:ID to waive one of its rules)")
        try:
            expires = date.fromisoformat(entry["expires"])
        except ValueError:
            raise _error(path, document.position(at + ("expires",)),
                         f"expires {entry['expires']!r} is not a date YYYY-MM-DD") from None
        waivers.append(Waiver(rule_id, entry["reason"], entry["reviewer"], expires,
                              entry.get("instance"), document.position(at).line, owner.name))
    return waivers


def _error(path: Path, position: Position, message: str) -> WaiverError:
    return WaiverError(f"{path}:{position.line}:{position.column}: {message}")


@dataclass
class WaiverReport:
    results: list[RuleResult]
    applied: list[Waiver]
    notes: list[str]  # expired, unused or refused waivers, for the reviewer


def apply_waivers(results: Iterable[RuleResult], waivers: list[Waiver],
                  today: date) -> WaiverReport:
    results = list(results)
    applied: list[Waiver] = []
    notes: list[str] = []
    for waiver in waivers:
        target = f"{waiver.rule}[{waiver.instance}]" if waiver.instance else waiver.rule
        covered = [i for i, r in enumerate(results) if waiver.covers(r)]
        if waiver.expired(today):
            notes.append(f"waiver for {target} expired on {waiver.expires}; not applied")
            continue
        failed = [i for i in covered if results[i].outcome is Outcome.FAIL]
        for i in failed:
            was = results[i]
            results[i] = replace(was, outcome=Outcome.WAIVED, message=(
                f"waived by {waiver.reviewer} until {waiver.expires} ({waiver.reason}); "
                f"the failure: {was.message}"))
        if failed:
            applied.append(waiver)
        errors = [results[i] for i in covered if results[i].outcome is Outcome.ERROR]
        if errors:
            notes.append(f"waiver for {target} does not cover {len(errors)} error outcome(s): "
                         "a waiver accepts a device failure, never a check that did not run")
        if not failed and not errors:
            notes.append(f"waiver for {target} is unused: no failure of it in this run")
    return WaiverReport(results, applied, notes)
