"""`python -m emulators.serial PROFILE [--fault NAME]...`: an emulated MCU at the bench.

Prints the pty path to give `certkit run --serial`, and the command that
resets the emulated MCU (SIGUSR1) to give `--reset cmd:...`. Runs until
Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from certkit.design import ProfileReadError, lint_file
from emulators import UnknownFault
from emulators.serial import FAULTS, SerialEmulator

START_TIMEOUT_S = 5.0
STOP_TIMEOUT_S = 5.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.serial",
        description="Emulate a partner MCU speaking ECS-1 section 5 on a pty.")
    parser.add_argument("profile", metavar="PROFILE", type=Path, nargs="?")
    parser.add_argument("--fault", metavar="NAME", action="append", default=[],
                        help="break a rule on purpose (repeatable; --list-faults)")
    parser.add_argument("--list-faults", action="store_true", help="list the faults and exit")
    args = parser.parse_args(argv)
    if args.list_faults:
        for fault in FAULTS.values():
            print(f"{fault.name:<26} {fault.rule}  {fault.description}")
        return 0
    if args.profile is None:
        parser.error("PROFILE is required")
    try:
        lint = lint_file(args.profile)
    except ProfileReadError as exc:
        print(f"emulators.serial: {exc}", file=sys.stderr)
        return 2
    if lint.profile is None:
        print(f"emulators.serial: {args.profile} fails its design checks "
              "(run certkit lint)", file=sys.stderr)
        return 2
    try:
        emulator = SerialEmulator(lint.profile, frozenset(args.fault))
    except UnknownFault as exc:
        print(f"emulators.serial: {exc}", file=sys.stderr)
        return 2

    done = threading.Event()
    reset_wanted = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: reset_wanted.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())

    emulator.start(START_TIMEOUT_S)
    print(f"port: {emulator.port}", flush=True)
    print(f"reset: kill -USR1 {os.getpid()}", flush=True)
    print(f"faults: {', '.join(sorted(args.fault)) or 'none'}", flush=True)
    try:
        while not done.wait(0.1):
            if reset_wanted.is_set():
                reset_wanted.clear()
                emulator.reset(START_TIMEOUT_S)
            if not emulator.running:
                print(f"emulators.serial: the MCU stopped: {emulator.error}", file=sys.stderr)
                return 1
    finally:
        emulator.stop(STOP_TIMEOUT_S)
    return 0


if __name__ == "__main__":
    sys.exit(main())
