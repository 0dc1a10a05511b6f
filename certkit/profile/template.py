"""A profile to start from, written from the category table (ECS-1 section 3).

`certkit init --category kettle --transports serial,mqtt` writes a profile
that passes lint as it stands: service 1 `device-information`, then one
service per row the category requires, each with its required capabilities
in their least format, unit and access, and the transport settings. The
values a partner must choose (names, ranges, identifiers) carry a `TODO`
comment; the optional capabilities of the category are listed as comments.

    >>> text = profile_template("light", ["mqtt"], "acme.light.l9")
"""

from __future__ import annotations

from importlib import resources

from certkit.standard.categories import Capability, ServiceRow, categories
from certkit.transports import transports as registered

ACCESS_ORDER = ("read", "write", "notify")
# A numeric capability with no range in the table gets one to edit (DSN-005 needs one).
NUMERIC_RANGE = {"celsius": "[0, 100, 0.5]", "percentage": "[0, 100, 1]"}


class TemplateError(ValueError):
    """An unknown category or transport; the message names the choices."""


def profile_template(category: str, transports: list[str], model: str | None = None) -> str:
    found = categories().get(category)
    if found is None:
        raise TemplateError(f"unknown category {category!r} (choose from "
                            f"{', '.join(sorted(categories().categories))})")
    known = registered()
    unknown = sorted(set(transports) - set(known))
    if unknown or not transports:
        raise TemplateError(f"--transports: {', '.join(unknown) or 'none given'} "
                            f"(choose one or more of {', '.join(known)})")
    model = model or f"acme.{category.split('-')[0]}.v1"
    vendor = model.split(".")[0]
    schema = resources.files("certkit.profile") / "profile.schema.json"
    lines = [
        f"# yaml-language-server: $schema={schema}",
        f"# A profile for the {category} category, from `certkit init --category {category}`.",
        "# Replace every TODO, then: certkit lint THIS_FILE",
        "certkit: 1",
        "standard: ECS-1.0",
        "device:",
        f"  model: {model}  # TODO vendor.category.version, at most 23 characters",
        f"  manufacturer: {vendor.capitalize()}  # TODO",
        (f"  name: {{en: {vendor.capitalize()} {category.replace('-', ' ')}, "
         f"zh-CN: \"TODO\"}}"),
        f"  category: {category}",
        "  firmware: 1.0.0  # TODO the firmware under test",
        *(['  mcu-version: "0100"  # TODO four digits, as the MCU reports it']
          if any(known[t].needs_mcu_version for t in transports) else []),
        "  hardware: A  # TODO",
        "  power: mains  # or battery (then the battery service is required)",
        "services:",
        "  - siid: 1",
        "    name: device-information",
        "    properties:",
        *(f"      - {{piid: {n}, name: {name}, format: string, access: [read]}}"
          for n, name in enumerate(("manufacturer", "model", "serial-number",
                                    "firmware-revision"), 1)),
    ]
    for siid, row in enumerate(found.services, 2):
        lines += _service(siid, row)
    siids = list(range(2, len(found.services) + 2))
    lines.append("transports:")
    for name, transport in known.items():
        if name in transports:
            lines += transport.template_lines(model, siids)
    return "\n".join(lines) + "\n"


def _service(siid: int, row: ServiceRow) -> list[str]:
    lines = [f"  - siid: {siid}", f"    name: {row.name}", "    properties:"]
    for piid, capability in enumerate(row.required, 1):
        lines += _property(piid, capability)
    for capability in row.optional:
        lines.append(f"      # optional: {capability.name} ({capability.describe()})")
    for event in row.optional_events:
        lines.append(f"      # optional event: {event}")
    return lines


def _property(piid: int, capability: Capability) -> list[str]:
    access = ", ".join(a for a in ACCESS_ORDER if a in capability.access)
    head = f"      - {{piid: {piid}, name: {_quoted(capability.name)}, "
    unit = f", unit: {capability.unit}" if capability.unit else ""
    family = capability.family or ("bool" if capability.format == "bool" else "numeric")
    if capability.format == "bool" or family == "bool":
        return [f"{head}format: bool, access: [{access}]}}"]
    if family == "value-list":
        return [f"{head}format: uint8, access: [{access}],",
                "         value-list: [{value: 0, description: auto},  # TODO your values",
                "                      {value: 1, description: manual}]}"]
    if capability.range is not None:
        low, high = capability.range
        fmt = capability.format or "uint8"
        return [f"{head}format: {fmt}{unit},",
                f"         value-range: [{low:g}, {high:g}, 1], access: [{access}]}}"]
    fmt = capability.format or "float"
    span = NUMERIC_RANGE.get(capability.unit or "", "[0, 1000, 1]")
    return [f"{head}format: {fmt}{unit},",
            f"         value-range: {span}, access: [{access}]}}  # TODO your range"]


def _quoted(name: str) -> str:
    return f'"{name}"' if name in ("on", "off", "yes", "no") else name
