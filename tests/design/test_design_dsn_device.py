"""Design rules on the device block, the category and the transports:
DSN-001, DSN-002, DSN-008, DSN-009, DSN-011 and DSN-012."""

from __future__ import annotations

import pytest

from certkit.standard.ecs1 import TIMING_LIMITS_MS

MODEL = "  model: acme.kettle.k1\n"


# --------------------------------------------------------------------- DSN-001


def _model(kettle, model: str):
    return kettle.edit(MODEL, f"  model: {model}\n")


def test_model_of_exactly_23_characters_passes(kettle, check) -> None:
    model = "acme.kettle.k" + "1" * (23 - len("acme.kettle.k"))
    assert len(model) == 23
    check.clean(_model(kettle, model).lint())


def test_model_of_24_characters_fails(kettle, check) -> None:
    model = "acme.kettle.k" + "1" * (24 - len("acme.kettle.k"))
    source = _model(kettle, model)
    check.only(source.lint(), "DSN-001", at=source.where(f"  model: {model}", model),
               says=[model, "24", "23"], count=1)


@pytest.mark.parametrize("model", [
    "acme.air-purifier.p3", "a.b.c", "0.0.0", "acme.kettle.k1x2", "acme.kettle-pro.k1",
])
def test_well_formed_models_pass(model: str, kettle, check) -> None:
    check.clean(_model(kettle, model).lint())


@pytest.mark.parametrize("model", [
    "Acme.kettle.k1", "acme.kettle", "acme..k1", "acme.kettle.k1.x", "acme_co.kettle.k1",
    "acme.kettle.k-1", "acme.Kettle.k1", "acme.kettle.", ".kettle.k1", "acme kettle k1",
    "acme.kettle.k1 ", "acme.kettle.k1\\t",
])
def test_malformed_models_fail(model: str, kettle, check) -> None:
    source = kettle.edit(MODEL, f'  model: "{model}"\n')
    check.only(source.lint(), "DSN-001", at=source.where(f'  model: "{model}"', '"'),
               says=["model", "vendor.category.version"], count=1)


@pytest.mark.parametrize("old, new, rule, target", [
    (MODEL, '  model: "acme.kettle.k1\\n"\n', "DSN-001", '"'),
    ('  mcu-version: "0142"\n', '  mcu-version: "0142\\n"\n', "DSN-009", '"'),
    ("  firmware: 1.4.2\n", '  firmware: "1.4.2\\n"\n', "DSN-009", '"'),
    ("{device-id: acme-k1-0001}", '{device-id: "acme-k1-0001\\n"}', "DSN-011", '"'),
    ("{aiid: 1, name: start-boil,", '{aiid: 1, name: "start-boil\\n",', "DSN-004", '"'),
    ("{value: 2, description: keep-warm}", '{value: 2, description: "keep-warm\\n"}', "DSN-004",
     '"'),
], ids=["model", "mcu-version", "firmware", "device-id", "action-name", "description"])
def test_trailing_newline_does_not_satisfy_a_pattern(old, new, rule, target, kettle,
                                                     check) -> None:
    """BUG: the patterns of ecs1.py end in `$` and are applied with
    `re.match`, and `$` also matches just before a final newline, so
    "acme.kettle.k1\\n" (a YAML double-quoted \\n) passes DSN-001, as do
    such mcu-versions, firmware versions, device-ids and names. A model or
    mcu-version with a newline would then break the serial framing. Fix:
    `fullmatch` (or `\\Z` instead of `$`)."""
    source = kettle.edit(old, new)
    check.only(source.lint(), rule, at=source.where(new.strip(), target), count=1)


def test_long_and_malformed_model_gives_two_findings(kettle, check) -> None:
    model = "ACME.KETTLE.K1234567890123"
    source = _model(kettle, model)
    findings = check.only(source.lint(), "DSN-001", at=source.where(f"  model: {model}", model),
                          count=2)
    assert any("characters" in f.message for f in findings)


# --------------------------------------------------------------------- DSN-002

KETTLE_SERVICE = "  - siid: 2\n    name: kettle\n"
ON = "      - {piid: 1, name: on, format: bool, access: [read, write, notify]}\n"
TEMPERATURE = "{piid: 2, name: temperature, format: float, unit: celsius,"
TARGET = "{piid: 3, name: target-temperature, format: uint8, unit: celsius,"
KEEP_WARM = "{piid: 5, name: keep-warm, format: bool, access: [read, write, notify]}"


