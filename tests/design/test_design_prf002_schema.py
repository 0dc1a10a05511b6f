"""PRF-002 (the profile schema) and PRF-003 (supported versions).

PRF-002 findings name the JSON pointer and sit at the offending node (an
unknown key at the key itself); value constraints that a DSN or SEC rule
names are not PRF-002 (they are tested in the DSN files).
"""

from __future__ import annotations

import pytest

# ------------------------------------------------------------ unknown keys


def test_unknown_key_in_block_mapping(kettle, check) -> None:
    source = kettle.insert_after("  hardware: B\n", "  colour: red\n")
    check.only(source.lint(), "PRF-002", at=source.where("  colour: red", "colour"),
               says=["/device/colour", "unknown key 'colour'", "hardware"], count=1)


def test_unknown_key_in_flow_mapping_in_a_list(kettle, check) -> None:
    old = "{piid: 5, name: keep-warm, format: bool, access: [read, write, notify]}"
    new = "{piid: 5, name: keep-warm, format: bool, access: [read, write, notify], colour: red}"
    source = kettle.edit(old, new)
    check.only(source.lint(), "PRF-002", at=source.where(new, "colour"),
               says=["/services/1/properties/4/colour", "unknown key"], count=1)


def test_unknown_top_level_key(kettle, check) -> None:
    source = kettle.append("extras:\n  a: 1\n")
    line = source.text.count("\n") - 1
    check.only(source.lint(), "PRF-002", at=(line, 1), says=["/extras", "unknown key"],
               count=1)


def test_unknown_key_deep_in_transports(kettle, check) -> None:
    old = "      - {object: 0x02, siid: 2, piid: 2}"
    new = "      - {object: 0x02, siid: 2, piid: 2, scale: 10}"
    source = kettle.edit(old, new)
    check.only(source.lint(), "PRF-002", at=source.where(new, "scale"),
               says=["/transports/ble/bthome/0/scale"], count=1)


def test_misspelt_key_is_unknown_and_its_twin_missing(kettle, check) -> None:
    source = kettle.edit("  hardware: B\n", "  hardwear: B\n")
    findings = check.only(source.lint(), "PRF-002", at=source.where("  hardwear: B", "hardwear"),
                          says=["/device/hardwear", "unknown"], count=2)
    assert any("'hardware'" in f.message and "missing" in f.message for f in findings)


def test_json_pointer_escapes_slash_and_tilde(kettle, check) -> None:
    source = kettle.insert_after("  hardware: B\n", "  a/b~c: 1\n")
    check.only(source.lint(), "PRF-002", at=source.where("  a/b~c: 1", "a/b"),
               says=["/device/a~1b~0c"], count=1)


def test_several_unknown_keys_each_at_its_own_line(kettle, check) -> None:
    source = kettle.insert_after("  hardware: B\n", "  colour: red\n  weight: 2\n")
    findings = check.only(source.lint(), "PRF-002", count=2)
    got = {(f.line, f.column) for f in findings}
    assert got == {source.where("  colour: red", "colour"), source.where("  weight: 2", "weight")}


# ------------------------------------------------------- missing required keys


@pytest.mark.parametrize("line, key", [
    ("  model: acme.kettle.k1\n", "model"),
    ("  manufacturer: Acme Labs\n", "manufacturer"),
    ("  category: kettle\n", "category"),
    ("  firmware: 1.4.2\n", "firmware"),
    ("  hardware: B\n", "hardware"),
    ("  power: mains\n", "power"),
])
def test_missing_device_key(line: str, key: str, kettle, check) -> None:
    source = kettle.drop(line)
    # A missing key is reported at the mapping that lacks it: the device block.
    first = source.text.split("device:\n", 1)[1].splitlines()[0]
    check.only(source.lint(), "PRF-002", at=source.where("device:\n" + first, first.strip()),
               says=["/device", f"'{key}'", "missing"], count=1)


