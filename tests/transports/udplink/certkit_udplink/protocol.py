"""certkit UDP: one JSON object per datagram, UTF-8, at most MAX_DATAGRAM bytes.

Controller to device (each with an integer `id` the answer repeats):

    {"op": "hello", "id": 1}                  -> {"op": "hello", "id": 1, "model": ...,
                                                  "firmware": ..., "mcu-version": ...,
                                                  "serial-number": ...}
    {"op": "get", "id": 2, "siid": 2, "piid": 1}          -> {"op": "value", "id": 2,
                                                              "siid": 2, "piid": 1, "value": true}
    {"op": "set", "id": 3, "siid": 2, "piid": 1, "value": false} -> {"op": "result", "id": 3,
                                                                     "code": 0}

Refusals are {"op": "error", "id": N, "code": C} with the MIoT result codes (-4001 not
readable, -4002 not writable, -4003 no such property, -4005 bad value) and -5000 for an
operation the device does not know. A datagram that is no JSON object with an integer id
is ignored. The device reports every change it did not just answer to every controller
that said hello: {"op": "report", "siid": 2, "piid": 1, "value": true}.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DATAGRAM = 1200
UNKNOWN_OPERATION = -5000
CODES = {"not-readable": -4001, "not-writable": -4002, "no-such-property": -4003,
         "bad-value": -4005}


class DatagramError(ValueError):
    """Bytes that are not one datagram of the protocol."""


def encode(message: object) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode(data: bytes) -> dict[str, Any]:
    """One datagram as a JSON object; DatagramError for anything else."""
    if len(data) > MAX_DATAGRAM:
        raise DatagramError(f"{len(data)} bytes, over {MAX_DATAGRAM}")
    try:
        message = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DatagramError(f"not JSON text: {exc}") from None
    if not isinstance(message, dict):
        raise DatagramError(f"a JSON {type(message).__name__}, not an object")
    return message


def shown(data: bytes, limit: int = 160) -> str:
    """A datagram as the evidence shows it."""
    text = data.decode("utf-8", errors="backslashreplace")
    return text if len(text) <= limit else f"{text[:limit]}... ({len(data)} bytes)"