def test_unknown_category(kettle, check) -> None:
    source = kettle.edit("  category: kettle\n", "  category: toaster\n")
    check.only(source.lint(), "DSN-002", at=source.where("  category: toaster", "toaster"),
               says=["toaster", "kettle", "light"], count=1)


def test_missing_required_service(kettle, check) -> None:
    source = kettle.edit(KETTLE_SERVICE, "  - siid: 2\n    name: boiler\n")
    check.only(source.lint(), "DSN-002", at=source.where("  category: kettle", "kettle"),
               says=["requires service 'kettle'"], count=1)


def test_missing_second_required_service(purifier, check) -> None:
    start = purifier.text.index("  - siid: 3\n")
    end = purifier.text.index("transports:\n")
    source = type(purifier)(purifier.text[:start] + purifier.text[end:], purifier.name)
    check.only(source.lint(), "DSN-002", at=source.where("  category: air-purifier", "air"),
               says=["requires service 'environment'"], count=1)


def test_missing_required_property(kettle, check) -> None:
    source = kettle.drop(ON)
    check.only(source.lint(), "DSN-002", at=source.where(KETTLE_SERVICE, "siid"),
               says=["requires property 'on'", "kettle"], count=1)


@pytest.mark.parametrize("new, family", [
    ("{piid: 1, name: on, format: string, access: [read, write, notify]}", "string"),
    ("{piid: 1, name: on, format: uint8, value-range: [0, 1, 1], access: [read, write, notify]}",
     "numeric"),
    (("{piid: 1, name: on, format: uint8, value-list: [{value: 0, description: off},"
      " {value: 1, description: on}], access: [read, write, notify]}"), "value-list"),
])
def test_required_property_of_the_wrong_family(new: str, family: str, kettle, check) -> None:
    source = kettle.edit(ON, f"      - {new}\n")
    check.only(source.lint(), "DSN-002", at=source.where(new, "{"),
               says=["'on'", family, "bool"], count=1)


def test_required_numeric_as_value_list(purifier, check) -> None:
    old = "{piid: 1, name: pm25-density, format: uint16, unit: ug-per-m3,\n" \
          "         value-range: [0, 1000, 1], access: [read, notify]}"
    new = "{piid: 1, name: pm25-density, format: uint16, unit: ug-per-m3,\n" \
          "         value-list: [{value: 0, description: clean}], access: [read, notify]}"
    source = purifier.edit(old, new)
    check.only(source.lint(), "DSN-002", at=source.where(new, "{"),
               says=["pm25-density", "value-list", "numeric"], count=1)


def test_required_property_with_the_wrong_unit(kettle, check) -> None:
    new = "{piid: 2, name: temperature, format: float, unit: kelvin,"
    source = kettle.edit(TEMPERATURE, new)
    check.only(source.lint(), "DSN-002", at=source.where(new, "{"),
               says=["'temperature'", "kelvin", "celsius"], count=1)


def test_required_property_without_a_unit(kettle, check) -> None:
    new = "{piid: 2, name: temperature, format: float,"
    source = kettle.edit(TEMPERATURE, new)
    check.only(source.lint(), "DSN-002", at=source.where(new, "{"),
               says=["'temperature'", "unit", "celsius"], count=1)


@pytest.mark.parametrize("access, lacking", [
    ("[read, notify]", "write"), ("[read, write]", "notify"), ("[write]", "read"),
])
def test_required_property_with_too_little_access(access, lacking, kettle, check) -> None:
    old = "value-range: [40, 100, 1], access: [read, write, notify]}"
    source = kettle.edit(old, f"value-range: [40, 100, 1], access: {access}}}")
    check.only(source.lint(), "DSN-002", at=source.where(TARGET, "{"),
               says=["'target-temperature'", lacking], count=1)


def test_more_access_than_required_passes(kettle, check) -> None:
    old = "value-range: [0, 110, 0.5], access: [read, notify]}"
    check.clean(kettle.edit(old, "value-range: [0, 110, 0.5], access: [read, write, notify]}")
                .lint())


def test_capabilities_are_matched_by_name_not_iid(kettle, check) -> None:
    """Swap the piids of on and keep-warm: both still match their rows."""
    source = kettle.edit("{piid: 1, name: on,", "{piid: 9, name: on,") \
                   .edit("{piid: 5, name: keep-warm,", "{piid: 1, name: keep-warm,") \
                   .edit("{piid: 9, name: on,", "{piid: 5, name: on,")
    check.clean(source.lint())


