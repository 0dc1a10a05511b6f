"""How a BLE link call can end besides returning, so rules tell the DUT's faults from the bench's.

- `AttError`: the DUT answered with an ATT Error Response (a device behaviour
  the rule judges);
- `NoResponse`: the DUT stayed connected but did not answer in time;
- `PeerLost` (a `LabError`): the DUT disconnected or vanished when the rule
  did not ask for it, or the adapter went away;
- `ConnectFailed` (a `LabError`): the DUT advertises but refused a connection.

Kept apart from `link.py` so the suite imports them without loading bleak
and bumble (a run without BLE rules never pays for those).
"""

from __future__ import annotations

from certkit.checks import LabError

# Bluetooth Core Vol 3, Part F, 3.4.1.1 (the names bleak uses too).
ATT_ERROR_NAMES: dict[int, str] = {
    0x01: "Invalid Handle", 0x02: "Read Not Permitted", 0x03: "Write Not Permitted",
    0x04: "Invalid PDU", 0x05: "Insufficient Authentication", 0x06: "Request Not Supported",
    0x07: "Invalid Offset", 0x08: "Insufficient Authorization", 0x09: "Prepare Queue Full",
    0x0A: "Attribute Not Found", 0x0B: "Attribute Not Long",
    0x0C: "Insufficient Encryption Key Size", 0x0D: "Invalid Attribute Value Length",
    0x0E: "Unlikely Error", 0x0F: "Insufficient Encryption", 0x10: "Unsupported Group Type",
    0x11: "Insufficient Resources", 0x12: "Database Out Of Sync", 0x13: "Value Not Allowed",
}


class AttError(Exception):
    """The DUT answered with an ATT Error Response."""

    def __init__(self, code: int) -> None:
        self.code = code
        self.name = ATT_ERROR_NAMES.get(code, "Application Error" if 0x80 <= code <= 0x9F
                                        else "Unknown")
        super().__init__(f"ATT error 0x{code:02X} {self.name}")


class NoResponse(Exception):
    """The DUT stayed connected but did not answer in time."""


class PeerLost(LabError):
    """The DUT disconnected or vanished when the rule did not ask for it."""


class ConnectFailed(LabError):
    """The DUT is advertising but did not accept a connection."""
