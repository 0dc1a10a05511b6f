"""Design checks of the capability model: DSN-003..007, DSN-010 and SEC-001.

Each check walks the plain profile data (already shaped by the schema) and
reports at the node that is wrong.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

from certkit.design.findings import Reporter
from certkit.profile.yaml12 import Path
from certkit.standard.catalogue import catalogue
from certkit.standard.ecs1 import (
    DEVICE_INFORMATION,
    DEVICE_INFORMATION_SIID,
    FLOAT_MAX,
    FORMATS,
    IID_MAX,
    IID_MIN,
    INTEGER_BOUNDS,
    NAME_RE,
    NUMERIC_FORMATS,
    SECRET_SEGMENTS,
    UNITS,
    VALUE_LIST_MAX,
)

ITEM_KINDS = (("properties", "piid"), ("actions", "aiid"), ("events", "eiid"))
_SINGULAR = {"properties": "property", "actions": "action", "events": "event"}


def services(data: dict[str, Any]) -> Iterator[tuple[Path, dict[str, Any]]]:
    for i, service in enumerate(data["services"]):
        yield ("services", i), service


def items(data: dict[str, Any], kind: str) -> Iterator[tuple[Path, dict[str, Any], dict[str, Any]]]:
    """(path, item, its service) for every property, action or event."""
    for spath, service in services(data):
        for j, item in enumerate(service.get(kind) or ()):
            yield spath + (kind, j), item, service


def check_device_information(data: dict[str, Any], report: Reporter) -> None:
    """DSN-003: service 1 is device-information with its four string, read-only properties."""
    found = [(p, s) for p, s in services(data) if s["siid"] == DEVICE_INFORMATION_SIID]
    if not found:
        report("DSN-003", ("services",), "there is no service with siid 1 (device-information)")
        return
    path, service = found[0]
    if service["name"] != "device-information":
        report("DSN-003", path + ("name",),
               f"service 1 must be named device-information, not {service['name']!r}")
    properties = {p["piid"]: (j, p) for j, p in enumerate(service.get("properties") or ())}
    for piid, name in DEVICE_INFORMATION.items():
        if piid not in properties:
            report("DSN-003", path, f"device-information lacks property {piid} ({name})")
            continue
        j, prop = properties[piid]
        where = path + ("properties", j)
        if prop["name"] != name:
            report("DSN-003", where + ("name",), f"property 1.{piid} must be named {name!r}, "
                                                 f"not {prop['name']!r}")
        if prop["format"] != "string":
            report("DSN-003", where + ("format",), f"1.{piid} {name} must be string, "
                                                   f"not {prop['format']!r}")
        if sorted(prop["access"]) != ["read"]:
            report("DSN-003", where + ("access",), f"1.{piid} {name} must be read only, "
                                                   f"not {prop['access']}")


def check_names_and_iids(data: dict[str, Any], report: Reporter) -> None:
    """DSN-004: names follow the pattern; iids are in 1..255 and unique in their scope."""

    def name_ok(where: Path, name: str, what: str) -> None:
        if not NAME_RE.fullmatch(name):
            report("DSN-004", where, f"{what} name {name!r} does not match "
                                     f"{NAME_RE.pattern} (lower-case words joined by hyphens)")

    def iids_ok(entries: list[tuple[Path, int]], what: str, scope: str) -> None:
        counts = Counter(iid for _, iid in entries)
        for where, iid in entries:
            if not IID_MIN <= iid <= IID_MAX:
                report("DSN-004", where, f"{what} {iid} is outside {IID_MIN}..{IID_MAX}")
            elif counts[iid] > 1:
                report("DSN-004", where, f"{what} {iid} is used {counts[iid]} times {scope}")

    iids_ok([(p + ("siid",), s["siid"]) for p, s in services(data)], "siid", "in the profile")
    for spath, service in services(data):
        name_ok(spath + ("name",), service["name"], "service")
        for kind, iid_key in ITEM_KINDS:
            entries = list(enumerate(service.get(kind) or ()))
            iids_ok([(spath + (kind, j, iid_key), item[iid_key]) for j, item in entries],
                    iid_key, f"in service {service['siid']}")
            for j, item in entries:
                name_ok(spath + (kind, j, "name"), item["name"], _SINGULAR[kind])
                for k, entry in enumerate(item.get("value-list") or ()):
                    name_ok(spath + (kind, j, "value-list", k, "description"),
                            entry["description"], "value-list description")


def _fraction(number: float) -> Fraction:
    return Fraction(str(number))


def _check_range(where: Path, fmt: str, value_range: list[Any], report: Reporter) -> None:
    low, high, step = value_range
    where = where + ("value-range",)
    if fmt in INTEGER_BOUNDS:
        if not all(isinstance(x, int) for x in value_range):
            report("DSN-005", where, f"{fmt} needs integer bounds and step, got {value_range}")
            return
        fmin, fmax = INTEGER_BOUNDS[fmt]
        if low < fmin or high > fmax:
            report("DSN-005", where, f"bounds {low}..{high} do not fit {fmt} ({fmin}..{fmax})")
    elif any(abs(x) > FLOAT_MAX for x in value_range):
        report("DSN-005", where, f"bounds {value_range} do not fit a binary32 float")
        return
    if not low < high:
        report("DSN-005", where, f"min {low} must be less than max {high}")
    if not step > 0:
        report("DSN-005", where, f"step {step} must be greater than 0")
    elif low < high:
        steps = (_fraction(high) - _fraction(low)) / _fraction(step)
        if steps.denominator != 1:
            report("DSN-005", where, f"(max - min) / step = ({high} - {low}) / {step} "
                                     f"= {float(steps):g} is not a whole number")


def _check_list(where: Path, fmt: str, value_list: list[Any], report: Reporter) -> None:
    where = where + ("value-list",)
    if not 1 <= len(value_list) <= VALUE_LIST_MAX:
        report("DSN-005", where, f"a value-list has 1..{VALUE_LIST_MAX} entries, "
                                 f"this one has {len(value_list)}")
    values = Counter(entry["value"] for entry in value_list)
    descriptions = Counter(entry["description"] for entry in value_list)
    low, high = INTEGER_BOUNDS.get(fmt, (-FLOAT_MAX, FLOAT_MAX))
    for k, entry in enumerate(value_list):
        value = entry["value"]
        if values[value] > 1:
            report("DSN-005", where + (k, "value"), f"value {value} appears {values[value]} times")
        if low is not None and not low <= value <= high:
            report("DSN-005", where + (k, "value"), f"value {value} does not fit {fmt} "
                                                    f"({low}..{high})")
        if descriptions[entry["description"]] > 1:
            report("DSN-005", where + (k, "description"),
                   f"description {entry['description']!r} appears "
                   f"{descriptions[entry['description']]} times")


def check_formats(data: dict[str, Any], report: Reporter) -> None:
    """DSN-005: formats, value-ranges and value-lists are valid and fit together."""
    for where, prop, _ in items(data, "properties"):
        fmt = prop["format"]
        if fmt not in FORMATS:
            report("DSN-005", where + ("format",), f"format {fmt!r} is not one of "
                                                   f"{', '.join(sorted(FORMATS))}")
            continue
        has_range, has_list = "value-range" in prop, "value-list" in prop
        if fmt in ("bool", "string"):
            if has_range or has_list:
                report("DSN-005", where + ("value-range" if has_range else "value-list",),
                       f"a {fmt} property must have neither value-range nor value-list")
            continue
        if has_range and has_list:
            report("DSN-005", where + ("value-list",),
                   "a property has a value-range or a value-list, not both")
        elif not has_range and not has_list:
            report("DSN-005", where, f"numeric property {prop['name']!r} ({fmt}) needs a "
                                     "value-range [min, max, step] or a value-list")
        if has_range:
            _check_range(where, fmt, prop["value-range"], report)
        if has_list:
            _check_list(where, fmt, prop["value-list"], report)


def check_units(data: dict[str, Any], report: Reporter) -> None:
    """DSN-006: units come from the standard's list and sit on numeric properties."""
    for where, prop, _ in items(data, "properties"):
        if "unit" not in prop:
            continue
        unit = prop["unit"]
        if unit not in UNITS:
            report("DSN-006", where + ("unit",), f"unit {unit!r} is not an ECS-1 unit "
                                                 f"({', '.join(sorted(UNITS))})")
        if prop["format"] not in NUMERIC_FORMATS:
            report("DSN-006", where + ("unit",), f"a {prop['format']!r} property has no unit")


