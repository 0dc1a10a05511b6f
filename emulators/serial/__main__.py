"""`python -m certkit_emulators.serial PROFILE [--fault NAME]... [--variant NAME]...`: an emulated MCU.

Prints the pty path to give `certkit run --serial`, and the command that
resets the emulated MCU (SIGUSR1) to give `--reset cmd:...`. Runs until
Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from certkit_emulators.cli import emulator_parser, start_from_args
from certkit_emulators.serial import SerialEmulator

START_TIMEOUT_S = 5.0
STOP_TIMEOUT_S = 5.0


def main(argv: list[str] | None = None) -> int:
    parser = emulator_parser("serial", "Emulate a partner MCU speaking ECS-1 section 5 on a pty.")
    args = parser.parse_args(argv)
    emulator = start_from_args(parser, args, SerialEmulator, SerialEmulator)
    if emulator is None:
        return 0

    done = threading.Event()
    reset_wanted = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: reset_wanted.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())

    emulator.start(START_TIMEOUT_S)
    print(f"port: {emulator.port}", flush=True)
    print(f"reset: kill -USR1 {os.getpid()}", flush=True)
    print(f"faults: {', '.join(sorted(args.fault)) or 'none'}", flush=True)
    print(f"variants: {', '.join(sorted(args.variant)) or 'none'}", flush=True)
    try:
        while not done.wait(0.1):
            if reset_wanted.is_set():
                reset_wanted.clear()
                emulator.reset(START_TIMEOUT_S)
            if not emulator.running:
                print(f"certkit_emulators.serial: the MCU stopped: {emulator.error}", file=sys.stderr)
                return 1
    finally:
        emulator.stop(STOP_TIMEOUT_S)
    return 0


if __name__ == "__main__":
    sys.exit(main())
