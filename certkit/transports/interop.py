"""A transport's interop face: what the cross-transport rules (ECS-1 section 8, SEC-002)
do through one link.

Each transport package ships its face in its `face` module (`Transport.face(link)`
returns it); the suite's INT rules and SEC-002 (`certkit/suite/int/`, `sec/`) drive
every declared transport through its face and name none. The methods use only the
link's public methods, so what a face does lands in the evidence as the link records it.

A face may lack a capability: `unknown_message` and `malformed_inputs` raise
`Unsupported` (with the reason the rule reports), `second_controller` and
`neighbour` return None. The rule then leaves that transport out and says so.

    face = transport(name).face(link(name))
    face.await_ready(profile)
    ok, ms = face.set(prop, True, timeout=1.0)
    shown, at = face.wait_value(prop, True, deadline=time.monotonic() + 1.0)
"""

from __future__ import annotations

import abc
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from certkit.profile.values import same_value

if TYPE_CHECKING:
    from certkit.evidence import EvidenceLog
    from certkit.profile.model import Profile, Property

POLL_S = 0.02     # between reads while waiting for a value to show
CONFIRM_S = 1.5   # patience for a confirmation whose timing is not the point
MALFORMED = 100   # SEC-002's inputs per transport
# What INT-002 reads from the Device Information properties when a transport does not
# announce it otherwise: (what, property name).
IDENTITY_PROPERTIES = (("model", "model"), ("firmware", "firmware-revision"))


def stable(prop: Property) -> bool:
    """A property whose value only a controller changes (not a sensor)."""
    return prop.readable and (prop.writable or not prop.notifies)


class Unsupported(Exception):
    """The face has no such capability: the rule leaves this transport out, with the
    exception's text as the reason."""


class Unresponsive(Exception):
    """The DUT stopped answering while a malformed input was sent (SEC-002 fails)."""


@dataclass(frozen=True)
class MalformedInput:
    """One SEC-002 input: how the evidence shows it, and how to send it."""

    what: str
    send: Callable[[], None]  # raises Unresponsive when the DUT stops answering


class Neighbour(Protocol):
    """A reference device beside the DUT (INT-006), stopped within a bound."""

    def stop(self, timeout: float) -> None: ...


class InteropFace(abc.ABC):
    """What an interop rule does on one transport."""

    def __init__(self, link: Any) -> None:
        self.link = link
        self.transport: str = link.transport

    @property
    def wire_encoding(self) -> str:
        """How the transport's wire carries a float ("decimal", "binary32")."""
        from certkit.transports import transport

        return transport(self.transport).wire_encoding

    # --- set, read, wait -----------------------------------------------------------

    def await_ready(self, profile: Profile) -> None:
        """Wait until the DUT can be driven on a link that may have just opened (MQTT:
        its session up and `ready`); LabError when it never is."""

    @abc.abstractmethod
    def set(self, prop: Property, value: Any, timeout: float) -> tuple[bool, float]:
        """Set and wait for the confirmation: (confirmed, ms until it came)."""

    @abc.abstractmethod
    def read(self, prop: Property, timeout: float) -> Any:
        """What the transport shows now (None when it shows nothing valid)."""

    def same(self, prop: Property, shown: Any, value: Any) -> bool:
        """Whether what this transport shows is `value`, as its wire carries floats."""
        return same_value(prop.format, shown, value, self.wire_encoding)  # type: ignore[arg-type]

    def wait_value(self, prop: Property, value: Any, deadline: float,
                   since: float | None = None) -> tuple[Any, float]:
        """Wait until the transport shows `value`: (the value last shown, equal or not;
        when `value` was first seen, inf if never). With `since`, a report the DUT made
        on its own of `value` after that moment counts as showing it."""
        shown = None
        while True:
            if since is not None and (at := self.reported_at(prop, value, since)) is not None:
                return value, at
            shown = self.read(prop, max(deadline - time.monotonic(), 0.3))
            if shown is not None and self.same(prop, shown, value):
                at = self.reported_at(prop, value, since) if since is not None else None
                return shown, time.monotonic() if at is None else at
            if time.monotonic() >= deadline:
                return shown, math.inf
            time.sleep(POLL_S)

    def reported_at(self, prop: Property, value: Any, since: float) -> float | None:
        """When the DUT reported `value` of `prop` on its own after `since` (a report shows
        a change the moment it is sent; a read only when asked); None: no such report, or a
        transport without reports of its own."""
        return None

    def healthy(self, prop: Property, timeout: float) -> bool:
        """Does the DUT still answer on this transport (a read of `prop`)?"""
        return self.read(prop, timeout) is not None

    # --- INT-002 -------------------------------------------------------------------

    def identity(self, profile: Profile, timeout: float) -> dict[str, str]:
        """What this transport says the DUT is: model, firmware, mcu-version where it
        says it (what the transport announces, else the Device Information properties)."""
        info = {p.name: p for p in profile.properties_on(self.transport)
                if p.siid == 1 and p.readable}
        found = self.announced_identity(profile, timeout)
        for what, name in IDENTITY_PROPERTIES:
            if what not in found and name in info:
                value = self.read(info[name], timeout)
                found[what] = str(value) if value is not None else "(no answer)"
        return found

    def announced_identity(self, profile: Profile, timeout: float) -> dict[str, str]:
        """The identity the transport carries outside the properties (serial's `model`
        line, Homie's `type`, BLE's Device Information Service)."""
        return {}

    # --- INT-003 -------------------------------------------------------------------

    def second_controller(self) -> InteropFace | None:
        """Another controller of the DUT over this same transport (a second client on
        its broker), or None. Its cleanup is registered on the link."""
        return None

    # --- INT-004 -------------------------------------------------------------------

    def unknown_message(self, reply_s: float, settle_s: float) -> None:
        """Send what ECS-1 calls an unknown message on this transport and judge the
        DUT's immediate reaction (RuleFailure); the rule then checks it still works."""
        raise Unsupported(f"the {self.transport} transport names no unknown message "
                          "(INT-004)")

    # --- INT-006 -------------------------------------------------------------------

    def neighbour(self, profile: Profile, evidence: EvidenceLog,
                  started: Callable[[Neighbour], None]) -> None:
        """Put a reference device beside the DUT on the medium this transport shares
        (its broker, its radio), command or disturb it, and judge that the DUT ignores
        it (RuleFailure). Each neighbour is handed to `started` as soon as it runs, to
        be stopped whatever happens. A face that has no neighbour to offer says so."""
        evidence.note(f"INT-006: the {self.transport} face has no reference neighbour; "
                      f"{self.transport} not checked")

    # --- SEC-002 -------------------------------------------------------------------

    def malformed_inputs(self, rng: random.Random, profile: Profile,
                         props: list[Property]) -> list[MalformedInput]:
        """MALFORMED inputs drawn from `rng`, aimed at `props` (the writable ones when
        there are any)."""
        raise Unsupported(f"the {self.transport} face has no malformed inputs (SEC-002)")
