"""ECS-1 section 7 (BLE) and SEC-004: one test per rule, through the BLE link.

Each rule drives the DUT through `certkit.links.ble.BleLink` (bleak's public
API underneath) and ends as ECS-1 section 0 says: the DUT broke the rule ->
a `RuleFailure` whose message says what was expected and what was observed
(`0x2A24 Model Number: expected "acme.kettle.k1", read "acme.kettle"`);
the bench could not check it (no adapter, the DUT vanished when that was
not the point of the rule) -> `LabError`, an `error`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

from certkit.checks import LabError, RuleFailure, not_applicable
from certkit.evidence import EvidenceLog
from certkit.links.ble import codec, values
from certkit.links.ble.errors import AttError, ConnectFailed, NoResponse, PeerLost
from certkit.operator import Operator
from certkit.plan import Instance, cannot_change
from certkit.profile import values as profile_values
from certkit.profile.model import Profile, Property
from certkit.standard.ecs1 import INTEGER_BOUNDS

if TYPE_CHECKING:  # bleak, bumble and bthome-ble load only when a BLE rule runs
    from certkit.links.ble.adverts import Advert
    from certkit.links.ble.link import BleLink

ADVERT_WINDOW_S = 1.0     # listen this long for the DUT's advertising (BLE-001, BLE-002)...
ADVERT_COUNT = 3          # ...or until this many advertisements
ATT_VALUE_NOT_ALLOWED = 0x13
ATT_INVALID_LENGTH = 0x0D
ATT_ENCRYPTION_ERRORS = (0x05, 0x0F)  # Insufficient Authentication, Insufficient Encryption
OPERATOR_CHANGE_S = 120.0  # BLE-007 (C-1): the operator's deadline to change a value
CHANGE_READABLE_S = 10.0   # after the operator's answer, how long the change may take to read
CHANGE_POLL_S = 0.05


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
def ble(link: Any, dut_identity: Any, rule_instance: Instance) -> BleLink:
    """The BLE link, opened once per run (after checking the instance applies)."""
    if not rule_instance.applies:
        not_applicable(rule_instance.reason)
    dut = link("ble")
    dut_identity("ble-address", dut.dut.address, "ble")
    return dut


# ------------------------------------------------------------------ helpers


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


def as_property_value(prop: Property, value: Any) -> Any:
    """A decoded number as the property's format holds it (BTHome gives floats)."""
    if prop.format in INTEGER_BOUNDS and isinstance(value, float) and value.is_integer():
        return int(value)
    if prop.format == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


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
    return ble.adverts(ADVERT_WINDOW_S, count=ADVERT_COUNT) or [ble.dut]


# ------------------------------------------------------------------ advertising


@pytest.mark.certkit_rule("BLE-001")
def test_advertising(ble: BleLink, profile: Profile, rule_instance: Instance,
                     evidence: EvidenceLog) -> None:
    settings = profile.transports.ble
    limit = int(rule_instance.rule.limits["advertising-bytes"].value)
    product = settings.product_id.to_bytes(2, "little")
    problems = Problems()
    distinct: dict[Any, Advert] = {}
    for advert in listen(ble):
        distinct.setdefault(advert.adv_data if advert.adv_data is not None
                            else advert.structures, advert)
    for advert in distinct.values():
        if advert.format_error:
            problems.add("advertising data", "well-formed AD structures", advert.format_error)
        if advert.connectable is False:
            problems.add("advertising", "connectable advertising", "non-connectable advertising")
        if not advert.has(codec.AD_FLAGS):
            if advert.rebuilt:
                evidence.note("the adapter did not report the Flags AD; it cannot be checked here")
            else:
                problems.add("advertising data", "a Flags AD structure", "none")
        name = codec.name_of(advert.structures) or advert.name
        if not (name or "").startswith(settings.name_prefix):
            problems.add("local name", f"a name starting with {settings.name_prefix!r}",
                         repr(name) if name else "no local name")
        payload = advert.manufacturer_data.get(settings.company_id)
        wanted = (f"manufacturer data under company 0x{settings.company_id:04X} starting with "
                  f"product id 0x{settings.product_id:04X} ({codec.hexdump(product)})")
        if payload is None:
            others = ", ".join(f"0x{c:04X}" for c in advert.manufacturer_data) or "none at all"
            problems.add("advertising data", wanted,
                         f"no manufacturer data under 0x{settings.company_id:04X} "
                         f"(companies: {others})")
        elif payload[:2] != product:
            problems.add("manufacturer data", wanted, f"payload {codec.hexdump(payload)}")
        size = advert.size
        evidence.measure("advertising data", size, "bytes", limit=f"at most {limit} bytes",
                         ok=size <= limit)
        if size > limit:
            problems.add("advertising data", f"at most {limit} bytes (legacy advertising)",
                         f"{size} bytes")
    if all(a.connectable is None for a in distinct.values()):
        try:
            ble.ensure_connected()
        except LabError as exc:
            problems.add("advertising", "connectable advertising (the adapter does not say, so "
                         "certkit connected to find out)", f"no connection: {exc}")
        else:
            evidence.note("connectable: the adapter does not report it; a connection succeeded")
    problems.raise_any()


