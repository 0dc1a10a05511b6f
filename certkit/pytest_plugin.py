"""The pytest plugin that turns a pytest session into a certification run.

Registered through the `pytest11` entry point, it stays inert until
`--certkit-profile` is given. Then it:

- lints the profile and plans the rule instances (`certkit.plan`);
- parametrizes every test marked `@pytest.mark.certkit_rule("ID")` with the
  instances of its rule (the `rule_instance` argument), and skips those that
  do not apply with the plan's reason;
- deselects every non-design rule when the profile fails lint, so no device
  is touched;
- turns each test's end into an ECS-1 outcome (a `RuleFailure` or a plain
  assertion is `fail`, anything else `error`), keeps its evidence, labels it
  for Allure, and rewrites `verdict.json`;
- prints the summary table and the verdict.

Its fixtures (`profile`, `bench`, `evidence`, `rule_instance`, `link`,
`limit_ms`) are public: a rule of one's own is an ordinary test that uses
them (see docs/custom-rules.md).
"""

from __future__ import annotations

import json
import re
import time
from datetime import date
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

import pytest

from certkit.bench import BENCH_OPTIONS, Bench, BenchError
from certkit.benchfault import BenchFault, under_bench_faults
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certkit.certificate import KeyFileError, load_private_key, make_record, sign
from certkit.checks import LabError, NotApplicable
from certkit.custom_rules import (RuleRefused, custom_rule, in_suite, load_problem, location,
                                  selected_rule, shown)
from certkit.deadline import RunWatchdog, bound_in_force, deadline, deadline_for, run_bound
from certkit.design import DESIGN_RULES, LintResult, ProfileReadError, lint_file
from certkit.evidence import EvidenceLog
from certkit.links import Link, open_link
from certkit.plan import Instance, Plan, make_plan
from certkit.profile.model import Profile
from certkit.report import allure_labels, terminal
from certkit.report.charts import write_chart
from certkit.report.progress import MODES, Progress, operator_line
from certkit.report.run_view import RunView
from certkit.report.junit import junit_xml
from certkit.report.outdir import OutputFolderError, default_folder, prepare
from certkit.report.record import RunRecord, now, sha256_file, write_atomically
from certkit.standard.catalogue import Rule, catalogue
from certkit.verdict import Outcome, RuleResult
from certkit.waivers import Waiver, WaiverError, apply_waivers, load_waivers

RUN = pytest.StashKey["CertkitRun"]()
INSTANCE = pytest.StashKey[Instance]()
PHASES = pytest.StashKey[dict]()
FILED = pytest.StashKey[int]()  # the evidence filed under instances so far (a mark)
WRITE_FAULT = pytest.StashKey[str]()  # why the run could not write its results

LINK_OPEN_TIMEOUT_S = 30.0
LINK_CLOSE_TIMEOUT_S = 5.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("certkit", "certkit certification run")
    group.addoption("--certkit-profile", metavar="PROFILE",
                    help="certify the device this profile describes")
    group.addoption("--certkit-out", metavar="DIR",
                    help="where verdict.json and evidence go (default reports/<model>-<time>)")
    group.addoption("--certkit-rules", metavar="GLOB", action="append", default=[],
                    help="only rules whose ID matches (repeatable), e.g. 'SER-*'")
    group.addoption("--certkit-emulate", metavar="TRANSPORTS", nargs="?", const="all",
                    help="stand emulators in for these transports (default all)")
    group.addoption("--certkit-fault", metavar="TRANSPORT:FAULT", action="append", default=[],
                    help="inject a fault into an emulator (repeatable)")
    group.addoption("--certkit-variant", metavar="TRANSPORT:VARIANT", action="append", default=[],
                    help="make an emulator use a conformant variant (repeatable)")
    for option in BENCH_OPTIONS:  # the bench options, one table (certkit/bench.py)
        group.addoption(option.plugin, metavar=option.metavar, help=option.help)
    group.addoption("--certkit-identity", metavar="KEY=VALUE", action="append", default=[],
                    help="what the unit must report before any rule judges it (repeatable)")
    group.addoption("--certkit-waivers", metavar="FILE", help="waivers to apply (YAML)")
    group.addoption("--certkit-key", metavar="FILE",
                    help="Ed25519 private key (PEM): also write a signed certificate.json")
    group.addoption("--certkit-max-duration", metavar="SECONDS", type=float,
                    help="stop the run (INCOMPLETE) after this long, if sooner than the "
                         "bound its plan gives")
    group.addoption("--certkit-progress", choices=MODES, default="auto",
                    help="live (a terminal), plain (lines, for CI logs), quiet (the verdict "
                         "only), pytest (pytest's own reporting); default: live on a terminal")


