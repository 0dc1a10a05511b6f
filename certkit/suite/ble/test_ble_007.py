"""BLE-007: Notify characteristics notify changes (ECS-1 section 7)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

from certkit.checks import LabError, not_applicable
from certkit.evidence import EvidenceLog
from certkit.links.ble import codec
from certkit.links.ble.errors import AttError, NoResponse
from certkit.operator import Operator
from certkit.plan import Instance, cannot_change
from certkit.profile import values as profile_values
from certkit.profile.model import Profile, Property
from certkit.suite.ble.support import (
    Mismatch,
    property_list,
    read,
    read_value,
    require_char,
    restore,
)

if TYPE_CHECKING:  # bleak, bumble and bthome-ble load only when a BLE rule runs
    from certkit.links.ble.link import BleLink

OPERATOR_CHANGE_S = 120.0  # BLE-007 (C-1): the operator's deadline to change a value
CHANGE_READABLE_S = 10.0   # after the operator's answer, how long the change may take to read
CHANGE_POLL_S = 0.05


@pytest.mark.certkit_rule("BLE-007")
def test_ble_007_notifies_changes(ble: BleLink, rule_instance: Instance, limit_ms: Any,
                                  profile: Profile, evidence: EvidenceLog,
                                  operator: Operator) -> None:
    """C-1: only a change certkit causes (its own write), or the operator causes when
    certkit cannot, is timed; nothing waits for the device to change a value by itself."""
    prop = rule_instance.target_as(Property)
    why_not = cannot_change(prop, profile)
    if why_not and not operator.present:  # the plan makes no such instance; nor a hand-made
        not_applicable(f"{why_not}, and the run has no operator to cause one")
    uuid = require_char(ble, prop, "notify")
    label = ble.label(uuid)
    limit = limit_ms("notify-ms")
    char = ble.char(uuid)
    if char is None or "notify" not in char.properties:  # require_char found it
        raise Mismatch(label, "a characteristic that notifies",
                       f"properties {property_list(char.properties if char else [])}")
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
