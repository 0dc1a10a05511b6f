"""The summary a person reads at the end of a run: rules, outcomes, verdict.

One row per rule (its instances folded together, the worst outcome shown),
then every instance that failed or could not be checked, in full.
"""

from __future__ import annotations

from collections import defaultdict

from certkit.design import LintResult
from certkit.report.junit import verdict_line
from certkit.report.record import RunRecord
from certkit.verdict import Outcome, RuleResult, warnings

SHOWN = {
    Outcome.PASS: "pass",
    Outcome.FAIL: "FAIL",
    Outcome.ERROR: "ERROR",
    Outcome.NOT_APPLICABLE: "n/a",
    Outcome.WAIVED: "waived",
}
# Which outcome a folded row shows: the one a reader must see first.
WORST_FIRST = (Outcome.FAIL, Outcome.ERROR, Outcome.WAIVED, Outcome.PASS, Outcome.NOT_APPLICABLE)


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
        lines.append(f"{rule:<9} {members[0].level:<3} {SHOWN[worst]:<7} "
                     f"{f'{count}/{len(members)}':<9} {members[0].title}")
    problems = [r for r in results if r.outcome in (Outcome.FAIL, Outcome.ERROR)]
    if problems:
        lines.append("")
    for result in problems:
        lines.append(f"{SHOWN[result.outcome]:<5} {_instance_id(result)}: {result.message}")
    counts = {outcome: sum(r.outcome is outcome for r in results) for outcome in Outcome}
    lines += ["", "instances: " + ", ".join(f"{n} {o}" for o, n in counts.items() if n)]
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


def summary(reporter, record: RunRecord, lint: LintResult) -> None:
    reporter.section("certkit verdict", sep="=")
    for line in summary_lines(record, lint):
        reporter.write_line(line)
