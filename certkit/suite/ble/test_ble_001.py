"""BLE-001: Advertising carries flags, name and manufacturer data (ECS-1 section 7)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from certkit.checks import LabError
from certkit.evidence import EvidenceLog
from certkit.links.ble import codec
from certkit.plan import Instance
from certkit.profile.model import Profile
from certkit.suite.ble.support import Problems, listen

if TYPE_CHECKING:  # bleak, bumble and bthome-ble load only when a BLE rule runs
    from certkit.links.ble.adverts import Advert
    from certkit.links.ble.link import BleLink


@pytest.mark.certkit_rule("BLE-001")
def test_ble_001_advertising(ble: BleLink, profile: Profile, rule_instance: Instance,
                             evidence: EvidenceLog) -> None:
    settings = profile.transports.ble
    limit = int(rule_instance.rule.limits["advertising-bytes"].value)
    product = settings.product_id.to_bytes(2, "little")
    problems = Problems()
    distinct: dict[Any, Advert] = {}
    for advert in listen(ble):
        distinct.setdefault(advert.adv_data if advert.adv_data is not None
                            else advert.structures, advert)
    for advert in distinct.values():
        if advert.format_error:
            problems.add("advertising data", "well-formed AD structures", advert.format_error)
        if advert.connectable is False:
            problems.add("advertising", "connectable advertising", "non-connectable advertising")
        if not advert.has(codec.AD_FLAGS):
            if advert.rebuilt:
                evidence.note("the adapter did not report the Flags AD; it cannot be checked here")
            else:
                problems.add("advertising data", "a Flags AD structure", "none")
        name = codec.name_of(advert.structures) or advert.name
        if not (name or "").startswith(settings.name_prefix):
            problems.add("local name", f"a name starting with {settings.name_prefix!r}",
                         repr(name) if name else "no local name")
        payload = advert.manufacturer_data.get(settings.company_id)
        wanted = (f"manufacturer data under company 0x{settings.company_id:04X} starting with "
                  f"product id 0x{settings.product_id:04X} ({codec.hexdump(product)})")
        if payload is None:
            others = ", ".join(f"0x{c:04X}" for c in advert.manufacturer_data) or "none at all"
            problems.add("advertising data", wanted,
                         f"no manufacturer data under 0x{settings.company_id:04X} "
                         f"(companies: {others})")
        elif payload[:2] != product:
            problems.add("manufacturer data", wanted, f"payload {codec.hexdump(payload)}")
        size = advert.size
        evidence.measure("advertising data", size, "bytes", limit=f"at most {limit} bytes",
                         ok=size <= limit)
        if size > limit:
            problems.add("advertising data", f"at most {limit} bytes (legacy advertising)",
                         f"{size} bytes")
    if all(a.connectable is None for a in distinct.values()):
        try:
            ble.ensure_connected()
        except LabError as exc:
            problems.add("advertising", "connectable advertising (the adapter does not say, so "
                         "certkit connected to find out)", f"no connection: {exc}")
        else:
            evidence.note("connectable: the adapter does not report it; a connection succeeded")
    problems.raise_any()
