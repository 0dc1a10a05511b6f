"""The summary a person reads at the end of a run: rules, outcomes, verdict."""

from __future__ import annotations

from certkit.design import LintResult
from certkit.report.record import RunRecord
from certkit.verdict import Outcome, warnings

MARK = {
    Outcome.PASS: "pass",
    Outcome.FAIL: "FAIL",
    Outcome.ERROR: "ERROR",
    Outcome.NOT_APPLICABLE: "n/a",
    Outcome.WAIVED: "waived",
}


def summary_lines(record: RunRecord, lint: LintResult, width: int = 100) -> list[str]:
    document = record.document()
    results = record.all_results()
    lines = []
    if lint.findings:
        lines.append("design findings:")
        lines += [f"  {finding.text()}" for finding in lint.findings]
    lines.append(f"{'rule instance':<22} {'lvl':<3} {'outcome':<7} message")
    for result in results:
        rid = f"{result.rule}[{result.instance}]" if result.instance else result.rule
        message = result.message.replace("\n", " ")
        room = max(20, width - 36)
        if len(message) > room:
            message = message[: room - 1] + "…"
        lines.append(f"{rid:<22} {result.level:<3} {MARK[result.outcome]:<7} {message}")
    counts = {outcome: sum(r.outcome is outcome for r in results) for outcome in Outcome}
    lines.append(", ".join(f"{n} {o}" for o, n in counts.items() if n))
    for warning in warnings(results):
        lines.append(f"warning: {warning.rule} {warning.message}")
    if document["stop_reason"]:
        lines.append(f"stopped early: {document['stop_reason']}")
    lines.append(f"results in {record.out}")
    lines.append(f"VERDICT: {document['verdict']}")
    return lines


def summary(reporter, record: RunRecord, lint: LintResult) -> None:
    reporter.section("certkit verdict", sep="=")
    for line in summary_lines(record, lint, reporter._tw.fullwidth):
        reporter.write_line(line)
