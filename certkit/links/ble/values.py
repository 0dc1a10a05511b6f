"""Which values a rule writes: a valid new one, an invalid one, a wrong length.

Pure functions of a `Property`, so BLE-006/007 and SEC-004 pick the same
values every run and a test can check the choices.

    >>> other_valid_value(target_temperature, current=70)
    40
    >>> invalid_value(target_temperature)
    InvalidWrite(data=b'e', shows='101 (outside 40..100)')
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from certkit.links.ble.codec import SIZES, encode
from certkit.profile.model import Property
from certkit.standard.ecs1 import INTEGER_BOUNDS


@dataclass(frozen=True)
class InvalidWrite:
    data: bytes   # what goes on the wire
    shows: str    # what it is, for messages: '101 (outside 40..100)'


def _fits(fmt: str, value: float) -> bool:
    if fmt in INTEGER_BOUNDS:
        low, high = INTEGER_BOUNDS[fmt]
        return float(value).is_integer() and low <= value <= high
    return math.isfinite(value)


def invalid_value(prop: Property) -> InvalidWrite | None:
    """A value of the right length that the property must refuse (ATT 0x13).

    None when the format has no such value (a uint8 with value-range 0..255
    and step 1 accepts every byte).
    """
    fmt = prop.format
    if fmt == "bool":
        return InvalidWrite(b"\x02", "02 (a bool is 00 or 01)")
    if fmt == "string":
        return InvalidWrite(b"\xff\xfe", "ff fe (not UTF-8)")
    if prop.value_list:
        allowed = sorted(entry.value for entry in prop.value_list)
        for outside in (allowed[-1] + 1, allowed[0] - 1,
                        *(v for v in range(allowed[0], allowed[-1]) if v not in allowed)):
            if _fits(fmt, outside):
                return InvalidWrite(encode(fmt, outside),
                                    f"{outside} (not in the value-list {allowed})")
        return None
    if prop.value_range:
        low, high, step = prop.value_range
        for candidate in (high + step, low - step, high + 1, low - 1):
            if _fits(fmt, candidate) and prop.check_value(
                    int(candidate) if fmt in INTEGER_BOUNDS else float(candidate)) is not None:
                shown = int(candidate) if fmt in INTEGER_BOUNDS else candidate
                return InvalidWrite(encode(fmt, shown), f"{shown:g} (outside {low:g}..{high:g})")
        if fmt in INTEGER_BOUNDS and step > 1:
            candidate = int(low) + 1
            return InvalidWrite(encode(fmt, candidate),
                                f"{candidate} (not on a step of {step:g} from {low:g})")
    if fmt == "float":
        return InvalidWrite(encode("float", math.nan), "NaN (not a finite number)")
    return None


def wrong_length(prop: Property, valid: bytes) -> bytes | None:
    """A valid encoding with one byte too many (ATT 0x0D); None for strings."""
    if prop.format not in SIZES:
        return None
    return bytes(valid) + b"\x00"
