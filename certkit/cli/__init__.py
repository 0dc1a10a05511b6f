"""The `certkit` command: lint, plan, run and list rules.

Exit codes: 0 success (CERTIFIED, or lint without mandatory findings),
1 NOT CERTIFIED or lint violations, 2 usage or input error, 3 INCOMPLETE,
130 another command interrupted (Ctrl-C).
"""

from __future__ import annotations

from certkit.cli import interrupts

interrupts.defer()  # before the imports below, which take a few hundred ms

import argparse  # noqa: E402
import sys  # noqa: E402

from certkit import __version__  # noqa: E402
from certkit.cli import (  # noqa: E402
    emulate_cmd,
    examples_cmd,
    lint_cmd,
    plan_cmd,
    record_cmds,
    report_cmd,
    rules_cmd,
    run_cmd,
)

COMMANDS = (lint_cmd, run_cmd, plan_cmd, rules_cmd, report_cmd, record_cmds, emulate_cmd,
            examples_cmd)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="certkit",
        description="Certify IoT devices against the ECS-1.0 compatibility standard.",
        epilog="exit codes: 0 CERTIFIED or clean, 1 NOT CERTIFIED or violations, "
               "2 usage or input error, 3 INCOMPLETE (run), 130 interrupted (other commands)",
    )
    top.add_argument("--version", action="version", version=f"certkit {__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(commands)
    return top


def main(argv: list[str] | None = None) -> int:
    interrupts.defer()  # again, for main() called more than once in one process
    try:
        args = parser().parse_args(argv)
        if args.handler is not run_cmd.run and interrupts.resume() is not None:
            raise KeyboardInterrupt
        return args.handler(args)  # a run resumes interrupts once its folder exists
    except BrokenPipeError:  # `certkit rules | head`
        return 0
    except KeyboardInterrupt:
        print("certkit: interrupted", file=sys.stderr)
        return 130
    finally:
        interrupts.resume()


if __name__ == "__main__":
    sys.exit(main())
