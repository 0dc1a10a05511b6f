"""Section 7 as pure functions: encodings, UUIDs, AD structures, BTHome, write values."""

from __future__ import annotations

import math
import struct

import pytest
from certkit_emulators.ble import FAULTS
from certkit_emulators.ble.advertising import advertising_data, bthome_object, bthome_payload
from certkit_emulators.ble.state import (
    ATT_INVALID_LENGTH,
    ATT_UNLIKELY_ERROR,
    ATT_VALUE_NOT_ALLOWED,
    ATT_WRITE_NOT_PERMITTED,
    GattValues,
)

from certkit.links.ble import bthome, codec, values
from certkit.links.ble.errors import AttError
from certkit.profile.values import other_valid_value, same_value

# ------------------------------------------------------------------ values


@pytest.mark.parametrize("fmt, value, wire", [
    ("bool", True, "01"), ("bool", False, "00"), ("uint8", 200, "c8"), ("int8", -2, "fe"),
    ("uint16", 300, "2c01"), ("int16", -300, "d4fe"), ("uint32", 70000, "70110100"),
    ("int32", -70000, "90eefeff"), ("float", 25.5, "0000cc41"),
    ("string", "Acme ü", "41636d6520c3bc"),
])
def test_values_travel_as_section_7_says(fmt, value, wire):
    assert codec.encode(fmt, value).hex() == wire
    assert codec.decode(fmt, bytes.fromhex(wire)) == value


@pytest.mark.parametrize("fmt, wire, says", [
    ("float", "0000000000804b40", ("expected 4 bytes (float, IEEE 754 binary32 little endian), "
                                   "read 8 bytes 00 00 00 00 00 80 4b 40")),
    ("uint8", "", "expected 1 byte (uint8, 1 byte little endian), read 0 bytes"),
    ("bool", "02", "expected a bool byte 00 or 01, read 02"),
    ("string", "fffe", "expected UTF-8 text, read ff fe"),
])
def test_decode_errors_say_expected_and_read(fmt, wire, says):
    with pytest.raises(codec.DecodeError) as caught:
        codec.decode(fmt, bytes.fromhex(wire))
    assert str(caught.value).startswith(says)


def test_floats_compare_as_binary32():
    assert same_value("float", 21.3, codec.decode("float", codec.encode("float", 21.3)),
                      "binary32")
    assert not same_value("float", 21.3, 21.4, "binary32")
    assert not same_value("float", math.nan, math.nan, "binary32")


# ------------------------------------------------------------------ UUIDs


def test_ecosystem_uuids():
    assert codec.service_uuid(2) == "ec5e0200-c3b1-4e8a-9a5f-0c1d2e3f4a5b"
    assert codec.characteristic_uuid(18, 255) == "ec5e12ff-c3b1-4e8a-9a5f-0c1d2e3f4a5b"
    assert codec.parse_ecosystem_uuid("EC5E0203-C3B1-4E8A-9A5F-0C1D2E3F4A5B") == (2, 3)
    assert codec.parse_ecosystem_uuid("0000180a-0000-1000-8000-00805f9b34fb") is None
    assert codec.under_ecosystem_base("ec5eZZ01-c3b1-4e8a-9a5f-0c1d2e3f4a5b")


def test_sig_uuids():
    assert codec.normalize_uuid("2A24") == "00002a24-0000-1000-8000-00805f9b34fb"
    assert codec.short_sig(codec.sig_uuid(0x180A)) == 0x180A
    assert codec.uuid_label(codec.sig_uuid(codec.MODEL_NUMBER)) == "0x2A24 Model Number"


# ------------------------------------------------------------------ AD structures


def test_ad_structures_round_trip_and_describe():
    structures = [codec.flags(), codec.local_name("ACME-K1"),
                  codec.manufacturer_data(0xFFFF, b"\x42\x01"),
                  codec.service_data16(codec.BTHOME_UUID16, bytes.fromhex("4002c409"))]
    data = codec.build_ad(structures)
    assert len(data) == 3 + 9 + 6 + 8
    assert codec.parse_ad(data + b"\x00\x00") == structures  # zero padding ends the data
    assert [s.describe() for s in structures] == [
        "Flags: 0x06", 'Complete Local Name: "ACME-K1"',
        "Manufacturer Specific Data: company 0xFFFF, 42 01",
        "Service Data (16-bit UUID): 0xFCD2, 40 02 c4 09"]
    assert codec.name_of(structures) == "ACME-K1"


def test_malformed_ad_is_refused():
    with pytest.raises(codec.AdFormatError, match="claims 9 bytes"):
        codec.parse_ad(bytes.fromhex("0201060909414345"))


# ------------------------------------------------------------------ what rules write


