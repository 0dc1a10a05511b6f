"""Lint findings as CI tools read them: SARIF 2.1.0 and GitHub workflow commands.

A mandatory rule's finding is an `error` (the run would refuse the profile),
a recommended rule's a `warning`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePath
from typing import Any

from certkit.design.findings import Finding, severity

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _artifact_uri(path: str) -> str:
    """A relative path stays a relative URI (resolved against the checkout by code
    scanning); an absolute one becomes a file URI."""
    pure = PurePath(path)
    return Path(path).absolute().as_uri() if pure.is_absolute() else pure.as_posix()


def sarif_log(findings: Iterable[Finding], unreadable: dict[str, str],
              version: str) -> dict[str, Any]:
    """One SARIF run: the rules that have findings, a result per finding, and a
    notification per profile that could not be read (`unreadable`: path -> reason)."""
    from certkit.standard import BUILTIN, standard
    from certkit.standard.catalogue import LEVEL_NAMES

    findings = list(findings)
    # A rule of ECS-1.0 by its own ID (as before standards were objects), another's qualified.
    def rule_key(f: Finding) -> str:
        return f.rule if f.standard == BUILTIN else standard(f.standard).qualified(f.rule)

    owners = {rule_key(f): f for f in findings}
    rule_ids = sorted(owners)
    rules = []
    for rule_id in rule_ids:
        rule = standard(owners[rule_id].standard).catalogue.get(owners[rule_id].rule)
        rules.append({
            "id": rule_id,
            "shortDescription": {"text": rule.title},
            "fullDescription": {"text": rule.text},
            "defaultConfiguration": {"level": severity(rule.level)},
            "properties": {"section": rule.section, "level": LEVEL_NAMES[rule.level]},
        })
    results = [{
        "ruleId": rule_key(f),
        "ruleIndex": rule_ids.index(rule_key(f)),
        "level": severity(f.level),
        "message": {"text": f.message},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": _artifact_uri(f.path)},
            "region": {"startLine": f.line, "startColumn": f.column},
        }}],
    } for f in findings]
    notifications = [{
        "level": "error",
        "message": {"text": reason},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": _artifact_uri(path)}}}],
    } for path, reason in unreadable.items()]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "certkit", "version": version, "rules": rules}},
            # certkit counts columns in characters, not UTF-16 code units (SARIF's default).
            "columnKind": "unicodeCodePoints",
            "invocations": [{"executionSuccessful": not unreadable,
                             "toolExecutionNotifications": notifications}],
            "results": results,
        }],
    }


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_command(kind: str, message: str, file: str | None = None, line: int | None = None,
                   col: int | None = None, title: str | None = None) -> str:
    """A workflow command that annotates a file: `::error file=F,line=L,col=C::message`."""
    props = [f"{name}={_escape_property(str(value))}"
             for name, value in (("file", file), ("line", line), ("col", col), ("title", title))
             if value is not None]
    return f"::{kind} {','.join(props)}::{_escape_data(message)}" if props \
        else f"::{kind}::{_escape_data(message)}"


def github_annotation(finding: Finding) -> str:
    return github_command(severity(finding.level), f"{finding.rule} {finding.message}",
                          file=finding.path, line=finding.line, col=finding.column,
                          title=finding.rule)