def test_optional_capability_absent_passes(kettle, light, check) -> None:
    check.clean(kettle.drop(f"      - {KEEP_WARM}\n").lint())
    start = light.text.index("      - {piid: 2, name: brightness")
    end = light.text.index("      - {piid: 3, name: color-temperature")
    check.clean(type(light)(light.text[:start] + light.text[end:], light.name).lint())


def test_optional_capability_of_the_wrong_family(kettle, check) -> None:
    new = "{piid: 5, name: keep-warm, format: uint8, value-range: [0, 1, 1], " \
          "access: [read, write, notify]}"
    source = kettle.edit(KEEP_WARM, new)
    check.only(source.lint(), "DSN-002", at=source.where(new, "{"),
               says=["optional", "'keep-warm'", "numeric", "bool"], count=1)


def test_optional_capability_with_too_little_access(kettle, check) -> None:
    old = "        format: uint8\n        access: [read, notify]\n"
    source = kettle.edit(old, "        format: uint8\n        access: [read]\n")
    check.only(source.lint(), "DSN-002", at=source.where("      - piid: 4\n", "piid"),
               says=["optional", "'status'", "notify"], count=1)


@pytest.mark.parametrize("old, new, words", [
    ("unit: percentage,\n         value-range: [1, 100, 1]",
     "unit: lux,\n         value-range: [1, 100, 1]", ["lux", "percentage"]),
    ("unit: percentage,\n         value-range: [1, 100, 1]",
     "unit: percentage,\n         value-range: [0, 100, 1]", ["0..100", "1..100"]),
    ("name: brightness, format: uint8", "name: brightness, format: uint16",
     ["uint16", "uint8"]),
])
def test_optional_capability_that_does_not_match_its_row(old, new, words, light, check) -> None:
    source = light.edit(old, new)
    check.only(source.lint(), "DSN-002",
               at=source.where("      - {piid: 2, name: brightness", "{"),
               says=["optional", "'brightness'", *words], count=1)


def test_optional_color_temperature_with_the_wrong_unit(light, check) -> None:
    source = light.edit("format: uint16, unit: kelvin,", "format: uint16, unit: celsius,")
    check.only(source.lint(), "DSN-002",
               at=source.where("      - {piid: 3, name: color-temperature", "{"),
               says=["'color-temperature'", "celsius", "kelvin"], count=1)


def test_battery_power_without_battery_service(kettle, check) -> None:
    source = kettle.edit("  power: mains\n", "  power: battery\n")
    findings = check.only(source.lint(), "DSN-002", count=1)
    assert "battery" in findings[0].message and "requires service" in findings[0].message


def test_battery_power_without_battery_service_points_at_power(kettle, check) -> None:
    """BUG (location): the finding says "power: battery requires service
    'battery'" but is reported at `device.category` (device.check_category
    passes ("device", "category") for every missing service); it belongs at
    `device.power`, the declaration that makes the service required."""
    source = kettle.edit("  power: mains\n", "  power: battery\n")
    check.only(source.lint(), "DSN-002", at=source.where("  power: battery", "battery"),
               says=["battery"], count=1)


BATTERY = ("  - siid: 3\n    name: battery\n    properties:\n"
           "      - {piid: 1, name: battery-level, format: uint8, unit: UNIT,\n"
           "         value-range: [0, 100, 1], access: [read, notify]}\n")


def test_battery_service_satisfies_battery_power(kettle, check) -> None:
    source = kettle.edit("  power: mains\n", "  power: battery\n") \
                   .with_services([BATTERY.replace("UNIT", "percentage")])
    check.clean(source.lint())


def test_battery_service_with_the_wrong_range(sensor, check) -> None:
    old = "{piid: 1, name: battery-level, format: uint8, unit: percentage,\n" \
          "         value-range: [0, 100, 1]"
    new = "{piid: 1, name: battery-level, format: uint8, unit: percentage,\n" \
          "         value-range: [0, 99, 1]"
    source = sensor.edit(old, new)
    check.only(source.lint(), "DSN-002", at=source.where(new, "{"),
               says=["'battery-level'", "0..99", "0..100"], count=1)


