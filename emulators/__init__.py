"""Reference emulators: conformant partner devices driven by any profile.

Each transport has one emulator class, registered here by transport name.
An emulator is conformant by default; `faults` switches on deliberate
breaches, each named after what it breaks and listing the rule it makes
fail, so every rule can be shown to fail (`certkit emulate --list-faults`).

Each transport's emulator lives in `emulators.<transport>` and registers
itself on import; `emulator_class("serial")` imports it on first use.
"""

from __future__ import annotations

import abc
import importlib
from dataclasses import dataclass
from typing import ClassVar

from certkit.profile.model import Profile


@dataclass(frozen=True)
class Fault:
    name: str
    rule: str  # the rule the fault makes fail
    description: str


class UnknownFault(ValueError):
    pass


class Emulator(abc.ABC):
    transport: ClassVar[str]
    FAULTS: ClassVar[dict[str, Fault]] = {}

    def __init__(self, profile: Profile, faults: frozenset[str] = frozenset()) -> None:
        unknown = set(faults) - set(self.FAULTS)
        if unknown:
            known = ", ".join(sorted(self.FAULTS)) or "none"
            raise UnknownFault(f"{self.transport} emulator: unknown fault "
                               f"{', '.join(sorted(unknown))} (known: {known})")
        self.profile = profile
        self.faults = frozenset(faults)

    def has(self, fault: str) -> bool:
        return fault in self.faults

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
        importlib.import_module(f"emulators.{transport}")
    return EMULATORS[transport]


def faults_of(transport: str) -> dict[str, Fault]:
    """The faults `--fault TRANSPORT:NAME` can name; `interop` for the device as a whole."""
    if transport == "interop":
        return importlib.import_module("emulators.interop").FAULTS
    return emulator_class(transport).FAULTS


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
