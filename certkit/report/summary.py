"""A one-page Markdown summary of a run, for people and CI step summaries.

Built from `verdict.json` alone, so it can be made for any finished or
interrupted run: verdict, device, failing rules with what was expected and
observed, lab errors, warnings and waivers.
"""

from __future__ import annotations

from certkit.report.junit import all_rules, verdict_line


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


def _instance(rule: dict) -> str:
    return f"{rule['rule']}[{rule['instance']}]" if rule["instance"] else rule["rule"]


def _table(rows: list[dict]) -> list[str]:
    lines = ["| rule instance | level | message |", "| --- | --- | --- |"]
    for row in rows:
        message = row["message"].replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `{_instance(row)}` {row.get('title', '')} | {row['level']} | {message} |")
    return lines


def markdown_summary(verdict: dict) -> str:
    rules = all_rules(verdict)
    dut = verdict.get("dut") or {}
    counts: dict[str, int] = {}
    for rule in rules:  # a recommended rule's fail is a warning, as in junit.xml
        shown = "warning" if rule["outcome"] == "fail" and rule["level"] != "M" else rule["outcome"]
        counts[shown] = counts.get(shown, 0) + 1
    fails = [r for r in rules if r["outcome"] == "fail" and r["level"] == "M"]
    errors = [r for r in rules if r["outcome"] == "error"]
    lines = [
        f"# certkit: {verdict_line(verdict)}",
        "",
        f"**{dut.get('model') or verdict['profile']['model']}** firmware "
        f"{dut.get('firmware') or '?'} against {verdict['standard']}, certkit "
        f"{verdict['certkit']}; profile `{verdict['profile']['path']}` "
        f"(sha256 `{verdict['profile']['sha256'][:16]}…`).",
        "",
        "Rule instances: " + ", ".join(f"{n} {o}" for o, n in sorted(counts.items())) + ".",
    ]
    if verdict.get("selection"):
        lines += ["", f"Only rules matching {', '.join(verdict['selection'])} were checked."]
    if verdict.get("stop_reason"):
        lines += ["", f"The run stopped early: {verdict['stop_reason']}."]
    if fails:
        lines += ["", "## Device failures (block certification)", "", *_table(fails)]
    if errors:
        lines += ["", "## Could not be checked (lab or harness errors, not the device's fault)",
                  "", *_table(errors)]
    if verdict.get("warnings"):
        lines += ["", "## Warnings (recommended rules)", ""]
        lines += [f"- {warning}" for warning in verdict["warnings"]]
    if verdict.get("waivers") or verdict.get("waiver_notes"):
        lines += ["", "## Waivers", ""]
        lines += [f"- {w['rule']}{'[' + w['instance'] + ']' if w.get('instance') else ''}: "
                  f"{w['reason']} (by {w['reviewer']}, until {w['expires']})"
                  for w in verdict.get("waivers", [])]
        lines += [f"- note: {note}" for note in verdict.get("waiver_notes", [])]
    return "\n".join(lines) + "\n"