@pytest.hookimpl(tryfirst=True)  # before Allure's, which creates (and may empty) allure-results
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "certkit_rule(*rule_ids, level=None, title=None, deadline_s=None): the test checks "
        "these ECS-1 rules (or a rule of your own, given level and title)",
    )
    path = config.getoption("--certkit-profile", None)
    if not path:
        return
    try:
        bench = Bench.from_options(
            emulate=config.getoption("--certkit-emulate"),
            **{option.attr: config.getoption(option.plugin) for option in BENCH_OPTIONS},
            faults=config.getoption("--certkit-fault"),
            variants=config.getoption("--certkit-variant"),
            identity=config.getoption("--certkit-identity"),
        )
        lint = lint_file(Path(path))
        waivers_file = config.getoption("--certkit-waivers")
        waivers = load_waivers(Path(waivers_file)) if waivers_file else []
        key_file = config.getoption("--certkit-key")
        signing_key = load_private_key(Path(key_file)) if key_file else None
        run = CertkitRun(config, lint, bench, waivers, signing_key)
    except (BenchError, ProfileReadError, WaiverError, KeyFileError) as exc:
        raise pytest.UsageError(str(exc)) from None
    except OutputFolderError as exc:
        raise pytest.UsageError(f"--certkit-out: {exc}") from None
    config.stash[RUN] = run
    mode = config.getoption("--certkit-progress")
    progress = None if mode == "pytest" else Progress.for_terminal(mode)
    config.pluginmanager.register(RunView(run, progress), "certkit-run-view")


class CertkitRun:
    """The state of one certification run inside a pytest session."""

    def __init__(self, config: pytest.Config, lint: LintResult, bench: Bench,
                 waivers: list[Waiver], signing_key: Ed25519PrivateKey | None) -> None:
        self.lint = lint
        self.bench = bench
        self.patterns: tuple[str, ...] = tuple(config.getoption("--certkit-rules"))
        profile = lint.profile
        # A profile that fails lint is not planned: only its design rules are reported.
        self.plan: Plan | None = make_plan(profile, self.patterns) if lint.ok else None
        model = profile.device.model if profile else None
        out = config.getoption("--certkit-out")
        # Never another run's folder (certkit/report/outdir.py); `certkit run` made it already.
        self.out = prepare(Path(out)) if out else default_folder(model or lint.path.stem)
        self.evidence = EvidenceLog()
        self.record = RunRecord(self.out, lint.path, lint.sha256, model, self.plan,
                                self.patterns, bench.describe(), waivers=waivers, setup=bench,
                                transports=profile.transports.declared if profile else ())
        if profile is not None:
            device, mqtt = profile.device, profile.transports.mqtt
            self.record.declared = {"model": device.model, "firmware": device.firmware,
                                    "mcu-version": device.mcu_version,
                                    "device-id": mqtt.device_id if mqtt else None}
        self.signing_key = signing_key
        self.watchdog: RunWatchdog | None = None
        self.links: dict[str, Link] = {}    # the run's open links, by transport (`link` fixture)
        self.links_used: set[str] = set()   # the transports the running instance asked for
        self.refusals: list[str] = []       # why collected tests cannot run (file:line: what)
        self.refused = False                # the run was refused at collection: nothing ran
        self.wrong_unit: str | None = None  # the identity check found another unit (a stop)

    @property
    def profile(self) -> Profile | None:
        return self.lint.profile

    def rule(self, rule_id: str, marker: pytest.Mark, node: pytest.Item) -> Rule:
        """The rule a test checks: the catalogue's for certkit's suite, else a rule of one's
        own (`custom:ID`); raises RuleRefused (file:line: what) for a test outside the suite
        that claims or imitates a standard rule, or lacks level or title."""
        if in_suite(node.path) and rule_id in catalogue():
            return catalogue().get(rule_id)
        return custom_rule(rule_id, marker.kwargs, location(node.path, node.obj))

    def instances(self, rule: Rule) -> list[Instance]:
        """A test's instances; never empty (what is not to run is deselected later)."""
        if self.plan is None:  # the profile failed lint: only the design rules run
            if rule.id in DESIGN_RULES:
                return [Instance(rule, reason="applies to every profile")]
            return [Instance(rule, applies=False, reason="the profile failed its design checks")]
        if rule.id not in catalogue():
            return [Instance(rule, reason="a rule of the bench's own")]
        return self.plan.of(rule.id) or [Instance(rule, applies=False, reason="not selected")]


