"""Values a rule sends to a property: valid ones to set, invalid ones to be refused.

Invalid samples are wire text, not Python values, because a wrong type
(`true` for a uint8) must be sent as written. Each says why it is invalid,
and the rules quote that in their messages.

A "too long" string (SER-007) is not sampled: ECS-1 profiles declare no
length for strings, and a string long enough to break the 512-byte line
limit would make the downlink itself malformed.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from certkit.links.serial.protocol import encode_value
from certkit.profile.model import Property
from certkit.profile.values import valid_values
from certkit.standard.ecs1 import INTEGER_BOUNDS


@dataclass(frozen=True)
class Sample:
    text: str  # as it goes on the wire
    why: str   # "above the range 40..100"


def _number(prop: Property, value: Fraction | float) -> int | float:
    return int(value) if prop.format in INTEGER_BOUNDS else float(value)


def valid_value(prop: Property) -> Any:
    """A valid value of the property, the same every time."""
    return valid_values(prop)[0]


def invalid_samples(prop: Property) -> list[Sample]:
    """Values SER-007 expects to be refused with -4005: out of range, not listed, wrong type."""
    fmt = prop.format
    if fmt == "bool":
        return [Sample("1", "an integer, not a bool"), Sample('"true"', "a string, not a bool")]
    if fmt == "string":
        return [Sample("42", "an integer, not a string"), Sample("true", "a bool, not a string")]
    samples: list[Sample] = []
    if prop.value_list:
        listed = [entry.value for entry in prop.value_list]
        outside = max(listed) + 1
        samples.append(Sample(str(outside), f"not in the value-list {listed}"))
    elif prop.value_range:
        low, high, step = (Fraction(str(x)) for x in prop.value_range)
        shown = f"{prop.value_range[0]:g}..{prop.value_range[1]:g}"
        samples.append(Sample(encode_value(_number(prop, high + step), fmt),
                              f"above the range {shown}"))
        samples.append(Sample(encode_value(_number(prop, low - step), fmt),
                              f"below the range {shown}"))
    samples.append(Sample("true", f"a bool, not a {fmt}"))
    return samples
