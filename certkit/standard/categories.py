"""Device categories (ECS-1.0 section 3), loaded from a standard's `categories.yaml`."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from typing import Any

from certkit.profile.yaml12 import load_yaml

ACCESS_CODES = {"rwn": frozenset({"read", "write", "notify"}), "rn": frozenset({"read", "notify"})}


@dataclass(frozen=True)
class Capability:
    """One row of the category table: a property a service must (or may) have."""

    name: str
    access: frozenset[str]
    family: str | None = None  # bool, numeric, value-list, string
    format: str | None = None  # an exact format, when the row names one
    unit: str | None = None
    range: tuple[float, float] | None = None

    def describe(self) -> str:
        parts = [self.format or self.family or "", self.unit or ""]
        if self.range:
            parts.append(f"{self.range[0]:g}..{self.range[1]:g}")
        parts.append("/".join(sorted(self.access)))
        return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class ServiceRow:
    name: str
    required: tuple[Capability, ...] = ()
    optional: tuple[Capability, ...] = ()
    optional_events: tuple[str, ...] = ()


@dataclass(frozen=True)
class Category:
    name: str
    services: tuple[ServiceRow, ...]
    optional_services: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class CategoryRegistry:
    categories: dict[str, Category]
    battery: ServiceRow

    def get(self, name: str) -> Category | None:
        return self.categories.get(name)


def _capability(name: str, spec: dict[str, Any]) -> Capability:
    rng = spec.get("range")
    return Capability(
        name=name,
        access=ACCESS_CODES[spec["access"]],
        family=spec.get("family"),
        format=spec.get("format"),
        unit=spec.get("unit"),
        range=(rng[0], rng[1]) if rng else None,
    )


def _row(name: str, spec: dict[str, Any]) -> ServiceRow:
    return ServiceRow(
        name=name,
        required=tuple(_capability(n, s) for n, s in (spec.get("required") or {}).items()),
        optional=tuple(_capability(n, s) for n, s in (spec.get("optional") or {}).items()),
        optional_events=tuple(spec.get("optional-events") or ()),
    )


def load_categories(source: Traversable) -> CategoryRegistry:
    """A standard's device categories from its `categories.yaml`."""
    data = load_yaml(source.read_text("utf-8")).value
    registry = {
        name: Category(
            name=name,
            services=tuple(_row(s, spec) for s, spec in cat["services"].items()),
            optional_services=tuple(cat.get("optional-services") or ()),
        )
        for name, cat in data["categories"].items()
    }
    (battery_name, battery_spec), = data["battery-service"].items()
    return CategoryRegistry(registry, _row(battery_name, battery_spec))


def categories() -> CategoryRegistry:
    """ECS-1.0's categories (certkit's built-in standard)."""
    from certkit.standard import builtin

    found = builtin().categories
    assert found is not None  # ECS-1.0 has section 3
    return found
