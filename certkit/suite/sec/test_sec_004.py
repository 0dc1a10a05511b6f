"""SEC-004: Writable characteristics need an encrypted link (ECS-1 section 9)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from certkit.checks import LabError, not_applicable
from certkit.evidence import EvidenceLog
from certkit.links.ble import codec
from certkit.links.ble.errors import AttError, NoResponse
from certkit.profile import values as profile_values
from certkit.profile.model import Profile
from certkit.suite.ble.support import Problems, uuid_of

if TYPE_CHECKING:  # bleak, bumble and bthome-ble load only when a BLE rule runs
    from certkit.links.ble.link import BleLink

ATT_ENCRYPTION_ERRORS = (0x05, 0x0F)  # Insufficient Authentication, Insufficient Encryption


@pytest.mark.certkit_rule("SEC-004")
def test_sec_004_writes_need_encryption(ble: BleLink, profile: Profile,
                                        evidence: EvidenceLog) -> None:
    writable = [p for p in profile.properties_on("ble") if p.writable]
    if not writable:
        not_applicable("the profile declares no writable property on BLE")
    if not ble.observes_security_errors:
        adapter = ble.adapter.describe() if ble.adapter else "none"
        raise LabError(f"the adapter ({adapter}) pairs and retries a write refused "
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
