"""`certkit run PROFILE ...`: certify a device and write the verdict.

The run is a pytest session over `certkit.suite`, configured by the
plugin's `--certkit-*` options; this command checks the arguments first,
stops on a profile that fails lint (after writing its design results), and
turns the verdict into the exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from certkit_emulators import UnknownFault, check_faults, check_variants

from certkit.bench import Bench, BenchError, bench_options, identity_keys
from certkit.cli import interrupts
from certkit.design import LintResult, ProfileReadError, lint_file
from certkit.operator.options import add_run_arguments as add_operator_arguments
from certkit.operator.options import run_to_plugin as operator_arguments
from certkit.report.junit import junit_xml
from certkit.report.outdir import OutputFolderError, default_folder, prepare
from certkit.report.record import write_atomically
from certkit.transports import names as transport_names
from certkit.verdict import Verdict
from certkit.waivers import WaiverError, load_waivers

# The environment pytest runs in: no plugin loaded from entry points or PYTEST_PLUGINS,
# no options from PYTEST_ADDOPTS.
HERMETIC_ENV: dict[str, str | None] = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
                                       "PYTEST_PLUGINS": None, "PYTEST_ADDOPTS": None}



def plugin_options() -> dict[str, str]:
    """`certkit run` option (argparse dest) -> the plugin's pytest option."""
    return {"emulate": "--certkit-emulate",
            **{option.attr: option.plugin for option in bench_options()}}


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser(
        "run", help="certify a device against its profile",
        description="Certify the device a profile describes, on a bench or against emulators.")
    cmd.add_argument("profile", metavar="PROFILE", type=Path, nargs="?")
    cmd.add_argument("--emulate", metavar="TRANSPORT,...", nargs="?", const="all",
                     help="stand the reference emulators in for these transports "
                          f"({', '.join(transport_names())}; all when given alone)")
    cmd.add_argument("--fault", metavar="TRANSPORT:FAULT", action="append", default=[],
                     help="inject a fault into an emulator (repeatable; see certkit emulate)")
    cmd.add_argument("--variant", metavar="TRANSPORT:VARIANT", action="append", default=[],
                     help="make an emulator use a conformant variant of the standard "
                          "(repeatable; see certkit emulate --list-variants)")
    for option in bench_options():  # each declared once, by its transport
        cmd.add_argument(option.cli, metavar=option.metavar, help=option.help)
    cmd.add_argument("--identity", metavar="KEY=VALUE", action="append", default=[],
                     help="what the unit must report before any rule judges it (repeatable): "
                          + ", ".join(identity_keys()))
    cmd.add_argument("--bench", metavar="BENCH.yaml", type=Path,
                     help="certify the DUTs of a bench file, each in its own process, at once "
                          "(instead of PROFILE and the bench options; docs/bench-files.md)")
    cmd.add_argument("--dut", metavar="NAME", action="append", default=[],
                     help="with --bench: only this DUT (repeatable)")
    cmd.add_argument("--place-timeout", metavar="SECONDS", type=_positive_seconds,
                     help="with --bench: how long a DUT on a labgrid place waits for it while "
                          "someone else holds it (default 600; docs/lab.md)")
    add_operator_arguments(cmd)  # --no-operator, --operator-terminal, ... (docs/operators.md)
    cmd.add_argument("--rules", metavar="GLOB", action="append", default=[],
                     help="only rules whose ID matches (repeatable), e.g. 'SER-*'")
    cmd.add_argument("--add-rules", metavar="PATH", action="append", default=[], type=Path,
                     help="a file or folder of rules of your own to run too (repeatable)")
    cmd.add_argument("--out", metavar="DIR", type=Path,
                     help="where results go: a new or empty folder "
                          "(default reports/<model>-<timestamp>)")
    cmd.add_argument("--resume", metavar="OUT", type=Path,
                     help="re-run only the instances an earlier run's folder OUT left in error "
                          "or not run, with its profile and bench, and write one merged "
                          "verdict into --out (OUT is not changed; docs/records.md)")
    cmd.add_argument("--force", action="store_true",
                     help="replace the results of a previous run in --out (removed first, "
                          "never merged)")
    cmd.add_argument("--key", metavar="FILE", type=Path,
                     help="Ed25519 private key to sign a certification record with")
    cmd.add_argument("--waivers", metavar="FILE", type=Path, help="waivers to apply (YAML)")
    cmd.add_argument("--max-duration", metavar="SECONDS", type=_positive_seconds,
                     help="stop the run (INCOMPLETE, verdict and evidence written) after this "
                          "long, if sooner than the bound its plan gives; the bound in force is "
                          "printed at start and recorded in verdict.json")
    cmd.add_argument("-v", "--verbose", action="store_true", help="show pytest's own detail")
    cmd.add_argument("-q", "--quiet", action="store_true", help="print only the verdict")
    cmd.set_defaults(handler=run)


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return seconds


def _fail_usage(message: str) -> int:
    print(f"certkit run: error: {message}", file=sys.stderr)
    return 2


