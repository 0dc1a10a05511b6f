"""`certkit emulate`: run a reference emulator on its own, or list the faults.

    certkit emulate --list-faults [TRANSPORT]
    certkit emulate serial PROFILE [--fault NAME]...   (prints the pty to use)
    certkit emulate mqtt PROFILE --connect HOST:PORT [--fault NAME]...
    certkit emulate ble PROFILE [--fault NAME]...      (an HCI endpoint over TCP)

Everything after the transport goes to `python -m emulators.<transport>`.
"""

from __future__ import annotations

import argparse
import importlib

from certkit.standard.ecs1 import TRANSPORTS
from emulators import faults_of


def add_parser(commands: argparse._SubParsersAction) -> None:
    cmd = commands.add_parser(
        "emulate", help="run a reference emulator on its own, or list its faults",
        description="Run a reference emulator for a bench session, or list the faults "
                    "each emulator can inject (--fault TRANSPORT:NAME on certkit run; "
                    "interop faults bend how the emulated transports share one device).")
    cmd.add_argument("transport", nargs="?", choices=TRANSPORTS)
    cmd.add_argument("--list-faults", action="store_true")
    cmd.add_argument("args", nargs=argparse.REMAINDER, metavar="...",
                     help="the emulator's own arguments (PROFILE, --fault NAME, ...)")
    cmd.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.list_faults or args.transport is None:
        for transport in [args.transport] if args.transport else (*TRANSPORTS, "interop"):
            print(f"{transport}:")
            for fault in faults_of(transport).values():
                print(f"  {fault.name:<28} {fault.rule}  {fault.description}")
        return 0
    module = importlib.import_module(f"emulators.{args.transport}.__main__")
    return module.main(args.args)
