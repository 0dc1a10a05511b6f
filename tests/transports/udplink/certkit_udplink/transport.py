"""certkit UDP as a certkit transport (registered in the `certkit.transports` group by this
package's pyproject.toml): everything certkit needs to know of it, in one object."""

from __future__ import annotations

import argparse
import signal
import threading
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Any, ClassVar

from certkit.transports.base import BenchOption, Claim, Transport

if TYPE_CHECKING:
    from certkit.bench import Bench
    from certkit.evidence import EvidenceLog
    from certkit.links.base import Link
    from certkit.profile.model import Profile

DEFAULT_PORT = 5690


@dataclass(frozen=True)
class UdpSettings:
    port: int = DEFAULT_PORT  # where the device listens, unless the bench says otherwise


def parse_device(value: str) -> str:
    """--udp-device HOST[:PORT]."""
    from certkit.bench import BenchError

    host, _, port = value.rpartition(":") if ":" in value else (value, "", "")
    if not host or (port and not (port.isdigit() and 0 < int(port) < 65536)):
        raise BenchError(f"--udp-device: {value!r} is not HOST or HOST:PORT")
    return value


class UdpTransport(Transport):
    name = "udp"
    title = "certkit UDP"
    short = "UDP"
    order = 900
    bench_options = (
        BenchOption("device", "HOST[:PORT]", "the DUT's certkit UDP address",
                    parse=parse_device),
    )
    profile_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "additionalProperties": False,
        "properties": {"port": {"type": "integer", "minimum": 1, "maximum": 65535,
                                "default": DEFAULT_PORT}}}
    wire_encoding = "decimal"  # JSON numbers
    base_deadline_s = 10.0
    progress_s = 0.2

    def parse_settings(self, data: dict[str, Any]) -> UdpSettings:
        return UdpSettings(data.get("port", DEFAULT_PORT))

    def template_lines(self, model: str, siids: list[int]) -> list[str]:
        return [f"  udp: {{port: {DEFAULT_PORT}}}"]

    def open_link(self, profile: Profile, bench: Bench, evidence: EvidenceLog) -> Link:
        from certkit_emulators import UnknownFault
        from certkit_emulators.session import shared_state

        from certkit.checks import LabError
        from certkit_udplink.emulator import UdpEmulator
        from certkit_udplink.link import UdpLink

        if self.name in bench.emulate:
            state = shared_state(evidence, profile, bench.faults.get("interop", frozenset()))
            try:
                emulator = UdpEmulator(profile, bench.faults.get(self.name, frozenset()),
                                       bench.variants.get(self.name, frozenset()), state=state)
            except UnknownFault as exc:
                raise LabError(str(exc)) from None
            return UdpLink(evidence, None, emulator=emulator)
        device = bench.settings(self.name).get("device")
        if not device:
            raise LabError("no certkit UDP device: give --udp-device HOST[:PORT] or "
                           "--emulate udp")
        host, _, port = device.rpartition(":") if ":" in device else (device, "", "")
        settings = profile.transports.get(self.name)
        return UdpLink(evidence, (host, int(port) if port else settings.port))

    def describe_bench(self, bench: Bench, emulated: bool, facts: dict[str, str]
                       ) -> dict[str, object]:
        return {"device": "emulator on loopback" if emulated
                else bench.settings(self.name).get("device")}

    def claims(self, bench: Bench, emulated: bool, declared: bool) -> list[Claim]:
        device = bench.settings(self.name).get("device")
        return [Claim("UDP device", device, "device")] if device and not emulated else []

    # --- its rule, and the test module that checks it -----------------------------------

    def rules(self) -> tuple[Traversable, ...]:
        return (resources.files("certkit_udplink").joinpath("rules.yaml"),)

    def suite_modules(self) -> tuple[str, ...]:
        return ("certkit_udplink.suite.test_udp",)

    # --- its emulator ---------------------------------------------------------------------

    def faults(self) -> dict[str, Any]:
        from certkit_udplink.emulator import UdpEmulator

        return dict(UdpEmulator.FAULTS)

    def variants(self) -> dict[str, Any]:
        return {}

    def emulator_main(self, argv: list[str]) -> int:
        """`certkit emulate udp PROFILE [--fault NAME]`: serve until Ctrl-C or SIGTERM."""
        from pathlib import Path

        from certkit.design import lint_file
        from certkit_udplink.emulator import serve

        parser = argparse.ArgumentParser(prog="certkit emulate udp")
        parser.add_argument("profile", type=Path)
        parser.add_argument("--fault", action="append", default=[], choices=self.faults())
        args = parser.parse_args(argv)
        lint = lint_file(args.profile)
        if lint.profile is None:
            parser.error(f"{args.profile} does not pass lint")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            serve(lint.profile, frozenset(args.fault), stop, lambda text: print(text, flush=True))
        except KeyboardInterrupt:
            pass
        return 0


UDP = UdpTransport()
