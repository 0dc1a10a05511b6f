"""Run the reference MQTT emulator on its own, as a device on a bench would be.

    python -m certkit_emulators.mqtt PROFILE --connect HOST:PORT [--fault NAME]... [--tls-ca FILE]
    python -m certkit_emulators.mqtt --list-faults

It retries until the endpoint is up and runs until interrupted (or for
`--seconds`); point `certkit run PROFILE --mqtt-listen HOST:PORT` at the
same address.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from certkit_emulators.cli import emulator_parser, start_from_args
from certkit_emulators.mqtt import MqttEmulator

from certkit.bench import BenchError, parse_endpoint
from certkit.profile.model import Profile

STOP_TIMEOUT_S = 3.0


def main(argv: list[str] | None = None) -> int:
    parser = emulator_parser("mqtt", "A Homie 5 device emulated from a profile.")
    parser.add_argument("--connect", metavar="HOST:PORT", help="the broker endpoint to connect to")
    parser.add_argument("--tls-ca", type=Path, metavar="FILE",
                        help="connect over TLS, trusting only this CA")
    parser.add_argument("--seconds", type=float, help="stop after this long")
    args = parser.parse_args(argv)
    if not args.list_faults and args.connect is None:
        parser.error("give a PROFILE and --connect HOST:PORT")
    try:
        endpoint = parse_endpoint("--connect", args.connect) if args.connect else None
    except BenchError as exc:
        parser.error(str(exc))
    def build(profile: Profile, faults: frozenset[str], variants: frozenset[str]) -> MqttEmulator:
        return MqttEmulator(profile, faults, variants, host=endpoint.host, port=endpoint.port,
                            ca_file=args.tls_ca)

    emulator = start_from_args(parser, args, MqttEmulator, build)
    if emulator is None:
        return 0

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    emulator.start(STOP_TIMEOUT_S)
    faults = ", ".join(sorted(emulator.faults)) or "none"
    variants = ", ".join(sorted(emulator.variants)) or "none"
    print(f"emulating {emulator.profile.device.model} as {emulator.device.base}/ against "
          f"{'mqtts' if args.tls_ca else 'mqtt'}://{endpoint} (faults: {faults}; variants: {variants})",
          file=sys.stderr, flush=True)
    stop.wait(args.seconds)
    emulator.stop(STOP_TIMEOUT_S)
    return 0


if __name__ == "__main__":
    sys.exit(main())
