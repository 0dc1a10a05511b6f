"""Run the reference MQTT emulator on its own, as a device on a bench would be.

    python -m emulators.mqtt PROFILE --connect HOST:PORT [--fault NAME]... [--tls-ca FILE]
    python -m emulators.mqtt --list-faults

It retries until the endpoint is up and runs until interrupted (or for
`--seconds`); point `certkit run PROFILE --mqtt-listen HOST:PORT` at the
same address.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from certkit.bench import BenchError, parse_endpoint
from certkit.design import ProfileReadError, lint_file
from emulators import UnknownFault
from emulators.mqtt import FAULTS, MqttEmulator

STOP_TIMEOUT_S = 3.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulators.mqtt",
                                     description="A Homie 5 device emulated from a profile.")
    parser.add_argument("profile", nargs="?", type=Path)
    parser.add_argument("--connect", metavar="HOST:PORT", help="the broker endpoint to connect to")
    parser.add_argument("--fault", action="append", default=[], metavar="NAME",
                        help="break one rule on purpose (repeatable; see --list-faults)")
    parser.add_argument("--tls-ca", type=Path, metavar="FILE",
                        help="connect over TLS, trusting only this CA")
    parser.add_argument("--seconds", type=float, help="stop after this long")
    parser.add_argument("--list-faults", action="store_true")
    args = parser.parse_args(argv)
    if args.list_faults:
        for fault in FAULTS.values():
            print(f"{fault.name:32} {fault.rule}  {fault.description}")
        return 0
    if args.profile is None or args.connect is None:
        parser.error("give a PROFILE and --connect HOST:PORT")
    try:
        endpoint = parse_endpoint("--connect", args.connect)
        lint = lint_file(args.profile)
    except (BenchError, ProfileReadError) as exc:
        parser.error(str(exc))
    if not lint.ok or lint.profile is None or lint.profile.transports.mqtt is None:
        parser.error(f"{args.profile}: not a lint-clean profile with an mqtt transport")
    try:
        emulator = MqttEmulator(lint.profile, frozenset(args.fault), host=endpoint.host,
                                port=endpoint.port, ca_file=args.tls_ca)
    except UnknownFault as exc:
        parser.error(str(exc))

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    emulator.start(STOP_TIMEOUT_S)
    faults = ", ".join(sorted(emulator.faults)) or "none"
    print(f"emulating {lint.profile.device.model} as {emulator.device.base}/ against "
          f"{'mqtts' if args.tls_ca else 'mqtt'}://{endpoint} (faults: {faults})",
          file=sys.stderr, flush=True)
    stop.wait(args.seconds)
    emulator.stop(STOP_TIMEOUT_S)
    return 0


if __name__ == "__main__":
    sys.exit(main())