def _run(config: pytest.Config) -> CertkitRun | None:
    return config.stash.get(RUN, None)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    run = _run(metafunc.config)
    marker = metafunc.definition.get_closest_marker("certkit_rule")
    if run is None or marker is None:
        return
    # A refusal is kept, not raised: pytest would file it as a collection error shown only
    # with -v; pytest_collection_modifyitems refuses the run with every refusal at once.
    where = location(metafunc.definition.path, metafunc.function)
    try:
        if not marker.args:
            raise RuleRefused(f"{where}: certkit_rule() names no rule")
        instances = [i for rule_id in marker.args
                     for i in run.instances(run.rule(rule_id, marker, metafunc.definition))]
    except RuleRefused as exc:
        run.refusals.append(str(exc))
        return
    if "rule_instance" in metafunc.fixturenames:
        metafunc.parametrize("rule_instance", instances, ids=[i.id for i in instances])
    elif len(instances) > 1:
        run.refusals.append(f"{where}: {metafunc.function.__name__} checks {len(instances)} "
                            "rule instances: take the `rule_instance` argument")


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator:
    """A test file that cannot be collected (a syntax error, a failed import) refuses the run,
    named plainly (file:line: what) rather than as an "error during collection". Every test
    file outside the suite that was loaded goes into the record with its sha256, whether or
    not a rule of it runs: its code ran in the session."""
    report = yield
    run = _run(collector.config)
    if run is not None and report.failed:
        run.refusals.append(load_problem(collector.path, str(report.longrepr)))
    elif run is not None and isinstance(collector, pytest.Module) and not in_suite(collector.path):
        run.record.custom_files[shown(collector.path)] = sha256_file(collector.path)
    return report


