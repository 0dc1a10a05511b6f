"""BLE (GATT and advertising, BTHome) as a certkit transport (registered in the
`certkit.transports` group)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from certkit.transports.base import BenchOption, Claim, Condition, Transport

if TYPE_CHECKING:
    from certkit.bench import Bench
    from certkit.evidence import EvidenceLog
    from certkit.links.base import Link
    from certkit.profile.model import Profile, Service

SERIAL_NUMBER_UUID16 = 0x2A25  # Device Information: Serial Number String


@dataclass(frozen=True)
class BthomeObject:
    object_id: int
    siid: int
    piid: int


@dataclass(frozen=True)
class BleSettings:
    name_prefix: str
    company_id: int
    product_id: int
    services: tuple[int, ...]
    bthome: tuple[BthomeObject, ...] = ()


class BleTransport(Transport):
    name = "ble"
    title = "BLE"
    short = "BLE"
    order = 30
    bench_options = (
        BenchOption("address", "NAME_OR_ADDRESS", "which BLE device is the DUT", cli="--ble"),
        BenchOption("adapter", "ADAPTER", "bluez (default) or bumble:<transport>",
                    cli="--ble-adapter"),
    )
    profile_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "additionalProperties": False,
        "required": ["name-prefix", "company-id", "product-id", "services"],
        "properties": {
            "name-prefix": {"type": "string", "minLength": 1},
            "company-id": {"type": "integer", "minimum": 0, "maximum": 65535},
            "product-id": {"type": "integer", "minimum": 0, "maximum": 65535},
            "services": {"description": "siids exposed over GATT.", "type": "array",
                         "items": {"type": "integer"}},
            "bthome": {"type": "array", "items": {
                "type": "object", "additionalProperties": False,
                "required": ["object", "siid", "piid"],
                "properties": {
                    "object": {"type": "integer", "minimum": 0, "maximum": 255,
                               "description": "BTHome v2 object id."},
                    "siid": {"type": "integer"}, "piid": {"type": "integer"}}}}}}
    wire_encoding = "binary32"
    medium = "radio"
    identity_keys = ("ble-address",)
    identity_keys_any_case = ("ble-address",)  # a MAC address, in either case
    base_deadline_s = 20.0
    progress_s = 1.0

    run_modules = ("bleak", "bumble")

    def doctor_checks(self, given: dict[str, str], needs: Any) -> list[Any]:
        from certkit.links.ble.doctor import check_ble

        return [check_ble(given.get("adapter"), needs)]

    def parse_settings(self, data: dict[str, Any]) -> BleSettings:
        return BleSettings(
            name_prefix=data["name-prefix"], company_id=data["company-id"],
            product_id=data["product-id"], services=tuple(data["services"]),
            bthome=tuple(BthomeObject(o["object"], o["siid"], o["piid"])
                         for o in data.get("bthome") or ()))

    def services(self, profile: Profile) -> tuple[Service, ...]:
        """Only the services it lists (`transports.ble.services`)."""
        settings = profile.transports.get(self.name)
        exposed = set(settings.services) if settings else set()
        return tuple(s for s in profile.services if s.siid in exposed)

    def document_siids(self, settings: dict[str, Any], data: dict[str, Any]) -> set[int]:
        return set(settings["services"])

    def conditions(self) -> dict[str, Condition]:
        return {"bthome": Condition(
            lambda p: bool(p.transports.get(self.name)
                           and p.transports.get(self.name).bthome),
            "the profile declares BTHome objects",
            "the profile declares no BTHome objects (transports.ble.bthome)")}

    def design_problems(self, settings: dict[str, Any], data: dict[str, Any]
                        ) -> list[tuple[tuple[Any, ...], str]]:
        from certkit.standard.ecs1 import NUMERIC_FORMATS

        problems: list[tuple[tuple[Any, ...], str]] = []
        by_siid = {s["siid"]: s for s in data["services"]}
        for k, siid in enumerate(settings["services"]):
            if siid not in by_siid:
                problems.append((("services", k), (f"BLE service {siid} is not a declared "
                                                  "service")))
        for k, obj in enumerate(settings.get("bthome") or ()):
            service = by_siid.get(obj["siid"])
            prop = next((p for p in (service or {}).get("properties") or ()
                         if p["piid"] == obj["piid"]), None)
            target = f"{obj['siid']}.{obj['piid']}"
            if prop is None:
                problems.append((("bthome", k), (f"BTHome object 0x{obj['object']:02X} maps to "
                                                f"{target}, which is not a declared property")))
            elif prop["format"] not in NUMERIC_FORMATS or "read" not in prop["access"]:
                problems.append((("bthome", k), (f"BTHome object 0x{obj['object']:02X} maps to "
                                                f"{target} ({prop['name']}), which is not a "
                                                "readable numeric property")))
        return problems

    def template_lines(self, model: str, siids: list[int]) -> list[str]:
        vendor = model.split(".")[0]
        return ["  ble:",
                f"    name-prefix: {vendor.upper()[:8]}  # TODO",
                "    company-id: 0xFFFF  # TODO your Bluetooth SIG company id",
                "    product-id: 0x0001  # TODO",
                f"    services: [{', '.join(map(str, siids))}]"]

    def open_link(self, profile: Profile, bench: Bench, evidence: EvidenceLog) -> Link:
        from certkit.links.ble.link import BleLink

        return BleLink(profile, bench, evidence)

    def describe_bench(self, bench: Bench, emulated: bool, facts: dict[str, str]
                       ) -> dict[str, object]:
        settings = bench.settings(self.name)
        return {"device": settings.get("address"),
                "adapter": ("emulator virtual link" if emulated
                            else settings.get("adapter") or "bluez")}

    def claims(self, bench: Bench, emulated: bool, declared: bool) -> list[Claim]:
        if emulated or not declared:
            return []
        adapter = bench.settings(self.name).get("adapter")
        return [Claim("BLE adapter", adapter or "bluez", "adapter" if adapter else "address")]

    def unreadable_errors(self) -> tuple[type[Exception], ...]:
        from certkit.links.ble.errors import AttError

        return (AttError, LookupError)

    def reported_identity(self, link: Any, profile: Profile) -> dict[str, str]:
        from certkit.links.ble.codec import sig_uuid
        from certkit.links.ble.errors import AttError

        found = {"ble-address": str(link.dut.address)}
        try:
            found["serial-number"] = link.read(sig_uuid(SERIAL_NUMBER_UUID16)).decode(
                "utf-8", "replace")
        except (AttError, LookupError):  # a DUT without the characteristic says nothing
            pass
        return found


BLE = BleTransport()
