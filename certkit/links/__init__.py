"""Registry of link drivers, one per transport.

A driver module registers a factory with `@register("serial")`; third
parties add theirs through the `certkit.links` entry-point group. The
plugin's link fixtures call `open_link`, which says plainly what is missing
when the bench gives no way to reach a transport.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Callable

from certkit.bench import Bench
from certkit.checks import LabError
from certkit.evidence import EvidenceLog
from certkit.links.base import Link
from certkit.profile.model import Profile

LinkFactory = Callable[[Profile, Bench, EvidenceLog], Link]

_FACTORIES: dict[str, LinkFactory] = {}
# Modules of certkit's own drivers, imported on first use.
_BUILTIN: dict[str, str] = {"serial": "certkit.links.serial", "mqtt": "certkit.links.mqtt",
                            "ble": "certkit.links.ble"}


def register(transport: str) -> Callable[[LinkFactory], LinkFactory]:
    def decorate(factory: LinkFactory) -> LinkFactory:
        _FACTORIES[transport] = factory
        return factory
    return decorate


def factory_for(transport: str) -> LinkFactory | None:
    if transport not in _FACTORIES and transport in _BUILTIN:
        __import__(_BUILTIN[transport])
    if transport not in _FACTORIES:
        for entry in entry_points(group="certkit.links", name=transport):
            _FACTORIES[transport] = entry.load()
    return _FACTORIES.get(transport)


def open_link(transport: str, profile: Profile, bench: Bench, evidence: EvidenceLog,
              timeout: float) -> Link:
    factory = factory_for(transport)
    if factory is None:
        raise LabError(f"this certkit has no {transport} link driver yet, so no {transport} "
                       "rule can be checked")
    link = factory(profile, bench, evidence)
    link.open(timeout)
    return link


__all__ = ["Link", "LinkFactory", "open_link", "register", "factory_for"]
