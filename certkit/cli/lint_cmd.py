"""`certkit lint PROFILE... [--format text|json]`: the design rules, no device."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from certkit.design import ProfileReadError, lint_file


def add_parser(commands: argparse._SubParsersAction) -> None:
    cmd = commands.add_parser("lint", help="check profiles against the design rules",
                              description="Check profiles against PRF, DSN and SEC-001.")
    cmd.add_argument("profiles", nargs="+", metavar="PROFILE", type=Path)
    cmd.add_argument("--format", choices=("text", "json"), default="text")
    cmd.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    findings, unreadable, crashed = [], False, False
    for path in args.profiles:
        try:
            result = lint_file(path)
        except ProfileReadError as exc:
            print(f"certkit lint: {exc}", file=sys.stderr)
            unreadable = True
            continue
        findings += result.findings
        for rule, trace in result.crashed.items():
            print(f"certkit lint: {path}: internal error in the {rule} check "
                  f"(please report it):\n{trace}", file=sys.stderr)
            crashed = True
    if args.format == "json":
        print(json.dumps([f.as_json() for f in findings], indent=2, ensure_ascii=False))
    else:
        for finding in findings:
            print(finding.text())
    if unreadable or crashed:
        return 2
    return 1 if any(f.level == "M" for f in findings) else 0
