"""Reference emulators: conformant partner devices driven by any profile.

Each transport has one emulator class, registered here by transport name.
An emulator is conformant by default; `faults` switches on deliberate
breaches, each named after what it breaks and listing the rule it makes
fail, so every rule can be shown to fail (`certkit emulate --list-faults`).
`variants` switch on the opposite: legitimate choices the standard leaves
to a firmware (a wildcard subscription, a 23-byte MTU, polls at the slowest
allowed rate), each naming the sentence of ECS-1 it exercises. Every
variant must be CERTIFIED; a variant the suite misjudges is a harness bug
(`certkit emulate --list-variants`, docs/variants.md).

Each transport's emulator lives in `certkit_emulators.<transport>` and registers
itself on import; `emulator_class("serial")` imports it on first use.
"""

from __future__ import annotations

import abc
import importlib
from dataclasses import dataclass
from typing import Any, ClassVar

from certkit.profile.model import Profile


@dataclass(frozen=True)
class Fault:
    name: str
    rule: str  # the rule the fault makes fail
    description: str


@dataclass(frozen=True)
class Variant:
    name: str
    exercises: str  # the section and sentence of ECS-1 (or Homie 5) that leaves the choice
    description: str


class UnknownFault(ValueError):
    """A fault or variant name no emulator knows, or one for a transport not emulated."""


class Emulator(abc.ABC):
    transport: ClassVar[str]
    FAULTS: ClassVar[dict[str, Fault]] = {}
    VARIANTS: ClassVar[dict[str, Variant]] = {}

    def __init__(self, profile: Profile, faults: frozenset[str] = frozenset(),
                 variants: frozenset[str] = frozenset()) -> None:
        for kind, names, known in (("fault", faults, self.FAULTS),
                                   ("variant", variants, self.VARIANTS)):
            unknown = set(names) - set(known)
            if unknown:
                raise UnknownFault(f"{self.transport} emulator: unknown {kind} "
                                   f"{', '.join(sorted(unknown))} "
                                   f"(known: {', '.join(sorted(known)) or 'none'})")
        self.profile = profile
        self.faults = frozenset(faults)
        self.variants = frozenset(variants)

    def has(self, fault: str) -> bool:
        return fault in self.faults

    def uses(self, variant: str) -> bool:
        return variant in self.variants

    @abc.abstractmethod
    def start(self, timeout: float) -> None: ...

    @abc.abstractmethod
    def stop(self, timeout: float) -> None:
        """Bounded by `timeout`; safe to call twice."""

    @abc.abstractmethod
    def reset(self, timeout: float) -> None:
        """Reboot the emulated device (the emulator's own reset method)."""


EMULATORS: dict[str, type[Emulator]] = {}


def register(cls: type[Emulator]) -> type[Emulator]:
    EMULATORS[cls.transport] = cls
    return cls


def emulator_class(transport: str) -> type[Emulator]:
    """The reference emulator of a transport (imported on first use)."""
    if transport not in EMULATORS:
        importlib.import_module(f"certkit_emulators.{transport}")
    return EMULATORS[transport]


def faults_of(transport: str) -> dict[str, Fault]:
    """The faults `--fault TRANSPORT:NAME` can name; `interop` for the device as a whole."""
    if transport == "interop":
        return importlib.import_module("certkit_emulators.interop").FAULTS
    return _transport(transport).faults()


def variants_of(transport: str) -> dict[str, Variant]:
    """The variants `--variant TRANSPORT:NAME` can name."""
    return _transport(transport).variants()


def _transport(name: str) -> Any:
    """The registered transport (certkit.transports), whose emulator it is."""
    from certkit.transports import transport

    return transport(name)


def check_variants(variants: dict[str, frozenset[str]], emulated: frozenset[str]) -> None:
    """Refuse variant names no emulator knows, and variants for a transport not emulated."""
    for transport, names in sorted(variants.items()):
        if transport not in emulated:
            raise UnknownFault(f"--variant {transport}:{','.join(sorted(names))} needs "
                               f"--emulate {transport}: variants are emulator behaviours")
        unknown = sorted(set(names) - set(variants_of(transport)))
        if unknown:
            raise UnknownFault(f"--variant: the {transport} emulator has no variant "
                               f"{', '.join(unknown)} (see certkit emulate --list-variants)")


def check_faults(faults: dict[str, frozenset[str]], emulated: frozenset[str]) -> None:
    """Refuse fault names no emulator knows, and faults for a transport not emulated."""
    for transport, names in sorted(faults.items()):
        if transport == "interop" and not emulated:
            raise UnknownFault(f"--fault interop:{','.join(sorted(names))} needs --emulate: "
                               "faults go into emulators")
        if transport not in emulated and transport != "interop":
            raise UnknownFault(f"--fault {transport}:{','.join(sorted(names))} needs "
                               f"--emulate {transport}: faults go into emulators")
        known = faults_of(transport)
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise UnknownFault(f"--fault: the {transport} emulator has no fault "
                               f"{', '.join(unknown)} (see certkit emulate --list-faults)")
