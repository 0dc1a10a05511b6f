"""TOY-1.0's design check, on the profile's data alone."""

from __future__ import annotations

from certkit.design.findings import DesignCheck, Reporter


def check_english_name(data: dict, report: Reporter) -> None:
    names = data["device"]["name"]
    if "en" not in names:
        report("TOY-001", ("device", "name"),
               f"device.name names the device in {', '.join(sorted(names))}, not in English "
               "(en)")


CHECKS: dict[str, DesignCheck] = {"TOY-001": check_english_name}
