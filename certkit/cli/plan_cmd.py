"""`certkit plan PROFILE [--explain]`: which rule instances a run would check, and why."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from certkit.design import ProfileReadError, lint_file
from certkit.plan import make_plan


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser("plan", help="show the rule instances a profile calls for",
                              description="List every rule and its instances for a profile, "
                                          "and (with --explain) why each applies or not.")
    cmd.add_argument("profile", metavar="PROFILE", type=Path)
    cmd.add_argument("--explain", action="store_true", help="give the reason for each")
    cmd.add_argument("--rules", metavar="GLOB", action="append", default=[],
                     help="only rules whose ID matches (repeatable)")
    cmd.add_argument("--format", choices=("text", "json"), default="text")
    cmd.add_argument("--operator", action="store_true",
                     help="plan as for a run with an operator at the bench: BLE-007 then "
                          "checks read-only notify properties too (ECS-1 C-1, "
                          "docs/operators.md)")
    cmd.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        lint = lint_file(args.profile)
    except ProfileReadError as exc:
        print(f"certkit plan: {exc}", file=sys.stderr)
        return 2
    if not lint.ok or lint.profile is None:  # ok: checked, so there is a profile
        for finding in lint.findings:
            print(finding.text(), file=sys.stderr)
        print("certkit plan: the profile fails its design rules; fix them first", file=sys.stderr)
        return 2
    plan = make_plan(lint.profile, args.rules, operator=args.operator)
    if args.format == "json":
        print(json.dumps([{"rule": i.rule.id, "instance": i.key, "label": i.label,
                           "level": i.rule.level, "applies": i.applies, "reason": i.reason}
                          for i in plan.instances], indent=2, ensure_ascii=False))
        return 0
    for instance in plan.instances:
        state = "run" if instance.applies else "n/a"
        label = f" {instance.label}" if instance.label else ""
        line = f"{state:<4} {instance.id:<18} {instance.rule.level}  {instance.rule.title}{label}"
        print(line)
        if args.explain:
            print(f"       because {instance.reason}")
    applicable = len(plan.applicable)
    print(f"{applicable} instances to check, {len(plan.instances) - applicable} not applicable")
    return 0
