"""ECS-1.0, certkit's built-in standard (`ECS_1_0`), and its facts that are not rules:
formats, units, names, limits, codes.

The rules themselves are data in `rules.yaml` (see `catalogue.py`); the
device categories are data in `categories.yaml` (see `categories.py`).
"""

from __future__ import annotations

import os
import re
from typing import Final

from certkit.standard.base import Standard

PROFILE_FORMATS: Final = frozenset({1})

NAME_RE: Final = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
MODEL_RE: Final = re.compile(r"^[a-z0-9]+\.[a-z0-9-]+\.[a-z0-9]+$")
DEVICE_ID_RE: Final = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MCU_VERSION_RE: Final = re.compile(r"^[0-9]{4}$")
# semver.org 2.0.0: MAJOR.MINOR.PATCH with optional pre-release and build.
SEMVER_RE: Final = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)

IID_MIN: Final = 1
IID_MAX: Final = 255

# Integer formats and their bounds; float is IEEE 754 binary32.
INTEGER_BOUNDS: Final[dict[str, tuple[int, int]]] = {
    "uint8": (0, 2**8 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
}
FLOAT_MAX: Final = 3.4028234663852886e38
NUMERIC_FORMATS: Final = frozenset(INTEGER_BOUNDS) | {"float"}
FORMATS: Final = NUMERIC_FORMATS | {"bool", "string"}

VALUE_LIST_MAX: Final = 32

UNITS: Final = frozenset(
    ["celsius", "fahrenheit", "kelvin", "percentage", "lux", "pascal", "kilopascal", "watt",
     "kilowatt-hour", "volt", "ampere", "milliampere", "seconds", "minutes", "hours", "days",
     "meters", "centimeters", "liters", "ppm", "mg-per-m3", "ug-per-m3", "rpm", "none"]
)

DEVICE_INFORMATION_SIID: Final = 1
DEVICE_INFORMATION: Final = {1: "manufacturer", 2: "model", 3: "serial-number", 4: "firmware-revision"}

# Name segments that mark a secret (SEC-001).
SECRET_SEGMENTS: Final = frozenset({"password", "passwd", "token", "secret", "key"})

# Section 10: limits in milliseconds, by the `timing` key that may tighten them.
TIMING_LIMITS_MS: Final[dict[str, int]] = {
    "reply-ms": 1000,
    "notify-ms": 1000,
    "boot-ms": 2000,
    "ready-ms": 5000,
    "reconnect-ms": 30000,
    "readvertise-ms": 2000,
}

# Section 5: MIoT result codes.
RESULT_CODES: Final[dict[int, str]] = {
    0: "done",
    1: "accepted",
    -4001: "not readable",
    -4002: "not writable",
    -4003: "no such property, action or event",
    -4004: "internal error",
    -4005: "bad value",
    -4006: "bad action arguments",
}

# The standard object (registered under certkit.standards in pyproject.toml); its name is
# also its catalogue's `standard:`, checked when the catalogue loads.
ECS_1_0: Final = Standard(
    "ECS-1.0",
    title="Ecosystem Compatibility Standard 1.0",
    data="certkit.standard",
    suite="certkit.suite",
    design="certkit.design:DESIGN_CHECKS",
    document_rules=("PRF-001", "PRF-002", "PRF-003"),
    facts="certkit.standard.ecs1",
    profile_formats=PROFILE_FORMATS,
    url=os.environ.get("CERTKIT_STANDARD_URL", "ECS-1.md"),
)
