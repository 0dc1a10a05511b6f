"""The BLE link driver: registered for transport `ble`.

With `--emulate ble` the link starts the reference emulator
(`certkit_emulators.ble`, faults from `--fault ble:NAME`) on an in-process bumble
link and reaches it through certkit's bumble backend for bleak; otherwise it
uses the adapter `--ble-adapter` names (`bluez` by default, or
`bumble:<transport>`) and finds the DUT by `--ble NAME_OR_ADDRESS`, or by
the profile's name prefix and product id.

    ble = open_link("ble", profile, bench, evidence, timeout=30)
    ble.read(characteristic_uuid(2, 1))

The modules: `link.py` (the link the rules use), `errors.py` (how its calls
end), `adapters.py` (`--ble-adapter`), `selection.py` (which advertiser is
the DUT), `subscription.py` (notifications), `bumble_backend/` (bleak on
bumble), `codec.py` (section 7 encodings, UUIDs, AD structures),
`adverts.py`, `bthome.py` (BTHome through bthome-ble), `values.py` (what
rules write), `aio.py` (the loop thread). bleak and bumble load only when a
link opens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from certkit.bench import Bench
from certkit.evidence import EvidenceLog
from certkit.links import register
from certkit.links.ble.errors import AttError, ConnectFailed, NoResponse, PeerLost
from certkit.profile.model import Profile

if TYPE_CHECKING:
    from certkit.links.ble.link import BleLink


@register("ble")
def open_ble(profile: Profile, bench: Bench, evidence: EvidenceLog) -> BleLink:
    from certkit.links.ble.link import BleLink

    return BleLink(profile, bench, evidence)


__all__ = ["AttError", "ConnectFailed", "NoResponse", "PeerLost", "open_ble"]
