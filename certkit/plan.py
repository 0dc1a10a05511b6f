"""Which rule instances a profile calls for, and why: a pure function.

The profile is the DUT's conformance statement (like PICS in Matter): what it
declares decides which rules apply and how many instances each has. Every
rule ends up in the plan, applicable or not, with the reason in words, so
`certkit plan --explain` can show nobody has to guess.

    >>> plan = make_plan(profile)
    >>> [i.id for i in plan.instances if i.rule.id == "SER-004"]
    ['SER-004[1.1]', 'SER-004[1.2]', ...]
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from certkit.profile.model import Action, Event, Profile, Property
from certkit.standard.catalogue import Catalogue, Rule
from certkit.transports import Condition, transports

Target = Property | Action | Event | str | None
_Kind = TypeVar("_Kind", Property, Action, Event, str)


def _declares(transport: str) -> Condition:
    return Condition(
        lambda p: transport in p.transports.declared,
        f"the profile declares transports.{transport}",
        f"the profile declares no {transport} transport",
    )


def _shares_medium(profile: Profile) -> bool:
    return any(transports()[name].medium for name in profile.transports.declared)


def _controllers(profile: Profile) -> bool:
    declared = profile.transports.declared
    return len(declared) >= 2 or any(transports()[t].several_controllers for t in declared)


def _or(words: list[str], last: str) -> str:
    return ", ".join(words[:-1]) + f" {last} " + words[-1] if len(words) > 1 else "".join(words)


@functools.cache
def conditions() -> dict[str, Condition]:
    """The named conditions of the catalogue's `needs`: one per registered transport
    (`needs: [serial]`), the transports' own (`bthome`), and the device's."""
    known = transports().values()
    several = [t.short for t in known if t.several_controllers]
    media = [(t.short, t.medium) for t in known if t.medium]
    found: dict[str, Condition] = {t.name: _declares(t.name) for t in known}
    for transport in known:
        found |= transport.conditions()
    found |= {
        "battery": Condition(
            lambda p: p.device.power == "battery",
            "the device is battery powered",
            "the device is not battery powered (device.power is mains)",
        ),
        "concurrent-controllers": Condition(
            _controllers,
            f"two controllers can reach the device ({_or(several, 'or')}, or two transports)",
            f"only one controller can reach the device (no {_or(several, 'or')} and a single "
            "transport)",
        ),
        "shared-medium": Condition(
            _shares_medium,
            f"the device shares {_or(['a ' + medium for _, medium in media], 'or')} with other "
            "devices",
            f"the device has neither {_or([short for short, _ in media], 'nor')}, so shares no "
            f"{_or([medium for _, medium in media], 'or')}",
        ),
        "any-transport": Condition(
            lambda p: bool(p.transports.declared),
            "the profile declares a transport",
            "the profile declares no transport",
        ),
    }
    return found


@dataclass(frozen=True, repr=False)
class Instance:
    """One rule instance: a rule once, or once per property, action, transport..."""

    rule: Rule
    key: str = ""  # "" when the rule is checked once; "2.1", "serial", ...
    label: str = ""  # what the key names, for people: "kettle.temperature"
    target: Target = None
    applies: bool = True
    reason: str = ""

    @property
    def id(self) -> str:
        return f"{self.rule.id}[{self.key}]" if self.key else self.rule.id

    def __repr__(self) -> str:
        return self.id

    def target_as(self, kind: type[_Kind]) -> _Kind:
        """The target, as the kind the rule is checked per (a property, an action, a
        transport's name): a rule asking for another kind is the harness's fault."""
        if not isinstance(self.target, kind):
            raise TypeError(f"{self.id} is checked for {self.target!r}, not a {kind.__name__}")
        return self.target


def _exposing(prop: Property, profile: Profile) -> list[str]:
    return [t for t in profile.transports.declared if prop in profile.properties_on(t)]


def cannot_change(prop: Property, profile: Profile) -> str | None:
    """Why certkit can cause no change of `prop` (ECS-1 C-1), or None when it can.

    certkit changes a value only by writing it: over a declared transport
    that exposes the property and on which it is writable. It never waits
    for the device to change a value by itself.
    """
    exposing = _exposing(prop, profile)
    if prop.writable and exposing:
        return None
    where = ", ".join(exposing) or "no declared transport"
    return (f"read-only everywhere; certkit cannot cause a change ({prop.label} is exposed on "
            f"{where} and writable on none)")


def _targets(rule: Rule, profile: Profile) -> tuple[list[tuple[str, str, Target]], str]:
    """The (key, label, target) triples a rule is checked for, and what they are."""
    transport = rule.transport
    if rule.per == "once":
        return [("", "", None)], ""
    if rule.per == "transport":
        return [(t, t, t) for t in profile.transports.declared], "declared transport"
    if rule.per in ("readable-property", "writable-property", "notify-property"):
        access = rule.per.split("-")[0]
        flag = {"readable": "readable", "writable": "writable", "notify": "notifies"}[access]
        props = [p for p in profile.properties_on(transport) if getattr(p, flag)]
        return [(p.key, p.label, p) for p in props], f"{access} property on {transport}"
    if rule.per == "changeable-notify-property":  # C-1: those without a way get n/a instances
        props = [p for p in profile.properties_on(transport) if p.notifies]
        kind = (f"notify property on {transport} that certkit can change (a write over "
                f"{transport} or a set through another declared transport)")
        return [(p.key, p.label, p) for p in props], kind
    if rule.per == "writable-property-or-action":  # C-6: an action is a settable property
        props = [p for p in profile.properties_on(transport) if p.writable]
        actions = [a for s in profile.services_on(transport) for a in s.actions]
        return ([(p.key, p.label, p) for p in props]
                + [(f"action-{a.key}", a.label, a) for a in actions],
                f"writable property or action on {transport}")
    if rule.per == "shared-writable-property":
        props = [p for p in profile.properties() if p.writable and len(_exposing(p, profile)) >= 2]
        return ([(p.key, p.label, p) for p in props],
                "writable property exposed on two or more transports")
    if rule.per == "action":
        return [(a.key, a.label, a) for a in profile.actions()], "action"
    if rule.per == "event":
        return [(e.key, e.label, e) for e in profile.events()], "event"
    raise ValueError(f"{rule.id}: unknown instance kind {rule.per!r}")


def instances_of(rule: Rule, profile: Profile, operator: bool = False) -> list[Instance]:
    """The rule's instances for this profile; one not-applicable instance if none.
    `operator`: the bench has an operator who can cause changes certkit cannot (C-1)."""
    for name in rule.needs:
        condition = conditions()[name]
        if not condition.test(profile):
            return [Instance(rule, applies=False, reason=condition.fails)]
    held = [conditions()[name].holds for name in rule.needs]
    targets, kind = _targets(rule, profile)
    if not targets:
        return [Instance(rule, applies=False, reason=f"the profile declares no {kind}")]
    reason = "; ".join(held) or ("applies to every profile" if rule.per == "once" else "")
    reason = "; ".join(filter(None, [reason, f"one instance per {kind}" if kind else ""]))
    return [_instance(rule, key, label, target, reason, profile, operator)
            for key, label, target in targets]


def _instance(rule: Rule, key: str, label: str, target: Target, reason: str,
              profile: Profile, operator: bool) -> Instance:
    if rule.per == "changeable-notify-property" and isinstance(target, Property):
        why_not = cannot_change(target, profile)
        if why_not and operator:
            return Instance(rule, key, label, target, True,
                            f"{why_not}, so the operator is asked to cause one (ECS-1 C-1)")
        if why_not:
            return Instance(rule, key, label, target, False,
                            f"{why_not}, and the run has no operator to cause one")
    return Instance(rule, key, label, target, True, reason)


def selected(rule_id: str, patterns: Sequence[str]) -> bool:
    """`--rules` selection: no pattern selects everything."""
    return not patterns or any(fnmatch.fnmatchcase(rule_id, p) for p in patterns)


@dataclass(frozen=True)
class Plan:
    profile: Profile
    instances: tuple[Instance, ...]
    patterns: tuple[str, ...] = ()

    def of(self, rule_id: str) -> list[Instance]:
        return [i for i in self.instances if i.rule.id == rule_id]

    @property
    def applicable(self) -> list[Instance]:
        return [i for i in self.instances if i.applies]


def make_plan(profile: Profile, patterns: Iterable[str] = (),
              rules: Catalogue | None = None, operator: bool = False) -> Plan:
    """`operator`: whether the run has an operator (the read-only BLE-007 instances).
    `rules`: the catalogue to plan, by default that of the standard the profile names, with
    the rules its declared transports add to it."""
    patterns = tuple(patterns)
    if rules is None:
        from certkit.standard import standard

        rules = standard(profile.standard).with_transports(profile.transports.declared).catalogue
    chosen = [r for r in rules.rules if selected(r.id, patterns)]
    return Plan(profile, tuple(i for r in chosen for i in instances_of(r, profile, operator)),
                patterns)
