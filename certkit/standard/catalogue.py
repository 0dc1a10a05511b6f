"""A standard's rule catalogue, loaded from its `rules.yaml` (ECS-1.0's: certkit/standard/).

Every part of certkit that names a rule (the design checks, the certification
suite, the plan, the reports and `docs/rules.md`) reads it from here, so a
rule's ID, level, title and limits are written down once.

    >>> rule = catalogue().get("SER-004")
    >>> rule.level, rule.limits["reply"].value
    ('M', 1000)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from typing import Any, Literal

from certkit.profile.yaml12 import load_yaml

Level = Literal["M", "R"]
LEVEL_NAMES: dict[str, str] = {"M": "mandatory", "R": "recommended"}


@dataclass(frozen=True)
class Limit:
    name: str
    value: float
    unit: str
    timing: str | None = None  # the profile `timing` key that may tighten it

    def describe(self) -> str:
        tighten = f" (profile timing.{self.timing} may tighten it)" if self.timing else ""
        return f"{self.name} {self.value:g} {self.unit}{tighten}"


@dataclass(frozen=True)
class Family:
    id: str
    title: str
    section: str


@dataclass(frozen=True)
class Rule:
    id: str
    level: Level
    section: str
    transport: str
    title: str
    text: str
    per: str = "once"
    needs: tuple[str, ...] = ()
    bench: tuple[str, ...] = ()
    limits: Mapping[str, Limit] = field(default_factory=dict)
    deadline_s: float | None = None  # overrides the derived last-resort deadline

    @property
    def family(self) -> str:
        return self.id.split("-", 1)[0]

    @property
    def mandatory(self) -> bool:
        return self.level == "M"


@dataclass(frozen=True)
class Catalogue:
    standard: str
    families: Mapping[str, Family]
    rules: tuple[Rule, ...]
    run_order: tuple[str, ...] = ()  # every rule ID, in the order a run checks them

    def run_position(self, rule_id: str) -> int:
        """Where a rule runs; rules of one's own come after the standard's."""
        try:
            return self.run_order.index(rule_id)
        except ValueError:
            return len(self.run_order)

    def get(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def __contains__(self, rule_id: object) -> bool:
        return any(rule.id == rule_id for rule in self.rules)

    def family(self, family_id: str) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.family == family_id)


def _rule(data: dict[str, Any]) -> Rule:
    limits = {
        name: Limit(name, spec["value"], spec["unit"], spec.get("timing"))
        for name, spec in (data.get("limits") or {}).items()
    }
    return Rule(
        id=data["id"],
        level=data["level"],
        section=str(data["section"]),
        transport=data["transport"],
        title=data["title"],
        text=" ".join(data["text"].split()),
        per=data.get("per", "once"),
        needs=tuple(data.get("needs") or ()),
        bench=tuple(data.get("bench") or ()),
        limits=limits,
        deadline_s=data.get("deadline-s"),
    )


def load_catalogue(source: Traversable) -> Catalogue:
    """A standard's catalogue from its `rules.yaml`."""
    data = load_yaml(source.read_text("utf-8")).value
    families = {
        fid: Family(fid, spec["title"], str(spec["section"]))
        for fid, spec in data["families"].items()
    }
    rules = tuple(_rule(r) for r in data["rules"])
    run_order = tuple(rule_id for group in data["run-order"] for rule_id in group)
    if sorted(run_order) != sorted(rule.id for rule in rules):
        raise ValueError(f"{source.name}: run-order must name every rule exactly once")
    return Catalogue(data["standard"], families, rules, run_order)


def extended(base: Catalogue, source: Traversable, owner: str) -> Catalogue:
    """`base` with the rules of another catalogue file (`owner`'s, such as a transport's
    that adds rules to the standard) merged in: its families and rules added, its run order
    before the rule its `run-before:` names (after base's when it names none). Refuses a
    family or rule ID base has already (the standard's, or one added before)."""
    extra = load_catalogue(source)
    where = f"{owner}'s {source.name}"
    if extra.standard != base.standard:
        raise ValueError(f"{where} adds rules to {extra.standard}, not to {base.standard}")
    taken = sorted(set(extra.families) & set(base.families)) + sorted(
        rule.id for rule in extra.rules if rule.id in base)
    if taken:
        raise ValueError(f"{where}: {', '.join(taken)} already in {base.standard}'s catalogue "
                         "(its own, or a transport's declared beside it)")
    before = load_yaml(source.read_text("utf-8")).value.get("run-before")
    if before is not None and before not in base.run_order:
        raise ValueError(f"{where}: run-before names {before}, no rule of {base.standard}")
    at = base.run_order.index(before) if before is not None else len(base.run_order)
    return Catalogue(base.standard, {**base.families, **extra.families},
                     base.rules + extra.rules,
                     base.run_order[:at] + extra.run_order + base.run_order[at:])


def catalogue() -> Catalogue:
    """ECS-1.0's catalogue (certkit's built-in standard); a run reads its own standard's
    (`certkit.standard.standard(name).catalogue`)."""
    from certkit.standard import builtin

    return builtin().catalogue
