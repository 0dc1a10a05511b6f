"""The transport registry: every `Transport` listed in the `certkit.transports`
entry-point group (certkit's own three are listed in its pyproject.toml like any third
party's), in a stable order.

    for transport in transports().values(): ...
    transport("serial").open_link(profile, bench, evidence)
"""

from __future__ import annotations

import functools
import importlib

from certkit.entrypoints import load, registered
from certkit.transports.base import BenchOption, Claim, Condition, Transport

GROUP = "certkit.transports"


class UnknownTransport(LookupError):
    """A transport no installed package registers."""


@functools.cache
def transports() -> dict[str, Transport]:
    """Every registered transport by name: by its `order`, then by name."""
    found: dict[str, Transport] = {}
    for name, value in registered(GROUP):
        instance = _instance(load(value), f"entry point {name} = {value}")
        if instance.name != name:
            raise TypeError(f"entry point {name} = {value} of group {GROUP} "
                            f"names transport {instance.name!r}")
        found.setdefault(instance.name, instance)
    if not any(type(t).__module__.startswith(_OWN) for t in found.values()):
        for instance in _own_from_sources():
            found.setdefault(instance.name, instance)
    return {t.name: t for t in sorted(found.values(), key=lambda t: (t.order, t.name))}


_OWN = "certkit.links."


def _own_from_sources() -> list[Transport]:
    """certkit's own transports where its entry points are not installed (its sources on
    sys.path, as `certkit doctor` may run them): each link package's `transport` module."""
    import pkgutil

    import certkit.links

    found = []
    for package in pkgutil.iter_modules(certkit.links.__path__):
        if not package.ispkg:
            continue
        try:
            module = importlib.import_module(f"{_OWN}{package.name}.transport")
        except ModuleNotFoundError:
            continue
        found += [_instance(value, f"{module.__name__}.{name}")
                  for name, value in vars(module).items() if isinstance(value, Transport)]
    return found


def _instance(loaded: object, where: str) -> Transport:
    instance = loaded() if isinstance(loaded, type) else loaded
    if not isinstance(instance, Transport):
        raise TypeError(f"{where} of group {GROUP} is not a certkit Transport")
    return instance


def names() -> tuple[str, ...]:
    return tuple(transports())


def transport(name: str) -> Transport:
    try:
        return transports()[name]
    except KeyError:
        raise UnknownTransport(f"no transport {name!r} is installed (installed: "
                               f"{', '.join(transports()) or 'none'})") from None


__all__ = ["BenchOption", "Claim", "Condition", "Transport", "UnknownTransport", "names",
           "transport", "transports"]
