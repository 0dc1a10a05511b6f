"""What a finished run leaves for people and CI besides its record: summary.md and, in
GitHub Actions, the step summary and an annotation per fail and error."""

# No `from __future__ import annotations` here: this module's own `annotations` would
# rebind the name (mypy: no-redef); every annotation in it evaluates at runtime on 3.11.

import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

from certkit.design.findings import Finding
from certkit.design.formats import github_annotation
from certkit.report.junit import all_rules, instance_name
from certkit.report.record import write_atomically
from certkit.report.summary import markdown_summary


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotations(document: dict[str, Any], findings: Iterable[Finding] = ()) -> list[str]:
    """`::error` for each fail of a mandatory rule and each error, `::warning` for each fail
    of a recommended rule, on the profile's file (the instance names the rule); a design
    rule's lint findings each on their line and column instead."""
    findings = list(findings)
    lines = [github_annotation(finding) for finding in findings]
    located = {finding.rule for finding in findings}
    profile = str((document.get("profile") or {}).get("path") or "")
    try:  # GitHub wants a path in the repository: relative to the job's working folder
        profile = os.path.relpath(profile) if os.path.isabs(profile) else profile
    except ValueError:
        pass
    for rule in all_rules(document):
        if rule.get("rule") in located:
            continue
        outcome = rule.get("outcome")
        if outcome == "fail":
            kind = "error" if rule.get("level") == "M" else "warning"
        elif outcome == "error":
            kind = "error"
        else:
            continue
        shown = "fail" if outcome == "fail" and kind == "error" else \
            "warning" if outcome == "fail" else "error (not checked)"
        title = f"certkit {instance_name(rule)}: {shown}"
        properties = f"file={_escape_property(profile)},title={_escape_property(title)}" \
            if profile else f"title={_escape_property(title)}"
        message = f"{rule.get('title') or rule['rule']}: {rule.get('message', '')}"
        lines.append(f"::{kind} {properties}::{_escape_data(message)}")
    return lines


def publish(out: Path, document: dict[str, Any], env: Mapping[str, str] = os.environ,
            stdout: TextIO = sys.stdout, findings: Iterable[Finding] = ()) -> None:
    """Write out/summary.md; under GitHub Actions (GITHUB_ACTIONS=true) also append it to
    $GITHUB_STEP_SUMMARY and print the annotations. Raises OSError when a file cannot be
    written."""
    summary = markdown_summary(document, out)
    write_atomically(out / "summary.md", summary)
    if env.get("GITHUB_ACTIONS") != "true":
        return
    step_summary = env.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as file:
            file.write(summary + "\n")
    for line in annotations(document, findings):
        print(line, file=stdout)
    stdout.flush()
