"""The `certkit` command: lint, plan, run and list rules.

Exit codes: 0 success (CERTIFIED, or lint without mandatory findings),
1 NOT CERTIFIED or lint violations, 2 usage or profile error, 3 INCOMPLETE.
"""

from __future__ import annotations

import argparse
import sys

from certkit import __version__
from certkit.cli import (
    emulate_cmd,
    lint_cmd,
    plan_cmd,
    record_cmds,
    report_cmd,
    rules_cmd,
    run_cmd,
)

COMMANDS = (lint_cmd, run_cmd, plan_cmd, rules_cmd, report_cmd, record_cmds, emulate_cmd)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="certkit",
        description="Certify IoT devices against the ECS-1.0 compatibility standard.",
        epilog="exit codes: 0 CERTIFIED or clean, 1 NOT CERTIFIED or violations, "
               "2 usage or profile error, 3 INCOMPLETE",
    )
    top.add_argument("--version", action="version", version=f"certkit {__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(commands)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except BrokenPipeError:  # `certkit rules | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