@pytest.mark.certkit_rule("BLE-002")
def test_bthome(ble: BleLink, profile: Profile, evidence: EvidenceLog) -> None:
    from certkit.links.ble import bthome
    from certkit.links.ble.adverts import service_data16

    settings = profile.transports.ble
    heard = listen(ble)
    with_bthome = [a for a in heard if service_data16(a, codec.BTHOME_UUID16) is not None]
    if not with_bthome:
        services = ", ".join(codec.uuid_label(u) for u in heard[-1].service_data) or "none"
        raise Mismatch("advertising", "BTHome v2 service data (UUID 0xFCD2)",
                       f"no BTHome service data (service data: {services})")
    advert = with_bthome[-1]
    payload = service_data16(advert, codec.BTHOME_UUID16)
    reading = bthome.decode(payload, address=advert.address, name=advert.name)
    evidence.note(f"BTHome payload {codec.hexdump(payload)}; bthome-ble "
                  f"{'accepts' if reading.accepted else 'rejects'} it: "
                  f"{reading.decoder_values or 'no measurement'}"
                  + (f"; it says: {' / '.join(reading.decoder_messages)}"
                     if reading.decoder_messages else ""))
    if reading.encrypted:
        raise Mismatch("BTHome device info byte", "unencrypted data (the profile declares no key)",
                       f"the encryption bit set ({codec.hexdump(payload[:1])})")
    if reading.version != 2:
        raise Mismatch("BTHome device info byte", "version 2 (bits 5-7)",
                       f"version {reading.version} ({codec.hexdump(payload[:1])})")
    if not reading.accepted:
        said = " / ".join(reading.decoder_messages) or "no measurement decoded"
        raise Mismatch("BTHome service data", "a payload the bthome-ble decoder accepts",
                       f"{codec.hexdump(payload)} rejected ({said})")
    ids = reading.object_ids
    shown = ", ".join(f"0x{i:02X}" for i in ids)
    if ids != sorted(ids):
        raise Mismatch("BTHome objects", "ascending object id order", shown)
    if reading.walk_error:
        raise Mismatch("BTHome objects", "well-formed objects", reading.walk_error)
    problems = Problems()
    for declared in settings.bthome:
        prop = profile.property(declared.siid, declared.piid)
        obj = reading.first(declared.object_id)
        subject = f"BTHome object 0x{declared.object_id:02X} ({prop.label})"
        if obj is None:
            problems.add(subject, "present", f"absent (objects: {shown})")
            continue
        value = as_property_value(prop, obj.value)
        why = prop.check_value(value)
        if why:
            problems.add(subject, f"a valid value ({constraints(prop)})", invalid(value, why))
        else:
            evidence.note(f"{subject} = {codec.show_value(value)}")
    problems.raise_any()


# ------------------------------------------------------------------ GATT


@pytest.mark.certkit_rule("BLE-003")
def test_device_information(ble: BleLink, profile: Profile, evidence: EvidenceLog,
                            dut_identity: Any) -> None:
    dis = ble.services.get_service(codec.sig_uuid(codec.DEVICE_INFORMATION))
    if dis is None:
        raise Mismatch("GATT table", "the Device Information Service (0x180A)", "none")
    device = profile.device
    expected = {codec.MANUFACTURER_NAME: ("manufacturer", device.manufacturer),
                codec.MODEL_NUMBER: ("model", device.model),
                codec.FIRMWARE_REVISION: ("firmware", device.firmware)}
    problems = Problems()
    for uuid16, (field, want) in expected.items():
        uuid = codec.sig_uuid(uuid16)
        label = codec.uuid_label(uuid)
        if dis.get_characteristic(uuid) is None:
            problems.add(label, f'"{want}"', "no such characteristic", "found")
            continue
        data = read(ble, uuid)
        try:
            text = codec.decode("string", data)
        except codec.DecodeError as exc:
            problems.add(label, f'"{want}"', str(exc), "read")
            continue
        if field in ("model", "firmware"):
            dut_identity(field, text, "ble")
        if text != want:
            problems.add(label, f'"{want}"', f'"{text}"', "read")
    serial = codec.sig_uuid(codec.SERIAL_NUMBER)
    if dis.get_characteristic(serial) is None:
        evidence.note("0x2A25 Serial Number (recommended) is absent")
    else:
        evidence.note(f"0x2A25 Serial Number (recommended) reads {read(ble, serial)!r}")
    problems.raise_any()