# Last, so that a plugin that reorders tests (pytest-randomly) cannot change the run order.
@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run = _run(config)
    if run is None:
        return
    if run.refusals:  # before any device is touched, and no verdict or certificate written
        run.refused = True
        raise pytest.UsageError("rules refused, nothing was run:\n"
                                + "\n".join(dict.fromkeys(run.refusals)))
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("certkit_rule")
        if marker is None:
            keep.append(item)
            continue
        callspec = getattr(item, "callspec", None)
        if callspec and "rule_instance" in callspec.params:
            instance = callspec.params["rule_instance"]
        else:
            instance = run.instances(run.rule(marker.args[0], marker, item))[0]
        run.record.implemented.add(instance.rule.id)
        if not selected_rule(instance.rule.id, run.patterns) or (
                not run.lint.ok and instance.rule.id not in DESIGN_RULES):
            drop.append(item)
            continue
        item.stash[INSTANCE] = instance
        run.record.collected[instance.id] = instance
        # Who checks what: two tests giving one instance two results is a harness error.
        run.record.claims.setdefault(instance.id, []).append(f"{shown(item.path)}::{item.name}")
        allure_labels.label(item, instance, run.profile)
        keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = run_order(run, keep)
    bound_s = _bound(run, config,
                     [item.stash[INSTANCE] for item in keep if INSTANCE in item.stash])
    try:
        run.record.write()
    except OSError as exc:  # nothing is checked that could not be recorded
        config.stash[WRITE_FAULT] = (f"verdict.json could not be written to {run.out}: "
                                     f"{exc.strerror}")
        config.hook.pytest_deselected(items=list(items))
        items[:] = []
        return
    run.watchdog = RunWatchdog(bound_s)
    run.watchdog.start()


def run_order(run: CertkitRun, items: list[pytest.Item]) -> list[pytest.Item]:
    """The items in the catalogue's run order, each rule's instances in the plan's order;
    rules of one's own and plain tests after the standard's, as collected."""
    planned = {i.id: n for n, i in enumerate(run.plan.instances)} if run.plan else {}
    rules = catalogue()

    def key(numbered: tuple[int, pytest.Item]) -> tuple[int, int, int]:
        n, item = numbered
        instance = item.stash.get(INSTANCE, None)
        if instance is None:
            return (len(rules.run_order) + 1, 0, n)
        return (rules.run_position(instance.rule.id), planned.get(instance.id, 0), n)

    return [item for _, item in sorted(enumerate(items), key=key)]


def _bound(run: CertkitRun, config: pytest.Config, instances: list[Instance]) -> float:
    """The run's overall bound in force: derived from what it will check (deadline.run_bound),
    or --max-duration if smaller. Printed now and recorded in verdict.json."""
    applying = [i.rule for i in instances if i.applies]
    links = len(run.profile.transports.declared) if run.profile else 0
    derived = run_bound(applying, links, LINK_OPEN_TIMEOUT_S + LINK_CLOSE_TIMEOUT_S)
    seconds, source = bound_in_force(derived, config.getoption("--certkit-max-duration"))
    run.record.bound = {"seconds": seconds, "source": source, "plan_seconds": derived}
    operator_line(f"certkit run: bounded to {seconds:g} s (by its plan)" if source == "plan"
                  else f"certkit run: bounded to {seconds:g} s (by --max-duration; the plan "
                       f"allows {derived:.0f} s)")
    return seconds


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    run = _run(item.config)
    if run is None or INSTANCE not in item.stash:
        return (yield)
    run.links_used = set()
    item.stash[PHASES] = {"mark": run.evidence.mark(), "start": time.monotonic(), "reports": [],
                          "links": run.links_used}
    try:
        return (yield)
    except OSError as exc:  # Allure writes its result as the item ends (logfinish)
        _cannot_write(item.session, f"the Allure results could not be written: "
                                    f"{exc.strerror or exc}")
        return True


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """An instance the plan says does not apply ends before any fixture opens a link."""
    instance = item.stash.get(INSTANCE, None)
    if instance is not None and not instance.applies:
        raise NotApplicable(instance.reason)


class Phase(NamedTuple):
    """A phase's report as pytest made it (the call report is then made to tell ECS-1's
    outcome, see _show_call)."""
    when: str
    passed: bool
    longrepr: object


