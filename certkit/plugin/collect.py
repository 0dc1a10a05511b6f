"""Collection: which rule instances each test checks, what is refused, what is deselected,
and the catalogue's run order."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from certkit.custom_rules import RuleRefused, in_suite, load_problem, location, selected_rule, shown
from certkit.plan import Instance
from certkit.report import allure_labels
from certkit.report.record import sha256_file

if TYPE_CHECKING:
    from certkit.plugin.run import CertkitRun

INSTANCE = pytest.StashKey[Instance]()  # the rule instance an item checks


def parametrize(run: CertkitRun, metafunc: pytest.Metafunc) -> None:
    """Parametrize a `certkit_rule` test with its instances (`rule_instance`)."""
    marker = metafunc.definition.get_closest_marker("certkit_rule")
    if marker is None:
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


def note_collected(run: CertkitRun, collector: pytest.Collector,
                   report: pytest.CollectReport) -> None:
    """A test file that cannot be collected (a syntax error, a failed import) refuses the run,
    named plainly (file:line: what) rather than as an "error during collection". Every test
    file outside the suite that was loaded goes into the record with its sha256, whether or
    not a rule of it runs: its code ran in the session."""
    if report.failed:
        run.refusals.append(load_problem(collector.path, str(report.longrepr)))
    elif isinstance(collector, pytest.Module) and not in_suite(collector.path, run.suite):
        run.record.custom_files[shown(collector.path)] = sha256_file(collector.path)


def select(run: CertkitRun, config: pytest.Config, items: list[pytest.Item]) -> list[pytest.Item]:
    """Refuse the run if a test was refused; deselect what is not to run; label the rest and
    put them in run order. Returns the kept items as collected."""
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
                not run.lint.ok and instance.rule.id not in run.lint.design_rules) or (
                run.resumed is not None and instance.id not in run.resumed):
            drop.append(item)
            continue
        item.stash[INSTANCE] = instance
        run.record.collected[instance.id] = instance
        # Who checks what: two tests giving one instance two results is a harness error.
        run.record.claims.setdefault(instance.id, []).append(f"{shown(item.path)}::{item.name}")
        allure_labels.label(item, instance, run.profile, run.standard)
        keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = run_order(run, keep)
    return keep


def run_order(run: CertkitRun, items: list[pytest.Item]) -> list[pytest.Item]:
    """The items in the catalogue's run order, each rule's instances in the plan's order;
    rules of one's own and plain tests after the standard's, as collected."""
    planned = {i.id: n for n, i in enumerate(run.plan.instances)} if run.plan else {}
    rules = run.standard.catalogue

    def key(numbered: tuple[int, pytest.Item]) -> tuple[int, int, int]:
        n, item = numbered
        instance = item.stash.get(INSTANCE, None)
        if instance is None:
            return (len(rules.run_order) + 1, 0, n)
        return (rules.run_position(instance.rule.id), planned.get(instance.id, 0), n)

    return [item for _, item in sorted(enumerate(items), key=key)]
