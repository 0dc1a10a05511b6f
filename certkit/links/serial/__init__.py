"""The serial link driver: certkit as the MIoT connectivity module (ECS-1 section 5).

- `protocol`: the line grammar, value codec, downlinks and `result` reading;
- `framing`: cutting the MCU's bytes into lines, whatever it sends;
- `module`: `SerialLink`, which answers the MCU on a reader thread and
  lets rules send downlinks with deadlines;
- `reset`: the bench's reset methods (`--reset`);
- `samples`, `analysis`: values to send and traffic to judge, for the rules.

`open_serial` is the link factory of the serial transport (`transport.py`):
with `--emulate serial` it starts the reference emulator on a pty and
connects to it like to a USB adapter; otherwise it opens `--serial PORT`
(a device path or any pyserial URL: `socket://`, `rfc2217://`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from certkit.bench import Bench
    from certkit.evidence import EvidenceLog
    from certkit.links.serial.module import SerialLink
    from certkit.profile.model import Profile


def open_serial(profile: Profile, bench: Bench, evidence: EvidenceLog) -> SerialLink:
    from certkit.checks import LabError
    from certkit.links.serial.module import SerialLink
    from certkit.links.serial.reset import reset_method

    settings = profile.transports.get("serial")
    wiring = bench.settings("serial")
    baudrate = settings.baudrate if settings else 115200
    if "serial" in bench.emulate:
        from certkit_emulators import UnknownFault
        from certkit_emulators.serial import SerialEmulator
        from certkit_emulators.session import shared_state

        state = shared_state(evidence, profile, bench.faults.get("interop", frozenset()))
        try:
            emulator = SerialEmulator(profile, bench.faults.get("serial", frozenset()),
                                      bench.variants.get("serial", frozenset()), state=state)
        except UnknownFault as exc:
            raise LabError(str(exc)) from None
        return SerialLink(evidence, "(emulator pty)", baudrate=baudrate,
                          reset=reset_method(wiring.get("reset"), emulator), emulator=emulator)
    if wiring.get("port"):
        return SerialLink(evidence, wiring["port"], baudrate=baudrate,
                          reset=reset_method(wiring.get("reset")))
    raise LabError("no serial port: give --serial PORT or --emulate serial")


def __getattr__(name: str) -> Any:
    # pyserial loads when a link is made, not when the transport registry is read.
    if name in ("Exchange", "SerialLink", "Uplink"):
        from certkit.links.serial import module

        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Exchange", "SerialLink", "Uplink", "open_serial"]
