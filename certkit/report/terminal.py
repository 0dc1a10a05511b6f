"""The summary a person reads at the end of a run: rules, outcomes, verdict.

One row per rule (its instances folded together, the worst outcome shown),
then every instance that failed or could not be checked, in full.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from certkit.design import LintResult
from certkit.report.junit import verdict_line
from certkit.report.record import RunRecord
from certkit.verdict import Outcome, RuleResult, warnings

if TYPE_CHECKING:
    import pytest

SHOWN = {
    Outcome.PASS: "pass",
    Outcome.FAIL: "FAIL",
    Outcome.ERROR: "ERROR",
    Outcome.NOT_APPLICABLE: "n/a",
    Outcome.WAIVED: "waived",
}
# Which outcome a folded row shows: the one a reader must see first.
WORST_FIRST = (Outcome.FAIL, Outcome.ERROR, Outcome.WAIVED, Outcome.PASS, Outcome.NOT_APPLICABLE)


def _shown(outcome: Outcome, level: str) -> str:
    return "warning" if outcome is Outcome.FAIL and level != "M" else SHOWN[outcome]


def _instance_id(result: RuleResult) -> str:
    return f"{result.rule}[{result.instance}]" if result.instance else result.rule


def summary_lines(record: RunRecord, lint: LintResult) -> list[str]:
    document = record.document()
    final = record.final()
    results = final.results
    by_rule: dict[str, list[RuleResult]] = defaultdict(list)
    for result in results:
        by_rule[result.rule].append(result)
    lines = [f"{'rule':<9} {'lvl':<3} {'outcome':<7} {'instances':<9} title"]
    for rule, members in by_rule.items():
        outcomes = {r.outcome for r in members}
        worst = next(o for o in WORST_FIRST if o in outcomes)
        count = sum(r.outcome is worst for r in members)
        lines.append(f"{rule:<9} {members[0].level:<3} {_shown(worst, members[0].level):<7} "
                     f"{f'{count}/{len(members)}':<9} {members[0].title}")
    # A recommended rule's fail is a warning (listed below), as in junit.xml and summary.md.
    problems = [r for r in results if r.outcome is Outcome.ERROR
                or r.outcome is Outcome.FAIL and r.level == "M"]
    if problems:
        lines.append("")
    for result in problems:
        lines.append(f"{SHOWN[result.outcome]:<5} {_instance_id(result)}: {result.message}")
    counts: dict[str, int] = {}
    for result in results:
        shown = _shown(result.outcome, result.level).lower()
        counts[shown] = counts.get(shown, 0) + 1
    order = ["pass", "fail", "warning", "error", "waived", "n/a"]
    lines += ["", "instances: " + ", ".join(
        f"{counts[o]} {o}" for o in sorted(counts, key=lambda o: (order + [o]).index(o)))]
    lines += [f"warning: {_instance_id(w)} {w.message}" for w in warnings(results)]
    lines += [f"waiver: {note}" for note in final.notes]
    if lint.findings:
        lines.append("design findings:")
        lines += [f"  {finding.text()}" for finding in lint.findings]
    if document["stop_reason"]:
        lines.append(f"stopped early: {document['stop_reason']}")
    lines.append(f"results in {record.out}")
    lines.append(f"VERDICT: {verdict_line(document)}")
    return lines


def summary(reporter: pytest.TerminalReporter, record: RunRecord, lint: LintResult) -> None:
    reporter.section("certkit verdict", sep="=")
    for line in summary_lines(record, lint):
        reporter.write_line(line)
