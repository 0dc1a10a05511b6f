"""`certkit lint PROFILE... [--format text|json|sarif|github]`: the design rules, no device.

A finding of a mandatory rule is an error (exit 1), one of a recommended rule a warning.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from certkit.design.findings import Finding

FORMATS = ("text", "json", "sarif", "github")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser("lint", help="check profiles against the design rules",
                              description="Check profiles against PRF, DSN and SEC-001.")
    cmd.add_argument("profiles", nargs="+", metavar="PROFILE", type=Path)
    cmd.add_argument("--format", choices=FORMATS, default="text",
                     help="text (path:line:col: error|warning: RULE message), json, "
                          "sarif (SARIF 2.1.0 for code scanning) or github (workflow "
                          "annotations)")
    cmd.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from certkit.design import ProfileReadError, lint_file  # imported when linting, not parsing

    findings: list[Finding] = []
    unreadable: dict[str, str] = {}
    crashed = False
    for path in args.profiles:
        try:
            result = lint_file(path)
        except ProfileReadError as exc:
            print(f"certkit lint: {exc}", file=sys.stderr)
            unreadable[str(path)] = str(exc)
            continue
        findings += result.findings
        for rule, trace in result.crashed.items():
            print(f"certkit lint: {path}: internal error in the {rule} check "
                  f"(please report it):\n{trace}", file=sys.stderr)
            crashed = True
    _print(args.format, findings, unreadable)
    if unreadable or crashed:
        return 2
    return 1 if any(f.level == "M" for f in findings) else 0


def _print(fmt: str, findings: list[Finding], unreadable: dict[str, str]) -> None:
    if fmt == "json":
        print(json.dumps([f.as_json() for f in findings], indent=2, ensure_ascii=False))
    elif fmt == "sarif":
        from certkit import __version__
        from certkit.design.formats import sarif_log

        print(json.dumps(sarif_log(findings, unreadable, __version__), indent=2,
                         ensure_ascii=False))
    elif fmt == "github":
        from certkit.design.formats import github_annotation, github_command

        for path, reason in unreadable.items():
            print(github_command("error", reason, file=path, title="certkit lint"))
        for finding in findings:
            print(github_annotation(finding))
    else:
        for finding in findings:
            print(finding.text())
