"""junit.xml, written from the verdict record rather than by pytest's --junitxml.

pytest's own JUnit file knows pytest outcomes only: a waived or recommended
rule's fail is a failure there, a lab error inside a check is a failure too,
and a planned instance that never ran is missing. CI reads this file to go
red, so it is made from the same record as the verdict, with the ECS-1
mapping:

- `failures`: unwaived fails of mandatory rules, the only ones that block;
- `errors`: instances in `error` (a check that did not run is one too);
- `skipped`: `not-applicable`, with the plan's reason;
- waived results and warnings (recommended rules that failed) pass, with
  their outcome in the test case's properties and the reason in system-out.

The suite's properties carry the verdict ("partial" for a --rules run) and the standard;
each test case's `rule` property is the rule's ID qualified by its standard
(`ECS-1.0:SER-004`; a rule of one's own stays `custom:LAB-001`).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

FAILURE = "failure"
ERROR = "error"


# What XML 1.0 cannot hold; a DUT's bytes can end up in a message.
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: object) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def verdict_line(document: dict[str, Any]) -> str:
    """The verdict as printed everywhere: 'CERTIFIED', 'CERTIFIED (partial: only SER-*)'."""
    selection = document.get("selection") or []
    partial = document.get("partial", bool(selection))
    if document.get("resumed"):  # one attempt of certkit run --resume, not the merged verdict
        return (f"{document['verdict']} (this attempt only: the {len(document['resumed'])} "
                "instances certkit run --resume re-ran)")
    if not partial:
        return str(document["verdict"])
    return f"{document['verdict']} (partial: only rules matching {', '.join(selection)})"


def qualified_rule(document: dict[str, Any], rule: dict[str, Any]) -> str:
    """ECS-1.0:SER-004: a result's `id`, or its `rule` under the record's standard (a record
    written before results carried `id`)."""
    if rule.get("id"):
        return str(rule["id"])
    if rule["rule"].startswith("custom:") or ":" in rule["rule"]:
        return str(rule["rule"])
    return f"{document.get('standard') or 'ECS-1.0'}:{rule['rule']}"


def instance_name(rule: dict[str, Any]) -> str:
    return f"{rule['rule']}[{rule['instance']}]" if rule.get("instance") else rule["rule"]


def all_rules(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The standard's results, then the rules of one's own."""
    custom = document.get("custom_rules") or {}
    return list(document.get("rules", [])) + list(custom.get("rules", []))


def kind(rule: dict[str, Any]) -> str:
    """What a result is in JUnit terms: failure, error, skipped or passed."""
    outcome = rule["outcome"]
    if outcome == "fail" and rule.get("level") == "M":
        return FAILURE
    if outcome == "error":
        return ERROR
    if outcome == "not-applicable":
        return "skipped"
    return "passed"


def junit_xml(document: dict[str, Any], order: list[str] | None = None) -> str:
    """`order`: instance names in the order they ran; the test cases follow it (CI tools
    show them so), then the instances that did not run, in the record's order."""
    rules = all_rules(document)
    if order:
        ran = {name: n for n, name in enumerate(order)}
        rules.sort(key=lambda r: ran.get(instance_name(r), len(ran)))
    kinds = [kind(r) for r in rules]
    suite = ET.Element("testsuite", {
        "name": f"certkit {document.get('standard', '')}".strip(),
        "tests": str(len(rules)),
        "failures": str(kinds.count(FAILURE)),
        "errors": str(kinds.count(ERROR)),
        "skipped": str(kinds.count("skipped")),
        "time": f"{sum(float(r.get('duration_s') or 0) for r in rules):.3f}",
        "timestamp": str(document.get("started") or ""),
    })
    properties = ET.SubElement(suite, "properties")
    dut = document.get("dut") or {}
    shown = {
        "verdict": verdict_line(document),
        "standard": document.get("standard", ""),
        "partial": str(bool(document.get("partial", bool(document.get("selection"))))).lower(),
        "selection": ", ".join(document.get("selection") or []),
        "complete": str(bool(document.get("complete"))).lower(),
        "stop_reason": document.get("stop_reason") or "",
        "model": dut.get("model") or (document.get("profile") or {}).get("model") or "",
        "firmware": dut.get("firmware") or "",
        "certkit": document.get("certkit", ""),
        "warnings": str(len(document.get("warnings") or [])),
        "waived": str(sum(r["outcome"] == "waived" for r in rules)),
    }
    for name, value in shown.items():
        ET.SubElement(properties, "property", {"name": name, "value": str(value)})
    for rule, what in zip(rules, kinds):
        family = rule["rule"].removeprefix("custom:").split("-")[0]
        case = ET.SubElement(suite, "testcase", {
            "classname": f"certkit.{'custom.' if rule['rule'].startswith('custom:') else ''}"
                         f"{family}",
            "name": instance_name(rule),
            "time": f"{float(rule.get('duration_s') or 0):.3f}",
        })
        props = ET.SubElement(case, "properties")
        ET.SubElement(props, "property", {"name": "rule", "value": qualified_rule(document, rule)})
        for name in ("level", "outcome", "evidence"):
            ET.SubElement(props, "property", {"name": name, "value": str(rule.get(name) or "")})
        message = rule.get("message") or ""
        detail = f"{message}\nevidence: {rule.get('evidence') or '-'}"
        if what in (FAILURE, ERROR):
            ET.SubElement(case, what, {"message": message, "type": rule["outcome"]}).text = detail
        elif what == "skipped":
            ET.SubElement(case, "skipped", {"message": message})
        elif rule["outcome"] == "fail":  # a recommended rule: a warning, never a failure
            ET.SubElement(case, "system-out").text = (
                f"warning (recommended rule, does not block certification): {detail}")
        elif rule["outcome"] == "waived":
            ET.SubElement(case, "system-out").text = f"waived: {detail}"
    for element in suite.iter():
        element.attrib = {k: _xml(v) for k, v in element.attrib.items()}
        if element.text:
            element.text = _xml(element.text)
    root = ET.Element("testsuites", {key: suite.get(key, "") for key in
                                     ("name", "tests", "failures", "errors", "skipped", "time")})
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n"