def test_write_values_for_the_kettle(kettle):
    on, temperature, target, status = (kettle.property(2, piid) for piid in (1, 2, 3, 4))
    assert other_valid_value(on, False) is True
    assert other_valid_value(target, 40) == 100
    assert values.invalid_value(target) == values.InvalidWrite(b"e", "101 (outside 40..100)")
    assert values.invalid_value(on).data == b"\x02"
    assert values.invalid_value(status).shows == "3 (not in the value-list [0, 1, 2])"
    assert struct.unpack("<f", values.invalid_value(temperature).data)[0] == 110.5
    assert values.wrong_length(target, b"\x46") == b"\x46\x00"
    for prop in (on, temperature, target, status):
        assert prop.check_value(other_valid_value(prop, None)) is None


def test_a_full_uint8_range_has_no_invalid_value(kettle):
    from dataclasses import replace

    full = replace(kettle.property(2, 3), value_range=(0, 255, 1))
    assert values.invalid_value(full) is None
    string = replace(kettle.property(2, 3), format="string", value_range=None)
    assert values.invalid_value(string).data == b"\xff\xfe"
    assert values.wrong_length(string, b"x") is None


def test_att_error_names():
    assert str(AttError(0x13)) == "ATT error 0x13 Value Not Allowed"
    assert AttError(0x0D).name == "Invalid Attribute Value Length"


# ------------------------------------------------------------------ BTHome (bthome-ble decodes)


def test_bthome_decoded_by_bthome_ble():
    reading = bthome.decode(bytes.fromhex("40015702c40903bf13"), address="C0:00:00:00:00:01")
    assert reading.accepted and reading.version == 2 and not reading.encrypted
    assert [(o.object_id, o.value) for o in reading.objects] == [(1, 87), (2, 25.0), (3, 50.55)]
    assert reading.decoder_values == {"battery": 87, "temperature": 25.0, "humidity": 50.55}


def test_bthome_rejections_are_the_decoders():
    wrong_version = bthome.decode(bytes.fromhex("2002c409"), address="C0:00:00:00:00:01")
    assert not wrong_version.accepted and wrong_version.version == 1
    assert any("version" in m for m in wrong_version.decoder_messages)
    out_of_order = bthome.decode(bytes.fromhex("4002c4090157"), address="C0:00:00:00:00:01")
    assert out_of_order.object_ids == [2, 1]
    assert any("numerical order" in m for m in out_of_order.decoder_messages)
    encrypted = bthome.decode(bytes.fromhex("4102c409"), address="C0:00:00:00:00:01")
    assert encrypted.encrypted and not encrypted.accepted
    truncated = bthome.decode(bytes.fromhex("4002c4"), address="C0:00:00:00:00:01")
    assert truncated.walk_error and "needs 2 bytes" in truncated.walk_error


# ------------------------------------------------------------------ the emulator's own data


def test_conformant_advertising_fits_31_bytes(kettle, sensor):
    for profile in (kettle, sensor):
        data = advertising_data(profile, GattValues(profile))
        structures = codec.parse_ad(data)
        assert len(data) <= codec.LEGACY_ADVERTISING_BYTES
        assert structures[0] == codec.flags()
        assert codec.name_of(structures).startswith(profile.transports.ble.name_prefix)
    sensor_names = [s for s in codec.parse_ad(advertising_data(sensor, GattValues(sensor)))
                    if s.type == codec.AD_SHORTENED_NAME]
    assert sensor_names, "the sensor's name is shortened to fit"


def test_advertising_faults(kettle):
    state = GattValues(kettle)
    assert len(advertising_data(kettle, state, frozenset({"long-advertising"}))) > 31
    no_mfr = codec.parse_ad(advertising_data(kettle, state, frozenset({"no-manufacturer-data"})))
    assert not any(s.type == codec.AD_MANUFACTURER for s in no_mfr)
    payload = bthome_payload(kettle, state, frozenset({"bthome-out-of-order"}))
    assert bthome.decode(payload, address="C0:00:00:00:00:01").object_ids == [2, 0]
    assert bthome_object(0x02, 25.5) == bytes.fromhex("02f609")


def test_state_judges_writes_as_a_conformant_device(kettle):
    state = GattValues(kettle)
    target, temperature = kettle.property(2, 3), kettle.property(2, 2)
    assert state.write(target, b"\x28") is None and state.value(target) == 40
    assert state.write(target, b"\x65") == ATT_VALUE_NOT_ALLOWED and state.value(target) == 40
    assert state.write(target, b"\x28\x00") == ATT_INVALID_LENGTH
    assert state.write(temperature, codec.encode("float", 20.0)) == ATT_WRITE_NOT_PERMITTED
    wrong = GattValues(kettle, frozenset({"wrong-att-error"}))
    assert wrong.write(target, b"\x65") == ATT_UNLIKELY_ERROR
    lax = GattValues(kettle, frozenset({"invalid-writes-accepted"}))
    assert lax.write(target, b"\x65") is None and lax.value(target) == 101


def test_state_changes_read_only_notify_properties_by_itself(kettle):
    state = GattValues(kettle)
    changed = state.tick()
    assert {p.name for p in changed} == {"temperature", "status"}
    for prop in changed:
        assert prop.check_value(state.value(prop)) is None


def test_every_fault_names_a_ble_rule():
    assert {f.rule for f in FAULTS.values()} == {f"BLE-00{i}" for i in range(1, 10)} | {"SEC-004"}