@pytest.mark.certkit_rule("BLE-004")
def test_gatt_table(ble: BleLink, profile: Profile) -> None:
    services = ble.services
    problems = Problems()
    declared: set[str] = set()
    for service in profile.services_on("ble"):
        suuid = codec.service_uuid(service.siid)
        declared.add(suuid)
        gatt = next((s for s in services if codec.normalize_uuid(s.uuid) == suuid), None)
        if gatt is None:
            problems.add(f"service {suuid} ({service.name})", "a primary service", "none")
            continue
        for prop in service.properties:
            uuid = uuid_of(prop)
            declared.add(uuid)
            expected = codec.expected_char_properties(prop.access)
            char = next((c for c in gatt.characteristics
                         if codec.normalize_uuid(c.uuid) == uuid), None)
            if char is None:
                problems.add(ble.label(uuid), "a characteristic with "
                             f"{property_list(expected)} in service {suuid}", "none")
                continue
            observed = frozenset(char.properties)
            if observed != expected:
                problems.add(f"{ble.label(uuid)} properties", property_list(expected),
                             property_list(observed))
    for service in services:
        kinds = [("service", service.uuid)]
        for char in service.characteristics:
            kinds.append(("characteristic", char.uuid))
            kinds += [("descriptor", d.uuid) for d in char.descriptors]
        for kind, uuid in kinds:
            if codec.under_ecosystem_base(uuid) and codec.normalize_uuid(uuid) not in declared:
                problems.add(codec.normalize_uuid(uuid),
                             "nothing undeclared under the ecosystem UUID base",
                             f"an undeclared {kind} in service {service.uuid}")
    problems.raise_any()


@pytest.mark.certkit_rule("BLE-005")
def test_read(ble: BleLink, rule_instance: Instance, evidence: EvidenceLog) -> None:
    prop: Property = rule_instance.target
    uuid = require_char(ble, prop, "readable")
    label = ble.label(uuid)
    data = read(ble, uuid)
    try:
        value = codec.decode(prop.format, data)
    except codec.DecodeError as exc:
        raise Mismatch.said(label, str(exc)) from None
    why = prop.check_value(value)
    if why:
        raise Mismatch(label, f"a valid value ({constraints(prop)})", invalid(value, why), "read")
    evidence.note(f"{prop.label} = {codec.show_value(value)}")


@pytest.mark.certkit_rule("BLE-006")
def test_write(ble: BleLink, rule_instance: Instance, evidence: EvidenceLog) -> None:
    prop: Property = rule_instance.target
    uuid = require_char(ble, prop, "writable")
    label = ble.label(uuid)
    pairing = ble.secure()
    if pairing:
        evidence.note(f"{pairing}; writing on an unencrypted link")
    before, current = read_value(ble, prop, uuid)
    new = profile_values.other_valid_value(prop, current)
    data = codec.encode(prop.format, new)
    try:
        try:
            ble.write(uuid, data)
        except (AttError, NoResponse) as exc:
            raise Mismatch(label, f"the write of the valid value {codec.show_value(new)} "
                           f"({codec.hexdump(data)}) to succeed", str(exc),
                           detail=pairing or "") from None
        _, after = read_value(ble, prop, uuid)
        if after is None or not profile_values.same_value(prop.format, after, new, "binary32"):
            raise Mismatch(label, f"{codec.show_value(new)} after the write",
                           codec.show_value(after) if after is not None else "undecodable bytes",
                           "read")
        invalid = values.invalid_value(prop)
        if invalid is None:
            evidence.note(f"{prop.format} {constraints(prop)}: every value of the right length is "
                          "valid, so there is no invalid value to write")
        else:
            expect_refusal(ble, uuid, invalid.data, ATT_VALUE_NOT_ALLOWED,
                           f"the invalid value {invalid.shows}", data)
        wrong = values.wrong_length(prop, data)
        if wrong is None:
            evidence.note(f"{prop.format}: any length is a string, so no wrong length to write")
        else:
            expect_refusal(ble, uuid, wrong, ATT_INVALID_LENGTH,
                           f"{len(wrong)} bytes (a {prop.format} is {len(data)})", data)
    finally:
        restore(ble, uuid, before)


