"""BLE-006: Writable characteristics accept valid writes only (ECS-1 section 7)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from certkit.evidence import EvidenceLog
from certkit.links.ble import codec, values
from certkit.links.ble.errors import AttError, NoResponse
from certkit.plan import Instance
from certkit.profile import values as profile_values
from certkit.profile.model import Property
from certkit.suite.ble.support import Mismatch, constraints, read, read_value, require_char, restore

if TYPE_CHECKING:  # bleak, bumble and bthome-ble load only when a BLE rule runs
    from certkit.links.ble.link import BleLink

ATT_VALUE_NOT_ALLOWED = 0x13
ATT_INVALID_LENGTH = 0x0D


@pytest.mark.certkit_rule("BLE-006")
def test_ble_006_accepts_valid_writes_only(ble: BleLink, rule_instance: Instance,
                                           evidence: EvidenceLog) -> None:
    prop = rule_instance.target_as(Property)
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