def test_missing_piid(kettle, check) -> None:
    old = "{piid: 5, name: keep-warm, format: bool, access: [read, write, notify]}"
    new = "{name: keep-warm, format: bool, access: [read, write, notify]}"
    source = kettle.edit(old, new)
    check.only(source.lint(), "PRF-002", at=source.where(new),
               says=["/services/1/properties/4", "'piid'", "missing"], count=1)


def test_missing_mqtt_device_id(kettle, check) -> None:
    source = kettle.edit("  mqtt: {device-id: acme-k1-0001}", "  mqtt: {tls: required}")
    check.only(source.lint(), "PRF-002", at=source.where("  mqtt: {tls", "{"),
               says=["/transports/mqtt", "'device-id'", "missing"], count=1)


def test_missing_ble_services(kettle, check) -> None:
    source = kettle.drop("    services: [2]\n")
    check.only(source.lint(), "PRF-002", at=source.where("    name-prefix: ACME", "name-prefix"),
               says=["/transports/ble", "'services'", "missing"], count=1)


def test_missing_transports(kettle, check) -> None:
    cut = kettle.text.index("transports:\n")
    end = kettle.text.index("timing:")
    text = kettle.text[:cut] + kettle.text[end:]
    source = type(kettle)(text, kettle.name)
    check.only(source.lint(), "PRF-002", says=["'transports'", "missing"], count=1)


# ------------------------------------------------------------------ wrong types


@pytest.mark.parametrize("old, new, target, pointer, words", [
    ('  mcu-version: "0142"', "  mcu-version: 0142", "0142", "/device/mcu-version",
     ["string", "integer", "quote"]),
    ("  firmware: 1.4.2", "  firmware: 1.4", "1.4", "/device/firmware",
     ["string", "number", "quote"]),
    ("  hardware: B", "  hardware: true", "true", "/device/hardware", ["string", "boolean"]),
    ("  manufacturer: Acme Labs", "  manufacturer: [Acme, Labs]", "[", "/device/manufacturer",
     ["string"]),
    ("    product-id: 0x0142", '    product-id: "0x0142"', '"', "/transports/ble/product-id",
     ["integer", "string"]),
    ("    services: [2]", "    services: 2", "2", "/transports/ble/services", ["array"]),
    ("    services: [2]", '    services: ["2"]', '"2"', "/transports/ble/services/0",
     ["integer"]),
    ("timing: {reply-ms: 500}", "timing: {reply-ms: 0.5}", "0.5", "/timing/reply-ms",
     ["integer"]),
    ("timing: {reply-ms: 500}", "timing: [500]", "[", "/timing", ["object"]),
    ("  serial: {baudrate: 115200}", "  serial: {baudrate: fast}", "fast",
     "/transports/serial/baudrate", ["integer"]),
    ("{piid: 5, name: keep-warm, format: bool, access: [read, write, notify]}",
     "{piid: 5, name: keep-warm, format: bool, access: read}", "read}",
     "/services/1/properties/4/access", ["array"]),
    ("{piid: 5, name: keep-warm,", '{piid: "5", name: keep-warm,', '"5"',
     "/services/1/properties/4/piid", ["integer"]),
    ("{piid: 5, name: keep-warm,", "{piid: 5.5, name: keep-warm,", "5.5",
     "/services/1/properties/4/piid", ["integer"]),
    ("{piid: 5, name: keep-warm,", "{piid: 5, name: [keep, warm],", "[keep",
     "/services/1/properties/4/name", ["string"]),
    ("{value: 1, description: heating}", "{value: 1.5, description: heating}", "1.5",
     "/services/1/properties/3/value-list/1/value", ["integer"]),
    ("{value: 1, description: heating}", "{value: true, description: heating}", "true",
     "/services/1/properties/3/value-list/1/value", ["integer", "boolean"]),
    ("value-range: [40, 100, 1]", "value-range: [40, 100, true]", "true",
     "/services/1/properties/2/value-range/2", ["number"]),
    ("{aiid: 1, name: start-boil, in: [3], out: []}",
     "{aiid: 1, name: start-boil, in: 3, out: []}", "3,",
     "/services/1/actions/0/in", ["array"]),
    ("  ble:\n    name-prefix: ACME", "  ble:\n    name-prefix: 42", "42",
     "/transports/ble/name-prefix", ["string"]),
])
def test_wrong_type(old, new, target, pointer, words, kettle, check) -> None:
    source = kettle.edit(old, new)
    check.only(source.lint(), "PRF-002", at=source.where(new, target),
               says=[pointer + ":", *words], count=1)