def test_battery_service_on_a_mains_device_is_checked_too(kettle, check) -> None:
    """The battery service is optional for mains devices; present, it must match."""
    source = kettle.with_services([BATTERY.replace("UNIT", "celsius")])
    check.only(source.lint(), "DSN-002",
               at=source.where("      - {piid: 1, name: battery-level", "{"),
               says=["'battery-level'", "celsius", "percentage"], count=1)


def test_battery_service_on_a_mains_device_that_matches_passes(kettle, check) -> None:
    check.clean(kettle.with_services([BATTERY.replace("UNIT", "percentage")]).lint())


# --------------------------------------------------------------------- DSN-008

NAME = '  name: {en: Acme Smart Kettle, zh-CN: "艾克米智能水壶"}\n'


@pytest.mark.parametrize("new, missing", [
    ['  name: {zh-CN: "艾克米智能水壶"}\n', 'en'],
    ["  name: {en: Acme Smart Kettle}\n", "zh-CN"],
    ["  name: {en: Acme Smart Kettle, zh-cn: x}\n", "zh-CN"],
    ["  name: {en: Acme Smart Kettle, zh-TW: x}\n", "zh-CN"],
    ['  name: {EN: Kettle, zh-CN: "艾克米智能水壶"}\n', 'en'],
])
def test_name_lacks_a_locale(new: str, missing: str, kettle, check) -> None:
    source = kettle.edit(NAME, new)
    check.only(source.lint(), "DSN-008", at=source.where(new, "{"),
               says=[repr(missing)], count=1)


def test_name_lacks_both_locales(kettle, check) -> None:
    source = kettle.edit(NAME, "  name: {}\n")
    check.only(source.lint(), "DSN-008", at=source.where("  name: {}", "{"), count=2)


def test_name_with_more_locales_passes(kettle, check) -> None:
    check.clean(kettle.edit(NAME, '  name: {en: Kettle, zh-CN: "水壶", de: Wasserkocher, '
                                  'fr: Bouilloire}\n').lint())


def test_name_as_a_block_mapping_passes(kettle, check) -> None:
    check.clean(kettle.edit(NAME, '  name:\n    en: Kettle\n    zh-CN: "水壶"\n').lint())


# --------------------------------------------------------------------- DSN-009

FIRMWARE = "  firmware: 1.4.2\n"
MCU = '  mcu-version: "0142"\n'


@pytest.mark.parametrize("firmware", [
    "0.0.0", "1.4.2", "10.20.30", "1.4.2-rc.1", "1.4.2+build.5", "1.0.0-alpha.1+001",
    "1.0.0-0.3.7", "1.0.0-x-y-z.--",
])
def test_semantic_versions_pass(firmware: str, kettle, check) -> None:
    check.clean(kettle.edit(FIRMWARE, f'  firmware: "{firmware}"\n').lint())


@pytest.mark.parametrize("firmware", [
    "1.4", "1", "1.4.02", "01.4.2", "v1.4.2", "1.4.2.1", "1.4.x", "1.4.2-", "1.4.2-rc..1",
    "1.4.2-01", "", "1.4.2 ", "latest",
])
def test_non_semantic_versions_fail(firmware: str, kettle, check) -> None:
    source = kettle.edit(FIRMWARE, f'  firmware: "{firmware}"\n')
    check.only(source.lint(), "DSN-009", at=source.where(f'  firmware: "{firmware}"', '"'),
               says=["firmware", repr(firmware), "MAJOR.MINOR.PATCH"], count=1)


@pytest.mark.parametrize("mcu", ["0000", "9999", "0142"])
def test_four_digit_mcu_version_passes(mcu: str, kettle, check) -> None:
    check.clean(kettle.edit(MCU, f'  mcu-version: "{mcu}"\n').lint())


@pytest.mark.parametrize("mcu", ["142", "01420", "01a2", "", "0x12", " 142", "１２３４"])
def test_malformed_mcu_version_fails(mcu: str, kettle, check) -> None:
    source = kettle.edit(MCU, f'  mcu-version: "{mcu}"\n')
    check.only(source.lint(), "DSN-009", at=source.where(f'  mcu-version: "{mcu}"', '"'),
               says=["mcu-version", "4 digits"], count=1)


def test_mcu_version_required_with_serial(kettle, check) -> None:
    source = kettle.drop(MCU)
    # reported at the device block, which lacks the key
    check.only(source.lint(), "DSN-009", at=source.where(MODEL, "model"),
               says=["serial", "mcu-version"], count=1)


