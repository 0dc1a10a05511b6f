"""Run the reference BLE emulator in its own process, behind an HCI endpoint.

    python -m certkit_emulators.ble PROFILE --hci tcp-server:127.0.0.1:0 [--fault NAME]...
        [--variant NAME]...
    python -m certkit_emulators.ble --list-faults

The harness reaches it as it would a bench radio:
`certkit run PROFILE --ble-adapter bumble:tcp-client:127.0.0.1:PORT`. Once
listening it prints `ready <hci spec> <address> <name>` (then `sensor step: kill
-USR1 PID`), and runs until interrupted (or for `--seconds`). `--vanish-after-reads N` makes the
peripheral disappear after it has answered N reads, while the HCI endpoint
stays up (a device that loses power mid-run); `--die-after-reads N` ends
the whole process instead (the bench radio goes too). SIGUSR1 moves the
read-only notify values one step, as an operator warming the sensor would
(BLE-007 with an operator, ECS-1 C-1).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

from certkit_emulators.ble import BleEmulator
from certkit_emulators.cli import emulator_parser, start_from_args

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 3.0


def main(argv: list[str] | None = None) -> int:
    parser = emulator_parser("ble", "A BLE peripheral emulated from a profile.")
    parser.add_argument("--hci", metavar="TRANSPORT", default="tcp-server:127.0.0.1:0",
                        help="bumble transport to serve HCI on (default tcp-server:127.0.0.1:0, "
                             "a free port)")
    parser.add_argument("--seconds", type=float, help="stop after this long")
    parser.add_argument("--vanish-after-reads", type=int, metavar="N",
                        help="disappear after answering N reads (the HCI endpoint stays up)")
    parser.add_argument("--die-after-reads", type=int, metavar="N",
                        help="end the whole process abruptly after answering N reads")
    args = parser.parse_args(argv)
    emulator = start_from_args(parser, args, BleEmulator, BleEmulator)
    if emulator is None:
        return 0

    logging.getLogger("bumble").setLevel(logging.ERROR)  # peers leaving mid-exchange are normal
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    emulator.start(START_TIMEOUT_S)
    try:
        spec = emulator.serve_hci(args.hci, START_TIMEOUT_S)
        peripheral = emulator.peripheral

        def count(reads: int) -> None:
            if reads == args.vanish_after_reads:
                emulator.loop.submit(peripheral.vanish())
            if reads == args.die_after_reads:
                os._exit(3)  # a power cut: no goodbye on the HCI connection either

        peripheral.read_hook = count
        # The operator's hand: each SIGUSR1 moves the sensor values one step.
        signal.signal(signal.SIGUSR1,
                      lambda *_: emulator.loop.submit(peripheral.sensor_step()))
        print(f"ready {spec} {emulator.address} {emulator.name}", flush=True)
        print(f"sensor step: kill -USR1 {os.getpid()}", flush=True)
        stop.wait(args.seconds)
    finally:
        emulator.stop(STOP_TIMEOUT_S)
    return 0


if __name__ == "__main__":
    sys.exit(main())
