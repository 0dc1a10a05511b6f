"""The merged verdict of runs of one profile on one bench (pure, over verdict documents).

Each instance keeps every attempt (`attempts`: run, outcome, message, when it ended, its
evidence file and that file's sha256); its result is its last attempt's. Only an instance
that ended in `error` or never ran takes a later attempt: a pass, a fail (waived or not) and
one that does not apply are never replaced. Paths (evidence, charts) are relative to the
merged folder, which holds each run's own folder as runs/<n>/.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from certkit.resume.earlier import described_keys, instance_id
from certkit.verdict import Outcome, RuleResult, Verdict, decide

Digest = Callable[[str], "str | None"]  # a path in the merged folder -> its sha256, if any


def run_entry(document: dict[str, Any], number: int, folder: str,
              verdict_sha256: str) -> dict[str, Any]:
    """One run of a merge as `merged.runs` lists it."""
    return {"run": number, "folder": folder, "started": document.get("started"),
            "finished": document.get("finished"), "verdict": document.get("verdict"),
            "complete": document.get("complete"), "stop_reason": document.get("stop_reason"),
            "verdict_sha256": verdict_sha256, "resumed": document.get("resumed")}


def _moved(path: str | None, folder: str) -> str | None:
    return f"{folder}/{path}" if path else None


def _attempt(result: dict[str, Any], number: int, folder: str,
             digest: Digest) -> dict[str, Any] | None:
    """The attempt a run's result records, or None when the instance did not run in it
    (no evidence: planned but never reached)."""
    evidence = _moved(result.get("evidence"), folder)
    if evidence is None:
        return None
    return {"run": number, "outcome": result["outcome"], "message": result["message"],
            "ended": result.get("ended"), "duration_s": result.get("duration_s"),
            "evidence": evidence, "evidence_sha256": digest(evidence)}


def _from_run(result: dict[str, Any], number: int, folder: str, digest: Digest,
              attempts: list[dict[str, Any]]) -> dict[str, Any]:
    """A run's result as the merged verdict shows it: its paths under the run's folder."""
    moved = {**result, "evidence": _moved(result.get("evidence"), folder),
             "chart": _moved(result.get("chart"), folder)}
    attempt = _attempt(result, number, folder, digest)
    moved["attempts"] = [*attempts, *([attempt] if attempt else [])]
    return moved


def as_merged(document: dict[str, Any], verdict_sha256: str, digest: Digest) -> dict[str, Any]:
    """A single run's verdict as the first run of a merge (its folder runs/1)."""
    if isinstance(document.get("merged"), dict):
        return document
    folder = "runs/1"

    def each(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [_from_run(r, 1, folder, digest, []) for r in results]

    custom = document.get("custom_rules") or {"files": [], "rules": []}
    return {**document, "rules": each(document["rules"]),
            "custom_rules": {**custom, "rules": each(custom.get("rules", []))},
            "merged": {"runs": [run_entry(document, 1, folder, verdict_sha256)]}}


def _merge_results(before: list[dict[str, Any]], after: dict[str, dict[str, Any]],
                   rerun: set[str], number: int, folder: str,
                   digest: Digest) -> list[dict[str, Any]]:
    merged = []
    for result in before:
        key = instance_id(result)
        new = after.get(key)
        if (result["outcome"] != str(Outcome.ERROR) or key not in rerun or new is None
                or _attempt(new, number, folder, digest) is None):
            merged.append(result)  # kept as it was: not to re-run, or not reached again
        else:
            merged.append(_from_run(new, number, folder, digest, result.get("attempts", [])))
    return merged


def _dut(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The unit's identity over the runs; a field two runs saw otherwise is conflicting."""
    dut = dict(before)
    for name, value in after.items():
        if name == "observed":
            continue
        if dut.get(name) is None:
            dut[name] = value
        elif value is not None and value != dut[name]:
            dut[name] = f"conflicting: {dut[name]} before, {value} in the resumed run"
    observed: dict[str, dict[str, str]] = {k: dict(v) for k, v in
                                           (before.get("observed") or {}).items()}
    for name, sources in (after.get("observed") or {}).items():
        for source, value in sources.items():
            seen = observed.setdefault(name, {}).get(source)
            observed[name][source] = value if seen in (None, value) else (
                f"conflicting: {seen} before, {value} in the resumed run")
    dut["observed"] = observed
    return dut


def _bench_as_run(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The earlier bench, with what the resumed run's links reported where it said more."""
    shown = {**before, "transports": {name: dict(entry) for name, entry in
                                      before.get("transports", {}).items()}}
    for name, entry in after.get("transports", {}).items():
        target = shown["transports"].setdefault(name, {})
        target |= {k: v for k, v in entry.items() if v is not None and target.get(k) is None}
    if "lab" in after and "lab" not in shown:
        shown["lab"] = after["lab"]
    return shown


def _unique(items: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _verdict(results: list[dict[str, Any]], stop_reason: str | None) -> Verdict:
    verdict = decide(RuleResult(r["rule"], r["instance"], r["level"], Outcome(r["outcome"]))
                     for r in results)
    if stop_reason and verdict is Verdict.CERTIFIED:
        verdict = Verdict.INCOMPLETE
    return verdict


def merge(earlier: dict[str, Any], after: dict[str, Any], rerun: list[str], number: int,
          folder: str, verdict_sha256: str, digest: Digest) -> dict[str, Any]:
    """`earlier` (merged form, `as_merged`) continued by run `number`, whose verdict `after`
    was written in `folder` after re-running the instances `rerun`."""
    resumed = set(rerun)
    after_results = {instance_id(r): r for r in after.get("rules", [])
                     + (after.get("custom_rules") or {}).get("rules", [])}
    rules = _merge_results(earlier["rules"], after_results, resumed, number, folder, digest)
    custom = earlier.get("custom_rules") or {"files": [], "rules": []}
    custom_rules = _merge_results(custom.get("rules", []), after_results, resumed, number,
                                  folder, digest)
    stop_reason = after.get("stop_reason")
    new_bench = {k: v for k, v in (after.get("bench") or {}).items()
                 if k not in described_keys()}
    return {
        **earlier,
        "verdict": str(_verdict(rules + custom_rules, stop_reason)),
        "dut": _dut(earlier.get("dut") or {}, after.get("dut") or {}),
        "bench": {**earlier.get("bench", {}), **new_bench},
        "bench_as_run": _bench_as_run(earlier.get("bench_as_run") or {},
                                      after.get("bench_as_run") or {}),
        "finished": after.get("finished"),
        "complete": bool(after.get("complete")),
        "stop_reason": stop_reason,
        "bound": after.get("bound"),
        "waivers": _unique([*earlier.get("waivers", []), *after.get("waivers", [])]),
        "waiver_notes": _unique([*earlier.get("waiver_notes", []),
                                 *after.get("waiver_notes", [])]),
        "warnings": [f"{instance_id(r)}: {r['message']}" for r in rules + custom_rules
                     if r["outcome"] == str(Outcome.FAIL) and r["level"] == "R"],
        "rules": rules,
        "custom_rules": {
            "files": _unique([*custom.get("files", []),
                              *(after.get("custom_rules") or {}).get("files", [])]),
            "rules": custom_rules},
        "merged": {"runs": [*earlier["merged"]["runs"],
                            {**run_entry(after, number, folder, verdict_sha256),
                             "resumed": sorted(resumed)}]},
    }