def test_mcu_version_absent_without_serial_passes(kettle, light, check) -> None:
    check.clean(kettle.drop(MCU).drop("  serial: {baudrate: 115200}\n").lint())
    check.clean(light.lint())  # the light has no serial and no mcu-version


def test_mcu_version_present_without_serial_passes(kettle, check) -> None:
    check.clean(kettle.drop("  serial: {baudrate: 115200}\n").lint())


def test_serial_with_default_settings_still_needs_mcu_version(kettle, check) -> None:
    source = kettle.drop(MCU).edit("  serial: {baudrate: 115200}\n", "  serial: {}\n")
    check.only(source.lint(), "DSN-009", says=["mcu-version"], count=1)


# --------------------------------------------------------------------- DSN-011

TRANSPORTS = "  serial: {baudrate: 115200}\n  mqtt: {device-id: acme-k1-0001}\n"
BTHOME = "      - {object: 0x02, siid: 2, piid: 2}"


def _ble_only(kettle):
    return kettle.drop(TRANSPORTS).drop(MCU)


def test_no_transport(kettle, check) -> None:
    cut = kettle.text.index("transports:\n")
    end = kettle.text.index("timing:")
    text = kettle.text[:cut] + "transports: {}\n" + kettle.text[end:]
    source = type(kettle)(text, kettle.name).drop(MCU)
    check.only(source.lint(), "DSN-011", at=source.where("transports: {}", "{}"),
               says=["no transport"], count=1)


@pytest.mark.parametrize("device_id", ["a", "acme", "acme-k1-0001", "0-1", "k1"])
def test_good_device_ids_pass(device_id: str, kettle, check) -> None:
    check.clean(kettle.edit("device-id: acme-k1-0001", f"device-id: {device_id}").lint())


@pytest.mark.parametrize("device_id", [
    "Acme-K1", "acme_k1", "acme--k1", "-acme", "acme-", "acme.k1", "acme k1", "", "$acme",
    "acme/k1", "acme-k1-0001\\t",
])
def test_bad_device_ids_fail(device_id: str, kettle, check) -> None:
    source = kettle.edit("device-id: acme-k1-0001", f'device-id: "{device_id}"')
    check.only(source.lint(), "DSN-011", at=source.where(f'device-id: "{device_id}"', '"'),
               says=["device-id", "does not match"], count=1)


def test_ble_service_not_declared(kettle, check) -> None:
    source = kettle.edit("    services: [2]\n", "    services: [2, 7]\n")
    check.only(source.lint(), "DSN-011", at=source.where("    services: [2, 7]", "7"),
               says=["BLE service 7", "not a declared service"], count=1)


def test_ble_device_information_service_may_be_exposed(kettle, check) -> None:
    check.clean(kettle.edit("    services: [2]\n", "    services: [1, 2]\n").lint())


def test_bthome_to_an_undeclared_property(kettle, check) -> None:
    new = "      - {object: 0x02, siid: 2, piid: 9}"
    source = kettle.edit(BTHOME, new)
    check.only(source.lint(), "DSN-011", at=source.where(new, "{"),
               says=["0x02", "2.9", "not a declared property"], count=1)


def test_bthome_to_an_undeclared_service(kettle, check) -> None:
    new = "      - {object: 0x02, siid: 7, piid: 1}"
    source = kettle.edit(BTHOME, new)
    check.only(source.lint(), "DSN-011", at=source.where(new, "{"), says=["7.1"], count=1)


@pytest.mark.parametrize("siid, piid, name", [(1, 1, "manufacturer"), (2, 1, "on")],
                         ids=["string", "bool"])
def test_bthome_to_a_non_numeric_property(siid, piid, name, kettle, check) -> None:
    new = f"      - {{object: 0x02, siid: {siid}, piid: {piid}}}"
    source = kettle.edit(BTHOME, new)
    check.only(source.lint(), "DSN-011", at=source.where(new, "{"),
               says=[f"{siid}.{piid}", name, "readable numeric"], count=1)


def test_bthome_to_an_unreadable_numeric_property(kettle, check) -> None:
    source = kettle.add_property(
        "{piid: 6, name: level, format: uint8, value-range: [0, 10, 1], access: [write]}") \
        .edit(BTHOME, "      - {object: 0x02, siid: 2, piid: 6}")
    check.only(source.lint(), "DSN-011",
               at=source.where("      - {object: 0x02, siid: 2, piid: 6}", "{"),
               says=["2.6", "level", "readable numeric"], count=1)


