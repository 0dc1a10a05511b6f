"""What the emulators' command lines share: a profile, faults, variants, --list-faults.

Each `python -m certkit_emulators.<transport>` builds its parser with
`emulator_parser`, adds its own options, and calls `start_from_args`,
which lists the faults or checks the profile and builds the emulator, and
ends the command with a clear usage error when either is wrong.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from certkit_emulators import Emulator, UnknownFault

from certkit.design import ProfileReadError, lint_file
from certkit.profile.model import Profile


def emulator_parser(transport: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m certkit_emulators.{transport}",
                                     description=description)
    parser.add_argument("profile", metavar="PROFILE", type=Path, nargs="?")
    parser.add_argument("--fault", metavar="NAME", action="append", default=[],
                        help="break one rule on purpose (repeatable; see --list-faults)")
    parser.add_argument("--variant", metavar="NAME", action="append", default=[],
                        help="a conformant variant of the standard (repeatable; see "
                             "certkit emulate --list-variants)")
    parser.add_argument("--list-faults", action="store_true", help="list the faults and exit")
    return parser


def start_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace,
                    cls: type[Emulator],
                    build: Callable[[Profile, frozenset[str], frozenset[str]], Any]
                    ) -> Any | None:
    """The emulator `build` makes for args.profile, or None after --list-faults."""
    if args.list_faults:
        for fault in cls.FAULTS.values():
            print(f"{fault.name:<30} {fault.rule}  {fault.description}")
        return None
    if args.profile is None:
        parser.error("give a PROFILE")
    try:
        lint = lint_file(args.profile)
    except ProfileReadError as exc:
        parser.error(str(exc))
    transport = cls.transport
    if not lint.ok or lint.profile is None or transport not in lint.profile.transports.declared:
        parser.error(f"{args.profile}: not a lint-clean profile with a {transport} transport "
                     "(run certkit lint)")
    try:
        return build(lint.profile, frozenset(args.fault), frozenset(args.variant))
    except UnknownFault as exc:
        parser.error(str(exc))
