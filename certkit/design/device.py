"""Design checks of the device block, category and transports:
DSN-001, DSN-002, DSN-008, DSN-009, DSN-011 and DSN-012."""

from __future__ import annotations

from typing import Any

from certkit.design.capabilities import services
from certkit.design.findings import Reporter
from certkit.profile.yaml12 import Path
from certkit.standard.catalogue import catalogue
from certkit.standard.categories import Capability, ServiceRow, categories
from certkit.standard.ecs1 import (
    MCU_VERSION_RE,
    MODEL_RE,
    SEMVER_RE,
    TIMING_LIMITS_MS,
)
from certkit.transports import transports


def family(prop: dict[str, Any]) -> str:
    fmt: str = prop["format"]
    if fmt in ("bool", "string"):
        return fmt
    return "value-list" if "value-list" in prop else "numeric"


def check_model(data: dict[str, Any], report: Reporter) -> None:
    """DSN-001: model is vendor.category.version, at most 23 characters."""
    model = data["device"]["model"]
    limit = int(catalogue().get("DSN-001").limits["model-length"].value)
    if not MODEL_RE.fullmatch(model):
        report("DSN-001", ("device", "model"), f"model {model!r} does not match "
                                               f"{MODEL_RE.pattern} (vendor.category.version)")
    if len(model) > limit:
        report("DSN-001", ("device", "model"), f"model {model!r} has {len(model)} characters, "
                                               f"at most {limit} allowed")


def _match_row(row: Capability, prop: dict[str, Any], where: Path, report: Reporter,
               required: bool) -> None:
    kind = "required" if required else "optional"
    problems = []
    if row.format and prop["format"] != row.format:
        problems.append(f"format {prop['format']!r} (expected {row.format})")
    elif row.family and family(prop) != row.family:
        problems.append(f"a {family(prop)} (expected {row.family})")
    if row.unit and prop.get("unit") != row.unit:
        problems.append(f"unit {prop.get('unit')!r} (expected {row.unit})")
    if row.range:
        bounds = tuple(prop.get("value-range", (None, None))[:2])
        if bounds != row.range:
            problems.append(f"range {bounds[0]}..{bounds[1]} "
                            f"(expected {row.range[0]:g}..{row.range[1]:g})")
    missing = sorted(row.access - set(prop["access"]))
    if missing:
        problems.append(f"access without {', '.join(missing)}")
    if problems:
        report("DSN-002", where, f"{kind} capability {prop['name']!r} has "
                                 f"{'; '.join(problems)}; its row is: {row.describe()}")


def _check_service(row: ServiceRow, data: dict[str, Any], report: Reporter, required: bool,
                   why: str, cause: Path = ("device", "category")) -> None:
    """Check one service row; a missing required service is reported at `cause`."""
    found = [(p, s) for p, s in services(data) if s["name"] == row.name]
    if not found:
        if required:
            report("DSN-002", cause,
                   f"{why} requires service {row.name!r}, which the profile lacks")
        return
    spath, service = found[0]
    props = {p["name"]: (spath + ("properties", j), p)
             for j, p in enumerate(service.get("properties") or ())}
    for cap in row.required:
        if cap.name not in props:
            if required:
                report("DSN-002", spath, f"{why} requires property {cap.name!r} "
                                         f"({cap.describe()}) in service {row.name!r}")
            else:
                report("DSN-002", spath, f"service {row.name!r} lacks {cap.name!r} "
                                         f"({cap.describe()})")
            continue
        _match_row(cap, props[cap.name][1], props[cap.name][0], report, required=True)
    for cap in row.optional:
        if cap.name in props:
            _match_row(cap, props[cap.name][1], props[cap.name][0], report, required=False)


def check_category(data: dict[str, Any], report: Reporter) -> None:
    """DSN-002: the category is known and its capabilities are present and right."""
    device = data["device"]
    registry = categories()
    category = registry.get(device["category"])
    if category is None:
        report("DSN-002", ("device", "category"),
               f"category {device['category']!r} is not one of "
               f"{', '.join(sorted(registry.categories))}")
    else:
        for row in category.services:
            _check_service(row, data, report, True, f"category {category.name!r}")
    battery = registry.battery
    if device["power"] == "battery":
        _check_service(battery, data, report, True, "power: battery", ("device", "power"))
    else:
        _check_service(battery, data, report, False, "")


def check_names(data: dict[str, Any], report: Reporter) -> None:
    """DSN-008: the localized name has en and zh-CN."""
    names = data["device"]["name"]
    for locale in ("en", "zh-CN"):
        if not names.get(locale):
            report("DSN-008", ("device", "name"), f"device.name has no {locale!r} entry")


def check_versions(data: dict[str, Any], report: Reporter) -> None:
    """DSN-009: firmware is semantic versioning; mcu-version is 4 digits with serial."""
    device = data["device"]
    if not SEMVER_RE.fullmatch(device["firmware"]):
        report("DSN-009", ("device", "firmware"),
               f"firmware {device['firmware']!r} is not a semantic version MAJOR.MINOR.PATCH")
    mcu = device.get("mcu-version")
    if mcu is None:
        needing = [name for name, t in transports().items()
                   if t.needs_mcu_version and name in data["transports"]]
        if needing:
            report("DSN-009", ("device",), f"a {needing[0]} transport is declared, so "
                                           "device.mcu-version (4 digits, quoted) is required")
    elif not MCU_VERSION_RE.fullmatch(mcu):
        report("DSN-009", ("device", "mcu-version"),
               f"mcu-version {mcu!r} is not exactly 4 digits")


def _reachable_siids(data: dict[str, Any]) -> set[int]:
    declared = data["transports"]
    return {siid for name, transport in transports().items() if name in declared
            for siid in transport.document_siids(declared[name], data)}


def check_transports(data: dict[str, Any], report: Reporter) -> None:
    """DSN-011: transport settings are coherent."""
    declared = data["transports"]
    known = transports()
    if not any(name in declared for name in known):
        report("DSN-011", ("transports",), "no transport is declared "
                                           f"(at least one of {', '.join(known)})")
        return
    for name, transport in known.items():
        if declared.get(name):
            for where, message in transport.design_problems(declared[name], data):
                report("DSN-011", ("transports", name, *where), message)
    _check_reachable(data, report)


def _check_reachable(data: dict[str, Any], report: Reporter) -> None:
    registry = categories()
    category = registry.get(data["device"]["category"])
    rows = list(category.services) if category else []
    if data["device"]["power"] == "battery":
        rows.append(registry.battery)
    reachable = _reachable_siids(data)
    for path, service in services(data):
        if any(row.name == service["name"] and row.required for row in rows) \
                and service["siid"] not in reachable:
            report("DSN-011", path, f"service {service['name']!r} holds required capabilities "
                                    "but no declared transport exposes it")


def check_timing(data: dict[str, Any], report: Reporter) -> None:
    """DSN-012: timing overrides may only tighten the section 10 limits."""
    for key, value in (data.get("timing") or {}).items():
        limit = TIMING_LIMITS_MS[key]
        if not 0 < value <= limit:
            report("DSN-012", ("timing", key), f"{key} {value} ms is not stricter than the "
                                               f"standard's {limit} ms (allowed 1..{limit})")