# Outermost (tryfirst), so that what it does to the report and to Allure's result comes after
# Allure's own wrapper has read them.
@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator:
    report = yield
    phases = item.stash.get(PHASES, None)
    if phases is not None:
        phases["reports"].append((Phase(report.when, report.passed, report.longrepr),
                                  call.excinfo))
        run = _run(item.config)
        if call.when == "call":  # before teardown, which closes the links after the last test
            # A pass or fail is only as good as the bench: a hung broker also makes "nothing
            # changed" pass, so both get the thorough check (a probe round the broker, a
            # millisecond or two on a sound bench).
            judged = call.excinfo is None or isinstance(call.excinfo.value, AssertionError)
            _check_bench(run, phases, thorough=judged)
            # What follows (links closed after the last instance) is not this instance's.
            phases["end"] = run.evidence.mark()
            _show_call(item, phases, report)
        if call.when == "teardown":
            _finish(item, phases)
    return report


# pytest's own view of a test (its closing line "1 failed", -v words, Allure's status) is made
# to follow the ECS-1 outcome rather than replaced: the call report of a waived fail or of a
# recommended rule's fail passes (with a note), a lab error counts as an error, so what pytest
# prints agrees with the verdict. junit.xml is written from the record itself (report/junit.py).
SHOWN_AS = {  # outcome -> (pytest category, letter, word); failed and skipped stay pytest's
    "waived": ("waived", "w", "WAIVED"),
    "warning": ("warned", "r", "WARNING (recommended rule)"),
    Outcome.ERROR: ("error", "E", "ERROR"),
}


def _judged(run: CertkitRun, instance: Instance, outcome: Outcome, message: str) -> str:
    """How an outcome shows: pass, fail, error, not-applicable, waived, or warning."""
    if outcome is Outcome.FAIL:
        result = RuleResult(instance.rule.id, instance.key, instance.rule.level, outcome, message)
        waived = apply_waivers([result], run.record.waivers, date.today()).results[0]
        if waived.outcome is Outcome.WAIVED:
            return "waived"
        if instance.rule.level != "M":
            return "warning"
    return str(outcome)


def _show_call(item: pytest.Item, phases: dict, report: pytest.TestReport) -> None:
    run = _run(item.config)
    outcome, message = _outcome(phases)
    # The bench was just checked (pytest_runtest_makereport): only what the links logged.
    outcome, message = under_bench_faults(outcome, message, _bench_faults(run, phases, ask=False))
    shown = _judged(run, item.stash[INSTANCE], outcome, message)
    if shown in ("waived", "warning"):
        report.outcome = "passed"
        report.sections.append(("certkit", f"{shown}: {message}"))
    elif shown == Outcome.ERROR:
        report.outcome = "failed"
        if report.longrepr is None:
            report.longrepr = message
    if shown in SHOWN_AS:
        report.certkit_shown = SHOWN_AS[shown]  # type: ignore[attr-defined]


def pytest_report_teststatus(report: pytest.TestReport,
                             config: pytest.Config) -> tuple[str, str, str] | None:
    return getattr(report, "certkit_shown", None)


def _outcome(phases: dict) -> tuple[Outcome, str]:
    """The ECS-1 outcome of a test from its setup, call and teardown reports."""
    outcome, message = Outcome.PASS, ""
    for report, excinfo in phases["reports"]:
        if report.passed:
            continue
        if excinfo is None:  # a skip marker applied at collection
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            return Outcome.NOT_APPLICABLE, reason.removeprefix("Skipped: ")
        error = excinfo.value
        text = str(error).strip() or type(error).__name__
        if isinstance(error, NotApplicable):
            return Outcome.NOT_APPLICABLE, text
        if isinstance(error, pytest.skip.Exception):
            return Outcome.ERROR, f"the check skipped itself: {text}"
        if report.when == "call" and isinstance(error, AssertionError):
            return Outcome.FAIL, text.splitlines()[0] if text else "assertion failed"
        if isinstance(error, LabError):
            return Outcome.ERROR, text
        if outcome is Outcome.PASS:
            where = {"setup": "setting up", "call": "running", "teardown": "tearing down"}
            outcome, message = Outcome.ERROR, (f"harness error while {where[report.when]} the "
                                               f"check: {type(error).__name__}: {text}")
    return outcome, message