def expect_refusal(ble: BleLink, uuid: str, data: bytes, code: int, what: str,
                   kept: bytes) -> None:
    """The write must fail with ATT error `code` and the stored value stay `kept`."""
    label = ble.label(uuid)
    wanted = f"ATT error 0x{code:02X} {AttError(code).name} for {what}"
    try:
        ble.write(uuid, data)
    except AttError as exc:
        if exc.code != code:
            raise Mismatch(label, wanted, str(exc)) from None
    except NoResponse as exc:
        raise Mismatch(label, wanted, str(exc)) from None
    else:
        stored = read(ble, uuid)
        raise Mismatch(label, wanted, f"the write succeeded (a read now gives "
                                      f"{codec.hexdump(stored)})")
    stored = read(ble, uuid)
    if stored != kept:
        raise Mismatch(label, f"the value to stay {codec.hexdump(kept)} after refusing {what}",
                       codec.hexdump(stored), "read")


@pytest.mark.certkit_rule("BLE-007")
def test_notify(ble: BleLink, rule_instance: Instance, limit_ms: Any, profile: Profile,
                evidence: EvidenceLog, operator: Operator) -> None:
    """C-1: only a change certkit causes (its own write), or the operator causes when
    certkit cannot, is timed; nothing waits for the device to change a value by itself."""
    prop: Property = rule_instance.target
    why_not = cannot_change(prop, profile)
    if why_not and not operator.present:  # the plan makes no such instance; nor a hand-made
        not_applicable(f"{why_not}, and the run has no operator to cause one")
    uuid = require_char(ble, prop, "notify")
    label = ble.label(uuid)
    limit = limit_ms("notify-ms")
    char = ble.char(uuid)
    if "notify" not in char.properties:
        raise Mismatch(label, "a characteristic that notifies",
                       f"properties {property_list(char.properties)}")
    if why_not:
        notified_after_operator_change(ble, prop, uuid, limit, operator, why_not, evidence)
        return
    before, current = read_value(ble, prop, uuid)
    new, data = fresh_value(ble, prop, uuid, current, limit, evidence)  # may wait a moment
    # Encrypt and subscribe only now: a DUT may let a central that sat idle go.
    if pairing := ble.secure():
        evidence.note(f"{pairing}; writing on an unencrypted link")
    subscription = ble.subscribe(uuid)
    try:
        notified_after_write(ble, prop, uuid, subscription, limit, new, data, evidence)
    finally:
        try:
            ble.unsubscribe(subscription)
        except Exception as exc:  # noqa: BLE001 - the rule's own outcome stands
            evidence.note(f"could not disable notifications again: {exc}")
        restore(ble, uuid, before)


def fresh_value(ble: BleLink, prop: Property, uuid: str, current: Any, limit: int,
                evidence: EvidenceLog) -> tuple[Any, bytes]:
    """A valid value other than `current` that certkit has not written in the last `limit`
    ms: the notification of that earlier write may still be on its way (a DUT may notify
    late, within the limit), and would carry the same bytes as the one to be timed. When
    every candidate was written that recently (a bool), wait until the first one is not."""
    candidates = [v for v in profile_values.valid_values(prop)
                  if current is None or not profile_values.same_value(
                      prop.format, v, current, "binary32")]
    if not candidates:
        candidates = [profile_values.other_valid_value(prop, current)]
    encoded = [(value, codec.encode(prop.format, value)) for value in candidates]
    now = time.monotonic()
    ages = [(now - (ble.written_at(uuid, data) or float("-inf")), value, data)
            for value, data in encoded]
    settled = [(value, data) for age, value, data in ages if age * 1000 > limit]
    if settled:
        return settled[0]
    age, value, data = max(ages, key=lambda item: item[0])
    wait = limit / 1000 - age
    evidence.note(f"{codec.show_value(value)} was written {age * 1000:.0f} ms ago; waiting "
                  f"{wait * 1000:.0f} ms so its notification cannot be mistaken for this one")
    time.sleep(max(wait, 0.0))
    return value, data


