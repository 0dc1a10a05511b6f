"""The `certkit` command: lint, plan, run and list rules.

Exit codes: 0 success (CERTIFIED, or lint without mandatory findings),
1 NOT CERTIFIED or lint violations, 2 usage or input error, 3 INCOMPLETE,
130 another command interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

from certkit import __version__
from certkit.cli import interrupts

# One module per command, imported by parser(): main() defers interrupts first (the imports
# take a few hundred ms), and importing certkit.cli changes nothing in the importer's process.
COMMAND_MODULES = ("lint_cmd", "run_cmd", "plan_cmd", "rules_cmd", "report_cmd", "record_cmds",
                   "emulate_cmd", "examples_cmd", "doctor_cmd")


# Commands parsed with their own module only: the others' imports (pytest's plugin, the
# bench, the report) would double lint's start-up (benchmarks/lint_bench.py).
ALONE = {"lint": "lint_cmd", "doctor": "doctor_cmd"}


def commands(only: str | None = None) -> list[ModuleType]:
    names = (ALONE[only],) if only in ALONE else COMMAND_MODULES
    return [importlib.import_module(f"certkit.cli.{name}") for name in names]


def parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser; for a command in ALONE (first in `argv`), only its own."""
    first = (sys.argv[1:] if argv is None else argv)[:1]
    top = argparse.ArgumentParser(
        prog="certkit",
        description="Certify IoT devices against the ECS-1.0 compatibility standard.",
        epilog="exit codes: 0 CERTIFIED or clean, 1 NOT CERTIFIED or violations, "
               "2 usage or input error, 3 INCOMPLETE (run), 130 interrupted (other commands)",
    )
    top.add_argument("--version", action="version", version=f"certkit {__version__}")
    subcommands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in commands(first[0] if first else None):
        command.add_parser(subcommands)
    return top


def main(argv: list[str] | None = None) -> int:
    interrupts.defer()  # until a run has a folder for its verdict (certkit.cli.interrupts)
    try:
        args = parser(argv).parse_args(argv)
        if args.command != "run" and interrupts.resume() is not None:
            raise KeyboardInterrupt
        code: int = args.handler(args)  # a run resumes interrupts once its folder exists
        return code
    except BrokenPipeError:  # `certkit rules | head`
        return 0
    except KeyboardInterrupt:
        print("certkit: interrupted", file=sys.stderr)
        return 130
    finally:
        interrupts.resume()


if __name__ == "__main__":
    sys.exit(main())
