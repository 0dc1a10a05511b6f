"""The plan: which rule instances a profile calls for, and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from certkit.design import lint_file, lint_text
from certkit.plan import cannot_change, make_plan, selected
from certkit.standard.catalogue import catalogue
from tests.support.cli import certkit
from tests.support.paths import KETTLE, PROFILES


@pytest.fixture(scope="module")
def kettle_plan():
    return make_plan(lint_file(KETTLE).profile)


def keys(plan, rule_id: str) -> list[str]:
    return [i.key for i in plan.of(rule_id) if i.applies]


def test_every_rule_is_in_the_plan(kettle_plan):
    assert {i.rule.id for i in kettle_plan.instances} == {r.id for r in catalogue().rules}


def test_instances_follow_the_declared_access(kettle_plan):
    assert keys(kettle_plan, "SER-004") == ["1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3",
                                            "2.4", "2.5"]
    assert keys(kettle_plan, "SER-005") == ["2.1", "2.3", "2.5"]  # on, target, keep-warm
    assert keys(kettle_plan, "BLE-007") == ["2.1", "2.3", "2.5"]  # those certkit can change
    assert keys(kettle_plan, "SER-008") == ["2.1"]
    assert keys(kettle_plan, "INT-005") == ["serial", "mqtt", "ble"]


def test_ble_instances_only_cover_the_exposed_services(kettle_plan):
    # The kettle exposes only service 2 over GATT, so device-information's
    # properties are read through the Device Information Service instead.
    assert keys(kettle_plan, "BLE-005") == ["2.1", "2.2", "2.3", "2.4", "2.5"]


def test_shared_writable_properties_span_transports(kettle_plan):
    assert keys(kettle_plan, "INT-001") == ["2.1", "2.3", "2.5"]
    assert [i.label for i in kettle_plan.of("INT-001")] == [
        "kettle.on", "kettle.target-temperature", "kettle.keep-warm"]


def test_reasons_explain_why_a_rule_does_not_apply(kettle_plan):
    (ble9,) = kettle_plan.of("BLE-009")
    assert not ble9.applies
    assert ble9.reason == "the device is not battery powered (device.power is mains)"
    (sec3,) = kettle_plan.of("SEC-003")
    assert "does not require MQTT over TLS" in sec3.reason


def test_a_ble_only_sensor_skips_serial_and_mqtt():
    plan = make_plan(lint_file(PROFILES / "acme.sensor.th1.yaml").profile)
    applies = {i.rule.id for i in plan.applicable}
    assert not any(r.startswith(("SER", "MQT")) for r in applies)
    assert {"BLE-002", "BLE-009"} <= applies
    (ser1,) = plan.of("SER-001")
    assert ser1.reason == "the profile declares no serial transport"
    assert "INT-003" not in applies  # one controller only: no MQTT, one transport


READ_ONLY = "read-only everywhere; certkit cannot cause a change"


def test_ble_007_times_only_changes_certkit_can_cause(kettle_plan):
    # C-1: temperature and status are read-only on serial, MQTT and BLE alike.
    by_key = {i.key: i for i in kettle_plan.of("BLE-007")}
    assert sorted(by_key) == ["2.1", "2.2", "2.3", "2.4", "2.5"]
    for key in ("2.2", "2.4"):
        assert not by_key[key].applies
        assert by_key[key].reason.startswith(READ_ONLY)
        assert "exposed on serial, mqtt, ble and writable on none" in by_key[key].reason
    assert "that certkit can change" in by_key["2.1"].reason


def test_a_ble_only_sensor_has_no_automatic_ble_007_instance():
    plan = make_plan(lint_file(PROFILES / "acme.sensor.th1.yaml").profile)
    instances = plan.of("BLE-007")
    assert [i.label for i in instances] == [
        "temperature-humidity-sensor.temperature",
        "temperature-humidity-sensor.relative-humidity", "battery.battery-level"]
    assert not any(i.applies for i in instances)
    assert all(i.reason.startswith(READ_ONLY) and "exposed on ble and writable on none"
               in i.reason for i in instances)


def test_a_writable_property_is_changeable_on_every_transport_that_exposes_it(kettle_plan):
    profile = kettle_plan.profile
    assert cannot_change(profile.property(2, 1), profile) is None        # on: read, write, notify
    assert cannot_change(profile.property(2, 2), profile).startswith(READ_ONLY)


def test_plan_explain_says_why_ble_007_does_not_apply():
    result = certkit("plan", PROFILES / "acme.sensor.th1.yaml", "--explain", "--rules", "BLE-007")
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("n/a  BLE-007[2.1]")
    assert lines[1].strip().startswith(f"because {READ_ONLY}")
    assert lines[-1] == "0 instances to check, 3 not applicable"


def test_a_profile_without_actions_has_no_action_instances():
    plan = make_plan(lint_file(PROFILES / "acme.light.l2.yaml").profile)
    (ser8,) = plan.of("SER-008")
    assert not ser8.applies


def test_selection_by_glob(kettle_plan):
    plan = make_plan(kettle_plan.profile, ["SER-00[12]", "BLE-*"])
    assert {i.rule.id for i in plan.instances} == {"SER-001", "SER-002"} | {
        f"BLE-00{n}" for n in range(1, 10)}
    assert selected("SER-004", []) and not selected("SER-004", ["MQT-*"])


def test_timing_overrides_tighten_limits(kettle_plan):
    assert kettle_plan.profile.limit_ms("reply-ms") == 500  # timing: {reply-ms: 500}
    assert kettle_plan.profile.limit_ms("notify-ms") == 1000


def test_property_value_checks():
    profile = lint_text(KETTLE.read_text("utf-8"), Path("k.yaml")).profile
    temperature = profile.property(2, 2)  # float 0..110 step 0.5
    assert temperature.check_value(87.5) is None
    assert "outside" in temperature.check_value(111.0)
    assert "step" in temperature.check_value(87.3)
    assert "not a number" in temperature.check_value(True)
    status = profile.property(2, 4)  # value-list 0, 1, 2
    assert status.check_value(2) is None
    assert "value-list" in status.check_value(3)
    target = profile.property(2, 3)  # uint8 40..100
    assert "not an integer" in target.check_value(50.5)
