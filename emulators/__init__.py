"""Reference emulators: conformant partner devices driven by any profile.

Each transport has one emulator class, registered here by transport name.
An emulator is conformant by default; `faults` switches on deliberate
breaches, each named after what it breaks and listing the rule it makes
fail, so every rule can be shown to fail (`certkit emulate --list-faults`).
"""

from __future__ import annotations

import abc
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