def _finish(item: pytest.Item, phases: dict) -> None:
    run = _run(item.config)
    instance = item.stash[INSTANCE]
    outcome, message = _outcome(phases)
    if any(_swallowed_interrupt(excinfo) for _, excinfo in phases["reports"]):
        item.session.shouldstop = "the run was interrupted"
    outcome, message = under_bench_faults(outcome, message, _bench_faults(run, phases))
    end = phases.get("end", run.evidence.mark())
    items = run.evidence.since(phases["mark"])[:end - phases["mark"]]
    item.config.stash[FILED] = end
    evidence_file: Path | None = Path("evidence") / f"{_safe(instance.id)}.log"
    lines = [f"{instance.id} {instance.rule.title}", f"instance: {instance.label or 'once'}",
             f"outcome: {outcome}", f"message: {message}", ""]
    lines += [entry.line() for entry in items]
    try:
        write_atomically(run.out / evidence_file, "\n".join(lines) + "\n")
    except OSError as exc:
        problem = (f"its evidence could not be written to {run.out / evidence_file}: "
                   f"{exc.strerror}")
        _cannot_write(item.session, problem)
        outcome, message = Outcome.ERROR, f"{problem} (it was: {outcome}. {message})"
        evidence_file = None
    figures = [entry.measurement for entry in items if entry.measurement is not None]
    run.record.measurements[instance.id] = figures
    chart = None
    if evidence_file is not None:
        try:
            chart = write_chart(run.out, evidence_file, f"{instance.id} {instance.rule.title}",
                                figures)
        except OSError as exc:  # the figures are in verdict.json either way
            operator_line(f"certkit: the chart of {instance.id} could not be written: "
                          f"{exc.strerror}", problem=True)
    if chart is not None:
        run.record.charts[instance.id] = str(chart)
    shown = _judged(run, instance, outcome, message)
    if getattr(item.config.option, "allure_report_dir", None):
        try:
            allure_labels.attach_evidence(items, f"{instance.id}: {shown}. {message}")
            allure_labels.attach_measurements(figures, run.out / chart if chart else None)
        except OSError as exc:
            _cannot_write(item.session,
                          f"the Allure results could not be written: {exc.strerror}")
        allure_labels.set_status(item, shown, message)
    rule = instance.rule
    try:
        run.record.add(instance.id, RuleResult(
            rule.id, instance.key, rule.level, outcome, message,
            time.monotonic() - phases["start"], rule.title,
            str(evidence_file) if evidence_file else None))
    except OSError as exc:
        _cannot_write(item.session, f"verdict.json could not be written to {run.out}: "
                                    f"{exc.strerror}")


def _swallowed_interrupt(excinfo: pytest.ExceptionInfo | None) -> bool:
    """Whether Ctrl-C or SIGTERM came while the check was importing and the import turned
    the KeyboardInterrupt into another error (Python wraps what a class's __set_name__
    raises in a RuntimeError): the run must stop as for any interrupt, not go on."""
    error = excinfo.value if excinfo is not None else None
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def _cannot_write(session: pytest.Session, problem: str) -> None:
    """A run that cannot write its results stops: what it checked next would be lost."""
    if WRITE_FAULT not in session.config.stash:
        session.config.stash[WRITE_FAULT] = problem
        operator_line(f"certkit: {problem}; stopping the run", problem=True)
    session.shouldstop = (f"the run could not write its results: "
                          f"{session.config.stash[WRITE_FAULT]}")


def _check_bench(run: CertkitRun, phases: dict, thorough: bool) -> None:
    """Ask the links this instance used whether the bench is sound now; they log what is
    not as a bench fault, so one that began before the instance and holds counts too.
    `thorough` also sends a message round the broker."""
    for transport in sorted(phases["links"]):
        if transport in run.links:
            run.links[transport].check_bench(thorough)


