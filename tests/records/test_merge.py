"""The merged verdict of `certkit run --resume` (certkit/resume/merge.py, pure): only an
instance in `error` takes a later attempt; a pass, a fail, a waived fail and one that does
not apply are never replaced, whatever the later run says of them."""

from __future__ import annotations

from typing import Any

from certkit.certificate import make_record
from certkit.resume.merge import as_merged, merge


def result(rule: str, outcome: str, message: str = "", instance: str = "",
           level: str = "M", ran: bool = True) -> dict[str, Any]:
    key = f"{rule}[{instance}]" if instance else rule
    return {"rule": rule, "instance": instance, "level": level, "outcome": outcome,
            "message": message, "duration_s": 0.125, "title": rule,
            "evidence": f"evidence/{key}.log" if ran else None, "id": f"ECS-1.0:{rule}",
            "measurements": [], "chart": None, "ended": "2026-11-29T10:00:00.000+00:00"}


def document(verdict: str, *results: dict[str, Any], started: str = "t1",
             stop_reason: str | None = None) -> dict[str, Any]:
    return {"verdict": verdict, "standard": "ECS-1.0", "certkit": "0.1.0",
            "suite_sha256": "s" * 64, "profile": {"path": "p.yaml", "sha256": "p" * 64,
                                                   "model": "acme.kettle.k1"},
            "dut": {"model": "acme.kettle.k1", "firmware": "1.4.2", "observed": {}},
            "selection": [], "partial": False, "bench": {"emulate": "serial"},
            "bench_as_run": {"transports": {"serial": {"dut": "emulated", "faults": [],
                                                       "variants": [], "port": None}},
                             "emulated": ["serial"], "interop_faults": []},
            "started": started, "finished": started + "-end", "complete": stop_reason is None,
            "stop_reason": stop_reason, "bound": None, "waivers": [], "waiver_notes": [],
            "warnings": [], "rules": list(results),
            "custom_rules": {"files": [], "rules": []}}


def digest(path: str) -> str:
    return f"sha256 of {path}"


def test_only_errors_take_a_later_attempt_and_every_attempt_is_kept() -> None:
    first = document("NOT CERTIFIED",
                     result("SER-001", "pass"),
                     result("SER-002", "fail", "expected polls every 120 ms, observed 400 ms"),
                     result("SER-003", "waived", "a waived fail"),
                     result("SER-004", "not-applicable", "no readable property", ran=False),
                     result("MQT-001", "error", "the broker does not accept connections"),
                     result("MQT-002", "error", "not run: the run was interrupted", ran=False),
                     stop_reason="the run was interrupted")
    # The later run claims results for everything: only the errors may take them.
    later = document("CERTIFIED", *(result(rule, "pass") for rule in (
        "SER-001", "SER-002", "SER-003", "SER-004", "MQT-001", "MQT-002")), started="t2")
    # Even named among the instances to re-run, a fail is not replaced.
    merged = merge(as_merged(first, "v1", digest), later, ["MQT-001", "MQT-002", "SER-002"],
                   2, "runs/2", "v2", digest)
    shown = {r["rule"]: r for r in merged["rules"]}
    assert {rule: r["outcome"] for rule, r in shown.items()} == {
        "SER-001": "pass", "SER-002": "fail", "SER-003": "waived", "SER-004": "not-applicable",
        "MQT-001": "pass", "MQT-002": "pass"}
    assert merged["verdict"] == "NOT CERTIFIED"  # the fail is never hidden
    assert shown["SER-002"]["message"] == "expected polls every 120 ms, observed 400 ms"
    assert [(a["run"], a["outcome"]) for a in shown["SER-002"]["attempts"]] == [(1, "fail")]
    assert shown["SER-004"]["attempts"] == []
    assert [(a["run"], a["outcome"], a["evidence"]) for a in shown["MQT-001"]["attempts"]] \
        == [(1, "error", "runs/1/evidence/MQT-001.log"),
            (2, "pass", "runs/2/evidence/MQT-001.log")]
    assert shown["MQT-001"]["attempts"][0]["evidence_sha256"] == \
        "sha256 of runs/1/evidence/MQT-001.log"
    assert [a["run"] for a in shown["MQT-002"]["attempts"]] == [2]  # never reached before
    assert shown["MQT-002"]["evidence"] == "runs/2/evidence/MQT-002.log"
    assert merged["started"] == "t1" and merged["finished"] == "t2-end"
    assert merged["complete"] is True and merged["stop_reason"] is None
    assert [(r["run"], r["verdict_sha256"], r["resumed"]) for r in merged["merged"]["runs"]] \
        == [(1, "v1", None), (2, "v2", ["MQT-001", "MQT-002", "SER-002"])]


def test_an_instance_the_later_run_did_not_reach_keeps_its_error() -> None:
    first = document("INCOMPLETE", result("SER-001", "error", "the port vanished"))
    later = document("INCOMPLETE", result("SER-001", "error", "not run: interrupted",
                                          ran=False),
                     started="t2", stop_reason="the run was interrupted")
    merged = merge(as_merged(first, "v1", digest), later, ["SER-001"], 2, "runs/2", "v2",
                   digest)
    (only,) = merged["rules"]
    assert only["message"] == "the port vanished"
    assert [a["run"] for a in only["attempts"]] == [1]
    assert merged["verdict"] == "INCOMPLETE" and merged["complete"] is False


def test_a_merge_merged_again_keeps_all_its_attempts_and_signs_them_without_floats() -> None:
    runs = [document("INCOMPLETE", result("MQT-001", "error", f"down {n}"), started=f"t{n}")
            for n in (1, 2)]
    runs.append(document("CERTIFIED", result("MQT-001", "pass"), started="t3"))
    merged = as_merged(runs[0], "v1", digest)
    for number, later in ((2, runs[1]), (3, runs[2])):
        merged = merge(merged, later, ["MQT-001"], number, f"runs/{number}", f"v{number}",
                       digest)
    (only,) = merged["rules"]
    assert [(a["run"], a["outcome"]) for a in only["attempts"]] == \
        [(1, "error"), (2, "error"), (3, "pass")]
    assert merged["verdict"] == "CERTIFIED"
    record = make_record(merged, merged["dut"])
    assert [r["run"] for r in record["merged"]["runs"]] == [1, 2, 3]
    assert record["merged"]["runs"][1]["resumed"] == ["ECS-1.0:MQT-001"]  # qualified
    assert all("duration_s" not in a for a in record["rules"][0]["attempts"])
    assert [a["message"] for a in record["rules"][0]["attempts"]] == ["down 1", "down 2", ""]
    single = make_record(runs[2], runs[2]["dut"])  # a single run's record is as before
    assert "merged" not in single and "attempts" not in single["rules"][0]