@pytest.mark.parametrize("old, new, target, pointer, words", [
    ("  power: mains", "  power: solar", "solar", "/device/power", ["solar", "mains", "battery"]),
    ("  mqtt: {device-id: acme-k1-0001}", "  mqtt: {device-id: acme-k1-0001, tls: maybe}",
     "maybe", "/transports/mqtt/tls", ["maybe"]),
    ("{piid: 5, name: keep-warm, format: bool, access: [read, write, notify]}",
     "{piid: 5, name: keep-warm, format: bool, access: [read, write, execute]}", "execute",
     "/services/1/properties/4/access/2", ["execute"]),
    ("{piid: 5, name: keep-warm, format: bool, access: [read, write, notify]}",
     "{piid: 5, name: keep-warm, format: bool, access: []}", "[]",
     "/services/1/properties/4/access", []),
    ("{piid: 5, name: keep-warm, format: bool, access: [read, write, notify]}",
     "{piid: 5, name: keep-warm, format: bool, access: [read, read, write]}", "[read, read",
     "/services/1/properties/4/access", ["non-unique"]),
    ("value-range: [40, 100, 1]", "value-range: [40, 100]", "[40", 
     "/services/1/properties/2/value-range", ["short"]),
    ("value-range: [40, 100, 1]", "value-range: [40, 100, 1, 2]", "[40",
     "/services/1/properties/2/value-range", ["long"]),
    ("  serial: {baudrate: 115200}", "  serial: {baudrate: 300}", "300",
     "/transports/serial/baudrate", ["300"]),
    ("    company-id: 0xFFFF", "    company-id: 0x10000", "0x10000",
     "/transports/ble/company-id", ["65536"]),
    ("      - {object: 0x02, siid: 2, piid: 2}", "      - {object: 0x100, siid: 2, piid: 2}",
     "0x100", "/transports/ble/bthome/0/object", ["256"]),
    ("  manufacturer: Acme Labs", '  manufacturer: ""', '""', "/device/manufacturer", []),
])
def test_schema_value_constraints(old, new, target, pointer, words, kettle, check) -> None:
    source = kettle.edit(old, new)
    check.only(source.lint(), "PRF-002", at=source.where(new, target),
               says=[pointer + ":", *words], count=1)


def test_empty_services_list(kettle, check) -> None:
    cut = kettle.text.index("services:\n")
    end = kettle.text.index("transports:\n")
    source = type(kettle)(kettle.text[:cut] + "services: []\n" + kettle.text[end:], kettle.name)
    check.only(source.lint(), "PRF-002", at=source.where("services: []", "[]"),
               says=["/services"], count=1)


def test_integral_float_is_not_an_integer_iid(kettle, check) -> None:
    """BUG: JSON Schema's "integer" accepts 2.0, but in YAML 1.2 `2.0` is a
    float. The schema lets `siid: 2.0` through, and the typed Profile then
    carries float iids (keys like "2.0.1", float BLE UUID arithmetic)."""
    source = kettle.edit("  - siid: 2\n", "  - siid: 2.0\n")
    check.only(source.lint(), "PRF-002", at=source.where("  - siid: 2.0", "2.0"),
               says=["/services/1/siid", "integer"], count=1)