def notified_after_write(ble: BleLink, prop: Property, uuid: str, subscription: Any,
                         limit: int, new: Any, data: bytes, evidence: EvidenceLog) -> None:
    label = ble.label(uuid)
    started = time.monotonic()
    try:
        ble.write(uuid, data)
    except (AttError, NoResponse) as exc:
        raise LabError(f"{label}: the write meant to cause a change was refused ({exc}); "
                       "BLE-006 reports writes") from None

    def carries_new(payload: bytes) -> bool:
        try:
            return profile_values.same_value(prop.format, codec.decode(prop.format, payload),
                                             new, "binary32")
        except codec.DecodeError:
            return False

    got = subscription.wait(max(started + limit / 1000 - time.monotonic(), 0.0), carries_new,
                            since=started)
    if got is None:
        others = subscription.received(since=started)
        raise Mismatch(label, f"a notification of {codec.show_value(new)} within {limit} ms of "
                       "writing it", f"none after {limit} ms"
                       + (f" ({len(others)} other notification(s))" if others else ""))
    latency = (got[0] - started) * 1000
    evidence.measure("notification after the write", round(latency, 1), "ms",
                     limit=f"at most {limit} ms", ok=latency <= limit)
    if latency > limit:
        raise Mismatch(label, f"a notification within {limit} ms", f"{latency:.0f} ms")


def notified_after_operator_change(ble: BleLink, prop: Property, uuid: str, limit: int,
                                   operator: Operator, why_not: str,
                                   evidence: EvidenceLog) -> None:
    """C-1 with an operator: notifications enabled, the operator is asked to change the
    value; after the answer the value is read until it differs, and the notification of a
    changed value is timed from that read (one that came sooner counts as 0 ms). No answer,
    or no change readable, is no change to time: not applicable, never `error`."""
    label = ble.label(uuid)
    _, before = read_value(ble, prop, uuid)
    if pairing := ble.secure():
        evidence.note(pairing)
    subscription = ble.subscribe(uuid)
    try:
        asked = time.monotonic()
        answer = operator.do_now(
            f"Make {prop.label} change (it reads {codec.show_value(before)} now) as the "
            "device's user would: warm or cool the sensor, press its button. Answer once "
            "it has changed.", OPERATOR_CHANGE_S)
        if not answer.affirmative:
            not_applicable(f"{why_not}; the operator, asked to cause one, answered "
                           f"{answer.shown()!r}, so there is no change to time")

        def changed(payload: bytes) -> bool:
            try:
                value = codec.decode(prop.format, payload)
            except codec.DecodeError:
                return False
            return before is None or not profile_values.same_value(prop.format, value, before,
                                                                   "binary32")

        readable_at = _first_changed_read(ble, uuid, changed)
        if readable_at is None:
            not_applicable(f"{why_not}; the operator answered, but {prop.label} still read "
                           f"{codec.show_value(before)} {CHANGE_READABLE_S:g} s later, so "
                           "there is no change to time")
        evidence.note(f"{label}: the changed value was first read "
                      f"{(readable_at - answer.answered_mono) * 1000:.0f} ms after the "
                      "operator's answer")
        got = subscription.wait(max(readable_at + limit / 1000 - time.monotonic(), 0.0),
                                changed, since=asked)
        if got is None:
            others = subscription.received(since=asked)
            raise Mismatch(label, f"a notification of the change within {limit} ms of the "
                                  "changed value being readable", f"none after {limit} ms"
                           + (f" ({len(others)} other notification(s))" if others else ""))
        latency = max(got[0] - readable_at, 0.0) * 1000
        evidence.measure("notification after the operator's change was readable",
                         round(latency, 1), "ms", limit=f"at most {limit} ms",
                         ok=latency <= limit)
        if latency > limit:
            raise Mismatch(label, f"a notification of the change within {limit} ms of the "
                                  "changed value being readable", f"{latency:.0f} ms")
    finally:
        try:
            ble.unsubscribe(subscription)
        except Exception as exc:  # noqa: BLE001 - the rule's own outcome stands
            evidence.note(f"could not disable notifications again: {exc}")


def _first_changed_read(ble: BleLink, uuid: str, changed: Any) -> float | None:
    """When a read first returned a changed value (its end: the device's favour), or None
    when none did within CHANGE_READABLE_S."""
    give_up = time.monotonic() + CHANGE_READABLE_S
    while time.monotonic() < give_up:
        if changed(read(ble, uuid)):
            return time.monotonic()
        time.sleep(CHANGE_POLL_S)
    return None


# ------------------------------------------------------------------ connections