def _bench_faults(run: CertkitRun, phases: dict, ask: bool = True) -> list[BenchFault]:
    """The bench faults the links this instance used logged while it ran (C-2): a pass or
    fail stands only on a sound bench, and an error names the fault behind it."""
    used = [run.links[t] for t in sorted(phases["links"]) if t in run.links]

    def logged() -> list[BenchFault]:
        end = time.monotonic()
        return [fault for each in used for fault in each.bench_faults_between(phases["start"], end)]

    faults = logged()
    if not faults and ask:  # no call phase (a setup error, say): ask now, while links are open
        _check_bench(run, phases, thorough=False)
        faults = logged()
    return faults


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._\[\]-]", "_", name)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    run = _run(item.config)
    if run is None or INSTANCE not in item.stash:
        return (yield)
    instance = item.stash[INSTANCE]
    if getattr(item.config.option, "allure_report_dir", None):
        allure_labels.set_title_and_parameters(instance, run.profile)
    with deadline(deadline_for(instance.rule), instance.id):
        return (yield)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = _run(session.config)
    if run is None or run.refused:
        return
    run.record.finished = now()
    if run.watchdog is not None:
        run.watchdog.cancel()
    if WRITE_FAULT in session.config.stash:
        run.record.stop_reason = (f"the run could not write its results: "
                                  f"{session.config.stash[WRITE_FAULT]}")
    elif run.wrong_unit:
        run.record.stop_reason = run.wrong_unit
    elif run.watchdog is not None and run.watchdog.expired:
        run.record.stop_reason = (f"the run passed its overall bound of "
                                  f"{run.watchdog.seconds:g} s and was stopped")
    elif exitstatus == pytest.ExitCode.INTERRUPTED or session.shouldstop:
        run.record.stop_reason = "the run was interrupted"
    elif session.shouldfail:
        run.record.stop_reason = str(session.shouldfail)
    try:
        _write_session_outputs(session, run)
    except OSError as exc:  # the verdict.json of the last instance, if any, stays
        operator_line(f"certkit: the run's results could not be written to {run.out}: "
                      f"{exc.strerror}", problem=True)


def _write_session_outputs(session: pytest.Session, run: CertkitRun) -> None:
    try:  # what the verdict does not rest on: not written, the verdict still is
        allure_labels.write_environment(session.config, run)
        # What happened after the last instance's check (links closing) is the run's, not its.
        after = run.evidence.since(session.config.stash.get(FILED, 0))
        if after:
            write_atomically(run.out / "evidence" / "after-the-last-rule.log",
                             "after the last rule instance (links closing)\n\n"
                             + "".join(entry.line() + "\n" for entry in after))
    except OSError as exc:
        operator_line(f"certkit: the Allure environment or the evidence after the last rule "
                      f"could not be written to {run.out}: {exc.strerror}", problem=True)
    document = run.record.write()
    write_atomically(run.out / "junit.xml", junit_xml(document, list(run.record.results)))
    if run.signing_key is not None:
        certificate = sign(make_record(document, document["dut"]), run.signing_key)
        write_atomically(run.out / "certificate.json",
                         json.dumps(certificate, indent=2, ensure_ascii=False) + "\n")


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    run = _run(config)
    if run is not None and not run.refused:
        terminal.summary(terminalreporter, run.record, run.lint)


