"""The section 6 mapping, payloads and `$description` checks: pure, no broker."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from certkit.design import lint_file
from certkit.links.mqtt import description, homie
from certkit.links.mqtt.homie import PayloadError
from certkit.profile.values import other_valid_value, same_value
from tests.support.paths import PROFILES


def test_kettle_maps_as_section_6_says(kettle):
    by_path = {hp.path: hp for hp in homie.homie_properties(kettle)}
    temperature = by_path["kettle/temperature"]
    assert (temperature.datatype, temperature.format, temperature.unit) == (
        "float", "0:110:0.5", "°C")
    assert (temperature.settable, temperature.retained) == (False, True)
    assert by_path["kettle/target-temperature"].datatype == "integer"
    assert by_path["kettle/target-temperature"].format == "40:100:1"
    assert by_path["kettle/status"].datatype == "enum"
    assert by_path["kettle/status"].format == "idle,heating,keep-warm"
    assert by_path["kettle/on"].datatype == "boolean" and by_path["kettle/on"].settable
    action, event = by_path["kettle/start-boil"], by_path["kettle/boil-finished"]
    assert (action.datatype, action.settable, action.retained) == ("json", True, False)
    assert (event.datatype, event.settable, event.retained) == ("json", False, False)
    assert by_path["device-information/model"].datatype == "string"
    assert homie.base_topic(kettle) == "homie/5/acme-k1-0001"


def test_units_follow_the_table_and_others_keep_their_name():
    assert homie.homie_unit("ug-per-m3") == "µg/m³"
    assert homie.homie_unit("kilopascal") == "kilopascal"
    assert homie.homie_unit(None) is None


def test_schema_is_draft_2020_12_and_every_example_profile_conforms():
    Draft202012Validator.check_schema(description.schema())
    for path in sorted(PROFILES.glob("acme.*.yaml")):  # the device profiles
        profile = lint_file(path).profile
        if profile.transports.mqtt is None:
            continue
        document = homie.description(profile)
        assert description.conformance_problems(document) == [], path.name
        assert description.profile_mismatches(document, profile) == [], path.name


def test_version_changes_with_the_description(kettle):
    fewer = dataclasses.replace(kettle, services=kettle.services[:1])
    assert isinstance(homie.description(kettle)["version"], int)
    assert homie.description(fewer)["version"] != homie.description(kettle)["version"]
    assert homie.description(kettle) == homie.description(kettle)


def test_mismatch_names_the_place_with_expected_and_observed(kettle):
    document = homie.description(kettle)
    document["nodes"]["kettle"]["properties"]["temperature"]["datatype"] = "string"
    problems = description.profile_mismatches(document, kettle)
    assert [str(p) for p in problems] == [(
        '$description.nodes.kettle.properties.temperature.datatype: expected "float", '
        'observed "string"')]


def test_mismatches_use_homie_defaults_and_compare_formats_by_meaning(kettle):
    document = homie.description(kettle)
    temperature = document["nodes"]["kettle"]["properties"]["temperature"]
    del temperature["settable"], temperature["retained"]  # Homie defaults: false, true
    temperature["format"] = "0.0:110.0:0.50"
    document["nodes"]["kettle"]["properties"]["status"]["format"] = "heating,idle,keep-warm"
    assert description.profile_mismatches(document, kettle) == []


def test_missing_and_extra_parts_are_reported(kettle):
    document = homie.description(kettle)
    del document["nodes"]["kettle"]["properties"]["on"]
    document["nodes"]["extra"] = {"name": "x", "properties": {}}
    document["type"] = "acme.kettle.k2"
    paths = [p.path for p in description.profile_mismatches(document, kettle)]
    assert paths == ["$description.type", "$description.nodes.kettle.properties.on",
                     "$description.nodes.extra"]


@pytest.mark.parametrize("change, path, expected", [
    (lambda d: d.update(homie="4.0"), "$description.homie", '"5.0"'),
    (lambda d: d.update(version="3"), "$description.version", "a JSON integer"),
    (lambda d: d.pop("version"), "$description.version", "a value"),
    (lambda d: d["nodes"].update({"Bad_Id": {}}), "$description.nodes", "Homie ids"),
    (lambda d: d["nodes"]["kettle"]["properties"]["on"].update(datatype="bool"),
     "$description.nodes.kettle.properties.on.datatype", "one of integer"),
    (lambda d: d["nodes"]["kettle"]["properties"]["status"].pop("format"),
     "$description.nodes.kettle.properties.status.format", "a value"),
    (lambda d: d["nodes"]["kettle"]["properties"]["target-temperature"].update(format="1.5:9"),
     "$description.nodes.kettle.properties.target-temperature.format", "a value matching"),
    (lambda d: d["nodes"]["kettle"]["properties"]["temperature"].update(format="9:1:0.5"),
     "$description.nodes.kettle.properties.temperature.format", "min <= max"),
    (lambda d: d["nodes"]["kettle"]["properties"]["status"].update(format="idle,idle"),
     "$description.nodes.kettle.properties.status.format", "unique enum values"),
])
def test_conformance_problems(kettle, change, path, expected):
    document = homie.description(kettle)
    change(document)
    problems = description.conformance_problems(document)
    assert problems and problems[0].path == path
    assert problems[0].expected.startswith(expected)


def test_invalid_json_says_where():
    with pytest.raises(description.DescriptionError, match="line 1 column"):
        description.parse(b'{"homie": "5.0",')
    with pytest.raises(description.DescriptionError, match="not UTF-8"):
        description.parse(b"\xff")


@pytest.mark.parametrize("payload, value", [(b"true", True), (b"false", False)])
def test_boolean_payloads(kettle, payload, value):
    assert homie.decode(kettle.property(2, 1), payload) is value


@pytest.mark.parametrize("piid, payload, why", [
    (1, b"True", "not a boolean"), (1, b"", "empty"), (3, b"101", "outside the value-range"),
    (3, b"1.5", "not an integer"), (2, b"20.25", "not on a step"), (2, b"warm", "not a float"),
    (4, b"boiling", "not one of the enum values"), (3, b"\xff", "not UTF-8"),
])
def test_invalid_payloads_say_why(kettle, piid, payload, why):
    with pytest.raises(PayloadError, match=why):
        homie.decode(kettle.property(2, piid), payload)


def test_enum_payloads_carry_descriptions(kettle):
    status = kettle.property(2, 4)
    assert homie.encode(status, 2) == b"keep-warm"
    assert homie.decode(status, b"heating") == 1


def test_every_invalid_set_payload_is_refused(kettle):
    for prop in kettle.properties():
        if prop.writable:
            for _, payload in homie.invalid_payloads(prop):
                with pytest.raises(PayloadError):
                    homie.decode(prop, payload)


@given(st.data())
def test_valid_values_round_trip(kettle, data):
    prop = data.draw(st.sampled_from([p for p in kettle.properties() if p.format != "string"]))
    if prop.value_list:
        value = data.draw(st.sampled_from([e.value for e in prop.value_list]))
    elif prop.format == "bool":
        value = data.draw(st.booleans())
    else:
        low, high, step = prop.value_range
        value = low + step * data.draw(st.integers(0, round((high - low) / step)))
        value = float(value) if prop.format == "float" else int(value)
    assert same_value(prop.format, homie.decode(prop, homie.encode(prop, value)), value)
    other = other_valid_value(prop, value)
    assert prop.check_value(other) is None and not same_value(prop.format, other, value)


def test_render_quotes_text_and_shows_bytes_as_hex():
    assert homie.render(b"ready") == '"ready"'
    assert homie.render(b"\xff\x00") == "0xff00"
    assert json.loads(homie.render("°C".encode())) == "°C"


# ---------------------------------------------------------------- C-5: what MQT-009 judges


def test_mqt_009_judges_state_description_and_retained_values_only(kettle):
    judged = homie.qos_judged_topics(kettle)
    base = "homie/5/acme-k1-0001"
    assert {f"{base}/$state", f"{base}/$description", f"{base}/kettle/temperature",
            f"{base}/device-information/model"} <= judged
    # Actions and events are non-retained: Homie 5 sends them with QoS 0 (C-5).
    assert f"{base}/kettle/start-boil" not in judged
    assert f"{base}/kettle/boil-finished" not in judged
    assert not any(t.endswith(("/set", "/$target")) or "/$log" in t for t in judged)


# ---------------------------------------------------------------- C-6: action triggers


def test_a_trigger_is_true_or_an_object_of_argument_values(kettle):
    boil = kettle.actions()[0]
    payload = homie.trigger_payload(kettle, boil, {"target-temperature": 85})
    assert json.loads(payload) == {"target-temperature": 85}
    assert homie.decode_trigger(kettle, boil, payload) == {"target-temperature": 85}
    # Any JSON spelling of the same object is the same trigger.
    spelled = homie.decode_trigger(kettle, boil, b'{ "target-temperature" : 85.0 }')
    assert homie.same_arguments(kettle, boil, spelled, {"target-temperature": 85})
    toggle = dataclasses.replace(boil, inputs=())
    assert homie.trigger_payload(kettle, toggle, {}) == b"true"
    assert homie.decode_trigger(kettle, toggle, b"true") == {}


@pytest.mark.parametrize("payload, why", [
    (b"true", "not a JSON object"),
    (b'{"target-temperature": 101}', "outside the value-range"),
    (b'{"target-temperature": "warm"}', "not a JSON number"),
    (b'{"target-temperature": 70.5}', "not an integer"),
    (b"{}", "target-temperature missing"),
    (b'{"target-temperature": 70, "colour": 1}', "no argument named colour"),
    (b'{"target-temperature": 70', "not JSON"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_invalid_triggers_say_why(kettle, payload, why):
    with pytest.raises(PayloadError, match=why):
        homie.decode_trigger(kettle, kettle.actions()[0], payload)


def test_every_invalid_trigger_is_refused_and_covers_c6(kettle):
    boil = kettle.actions()[0]
    triggers = homie.invalid_triggers(kettle, boil)
    kinds = " | ".join(why for why, _ in triggers)
    for word in ("wrong datatype", "out of range", "missing", "not JSON", "not UTF-8"):
        assert word in kinds
    for _, payload in triggers:
        with pytest.raises(PayloadError):
            homie.decode_trigger(kettle, boil, payload)
    toggle = dataclasses.replace(boil, inputs=())
    for _, payload in homie.invalid_triggers(kettle, toggle):
        with pytest.raises(PayloadError):
            homie.decode_trigger(kettle, toggle, payload)


def test_enum_arguments_travel_as_their_labels(kettle):
    status = kettle.property(2, 4)
    assert homie.json_value(status, 2) == "keep-warm"
    assert homie.from_json(status, "heating") == 1
    with pytest.raises(PayloadError):
        homie.from_json(status, 1)


def test_mqt_006_and_007_have_an_instance_per_action(kettle):
    from certkit.plan import make_plan

    plan = make_plan(kettle, ["MQT-006", "MQT-007"])
    for rule in ("MQT-006", "MQT-007"):
        keys = [i.key for i in plan.of(rule)]
        assert keys == ["2.1", "2.3", "2.5", "action-2.1"]
        action = plan.of(rule)[-1]
        assert action.target == kettle.actions()[0] and action.label == "kettle.start-boil"
        assert "writable property or action on mqtt" in action.reason
