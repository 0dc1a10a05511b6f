"""The BLE link driver of the `ble` transport (`transport.py`).

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
rules write); the loop thread is `certkit/links/aio.py`. bleak and bumble load
only when a link opens.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Loaded when used, not when the transport registry is read.
    if name in ("AttError", "ConnectFailed", "NoResponse", "PeerLost"):
        from certkit.links.ble import errors

        return getattr(errors, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["AttError", "ConnectFailed", "NoResponse", "PeerLost"]
