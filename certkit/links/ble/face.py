"""The BLE link's interop face: certkit, as a GATT central, reads and writes the DUT's
characteristics."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from certkit.checks import expect
from certkit.links.ble.codec import (
    FIRMWARE_REVISION,
    MODEL_NUMBER,
    SIZES,
    characteristic_uuid,
    decode,
    encode,
    sig_uuid,
)
from certkit.links.ble.errors import AttError, NoResponse, PeerLost
from certkit.profile.model import Profile, Property
from certkit.transports.interop import (
    CONFIRM_S,
    MALFORMED,
    InteropFace,
    MalformedInput,
    Neighbour,
    Unresponsive,
    Unsupported,
    stable,
)

if TYPE_CHECKING:
    from certkit.evidence import EvidenceLog
    from certkit.links.ble.link import BleLink

NEIGHBOUR_ADDRESS = "C1:23:45:67:89:AB"  # INT-006's reference neighbour on the same radio


class BleFace(InteropFace):
    link: BleLink

    def set(self, prop: Property, value: Any, timeout: float) -> tuple[bool, float]:
        self.link.secure()
        try:
            ms = self.link.write(characteristic_uuid(prop.siid, prop.piid),
                                 encode(prop.format, value))
        except AttError:
            return False, float("inf")
        return ms <= timeout * 1000, ms

    def read(self, prop: Property, timeout: float) -> Any:
        try:
            return decode(prop.format, self.link.read(characteristic_uuid(prop.siid, prop.piid)))
        except (AttError, ValueError):
            return None

    def announced_identity(self, profile: Profile, timeout: float) -> dict[str, str]:
        """Model Number and Firmware Revision of the Device Information Service."""
        return {what: self.link.read(sig_uuid(uuid16)).decode("utf-8", "replace")
                for what, uuid16 in (("model", MODEL_NUMBER), ("firmware", FIRMWARE_REVISION))}

    def unknown_message(self, reply_s: float, settle_s: float) -> None:
        raise Unsupported("ECS-1 names no unknown message for BLE (section 8, INT-004)")

    def neighbour(self, profile: Profile, evidence: EvidenceLog,
                  started: Callable[[Neighbour], None]) -> None:
        """A reference peripheral on the same (emulated) radio: the DUT's values stay as
        they were across a reconnection beside it."""
        emulator = self.link.emulator
        if emulator is None or emulator.link is None:
            evidence.note("INT-006: the BLE neighbour needs the emulated radio; BLE part not "
                          "checked")
            return
        from certkit_emulators.ble import BleEmulator

        neighbour = BleEmulator(profile, loop=emulator.loop, address=NEIGHBOUR_ADDRESS)
        started(neighbour)
        neighbour.start(5.0, link=emulator.link)
        evidence.note(f"INT-006: reference neighbour {neighbour.address} on the same radio")
        readable = [p for p in profile.properties_on(self.transport) if stable(p)]
        before = {p: self.read(p, CONFIRM_S) for p in readable}
        self.link.disconnect()
        self.link.connect()
        after = {p: self.read(p, CONFIRM_S) for p in readable}
        changed = [p.label for p in readable if after[p] != before[p]]
        expect(not changed, "the DUT's values untouched beside the neighbour",
               f"changed: {', '.join(changed)}")

    def malformed_inputs(self, rng: random.Random, profile: Profile,
                         props: list[Property]) -> list[MalformedInput]:
        """GATT writes too long, too short, or of a value the property must refuse."""
        from certkit.links.ble import values as ble_values

        inputs = []
        for i in range(MALFORMED):
            prop = rng.choice([p for p in props if p.writable] or props)
            size = SIZES.get(prop.format, 4)
            if i % 3 == 0:
                data = bytes(rng.randrange(256) for _ in range(size + rng.randint(1, 8)))
            elif i % 3 == 1:
                data = bytes(rng.randrange(256)
                             for _ in range(max(0, size - rng.randint(1, size))))
            else:
                invalid = ble_values.invalid_value(prop)
                data = invalid.data if invalid is not None else b"\xff" * (size + 1)
            uuid = characteristic_uuid(prop.siid, prop.piid)
            inputs.append(MalformedInput(
                f"write {prop.label} {data.hex()[:32]} ({len(data)} bytes)",
                functools.partial(self._write_malformed, uuid, data)))
        return inputs

    def _write_malformed(self, uuid: str, data: bytes) -> None:
        try:
            self.link.secure()
            try:
                self.link.write(uuid, data)
            except AttError:
                pass  # refused, as it should be
        except (PeerLost, NoResponse) as exc:
            raise Unresponsive(str(exc)) from exc


def face(link: BleLink) -> BleFace:
    return BleFace(link)