def pytest_args(args: argparse.Namespace, out: Path, suite: Path | None = None,
                added: Sequence[Path] = ()) -> list[str]:
    """`suite`: the folder of the suite of the profile's standard (certkit's own by default);
    the session is configured by certkit's pytest.ini whichever standard it checks.
    `added`: test modules the profile's transports add to the suite (Transport.suite_modules)."""
    config = resources.files("certkit.suite") / "pytest.ini"
    suite = suite or Path(str(resources.files("certkit.suite")))
    argv = [str(suite), *map(str, added), *map(str, args.add_rules),
            "-c", str(config), "--rootdir", str(suite),
            # Only the plugins a run needs (see HERMETIC_ENV): certkit's and Allure's.
            "-p", "certkit.plugin.entry", "-p", "allure_pytest.plugin",
            "-p", "no:cacheprovider",
            "-W", "ignore::pytest.PytestAssertRewriteWarning",
            # junit.xml is written by the plugin from the verdict record, not by --junitxml.
            "--certkit-profile", str(args.profile), "--certkit-out", str(out),
            "--alluredir", str(out / "allure-results"), "--clean-alluredir"]
    for name, option in plugin_options().items():
        value = getattr(args, name)
        if value is not None:
            argv.append(f"{option}={value}")
    if args.waivers:
        argv.append(f"--certkit-waivers={args.waivers}")
    if args.key:
        argv.append(f"--certkit-key={args.key}")
    if args.max_duration is not None:
        argv.append(f"--certkit-max-duration={args.max_duration}")
    argv += [f"--certkit-rules={pattern}" for pattern in args.rules]
    argv += [f"--certkit-resume-instance={i}" for i in getattr(args, "resume_instances", ())]
    argv += [f"--certkit-fault={fault}" for fault in args.fault]
    argv += [f"--certkit-variant={variant}" for variant in args.variant]
    argv += [f"--certkit-identity={identity}" for identity in args.identity]
    argv += operator_arguments(args)
    argv += ["-v", "--tb=short"] if args.verbose else ["-q", "--tb=no", "--no-header", "-rN"]
    argv.append("--certkit-progress=" + ("pytest" if args.verbose else
                                         "quiet" if getattr(args, "quiet", False) else "auto"))
    return argv


def run(args: argparse.Namespace) -> int:
    interrupts.defer()  # until the folder exists (see certkit.cli.interrupts)
    try:
        return _run(args)
    finally:
        interrupts.resume()
        _forget_handled_interrupt()


def _forget_handled_interrupt() -> None:
    """CPython 3.11 remembers a KeyboardInterrupt that left an exec() of a string (a dataclass
    being defined by a lazy import, when Ctrl-C or SIGTERM came), even once handled, and the
    process then ends killed by SIGINT (-2) instead of with the run's exit code. Any exec()
    that completes forgets it."""
    exec("pass")  # noqa: S102


def _run(args: argparse.Namespace) -> int:
    if getattr(args, "resume", None) is not None:
        from certkit.resume.command import resume

        return resume(args, _run)
    if args.bench is not None:
        from certkit.benchfile.runner import run_bench

        return run_bench(args)
    if args.profile is None:
        return _fail_usage("give a PROFILE to certify, or --bench BENCH.yaml")
    if args.dut:
        return _fail_usage("--dut names a DUT of a bench file: give --bench BENCH.yaml too")
    if args.place_timeout is not None:
        return _fail_usage("--place-timeout is for the labgrid places of a bench file: give "
                           "--bench BENCH.yaml too")
    try:
        bench = Bench.from_options(**{name: getattr(args, name) for name in plugin_options()},
                                   faults=args.fault, variants=args.variant,
                                   identity=args.identity)
        check_faults(bench.faults, bench.emulate)
        check_variants(bench.variants, bench.emulate)
        lint = lint_file(args.profile)
        if args.waivers:
            load_waivers(args.waivers, lint.standard)
    except (BenchError, ProfileReadError, UnknownFault) as exc:
        return _fail_usage(str(exc))
    except WaiverError as exc:
        return _fail_usage(f"--waivers: {exc}")
    if args.key is not None:
        from certkit.certificate import KeyFileError, load_private_key

        try:
            load_private_key(args.key)
        except KeyFileError as exc:
            return _fail_usage(f"--key: {exc}")
    for path in args.add_rules:
        if not path.exists():
            return _fail_usage(f"--add-rules: {path}: no such file or folder")
    if not args.add_rules:  # rules of one's own are known only once collected
        from certkit.plan import selected

        for pattern in args.rules:
            if not any(selected(rule.id, [pattern]) for rule in lint.standard.catalogue.rules):
                return _fail_usage(f"--rules: {pattern!r} matches no rule of "
                                   f"{lint.standard.name} (see certkit rules)")
    model = lint.profile.device.model if lint.profile else args.profile.stem
    import pytest  # only a run needs it; lint and plan start faster without

    try:
        out = prepare(args.out, args.force) if args.out else default_folder(model)
    except OutputFolderError as exc:
        return _fail_usage(f"--out: {exc}")

    # A terminated run still writes its verdict: SIGTERM is handled like Ctrl-C.
    previous = interrupts.original(signal.SIGTERM)
    try:
        if interrupts.resume(replace={signal.SIGTERM: _interrupt}) is not None:
            raise KeyboardInterrupt  # received while deferred
        with hermetic_environment():
            suite, *added = lint.standard.suite_paths()
            code = pytest.main(pytest_args(args, out, suite, added))
    except KeyboardInterrupt:
        # pytest handles an interrupt during its session; one escapes before the session
        # began, or while it was ending (a second Ctrl-C during the first one's handling).
        return _stopped(args, lint, bench, out,
                        "the run was interrupted while it was ending"
                        if (out / "verdict.json").exists()
                        else "the run was interrupted before it began")
    finally:
        signal.signal(signal.SIGTERM, previous)
    if code == pytest.ExitCode.USAGE_ERROR:  # e.g. rules of one's own refused at collection
        return 2
    try:
        document = json.loads((out / "verdict.json").read_text("utf-8"))
        verdict = Verdict(document["verdict"])
    except (OSError, ValueError, KeyError) as exc:
        if not (out / "verdict.json").exists():  # stopped before the plugin's first write
            return _stopped(args, lint, bench, out,
                            "the run was interrupted before it began"
                            if code == pytest.ExitCode.INTERRUPTED
                            else "the run ended without writing a verdict")
        print(f"certkit run: no verdict could be read from {out} ({exc})", file=sys.stderr)
        return Verdict.INCOMPLETE.exit_code
    _publish(out, document, lint)
    if not lint.ok:
        print("certkit run: the profile did not pass its design checks; no device was touched",
              file=sys.stderr)
        return 2
    return verdict.exit_code