@pytest.mark.certkit_rule("BLE-008")
def test_reconnects(ble: BleLink, rule_instance: Instance, limit_ms: Any,
                    evidence: EvidenceLog) -> None:
    cycles = int(rule_instance.rule.limits["cycles"].value)
    limit = limit_ms("readvertise-ms")
    try:
        ble.ensure_connected()
    except ConnectFailed as exc:
        raise Mismatch("connection", "the DUT to accept a connection", str(exc)) from None
    for cycle in range(1, cycles + 1):
        delay = ble.readvertising_after_disconnect(limit / 1000)
        if delay is None:
            raise Mismatch(f"disconnect {cycle} of {cycles}",
                           f"advertising again within {limit} ms", f"none after {limit} ms")
        evidence.measure(f"advertising again after disconnect {cycle}", round(delay, 1), "ms",
                         limit=f"at most {limit} ms", ok=delay <= limit)
        try:
            connect_ms = ble.connect()
        except (ConnectFailed, PeerLost) as exc:
            raise Mismatch(f"reconnect {cycle} of {cycles}", "a connection", str(exc)) from None
        evidence.note(f"reconnect {cycle} took {connect_ms:.1f} ms")


@pytest.mark.certkit_rule("BLE-009")
def test_battery_service(ble: BleLink, profile: Profile, evidence: EvidenceLog) -> None:
    service = ble.services.get_service(codec.sig_uuid(codec.BATTERY_SERVICE))
    if service is None:
        raise Mismatch("GATT table", "the Battery Service (0x180F) on a battery-powered device",
                       "none")
    level_uuid = codec.sig_uuid(codec.BATTERY_LEVEL)
    if service.get_characteristic(level_uuid) is None:
        raise Mismatch("Battery Service", "a Battery Level characteristic (0x2A19)", "none")
    prop = next((p for p in profile.properties_on("ble")
                 if p.service == "battery" and p.name == "battery-level"), None)
    observed = []
    for _ in range(3):  # both values may move between the two reads: agree once is enough
        data = read(ble, level_uuid)
        try:
            level = codec.decode("uint8", data)
        except codec.DecodeError as exc:
            raise Mismatch("0x2A19 Battery Level", "a uint8 percentage", str(exc), "read") from None
        if prop is None:
            if not 0 <= level <= 100:
                raise Mismatch("0x2A19 Battery Level", "a percentage 0..100", str(level), "read")
            evidence.note(f"battery-level is not exposed over BLE; 0x2A19 reads {level} %")
            return
        if ble.char(uuid_of(prop)) is None:
            raise Mismatch(ble.label(uuid_of(prop)), "a characteristic to compare with",
                           "none in the GATT table (see BLE-004)")
        _, value = read_value(ble, prop, uuid_of(prop))
        observed.append(f"{level} against {codec.show_value(value)}")
        if value is not None and level == value:
            evidence.note(f"0x2A19 Battery Level {level} % equals {prop.label}")
            return
    raise Mismatch("0x2A19 Battery Level", f"the value of {prop.label}",
                   "; ".join(observed), "read")


@pytest.mark.certkit_rule("SEC-004")
def test_encrypted_writes(ble: BleLink, profile: Profile, evidence: EvidenceLog) -> None:
    writable = [p for p in profile.properties_on("ble") if p.writable]
    if not writable:
        not_applicable("the profile declares no writable property on BLE")
    if not ble.observes_security_errors:
        raise LabError(f"the adapter ({ble.adapter.describe()}) pairs and retries a write refused "
                       "for insufficient encryption by itself, so an unencrypted write's ATT "
                       "error cannot be observed; check SEC-004 with --ble-adapter bumble:...")
    ble.reconnect()
    evidence.note("fresh connection, not paired: the link is unencrypted")
    problems = Problems()
    wanted = "ATT error 0x0F or 0x05 for a write on an unencrypted link"
    for prop in writable:
        uuid = uuid_of(prop)
        if ble.char(uuid) is None:
            evidence.note(f"{ble.label(uuid)} is missing (see BLE-004)")
            continue
        try:
            current = ble.read(uuid)
        except AttError:
            current = codec.encode(prop.format, profile_values.valid_values(prop)[0])
        try:
            ble.write(uuid, current)  # the value it has: a write that changes nothing
        except AttError as exc:
            if exc.code not in ATT_ENCRYPTION_ERRORS:
                problems.add(ble.label(uuid), wanted, str(exc))
        except NoResponse as exc:
            problems.add(ble.label(uuid), wanted, str(exc))
        else:
            problems.add(ble.label(uuid), wanted, "the write succeeded")
    problems.raise_any()

