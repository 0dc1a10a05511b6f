"""A one-page Markdown summary of a run, for people and CI step summaries.

Built from `verdict.json` alone, so it can be made for any finished or
interrupted run: verdict, device, failing rules with what was expected and
observed, lab errors, warnings and waivers.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any
from urllib.parse import quote

from certkit.report.junit import all_rules, instance_name, verdict_line


def shape_problem(verdict: object) -> str | None:
    """Why a JSON document is not a run's verdict.json (what the summary reads), or None."""
    if not isinstance(verdict, dict):
        return "not a JSON object"
    for key in ("verdict", "standard", "certkit"):
        if not isinstance(verdict.get(key), str):
            return f"no {key} (text)"
    profile = verdict.get("profile")
    if not isinstance(profile, dict) or not all(isinstance(profile.get(k), str)
                                                for k in ("path", "sha256")):
        return "no profile with path and sha256"
    rules = all_rules(verdict) if isinstance(verdict.get("rules"), list) and isinstance(
        verdict.get("custom_rules", {}), dict) else None
    if rules is None:
        return "no list of rules"
    for rule in rules:
        if not isinstance(rule, dict) or not all(
                isinstance(rule.get(k), str) for k in ("rule", "level", "outcome", "message")):
            return "a rule result without rule, level, outcome and message"
    for key in ("selection", "warnings", "waivers", "waiver_notes"):
        if not isinstance(verdict.get(key, []), list):
            return f"{key} is not a list"
    if not isinstance(verdict.get("dut") or {}, dict):
        return "dut is not an object"
    return None


def _text(value: object) -> str:
    """Device and user text as Markdown that shows it as written: no HTML (a step summary
    renders it), no link, image, emphasis or table cell boundary, on one line."""
    text = html.escape(" ".join(str(value).splitlines()), quote=False)
    for char in "\\`*_[]|!":
        text = text.replace(char, "\\" + char)
    return text


def _code(value: object) -> str:
    """Text in a code span (shown literally, HTML included); a backtick cannot end it."""
    return "`" + " ".join(str(value).splitlines()).replace("`", "'") + "`"


def _instance(rule: dict[str, Any]) -> str:
    return f"{rule['rule']}[{rule['instance']}]" if rule["instance"] else rule["rule"]


def _table(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| rule instance | level | message |", "| --- | --- | --- |"]
    for row in rows:
        lines.append(f"| {_code(_instance(row))} {_text(row.get('title', ''))} "
                     f"| {_text(row['level'])} | {_text(row['message'])} |")
    return lines


def markdown_summary(verdict: dict[str, Any], folder: Path | None = None) -> str:
    rules = all_rules(verdict)
    dut = verdict.get("dut") or {}
    counts: dict[str, int] = {}
    for rule in rules:  # a recommended rule's fail is a warning, as in junit.xml
        shown = "warning" if rule["outcome"] == "fail" and rule["level"] != "M" else rule["outcome"]
        counts[shown] = counts.get(shown, 0) + 1
    fails = [r for r in rules if r["outcome"] == "fail" and r["level"] == "M"]
    errors = [r for r in rules if r["outcome"] == "error"]
    lines = [
        f"# certkit: {html.escape(verdict_line(verdict), quote=False)}",  # the user's --rules
        "",
        (f"**{_text(dut.get('model') or verdict['profile']['model'])}** firmware "
        f"{_text(dut.get('firmware') or '?')} against {_text(verdict['standard'])}, certkit "
        f"{_text(verdict['certkit'])}; profile {_code(verdict['profile']['path'])} "
        f"(sha256 {_code(verdict['profile']['sha256'][:16] + '…')})."),
        "",
        "Rule instances: " + ", ".join(f"{n} {o}" for o, n in sorted(counts.items())) + ".",
    ]
    if verdict.get("selection"):
        lines += ["", f"Only rules matching {_code(', '.join(verdict['selection']))} were checked."]
    if verdict.get("stop_reason"):
        lines += ["", f"The run stopped early: {_text(verdict['stop_reason'])}."]
    merged = (verdict.get("merged") or {}).get("runs") or []
    if merged:  # certkit run --resume: each run's own outputs are in runs/<n>/
        retried = sum(len(r.get("attempts") or []) > 1 for r in rules)
        lines += ["", f"Merged from {len(merged)} runs ({retried} instances retried after an "
                      "error; a pass or a fail is never re-run): "
                  + "; ".join(f"run {r['run']} started {_text(r['started'])}, "
                              f"{_text(r['verdict'])}, in {_code(r['folder'])}"
                              for r in merged) + "."]
    if fails:
        lines += ["", "## Device failures (block certification)", "", *_table(fails)]
    if errors:
        lines += ["", "## Could not be checked (lab or harness errors, not the device's fault)",
                  "", *_table(errors)]
    if verdict.get("warnings"):
        lines += ["", "## Warnings (recommended rules)", ""]
        lines += [f"- {_text(warning)}" for warning in verdict["warnings"]]
    lines += _pictures(rules, folder)
    if verdict.get("waivers") or verdict.get("waiver_notes"):
        lines += ["", "## Waivers", ""]
        lines += [f"- {_code(instance_name(w))}: "
                  f"{_text(w['reason'])} (by {_text(w['reviewer'])}, until {_text(w['expires'])})"
                  for w in verdict.get("waivers", [])]
        lines += [f"- note: {_text(note)}" for note in verdict.get("waiver_notes", [])]
    return "\n".join(lines) + "\n"


def _link(path: str) -> str:
    """A relative link that survives brackets in instance ids: evidence/INT-005[ble].svg."""
    return quote(path, safe="/")


def _pictures(rules: list[dict[str, Any]], folder: Path | None) -> list[str]:
    """Links to the latency charts (with their figures) and the run's timeline (when the
    run's folder is known and has one)."""
    charted = [r for r in rules if isinstance(r.get("chart"), str)]
    lines: list[str] = []
    if charted:
        lines += ["", "## Latency charts", ""]
        for rule in charted:
            figures = "; ".join(  # names may hold profile text: shown as written
                _text(f"{m['name']} {m['value']} {m['unit']} (limit {m['limit']}"
                      f"{'' if m.get('ok') else ', OUTSIDE'})")
                for m in rule.get("measurements") or []
                if isinstance(m, dict) and m.get("unit") == "ms")
            lines.append(f"- [{_code(_instance(rule))}]({_link(rule['chart'])}) {figures}")
    if folder is None or not (folder / "timeline.svg").exists():
        return lines
    lines += ["", ("Timeline of the run: [timeline.svg](timeline.svg); every exchange in "
                   "[trace.json](trace.json) (open it in Perfetto, ui.perfetto.dev).")]
    return lines