def test_integral_float_bthome_object_does_not_crash(kettle, check) -> None:
    """BUG: `object: 2.0` passes the schema's "integer", and DSN-011 then
    crashes formatting it with `:02X` (ValueError) when the object maps to an
    undeclared property: LintResult.crashed is set and `certkit lint`
    prints a traceback and exits 2."""
    old = "      - {object: 0x02, siid: 2, piid: 2}"
    new = "      - {object: 2.0, siid: 2, piid: 9}"
    source = kettle.edit(old, new)
    result = source.lint()
    assert not result.crashed, result.crashed
    check.only(result, "PRF-002", at=source.where(new, "2.0"),
               says=["/transports/ble/bthome/0/object", "integer"])


# ------------------------------------------------- PRF-002 stops the DSN checks


def test_schema_errors_stop_the_design_checks(kettle) -> None:
    result = kettle.edit('  mcu-version: "0142"', "  mcu-version: 0142").lint()
    assert result.checked == {"PRF-001", "PRF-002", "PRF-003"}
    assert result.profile is None and not result.ok
    assert "PRF-002" in result.why_not_checked("DSN-005")


def test_schema_errors_and_dsn_errors_are_not_mixed(kettle, check) -> None:
    """A DSN problem (bad model) next to a schema problem: only PRF-002 is
    reported, since DSN checks need a document of the right shape."""
    source = kettle.edit("  model: acme.kettle.k1", "  model: ACME KETTLE") \
                   .insert_after("  hardware: B\n", "  colour: red\n")
    check.only(source.lint(), "PRF-002", count=1)


# --------------------------------------------------------------------- PRF-003


@pytest.mark.parametrize("value", ["2", "0", "-1", "100"])
def test_unsupported_profile_format(value: str, kettle, check) -> None:
    source = kettle.edit("certkit: 1\n", f"certkit: {value}\n")
    check.only(source.lint(), "PRF-003", at=source.where(f"certkit: {value}\n", value),
               says=[value, "format", "1"], count=1)


@pytest.mark.parametrize("value", ["ECS-2.0", "ECS-1.1", "ecs-1.0", "ECS-1", "ECS-1.0 "])
def test_unsupported_standard(value: str, kettle, check) -> None:
    source = kettle.edit("standard: ECS-1.0\n", f'standard: "{value}"\n')
    check.only(source.lint(), "PRF-003", at=source.where(f'standard: "{value}"', '"'),
               says=[repr(value), "ECS-1.0"], count=1)


@pytest.mark.parametrize("value", ["[]", "[1]", "{}", "{format: 1}"])
def test_profile_format_of_a_collection_type_is_a_finding(value: str, kettle, check) -> None:
    """BUG: PRF-003 (document.check_versions) tests
    `data.get("certkit") not in PROFILE_FORMATS`, a frozenset, which raises
    TypeError (unhashable) for a list or mapping; check_versions is not
    guarded like the DSN checks, so lint_text raises."""
    source = kettle.edit("certkit: 1\n", f"certkit: {value}\n")
    result = source.lint()
    assert result.findings and not result.crashed
    assert {f.rule for f in result.findings} <= {"PRF-002", "PRF-003"}
    assert any(f.rule == "PRF-002" and "/certkit" in f.message
               and (f.line, f.column) == source.where(f"certkit: {value}", value[0])
               for f in result.findings)


def test_both_versions_unsupported(kettle, check) -> None:
    source = kettle.edit("certkit: 1\n", "certkit: 2\n") \
                   .edit("standard: ECS-1.0\n", "standard: ECS-9.9\n")
    check.only(source.lint(), "PRF-003", count=2)


def test_unsupported_version_stops_the_design_checks(kettle) -> None:
    result = kettle.edit("standard: ECS-1.0\n", "standard: ECS-2.0\n").lint()
    assert "DSN-001" not in result.checked and result.profile is None
    assert "PRF-003" in result.why_not_checked("DSN-001")


def test_supported_versions_pass(kettle, check) -> None:
    result = kettle.lint()
    check.clean(result)
    assert {"PRF-001", "PRF-002", "PRF-003"} <= result.checked
