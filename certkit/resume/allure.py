"""The merged folder's allure-results/: for each instance, the Allure result of the run that
holds its last attempt (with its attachments and fixture containers), so that
`certkit report OUT2` shows the merged verdict; each run's own results stay in runs/<n>/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from certkit.report.junit import all_rules
from certkit.resume.earlier import instance_id

RESULTS = "allure-results"


def latest_runs(document: dict[str, Any]) -> dict[str, int]:
    """Instance id -> the run of its last attempt, for every instance that has one."""
    return {instance_id(r): r["attempts"][-1]["run"] for r in all_rules(document)
            if r.get("attempts")}


def _instance(result: dict[str, Any]) -> str | None:
    """The instance an Allure result is of: its `rule_instance` parameter, else the rule
    its tag names (a rule checked once); None for a test that names neither."""
    for parameter in result.get("parameters") or []:
        if parameter.get("name") == "rule_instance":
            return str(parameter.get("value"))
    for label in result.get("labels") or []:
        if label.get("name") == "tag" and ":" in str(label.get("value")):
            rule = str(label["value"])
            return rule if rule.startswith("custom:") else rule.split(":", 1)[1]
    return None


def _attachments(node: dict[str, Any]) -> list[str]:
    """The attachment files a result (and its steps) names."""
    found = [str(a["source"]) for a in node.get("attachments") or [] if "source" in a]
    for step in node.get("steps") or []:
        found += _attachments(step)
    return found


def merge_allure(out: Path, document: dict[str, Any]) -> None:
    """Write out/allure-results/ from the runs/<n>/allure-results/ the merge names."""
    latest = latest_runs(document)
    target = out / RESULTS
    target.mkdir(exist_ok=True)
    for run in document["merged"]["runs"]:
        source = out / run["folder"] / RESULTS
        if not source.is_dir():
            continue
        kept: set[str] = set()
        for path in sorted(source.glob("*-result.json")):
            try:
                result = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError):
                continue
            instance = _instance(result)
            if instance is not None and latest.get(instance) != run["run"]:
                continue  # another run holds this instance's last attempt
            kept.add(str(result.get("uuid")))
            for name in [path.name, *_attachments(result)]:
                if (source / name).is_file():
                    shutil.copy2(source / name, target / name)
        for path in source.iterdir():
            if path.name.endswith("-container.json"):
                try:
                    container = json.loads(path.read_text("utf-8"))
                except (OSError, ValueError):
                    continue
                if not kept.intersection(container.get("children") or []):
                    continue
                shutil.copy2(path, target / path.name)
                for fixture in [*(container.get("befores") or []),
                                *(container.get("afters") or [])]:
                    for name in _attachments(fixture):
                        if (source / name).is_file():
                            shutil.copy2(source / name, target / name)
            elif not path.name.endswith(("-result.json", "-attachment")) and \
                    "-attachment." not in path.name and path.is_file():
                shutil.copy2(path, target / path.name)  # environment, categories: the last run's
