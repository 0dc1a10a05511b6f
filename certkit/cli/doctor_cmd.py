"""`certkit doctor [PROFILE] [bench options]`: is this bench ready for a run, and if not,
how to fix it (certkit/doctor.py). Exit 0 when every check the run needs passes, 1 when one
fails, 2 on a usage or input error."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

STATUS_SHOWN = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser(
        "doctor", help="check the bench a run would use, and say how to fix it",
        description="Check the bench the way a run of PROFILE with these options would need "
                    "it: Python and certkit, the MQTT broker, the listen address, serial "
                    "ports, the BLE adapter, the clock, and (with --report) Node.js, Allure "
                    "and Chromium. Without a profile, the transports whose options are given.")
    cmd.add_argument("profile", metavar="PROFILE", type=Path, nargs="?")
    cmd.add_argument("--emulate", metavar="TRANSPORT,...", nargs="?", const="all",
                     help="transports the reference emulators stand in for (no hardware needed)")
    from certkit.bench import bench_options

    for option in bench_options():  # each declared once, by its transport
        cmd.add_argument(option.cli, metavar=option.metavar, help=option.help)
    cmd.add_argument("--report", action="store_true",
                     help="the bench also makes HTML reports: Node.js, Allure and Chromium "
                          "are needed")
    cmd.add_argument("--format", choices=("text", "json"), default="text")
    cmd.set_defaults(handler=run)


def _usage(message: str) -> int:
    print(f"certkit doctor: error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from certkit import doctor
    from certkit.bench import BenchError, bench_options, parse_emulate
    from certkit.design import ProfileReadError, lint_file
    from certkit.transports import transports

    given: dict[str, dict[str, str]] = {}
    for option in bench_options():
        if getattr(args, option.attr) is not None:
            given.setdefault(option.transport, {})[option.key] = getattr(args, option.attr)
    try:
        emulate = parse_emulate(args.emulate)
        for name, transport in transports().items():
            transport.check_doctor_options(given.get(name, {}))
    except BenchError as exc:
        return _usage(str(exc))
    declared = None
    checks: list[doctor.Check] = []
    if args.profile is not None:
        try:
            lint = lint_file(args.profile)
        except ProfileReadError as exc:
            return _usage(str(exc))
        if lint.profile is None or not lint.ok:
            checks.append(doctor.Check(
                "profile", "fail", f"{args.profile}: {len(lint.mandatory_findings)} design "
                "finding(s); a run would stop before touching the device",
                f"certkit lint {args.profile} shows them"))
        else:
            checks.append(doctor.Check("profile", "ok", f"{args.profile}: "
                                       f"{lint.profile.device.model}, lint-clean"))
        if lint.profile is not None:
            declared = frozenset(lint.profile.transports.declared)
    needs = doctor.needs_for(declared, emulate, given=frozenset(given), report=args.report)
    checks += doctor.run_checks(needs, given)
    ready = not any(check.status == "fail" for check in checks)
    if args.format == "json":
        print(json.dumps({"ready": ready, "checks": [c.as_json() for c in checks]}, indent=2,
                         ensure_ascii=False))
    else:
        width = max(len(check.name) for check in checks)
        for check in checks:
            print(f"{STATUS_SHOWN[check.status]}  {check.name:<{width}}  {check.detail}")
            if check.fix and check.status != "ok":
                print(f"      {'':<{width}}  fix: {check.fix}")
        print("ready for a run" if ready else "NOT READY: fix the FAIL lines above")
    return 0 if ready else 1