def check_access(data: dict[str, Any], report: Reporter) -> None:
    """DSN-007: notify implies read; action and event piids exist in the service."""
    for where, prop, _ in items(data, "properties"):
        if "notify" in prop["access"] and "read" not in prop["access"]:
            report("DSN-007", where + ("access",), f"{prop['name']!r} has notify without read")
    for kind, lists in (("actions", ("in", "out")), ("events", ("arguments",))):
        for where, item, service in items(data, kind):
            declared = {p["piid"] for p in service.get("properties") or ()}
            for field_name in lists:
                for k, piid in enumerate(item.get(field_name) or ()):
                    if piid not in declared:
                        report("DSN-007", where + (field_name, k),
                               f"{item['name']!r} {field_name} names piid {piid}, which service "
                               f"{service['siid']} ({service['name']}) does not declare")


def check_sizes(data: dict[str, Any], report: Reporter) -> None:
    """DSN-010 (R): at most 16 services, 32 properties, 16 actions, 16 events per service."""
    limits = catalogue().get("DSN-010").limits
    if len(data["services"]) > limits["services"].value:
        report("DSN-010", ("services",), f"{len(data['services'])} services, "
                                         f"recommended at most {limits['services'].value:g}")
    for spath, service in services(data):
        for kind, _ in ITEM_KINDS:
            limit = limits[f"{kind}-per-service"].value
            count = len(service.get(kind) or ())
            if count > limit:
                report("DSN-010", spath + (kind,), f"service {service['siid']} has {count} "
                                                   f"{kind}, recommended at most {limit:g}")


def check_secrets(data: dict[str, Any], report: Reporter) -> None:
    """SEC-001: no secret-looking property is readable or notified."""
    for where, prop, _ in items(data, "properties"):
        segments = set(prop["name"].split("-")) & SECRET_SEGMENTS
        exposed = sorted(set(prop["access"]) & {"read", "notify"})
        if segments and exposed:
            report("SEC-001", where + ("access",),
                   f"{prop['name']!r} names a secret ({', '.join(sorted(segments))}) and must "
                   f"be write-only, but its access has {' and '.join(exposed)}")
