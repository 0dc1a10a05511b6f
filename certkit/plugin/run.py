"""The state of one certification run, registered with pytest's plugin manager as the plugin
itself (as pytest's junitxml does): its hooks are its methods, and exist only in a run."""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certkit.bench import Bench
from certkit.benchfault import BenchFault, under_bench_faults
from certkit.checks import NotApplicable
from certkit.custom_rules import custom_rule, in_suite, location
from certkit.deadline import RunWatchdog, bound_in_force, deadline, deadline_for, run_bound
from certkit.design import LintResult
from certkit.evidence import EvidenceLog
from certkit.links import Link
from certkit.operator import use as use_operator
from certkit.operator.options import for_config as operator_for
from certkit.plan import Instance, Plan, make_plan
from certkit.plugin import collect
from certkit.plugin.collect import INSTANCE
from certkit.plugin.outcome import SHOWN_AS, Phase, judged, outcome, swallowed_interrupt
from certkit.profile.model import Profile
from certkit.report import allure_labels, terminal
from certkit.report.charts import write_chart
from certkit.report.evidence_files import (
    instance_file,
    write_after_last_rule,
    write_instance_evidence,
)
from certkit.report.junit import junit_xml
from certkit.report.outdir import default_folder, prepare
from certkit.report.progress import operator_line
from certkit.report.record import RunRecord, now, write_atomically
from certkit.report.signing import write_certificate
from certkit.standard.catalogue import Rule
from certkit.transports import transports
from certkit.verdict import Outcome, RuleResult
from certkit.waivers import Waiver

RUN = pytest.StashKey["CertkitRun"]()
# An instance's phases: evidence mark, start, reports, links.
PHASES = pytest.StashKey[dict[str, Any]]()

LINK_OPEN_TIMEOUT_S = 30.0
LINK_CLOSE_TIMEOUT_S = 5.0