def _stopped(args: argparse.Namespace, lint: LintResult, bench: Bench, out: Path,
             reason: str) -> int:
    """A run stopped before its session wrote a final verdict: the verdict it leaves says so
    (INCOMPLETE, or NOT CERTIFIED on a fail already recorded), never CERTIFIED."""
    interrupts.defer()  # a further Ctrl-C must not stop the writing of the verdict
    try:
        path = out / "verdict.json"
        try:
            document = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            document = None
        if isinstance(document, dict) and "verdict" in document:
            # The record as of the last instance; it ends here.
            document.update(complete=False, stop_reason=document.get("stop_reason") or reason)
            if document["verdict"] == str(Verdict.CERTIFIED):
                document["verdict"] = str(Verdict.INCOMPLETE)
            text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
            write_atomically(path, text)
        else:
            document = _write_unstarted_verdict(args, lint, bench, out, reason)
        write_atomically(out / "junit.xml", junit_xml(document))
    except OSError as exc:
        print(f"certkit run: {reason}, and its verdict could not be written to {out}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return Verdict.INCOMPLETE.exit_code
    finally:
        interrupts.resume()
    if document:
        _publish(out, document, lint)
    print(f"certkit run: {reason}; VERDICT: {document['verdict'] if document else 'INCOMPLETE'} "
          f"(results in {out})", file=sys.stderr)
    return Verdict.INCOMPLETE.exit_code if not document else Verdict(document["verdict"]).exit_code


def _publish(out: Path, document: dict[str, Any], lint: LintResult | None = None) -> None:
    """summary.md; under GitHub Actions, the step summary and annotations too (the profile's
    lint findings on their lines)."""
    from certkit.report.publish import publish

    try:
        publish(out, document, findings=lint.findings if lint else ())
    except OSError as exc:  # the verdict stands: it is written already
        print(f"certkit run: the summary could not be written: {exc.strerror or exc}",
              file=sys.stderr)


def _write_unstarted_verdict(args: argparse.Namespace, lint: LintResult, bench: Bench,
                             out: Path, reason: str) -> dict[str, Any]:
    """Every planned instance `error` (not run), the run incomplete."""
    from certkit.plan import make_plan
    from certkit.report.record import RunRecord, now

    patterns = tuple(args.rules)
    plan = make_plan(lint.profile, patterns) if lint.ok and lint.profile is not None else None
    model = lint.profile.device.model if lint.profile else None
    record = RunRecord(out, lint.path, lint.sha256, model, plan, patterns, bench.describe(),
                       setup=bench,
                       transports=lint.profile.transports.declared if lint.profile else (),
                       standard=lint.standard)
    record.finished = now()
    record.stop_reason = reason
    return record.write()


@contextlib.contextmanager
def hermetic_environment() -> Iterator[None]:
    """A run loads no pytest plugin or option from the user's environment: an installed
    plugin that reorders, reruns or times out tests would change what the run checks."""
    saved = {name: os.environ.get(name) for name in HERMETIC_ENV}
    try:
        _set_environment(HERMETIC_ENV)
        yield
    finally:
        _set_environment(saved)


def _set_environment(values: dict[str, str | None]) -> None:
    """Set each variable to its value; None removes it."""
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
