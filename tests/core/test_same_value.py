"""One notion of "the same value", keyed by how the wire carries a float."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certkit.profile.values import WIRE_ENCODING, same_value


def binary32(value: float) -> float:
    return struct.unpack("<f", struct.pack("<f", value))[0]


def test_each_transport_names_its_encoding():
    own = {"serial": "decimal", "mqtt": "decimal", "ble": "binary32"}
    assert {name: WIRE_ENCODING[name] for name in own} == own  # and any other's, installed


@pytest.mark.parametrize("printed", ["21.3", "21.30", "21.2999992", "21.299999"])
def test_a_float_printed_by_a_firmware_is_the_value_it_holds(printed):
    # A firmware holding 21.3 as a binary32 prints it with %g, %.2f or all its digits.
    assert same_value("float", float(printed), 21.3, "decimal")


def test_binary32_compares_the_bits_the_wire_carries():
    assert same_value("float", binary32(21.3), 21.3, "binary32")
    assert not same_value("float", 21.3 + 1e-5, 21.3, "binary32")
    assert not same_value("float", 21.3, 21.4, "decimal")
    assert not same_value("float", float("nan"), float("nan"), "decimal")


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, width=32))
def test_what_binary32_calls_the_same_decimal_does_too(value):
    # So a value that passes a BLE rule cannot fail an interop comparison.
    assert same_value("float", binary32(value), value, "decimal")
    assert same_value("float", value, binary32(value), "binary32")


def test_other_formats_compare_exactly_and_by_type():
    assert same_value("uint8", 40, 40) and not same_value("uint8", 40, 41)
    assert not same_value("bool", True, 1)
    assert same_value("string", "a", "a") and not same_value("string", "a", "A")
    assert same_value("float", 20, 20.0)
