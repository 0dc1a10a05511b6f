"""The BLE link as rules use it: synchronous calls with deadlines, evidence, clear endings."""

from __future__ import annotations

import time

import pytest

from certkit.bench import Bench
from certkit.checks import LabError
from certkit.evidence import EvidenceLog
from certkit.links import open_link
from certkit.links.base import LinkStateError
from certkit.links.ble import AttError, codec
from certkit.links.ble.adverts import Advert
from certkit.links.ble.link import BleLink

TARGET = codec.characteristic_uuid(2, 3)


@pytest.fixture
def evidence() -> EvidenceLog:
    return EvidenceLog()


@pytest.fixture
def emulated(kettle, evidence):
    link = open_link("ble", kettle, Bench(emulate=frozenset({"ble"})), evidence, timeout=30)
    yield link
    link.close(5)


def lines(evidence: EvidenceLog) -> list[str]:
    return [item.line() for item in evidence.since(0)]


def test_open_finds_the_emulated_dut_and_records_its_advertising(emulated, evidence):
    assert isinstance(emulated, BleLink)
    assert emulated.dut.address == emulated.emulator.address
    text = "\n".join(lines(evidence))
    assert "reference emulator started: ACME-K1" in text
    assert 'adv C3:F1:3B:EC:71:BB connectable, 26 bytes as sent' in text
    assert "Manufacturer Specific Data: company 0xFFFF, 42 01" in text
    adverts = emulated.adverts(1.0, count=2)
    assert len(adverts) == 2 and all(a.size == 26 for a in adverts)


def test_gatt_operations_are_timed_and_recorded(emulated, evidence):
    assert emulated.read(codec.sig_uuid(codec.MODEL_NUMBER)) == b"acme.kettle.k1"
    with pytest.raises(AttError) as refused:
        emulated.write(TARGET, b"\x46")
    assert refused.value.code == 0x0F
    assert emulated.secure() is None and emulated.encrypted
    emulated.write(TARGET, b"\x46")
    subscription = emulated.subscribe(TARGET)
    emulated.write(TARGET, b"\x47")
    assert subscription.wait(1.0, lambda data: data == b"\x47") is not None
    emulated.unsubscribe(subscription)
    text = "\n".join(lines(evidence))
    assert 'read 0x2A24 Model Number: "acme.kettle.k1"' in text
    assert ("write ec5e0203-c3b1-4e8a-9a5f-0c1d2e3f4a5b (kettle.target-temperature): 46: "
            "ATT error 0x0F Insufficient Encryption") in text
    assert "notify ec5e0203-c3b1-4e8a-9a5f-0c1d2e3f4a5b (kettle.target-temperature): 47" in text
    assert "GATT   characteristic ec5e0202-c3b1-4e8a-9a5f-0c1d2e3f4a5b (kettle.temperature)" in text


def test_readvertising_is_timed(emulated):
    emulated.ensure_connected()
    delay = emulated.readvertising_after_disconnect(2.0)
    assert delay is not None and delay < 200
    assert emulated.connect() > 0


def test_close_is_bounded_and_final(kettle, evidence):
    link = open_link("ble", kettle, Bench(emulate=frozenset({"ble"})), evidence, timeout=30)
    link.ensure_connected()
    started = time.monotonic()
    link.close(5)
    assert time.monotonic() - started < 2
    with pytest.raises(LinkStateError):
        link.read(TARGET)
    link.close(5)  # idempotent


def test_bluez_missing_is_a_lab_error_and_remembered(kettle, evidence):
    started = time.monotonic()
    with pytest.raises(LabError, match="BlueZ is not usable here"):
        open_link("ble", kettle, Bench(wiring={"ble": {"adapter": "bluez"}}), evidence, timeout=30)
    with pytest.raises(LabError, match="as when the BLE link was first opened"):
        open_link("ble", kettle, Bench(wiring={"ble": {"adapter": "bluez"}}), evidence, timeout=30)
    assert time.monotonic() - started < 15


@pytest.mark.parametrize("bench, says", [
    (Bench(emulate=frozenset({"ble"}), wiring={"ble": {"adapter": "bumble:usb:0"}}), "cannot reach it"),
    (Bench(emulate=frozenset({"ble"}), faults={"ble": frozenset({"nope"})}), "unknown fault nope"),
    (Bench(wiring={"ble": {"adapter": "hci0"}}), "expected bluez, bluez:<hciN> or bumble:<transport>"),
    (Bench(wiring={"ble": {"adapter": "bumble:tcp-client:127.0.0.1:1"}}), "cannot open the bumble transport"),
])
def test_bench_mistakes_are_lab_errors(kettle, bench, says):
    with pytest.raises(LabError, match=says):
        open_link("ble", kettle, bench, EvidenceLog(), timeout=10)


def advert(name: str | None, manufacturer: dict[int, bytes], address: str = "C0:00:00:00:00:02"
           ) -> Advert:
    return Advert(0.0, address, name, -50, True, None, None, (), False, None, manufacturer, {})


def test_dut_selection_by_prefix_and_product_id(kettle):
    link = BleLink(kettle, Bench(), EvidenceLog())
    assert link._match(advert("ACME-K1", {0xFFFF: b"\x42\x01\x99"})) == "full"
    assert link._match(advert("ACME-K1", {0xFFFF: b"\x43\x01"})) == "prefix"
    assert link._match(advert("ACME-K1", {})) == "prefix"
    assert link._match(advert("OTHER", {0xFFFF: b"\x42\x01"})) is None
    named = BleLink(kettle, Bench(wiring={"ble": {"address": "ACME-K1"}}), EvidenceLog())
    assert named._match(advert("ACME-K1", {})) == "full"
    by_address = BleLink(kettle, Bench(wiring={"ble": {"address": "c0:00:00:00:00:02"}}), EvidenceLog())
    assert by_address._match(advert(None, {})) == "full"
