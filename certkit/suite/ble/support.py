"""What the BLE rules and SEC-004 share (ECS-1 section 7): the `ble` link fixture, failures
worded `subject: expected X, read Y`, and reading, restoring and listening through the link.

Each rule drives the DUT through `certkit.links.ble.BleLink` (bleak's public API
underneath) and ends as ECS-1 section 0 says: the DUT broke the rule -> a `RuleFailure`
whose message says what was expected and what was observed (`0x2A24 Model Number: expected
"acme.kettle.k1", read "acme.kettle"`); the bench could not check it (no adapter, the DUT
vanished when that was not the point of the rule) -> `LabError`, an `error`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from certkit.checks import LabError, RuleFailure, not_applicable
from certkit.links.ble import codec
from certkit.links.ble.errors import AttError, NoResponse
from certkit.plan import Instance
from certkit.profile.model import Property

if TYPE_CHECKING:  # bleak, bumble and bthome-ble load only when a BLE rule runs
    from certkit.links.base import Link
    from certkit.links.ble.adverts import Advert
    from certkit.links.ble.link import BleLink


ADVERT_WINDOW_S = 1.0     # listen this long for the DUT's advertising (BLE-001, BLE-002)...
ADVERT_COUNT = 3          # ...or until this many advertisements


class Mismatch(RuleFailure):
    """A rule failure worded `subject: expected X, read Y`."""

    def __init__(self, subject: str, expected: str, observed: str, verb: str = "observed",
                 detail: str = "") -> None:
        message = f"{subject}: expected {expected}, {verb} {observed}"
        AssertionError.__init__(self, f"{message}; {detail}" if detail else message)
        self.expected = expected
        self.observed = observed

    @classmethod
    def said(cls, subject: str, sentence: str) -> Mismatch:
        """`subject: <sentence>` for a sentence that already says expected and read."""
        failure = cls.__new__(cls)
        AssertionError.__init__(failure, f"{subject}: {sentence}")
        failure.expected = failure.observed = sentence
        return failure


class Problems:
    """Collects every mismatch of a rule, then fails with the first and counts the rest."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, str, str]] = []

    def add(self, subject: str, expected: str, observed: str, verb: str = "observed") -> None:
        self.items.append((subject, expected, observed, verb))

    def raise_any(self) -> None:
        if not self.items:
            return
        subject, expected, observed, verb = self.items[0]
        rest = [f"{s}: expected {e}, {v} {o}" for s, e, o, v in self.items[1:]]
        detail = f"{len(rest)} more: " + "; ".join(rest) if rest else ""
        raise Mismatch(subject, expected, observed, verb, detail)


@pytest.fixture
def ble(link: Callable[[str], Link], dut_identity: Callable[[str, str, str], None],
        rule_instance: Instance) -> BleLink:
    """The BLE link, opened once per run (after checking the instance applies)."""
    from certkit.links.ble.link import BleLink

    if not rule_instance.applies:
        not_applicable(rule_instance.reason)
    dut = link("ble")
    if not isinstance(dut, BleLink):
        raise LabError(f"the BLE rules need certkit's BLE link, not {type(dut).__name__}")
    dut_identity("ble-address", found(dut).address, "ble")
    return dut


def found(ble: BleLink) -> Advert:
    """The DUT as the link first found it (an open link has found it)."""
    if ble.dut is None:
        raise LabError("the BLE link has not found the DUT (it is not open)")
    return ble.dut


def constraints(prop: Property) -> str:
    if prop.value_range:
        low, high, step = prop.value_range
        return f"{prop.format} in {low:g}..{high:g} step {step:g}"
    if prop.value_list:
        return f"{prop.format} from the value-list {[e.value for e in prop.value_list]}"
    return prop.format


PROPERTY_ORDER = ("broadcast", "read", "write-without-response", "write", "notify", "indicate")


def property_list(names: Any) -> str:
    """Characteristic properties in the order the specification lists them."""
    rank = {name: i for i, name in enumerate(PROPERTY_ORDER)}
    return ", ".join(sorted(names, key=lambda n: (rank.get(n, len(rank)), n))) or "none"


def invalid(value: Any, why: str) -> str:
    """'165, which is outside the value-range 0..110' from check_value's reason."""
    shown = codec.show_value(value)
    for prefix in (shown, repr(value), f"{value:g}" if isinstance(value, (int, float)) else shown):
        if why.startswith(prefix + " "):
            return f"{shown}, which {why[len(prefix) + 1:]}"
    return f"{shown} ({why})"


def uuid_of(prop: Property) -> str:
    return codec.characteristic_uuid(prop.siid, prop.piid)


def require_char(ble: BleLink, prop: Property, what: str) -> str:
    """The property's characteristic UUID; fails when the GATT table lacks it."""
    uuid = uuid_of(prop)
    if ble.char(uuid) is None:
        raise Mismatch(ble.label(uuid), f"a {what} characteristic",
                       "none in the GATT table (see BLE-004)")
    return uuid


def read(ble: BleLink, uuid: str) -> bytes:
    """A read that fails the rule when the DUT refuses or stays silent."""
    try:
        return ble.read(uuid)
    except AttError as exc:
        raise Mismatch(ble.label(uuid), "a value", str(exc), "read") from None
    except NoResponse as exc:
        raise Mismatch(ble.label(uuid), "a read response", str(exc)) from None
    except KeyError as exc:
        raise Mismatch(ble.label(uuid), "a characteristic", str(exc)) from None


def read_value(ble: BleLink, prop: Property, uuid: str) -> tuple[bytes, Any]:
    """(bytes, value) of a read; value None when the bytes do not decode."""
    data = read(ble, uuid)
    try:
        return data, codec.decode(prop.format, data)
    except codec.DecodeError:
        return data, None


def restore(ble: BleLink, uuid: str, data: bytes | None) -> None:
    """Put a value back as it was (best effort: the verdict does not depend on it)."""
    if data is None:
        return
    try:
        if ble.connected and ble.read(uuid) != data:
            ble.write(uuid, data)
    except Exception as exc:  # noqa: BLE001 - the rule's own outcome stands
        ble.evidence.note(f"could not put {ble.label(uuid)} back: {exc}")


def listen(ble: BleLink) -> list[Advert]:
    return ble.adverts(ADVERT_WINDOW_S, count=ADVERT_COUNT) or [found(ble)]
