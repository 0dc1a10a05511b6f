"""The standards certkit certifies against: every `Standard` listed in the entry-point group
`certkit.standards` (certkit's own ECS-1.0 is listed in its pyproject.toml like any third
party's). A profile names its standard (`standard: ECS-1.0`); lint, plan, run, record,
reports and waivers all take that one.

    standard("ECS-1.0").catalogue.get("SER-004")
"""

from __future__ import annotations

import functools

from certkit.entrypoints import load, registered
from certkit.standard.base import QUALIFIER, Standard

GROUP = "certkit.standards"
BUILTIN = "ECS-1.0"  # the standard of certkit's own, and of records and waivers that name none


class UnknownStandard(LookupError):
    """A standard no installed package registers."""


@functools.cache
def standards() -> dict[str, Standard]:
    """Every registered standard by name, certkit's own first, then by name."""
    found: dict[str, Standard] = {}
    for name, value in registered(GROUP):
        loaded = load(value)
        if not isinstance(loaded, Standard):
            raise TypeError(f"entry point {name} = {value} of group {GROUP} is "
                            "not a certkit Standard")
        if loaded.name != name:
            raise TypeError(f"entry point {name} = {value} of group {GROUP} "
                            f"names standard {loaded.name!r}")
        found.setdefault(loaded.name, loaded)
    if BUILTIN not in found:  # certkit's sources on sys.path without its entry points
        from certkit.standard.ecs1 import ECS_1_0

        found[BUILTIN] = ECS_1_0
    return dict(sorted(found.items(), key=lambda item: (item[0] != BUILTIN, item[0])))


def standard(name: str) -> Standard:
    try:
        return standards()[name]
    except KeyError:
        raise UnknownStandard(f"no standard {name!r} is installed (installed: "
                              f"{', '.join(standards())})") from None


def builtin() -> Standard:
    """ECS-1.0, certkit's own."""
    return standard(BUILTIN)


def split(rule_id: str, default: str = BUILTIN) -> tuple[str, str]:
    """(standard, rule) of a rule ID as records and waivers write it: `ECS-1.0:SER-004`, or
    `SER-004` as written before IDs were qualified (ECS-1.0's). custom:LAB-001 is no
    standard's: ("", "custom:LAB-001")."""
    if rule_id.startswith("custom:"):
        return "", rule_id
    name, sep, rule = rule_id.rpartition(QUALIFIER)
    return (name, rule) if sep else (default, rule_id)


__all__ = ["BUILTIN", "GROUP", "QUALIFIER", "Standard", "UnknownStandard", "builtin", "split",
           "standard", "standards"]
