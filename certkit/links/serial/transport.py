"""MIoT serial as a certkit transport (registered in the `certkit.transports` group)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from certkit.transports.base import BenchOption, Claim, Transport

if TYPE_CHECKING:
    from certkit.bench import Bench
    from certkit.evidence import EvidenceLog
    from certkit.links.base import Link
    from certkit.profile.model import Profile

RESET_METHODS = ("dtr", "rts", "prompt", "power", "none")


@dataclass(frozen=True)
class SerialSettings:
    baudrate: int = 115200


def parse_reset(value: str) -> str:
    from certkit.bench import BenchError

    if value in RESET_METHODS:
        return value
    if value.startswith("cmd:") and value[4:].strip():
        return value
    raise BenchError(f"--reset: {value!r} is not a reset method "
                     "(dtr, rts, cmd:<shell command>, prompt, power or none)")


class SerialTransport(Transport):
    name = "serial"
    title = "MIoT serial"
    short = "serial"
    order = 10
    bench_options = (
        BenchOption("port", "PORT", "the MCU's serial port: a device path or a pyserial URL",
                    cli="--serial"),
        BenchOption("reset", "METHOD",
                    "how to reset the DUT: dtr, rts, cmd:<shell command>, prompt, power "
                    "(a labgrid place's power switch), none",
                    parse=parse_reset, cli="--reset"),
    )
    profile_schema: ClassVar[dict[str, Any]] = {"type": "object", "additionalProperties": False, "properties": {
        "baudrate": {"type": "integer", "minimum": 1200, "maximum": 4000000,
                     "default": 115200}}}
    wire_encoding = "decimal"
    needs_mcu_version = True  # the MCU reports its version over the serial link (DSN-009)
    base_deadline_s = 10.0
    progress_s = 0.3

    run_modules = ("serial",)

    def doctor_checks(self, given: dict[str, str], needs: Any) -> list[Any]:
        from certkit.links.serial.doctor import check_serial

        return [check_serial(given.get("port"), needs)]

    def parse_settings(self, data: dict[str, Any]) -> SerialSettings:
        return SerialSettings(data.get("baudrate", 115200))

    def template_lines(self, model: str, siids: list[int]) -> list[str]:
        return ["  serial: {baudrate: 115200}"]

    def open_link(self, profile: Profile, bench: Bench, evidence: EvidenceLog) -> Link:
        from certkit.links.serial import open_serial

        return open_serial(profile, bench, evidence)

    def describe_bench(self, bench: Bench, emulated: bool, facts: dict[str, str]
                       ) -> dict[str, object]:
        settings = bench.settings(self.name)
        return {"port": "emulator pty" if emulated else settings.get("port"),
                "reset": settings.get("reset")}

    def claims(self, bench: Bench, emulated: bool, declared: bool) -> list[Claim]:
        port = bench.settings(self.name).get("port")
        if not port or emulated:
            return []
        return [Claim("serial port", port if "://" in port else os.path.realpath(port), "port")]


SERIAL = SerialTransport()
