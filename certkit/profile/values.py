"""Valid values a rule can write to a property, the same every run.

Every transport's rules need a valid value to set and, to make a set
observable, one that differs from the current value. They all draw on
these pure functions, so the serial, MQTT and BLE rules (and the interop
rules that compare them) write the same values.

    >>> valid_values(target_temperature)      # uint8 40..100 step 1
    [40, 100, 41, 70, 99]
    >>> other_valid_value(target_temperature, current=40)
    100
"""

from __future__ import annotations

import math
import struct
from fractions import Fraction
from typing import Any, Literal

from certkit.profile.model import Property
from certkit.standard.ecs1 import INTEGER_BOUNDS


def _on_step(prop: Property) -> list[Any]:
    """Bounds, one step in, the middle and one step short of the top."""
    low, high, step = (Fraction(str(x)) for x in prop.value_range)  # type: ignore[union-attr]
    steps = int((high - low) / step)
    values = []
    for k in (0, steps, 1, steps // 2, max(steps - 1, 0)):
        value = low + k * step
        values.append(int(value) if prop.format in INTEGER_BOUNDS else float(value))
    return values


def valid_values(prop: Property) -> list[Any]:
    """A few valid values of the property, most distinctive first."""
    if prop.format == "bool":
        return [True, False]
    if prop.format == "string":
        return ["certkit", "certkit-2"]
    if prop.value_list:
        return [entry.value for entry in prop.value_list]
    if prop.value_range:
        return _on_step(prop)
    return [1, 0] if prop.format in INTEGER_BOUNDS else [1.0, 0.0]


Encoding = Literal["binary32", "decimal"]


def __getattr__(name: str) -> Any:
    # WIRE_ENCODING: how each transport carries a float (its `wire_encoding`).
    if name == "WIRE_ENCODING":
        from certkit.transports import transports

        return {t.name: t.wire_encoding for t in transports().values()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

# Six significant digits: what C's %g keeps of a float, the usual firmware print.
DECIMAL_REL_TOL = 1e-6
DECIMAL_ABS_TOL = 1e-9


def same_value(fmt: str, a: Any, b: Any, encoding: Encoding = "decimal") -> bool:
    """Whether `a` and `b` are the same value of a property of format `fmt`, as a wire
    of this encoding carries it. Every rule compares values through this one function.

    - `binary32` (BLE): a float travels as its IEEE 754 binary32 bits, so two floats are
      the same when their binary32 roundings are.
    - `decimal` (serial and MQTT text): a firmware prints its float with as many digits
      as it likes, so two floats are the same to six significant digits. A comparison
      across transports uses `decimal`, the coarser of the two.

    Other formats compare exactly, type included (True is not 1).
    """
    if fmt == "float" and _number(a) and _number(b):
        if math.isnan(a) or math.isnan(b):
            return False
        if encoding == "binary32":
            return struct.pack("<f", a) == struct.pack("<f", b)
        return math.isclose(a, b, rel_tol=DECIMAL_REL_TOL, abs_tol=DECIMAL_ABS_TOL)
    return type(a) is type(b) and a == b


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def other_valid_value(prop: Property, current: Any) -> Any:
    """A valid value that differs from `current`, so a set is visible."""
    for value in valid_values(prop):
        if current is None or not same_value(prop.format, value, current):
            return value
    raise ValueError(f"{prop.label} has a single valid value; a set cannot change it")