class CertkitRun:
    """The state of one certification run inside a pytest session."""

    def __init__(self, config: pytest.Config, lint: LintResult, bench: Bench,
                 waivers: list[Waiver], signing_key: Ed25519PrivateKey | None) -> None:
        self.lint = lint
        self.standard = lint.standard  # the one the profile names: its rules, suite, record
        self.suite = self.standard.suite_paths()  # its package, and transports' modules
        self.bench = bench
        self.patterns: tuple[str, ...] = tuple(config.getoption("--certkit-rules"))
        profile = lint.profile
        model = profile.device.model if profile else None
        self.evidence = EvidenceLog()
        # The run's operator (docs/operators.md): with one, BLE-007 has its C-1 instances.
        emulated = profile is not None and set(profile.transports.declared) <= bench.emulate
        self.operator = operator_for(config, self.evidence, model or lint.path.stem, emulated)
        use_operator(self.operator)
        # A profile that fails lint is not planned: only its design rules are reported.
        self.plan: Plan | None = (make_plan(profile, self.patterns,
                                            operator=self.operator.present)
                                  if lint.ok and profile is not None else None)
        # `certkit run --resume`: only the instances an earlier run left in error or not run.
        self.resumed: frozenset[str] | None = (
            frozenset(config.getoption("--certkit-resume-instance"))
            if config.getoption("--certkit-resume-instance") else None)
        if self.plan is not None and self.resumed is not None:
            self.plan = replace(self.plan, instances=tuple(
                i for i in self.plan.instances if i.id in self.resumed))
        out = config.getoption("--certkit-out")
        # Never another run's folder (certkit/report/outdir.py); `certkit run` made it already.
        self.out = prepare(Path(out)) if out else default_folder(model or lint.path.stem)
        self.record = RunRecord(self.out, lint.path, lint.sha256, model, self.plan,
                                self.patterns, bench.describe(), waivers=waivers, setup=bench,
                                transports=profile.transports.declared if profile else (),
                                standard=self.standard,
                                resumed=tuple(sorted(self.resumed or ())))
        self.record.bench["operator"] = self.operator.shown  # who could answer questions
        if profile is not None:
            device = profile.device
            self.record.declared = {"model": device.model, "firmware": device.firmware,
                                    "mcu-version": device.mcu_version}
            for transport in transports().values():  # identities a transport states (device-id)
                self.record.declared |= transport.profile_identity(profile)
        self.signing_key = signing_key
        self.watchdog: RunWatchdog | None = None
        self.links: dict[str, Link] = {}    # the run's open links, by transport (`link` fixture)
        self.links_used: set[str] = set()   # the transports the running instance asked for
        self.refusals: list[str] = []       # why collected tests cannot run (file:line: what)
        self.refused = False                # the run was refused at collection: nothing ran
        self.wrong_unit: str | None = None  # the identity check found another unit (a stop)
        self.identity_read_over: set[str] = set()  # the transports the unit's identity was read on
        self.filed = 0                      # the evidence filed under instances so far (a mark)
        self.write_fault: str | None = None  # why the run could not write its results

    @property
    def profile(self) -> Profile | None:
        return self.lint.profile

    def rule(self, rule_id: str, marker: pytest.Mark, node: pytest.Item) -> Rule:
        """The rule a test checks: the catalogue's for the standard's suite, else a rule of
        one's own (`custom:ID`); raises RuleRefused (file:line: what) for a test outside the
        suite that claims or imitates a standard rule, or lacks level or title."""
        rules = self.standard.catalogue
        if in_suite(node.path, self.suite) and rule_id in rules:
            return rules.get(rule_id)
        # An item that is no Python function (no `obj`) is located by its file alone.
        return custom_rule(rule_id, marker.kwargs,
                           location(node.path, getattr(node, "obj", None)), rules)

    def instances(self, rule: Rule) -> list[Instance]:
        """A test's instances; never empty (what is not to run is deselected later)."""
        if self.plan is None:  # the profile failed lint: only the design rules run
            if rule.id in self.lint.design_rules:
                return [Instance(rule, reason="applies to every profile")]
            return [Instance(rule, applies=False, reason="the profile failed its design checks")]
        if rule.id not in self.standard.catalogue:
            return [Instance(rule, reason="a rule of the bench's own")]
        return self.plan.of(rule.id) or [Instance(rule, applies=False, reason="not selected")]

    def judged(self, instance: Instance, result: Outcome, message: str) -> str:
        """How an outcome shows: pass, fail, error, not-applicable, waived, or warning."""
        return judged(instance, result, message, self.record.waivers)

    # ------------------------------------------------------------ collection

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        collect.parametrize(self, metafunc)

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(
            self, collector: pytest.Collector,
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        report = yield
        collect.note_collected(self, collector, report)
        return report

    # Last, so that a plugin that reorders tests (pytest-randomly) cannot change the run order.
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        keep = collect.select(self, config, items)
        bound_s = self.bound(config, [item.stash[INSTANCE] for item in keep
                                      if INSTANCE in item.stash])
        try:
            self.record.write()
        except OSError as exc:  # nothing is checked that could not be recorded
            self.write_fault = f"verdict.json could not be written to {self.out}: {exc.strerror}"
            config.hook.pytest_deselected(items=list(items))
            items[:] = []
            return
        self.watchdog = RunWatchdog(bound_s)
        self.watchdog.start()

    def bound(self, config: pytest.Config, instances: list[Instance]) -> float:
        """The run's overall bound in force: derived from what it will check
        (deadline.run_bound), or --max-duration if smaller. Printed now and recorded in
        verdict.json."""
        applying = [i.rule for i in instances if i.applies]
        links = len(self.profile.transports.declared) if self.profile else 0
        derived = run_bound(applying, links, LINK_OPEN_TIMEOUT_S + LINK_CLOSE_TIMEOUT_S)
        seconds, source = bound_in_force(derived, config.getoption("--certkit-max-duration"))
        self.record.bound = {"seconds": seconds, "source": source, "plan_seconds": derived}
        operator_line(f"certkit run: bounded to {seconds:g} s (by its plan)" if source == "plan"
                      else f"certkit run: bounded to {seconds:g} s (by --max-duration; the "
                           f"plan allows {derived:.0f} s)")
        return seconds

    # ------------------------------------------------------------ each instance

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item,
                                nextitem: pytest.Item | None,
                                ) -> Generator[None, object | None, object | None]:
        if INSTANCE not in item.stash:
            return (yield)
        self.links_used = set()
        item.stash[PHASES] = {"mark": self.evidence.mark(), "start": time.monotonic(),
                              "reports": [], "links": self.links_used}
        try:
            return (yield)
        except OSError as exc:  # Allure writes its result as the item ends (logfinish)
            self.cannot_write(item.session, f"the Allure results could not be written: "
                                            f"{exc.strerror or exc}")
            return True

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """An instance the plan says does not apply ends before any fixture opens a link."""
        instance = item.stash.get(INSTANCE, None)
        if instance is not None and not instance.applies:
            raise NotApplicable(instance.reason)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        if INSTANCE not in item.stash:
            return (yield)
        instance = item.stash[INSTANCE]
        if getattr(item.config.option, "allure_report_dir", None):
            allure_labels.set_title_and_parameters(instance, self.profile)
        with deadline(deadline_for(instance.rule), instance.id):
            return (yield)

    # Outermost (tryfirst), so that what it does to the report and to Allure's result comes
    # after Allure's own wrapper has read them.
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
            self, item: pytest.Item, call: pytest.CallInfo[None],
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        phases = item.stash.get(PHASES, None)
        if phases is not None:
            phases["reports"].append((Phase(report.when, report.passed, report.longrepr),
                                      call.excinfo))
            if call.when == "call":  # before teardown, which closes the links after the last test
                # A pass or fail is only as good as the bench: a hung broker also makes "nothing
                # changed" pass, so both get the thorough check (a probe round the broker, a
                # millisecond or two on a sound bench).
                judged_call = call.excinfo is None or isinstance(call.excinfo.value, AssertionError)
                self.check_bench(phases, thorough=judged_call)
                # What follows (links closed after the last instance) is not this instance's.
                phases["end"] = self.evidence.mark()
                self.show_call(item, phases, report)
            if call.when == "teardown":
                self.finish(item, phases)
        return report

    def pytest_report_teststatus(self, report: pytest.TestReport,
                                 config: pytest.Config) -> tuple[str, str, str] | None:
        return getattr(report, "certkit_shown", None)

    def show_call(self, item: pytest.Item, phases: dict[str, Any],
                  report: pytest.TestReport) -> None:
        result, message = outcome(phases["reports"])
        # The bench was just checked (pytest_runtest_makereport): only what the links logged.
        result, message = under_bench_faults(result, message,
                                             self.bench_faults(phases, ask=False))
        shown = self.judged(item.stash[INSTANCE], result, message)
        if shown in ("waived", "warning"):
            report.outcome = "passed"
            report.sections.append(("certkit", f"{shown}: {message}"))
        elif shown == Outcome.ERROR:
            report.outcome = "failed"
            if report.longrepr is None:
                report.longrepr = message
        if shown in SHOWN_AS:
            # A report carries extra attributes (pytest keeps its __dict__); its class
            # declares none.
            report.certkit_shown = SHOWN_AS[shown]  # type: ignore[attr-defined]

    def finish(self, item: pytest.Item, phases: dict[str, Any]) -> None:
        """The instance's outcome, evidence, figures, chart and Allure status, recorded."""
        instance = item.stash[INSTANCE]
        result, message = outcome(phases["reports"])
        if any(swallowed_interrupt(excinfo) for _, excinfo in phases["reports"]):
            item.session.shouldstop = "the run was interrupted"
        result, message = under_bench_faults(result, message, self.bench_faults(phases))
        end = phases.get("end", self.evidence.mark())
        items = self.evidence.since(phases["mark"])[:end - phases["mark"]]
        self.filed = end
        evidence_file: Path | None
        try:
            evidence_file = write_instance_evidence(
                self.out, instance.id, instance.rule.title, instance.label, str(result),
                message, items)
        except OSError as exc:
            problem = (f"its evidence could not be written to "
                       f"{self.out / instance_file(instance.id)}: {exc.strerror}")
            self.cannot_write(item.session, problem)
            result, message = Outcome.ERROR, f"{problem} (it was: {result}. {message})"
            evidence_file = None
        figures = [entry.measurement for entry in items if entry.measurement is not None]
        self.record.measurements[instance.id] = figures
        chart = None
        if evidence_file is not None:
            try:
                chart = write_chart(self.out, evidence_file,
                                    f"{instance.id} {instance.rule.title}", figures)
            except OSError as exc:  # the figures are in verdict.json either way
                operator_line(f"certkit: the chart of {instance.id} could not be written: "
                              f"{exc.strerror}", problem=True)
        if chart is not None:
            self.record.charts[instance.id] = str(chart)
        shown = self.judged(instance, result, message)
        if getattr(item.config.option, "allure_report_dir", None):
            try:
                allure_labels.attach_evidence(items, f"{instance.id}: {shown}. {message}")
                allure_labels.attach_measurements(figures, self.out / chart if chart else None)
            except OSError as exc:
                self.cannot_write(item.session,
                                  f"the Allure results could not be written: {exc.strerror}")
            allure_labels.set_status(item, shown, message)
        rule = instance.rule
        try:
            self.record.add(instance.id, RuleResult(
                rule.id, instance.key, rule.level, result, message,
                time.monotonic() - phases["start"], rule.title,
                str(evidence_file) if evidence_file else None))
        except OSError as exc:
            self.cannot_write(item.session, f"verdict.json could not be written to {self.out}: "
                                            f"{exc.strerror}")

    def cannot_write(self, session: pytest.Session, problem: str) -> None:
        """A run that cannot write its results stops: what it checked next would be lost."""
        if self.write_fault is None:
            self.write_fault = problem
            operator_line(f"certkit: {problem}; stopping the run", problem=True)
        session.shouldstop = f"the run could not write its results: {self.write_fault}"

    def check_bench(self, phases: dict[str, Any], thorough: bool) -> None:
        """Ask the links this instance used whether the bench is sound now; they log what is
        not as a bench fault, so one that began before the instance and holds counts too.
        `thorough` also sends a message round the broker."""
        for transport in sorted(phases["links"]):
            if transport in self.links:
                self.links[transport].check_bench(thorough)

    def bench_faults(self, phases: dict[str, Any], ask: bool = True) -> list[BenchFault]:
        """The bench faults the links this instance used logged while it ran (C-2): a pass or
        fail stands only on a sound bench, and an error names the fault behind it."""
        used = [self.links[t] for t in sorted(phases["links"]) if t in self.links]

        def logged() -> list[BenchFault]:
            end = time.monotonic()
            return [fault for each in used
                    for fault in each.bench_faults_between(phases["start"], end)]

        faults = logged()
        if not faults and ask:  # no call phase (a setup error, say): ask now, while links are open
            self.check_bench(phases, thorough=False)
            faults = logged()
        return faults

    # ------------------------------------------------------------ the session's end

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.refused:
            return
        self.record.finished = now()
        use_operator(None)
        if self.watchdog is not None:
            self.watchdog.cancel()
        if self.write_fault is not None:
            self.record.stop_reason = f"the run could not write its results: {self.write_fault}"
        elif self.wrong_unit:
            self.record.stop_reason = self.wrong_unit
        elif unconfirmed := self.unconfirmed_identity():
            self.record.stop_reason = ("bench error: the unit was not confirmed as the one the "
                                       "bench names: " + "; ".join(unconfirmed))
        elif self.watchdog is not None and self.watchdog.expired:
            self.record.stop_reason = (f"the run passed its overall bound of "
                                       f"{self.watchdog.seconds:g} s and was stopped")
        elif exitstatus == pytest.ExitCode.INTERRUPTED or session.shouldstop:
            self.record.stop_reason = "the run was interrupted"
        elif session.shouldfail:
            self.record.stop_reason = str(session.shouldfail)
        try:
            self.write_session_outputs(session)
        except OSError as exc:  # the verdict.json of the last instance, if any, stays
            operator_line(f"certkit: the run's results could not be written to {self.out}: "
                          f"{exc.strerror}", problem=True)

    def unconfirmed_identity(self) -> list[str]:
        from certkit.identity import expected_identity, unconfirmed

        expected = expected_identity(self.bench.identity, self.profile) if self.profile else {}
        return unconfirmed(expected, self.record.observed, self.identity_read_over)

    def write_session_outputs(self, session: pytest.Session) -> None:
        try:  # what the verdict does not rest on: not written, the verdict still is
            folder = getattr(session.config.option, "allure_report_dir", None)
            if folder:
                allure_labels.write_environment(
                    Path(folder), self.lint.path, self.lint.sha256, self.profile,
                    self.bench.describe(), self.patterns, self.standard.name)
            # What happened after the last instance's check (links closing) is the run's.
            write_after_last_rule(self.out, self.evidence.since(self.filed))
        except OSError as exc:
            operator_line(f"certkit: the Allure environment or the evidence after the last "
                          f"rule could not be written to {self.out}: {exc.strerror}",
                          problem=True)
        document = self.record.write()
        write_atomically(self.out / "junit.xml", junit_xml(document, list(self.record.results)))
        if self.signing_key is not None:
            write_certificate(self.out, document, self.signing_key)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter,
                                exitstatus: int, config: pytest.Config) -> None:
        if not self.refused:
            terminal.summary(terminalreporter, self.record, self.lint)