def _check_identity(session: pytest.Session, run: CertkitRun, transport: str,
                    opened: dict[str, Link]) -> None:
    """Before any rule uses a newly opened link: when the bench names the unit, is it the one
    on this transport? Another unit stops the run (a bench error naming expected and observed
    identity, so no rule is judged against it); an identity that cannot be read fails the link."""
    from certkit.identity import expected_identity, mismatches, observe

    expected = expected_identity(run.bench.identity, run.profile)
    if not expected:
        return
    try:
        observed = observe(transport, opened[transport], run.profile)
    except LabError as exc:
        raise LabError(f"the DUT's identity could not be read over {transport}: {exc}") from exc
    except Exception as exc:  # a bench or harness problem, never the DUT's fail
        raise LabError(f"the DUT's identity could not be read over {transport}: "
                       f"{type(exc).__name__}: {exc}") from exc
    for key, value in observed.items():
        run.record.observe(key, value, transport)
    run.evidence.note(f"identity over {transport}: " + ", ".join(
        f"{k} {v!r}" for k, v in sorted(observed.items())))
    wrong = mismatches(expected, observed)
    if wrong:
        problem = (f"bench error: the unit on {transport} is not the one the bench names: "
                   + "; ".join(wrong))
        opened.pop(transport).close(LINK_CLOSE_TIMEOUT_S)
        run.wrong_unit = run.wrong_unit or problem
        session.shouldstop = problem
        raise LabError(problem)


# ---------------------------------------------------------------- fixtures


def _required_run(request: pytest.FixtureRequest) -> CertkitRun:
    run = _run(request.config)
    if run is None:
        raise pytest.UsageError("certkit fixtures need --certkit-profile PROFILE")
    return run


@pytest.fixture(scope="session")
def lint_result(request: pytest.FixtureRequest) -> LintResult:
    """The design checks of the profile (findings with file, line, column)."""
    return _required_run(request).lint


@pytest.fixture(scope="session")
def profile(request: pytest.FixtureRequest) -> Profile:
    """The DUT's profile, typed (only when it passed its design checks)."""
    run = _required_run(request)
    if run.profile is None:
        raise LabError("the profile failed its design checks")
    return run.profile


@pytest.fixture(scope="session")
def bench(request: pytest.FixtureRequest) -> Bench:
    """Where the DUT is: ports, endpoints, adapters, emulators, reset method."""
    return _required_run(request).bench


@pytest.fixture(scope="session")
def evidence(request: pytest.FixtureRequest) -> EvidenceLog:
    """The run's evidence log; what is recorded during a test lands on its rule instance."""
    return _required_run(request).evidence


@pytest.fixture(scope="session")
def dut_identity(request: pytest.FixtureRequest) -> Callable[[str, str, str], None]:
    """Report what the DUT said about itself: dut_identity('firmware', '1.4.2', 'serial').

    The certification record names the identity as observed on the transports.
    """
    return _required_run(request).record.observe


@pytest.fixture
def limit_ms(profile: Profile) -> Callable[[str], int]:
    """A section 10 limit in ms, tightened by the profile's `timing`: limit_ms('reply-ms')."""
    return profile.limit_ms


@pytest.fixture(scope="session")
def link(request: pytest.FixtureRequest, profile: Profile, bench: Bench,
         evidence: EvidenceLog) -> Iterator[Callable[[str], Link]]:
    """Opens (once per run) and returns the link for a transport: link('serial')."""
    run = _required_run(request)
    opened = run.links  # the plugin asks the links an instance used about bench faults
    failed: dict[str, LabError] = {}  # a link that could not open is not retried per rule

    def get(transport: str) -> Link:
        if transport not in profile.transports.declared:
            raise NotApplicable(f"the profile declares no {transport} transport")
        run.links_used.add(transport)
        if transport in failed:
            raise LabError(f"the {transport} link could not be opened earlier in this run: "
                           f"{failed[transport]}")
        if transport not in opened:
            try:
                opened[transport] = open_link(transport, profile, bench, evidence,
                                              LINK_OPEN_TIMEOUT_S)
                # What the link chose itself (which embedded broker served, say) is bench too.
                served = getattr(opened[transport], "bench_facts", None)
                if served:
                    _required_run(request).record.bench.update(served)
                _check_identity(request.session, run, transport, opened)
            except LabError as exc:
                failed[transport] = exc
                raise
        return opened[transport]

    yield get
    for each in opened.values():
        each.close(LINK_CLOSE_TIMEOUT_S)