def test_bthome_to_readable_numeric_properties_passes(kettle, check) -> None:
    """A float with a range and a uint8 value-list are both readable numerics."""
    source = kettle.edit(BTHOME, BTHOME + "\n      - {object: 0x2E, siid: 2, piid: 4}")
    check.clean(source.lint())


def test_required_capability_not_reachable_over_ble_only(kettle, check) -> None:
    source = _ble_only(kettle).edit("    services: [2]\n", "    services: [1]\n")
    check.only(source.lint(), "DSN-011", at=source.where(KETTLE_SERVICE, "siid"),
               says=["'kettle'", "no declared transport"], count=1)


def test_ble_only_exposing_the_required_service_passes(kettle, check) -> None:
    check.clean(_ble_only(kettle).lint())


def test_mqtt_only_reaches_every_service(kettle, check) -> None:
    source = kettle.drop(MCU).drop("  serial: {baudrate: 115200}\n")
    cut = source.text.index("  ble:\n")
    end = source.text.index("timing:")
    check.clean(type(kettle)(source.text[:cut] + source.text[end:], kettle.name).lint())


def test_battery_service_not_reachable_over_ble(sensor, check) -> None:
    source = sensor.edit("    services: [2, 3]\n", "    services: [2]\n") \
                   .drop("      - {object: 0x01, siid: 3, piid: 1}\n")
    check.only(source.lint(), "DSN-011", at=source.where("  - siid: 3\n    name: battery", "siid"),
               says=["'battery'"], count=1)


def test_sensor_service_not_reachable_over_ble(sensor, check) -> None:
    source = sensor.edit("    services: [2, 3]\n", "    services: [3]\n")
    check.only(source.lint(), "DSN-011",
               at=source.where("  - siid: 2\n    name: temperature-humidity-sensor", "siid"),
               says=["'temperature-humidity-sensor'"], count=1)


# --------------------------------------------------------------------- DSN-012


@pytest.mark.parametrize("key", sorted(TIMING_LIMITS_MS))
def test_timing_equal_to_the_limit_passes(key: str, kettle, check) -> None:
    limit = TIMING_LIMITS_MS[key]
    check.clean(kettle.edit("timing: {reply-ms: 500}", f"timing: {{{key}: {limit}}}").lint())


@pytest.mark.parametrize("key", sorted(TIMING_LIMITS_MS))
def test_timing_of_one_ms_passes(key: str, kettle, check) -> None:
    check.clean(kettle.edit("timing: {reply-ms: 500}", f"timing: {{{key}: 1}}").lint())


@pytest.mark.parametrize("key", sorted(TIMING_LIMITS_MS))
def test_timing_above_the_limit_fails(key: str, kettle, check) -> None:
    limit = TIMING_LIMITS_MS[key]
    new = f"timing: {{{key}: {limit + 1}}}"
    source = kettle.edit("timing: {reply-ms: 500}", new)
    check.only(source.lint(), "DSN-012", at=source.where(new, str(limit + 1)),
               says=[key, str(limit + 1), str(limit)], count=1)


def test_timing_limits_are_the_standards() -> None:
    """Section 10 of ECS-1."""
    assert TIMING_LIMITS_MS == {"reply-ms": 1000, "notify-ms": 1000, "boot-ms": 2000,
                                "ready-ms": 5000, "reconnect-ms": 30000,
                                "readvertise-ms": 2000}


@pytest.mark.parametrize("value", ["0", "-1", "-1000"])
def test_timing_zero_or_negative_fails(value: str, kettle, check) -> None:
    new = f"timing: {{reply-ms: {value}}}"
    source = kettle.edit("timing: {reply-ms: 500}", new)
    check.only(source.lint(), "DSN-012", at=source.where(new, value), count=1)


def test_several_timing_overrides(kettle, check) -> None:
    new = "timing: {reply-ms: 1000, notify-ms: 1001, boot-ms: 2000, ready-ms: 5001}"
    source = kettle.edit("timing: {reply-ms: 500}", new)
    findings = check.only(source.lint(), "DSN-012", count=2)
    assert {(f.line, f.column) for f in findings} == {source.where(new, "1001"),
                                                       source.where(new, "5001")}


def test_no_timing_passes(kettle, check) -> None:
    check.clean(kettle.drop("timing: {reply-ms: 500}\n").lint())
