"""`certkit run` end to end: outputs, exit codes and interrupted runs."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support.cli import certkit, start_certkit
from tests.support.paths import KETTLE, ROOT
from tests.support.results import outcomes, read_verdict

BENCH_RULES = ROOT / "fixtures" / "rules" / "bench_rules.py"


def allure_results(out: Path) -> list[dict]:
    folder = out / "allure-results"
    return [json.loads(p.read_text("utf-8")) for p in folder.glob("*-result.json")]


def labels(result: dict) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for label in result["labels"]:
        found.setdefault(label["name"], []).append(label["value"])
    return found


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory) -> tuple[int, Path]:
    out = tmp_path_factory.mktemp("clean")
    result = certkit("run", KETTLE, "--out", out, "--rules", "PRF-*", "--rules", "DSN-*",
                     "--rules", "SEC-001")
    return result.code, out


def test_clean_profile_design_rules_certified(clean_run):
    code, out = clean_run
    verdict = read_verdict(out)
    assert code == 0
    assert verdict["verdict"] == "CERTIFIED"
    assert verdict["complete"] is True
    assert verdict["profile"]["model"] == "acme.kettle.k1"
    assert verdict["profile"]["sha256"] == __import__("hashlib").sha256(KETTLE.read_bytes()).hexdigest()
    assert verdict["selection"] == ["PRF-*", "DSN-*", "SEC-001"]
    assert set(outcomes(verdict).values()) == {"pass"}
    assert len(verdict["rules"]) == 16
    for rule in verdict["rules"]:
        assert (out / rule["evidence"]).is_file()


def test_junit_lists_every_rule(clean_run):
    _, out = clean_run
    cases = ET.parse(out / "junit.xml").getroot().iter("testcase")
    names = {case.get("name") for case in cases}
    assert "DSN-005" in names
    assert len(names) == 16


def test_allure_results_are_labelled(clean_run):
    _, out = clean_run
    results = allure_results(out)
    assert len(results) == 16
    dsn5 = next(r for r in results if "DSN-005" in labels(r).get("story", [""])[0])
    found = labels(dsn5)
    assert found["epic"] == ["2. DSN Design standard"]  # numbered: the standard's order
    assert found["feature"] == ["profile"]
    assert found["severity"] == ["critical"]
    assert dsn5["name"].startswith("DSN-005 ")
    parameters = {p["name"]: p["value"].strip("'") for p in dsn5["parameters"]}
    assert parameters["model"] == "acme.kettle.k1"
    assert dsn5["links"][0]["name"] == "ECS-1.0 section 4"
    assert any(a["name"] == "evidence" for a in dsn5["attachments"])
    env = (out / "allure-results" / "environment.properties").read_text("utf-8")
    assert "model=acme.kettle.k1" in env and "standard=ECS-1.0" in env
    categories = json.loads((out / "allure-results" / "categories.json").read_text("utf-8"))
    assert {c["matchedStatuses"][0] for c in categories} >= {"failed", "broken"}


def test_profile_with_lint_findings_stops_before_any_device(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(KETTLE.read_text("utf-8").replace("model: acme.kettle.k1",
                                                        "model: Acme.Kettle"))
    out = tmp_path / "out"
    result = certkit("run", broken, "--emulate", "--out", out)
    assert result.code == 2
    assert "no device was touched" in result.stderr
    verdict = read_verdict(out)
    assert verdict["verdict"] == "NOT CERTIFIED"
    found = outcomes(verdict)
    assert found["DSN-001"] == "fail"
    line = broken.read_text("utf-8").splitlines().index("  model: Acme.Kettle") + 1
    assert f"line {line} column 10" in next(r["message"] for r in verdict["rules"]
                                      if r["rule"] == "DSN-001")
    # Only the design rules ran; no transport rule was even attempted.
    assert set(found) == {"PRF-001", "PRF-002", "PRF-003", "SEC-001"} | {
        f"DSN-{n:03d}" for n in range(1, 13)}
    failed = [c for c in ET.parse(out / "junit.xml").getroot().iter("testcase")
              if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["DSN-001"]
    statuses = {r["name"].split()[0]: r["status"] for r in allure_results(out)}
    assert statuses["DSN-001"] == "failed"


def test_unparseable_profile_reports_prf_001(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("certkit: 1\ndevice: [unclosed\n")
    out = tmp_path / "out"
    result = certkit("run", broken, "--out", out)
    assert result.code == 2
    verdict = read_verdict(out)
    found = outcomes(verdict)
    assert found["PRF-001"] == "fail"
    assert found["DSN-001"] == "not-applicable"
    assert verdict["verdict"] == "NOT CERTIFIED"


def test_rules_without_a_check_make_the_run_incomplete(tmp_path):
    result = certkit("run", KETTLE, "--out", tmp_path, "--rules", "DSN-001", "--rules", "BLE-009",
                     "--rules", "INT-006")
    verdict = read_verdict(tmp_path)
    found = {r["rule"]: r for r in verdict["rules"]}
    assert found["BLE-009"]["outcome"] == "not-applicable"
    assert "not battery powered" in found["BLE-009"]["message"]
    # INT-006 has a check now; with no bench to reach the DUT it cannot run it.
    assert found["INT-006"]["outcome"] == "error"
    assert result.code == 3 and verdict["verdict"] == "INCOMPLETE"
    assert "no DUT has an MQTT session" in found["INT-006"]["message"]


@pytest.mark.parametrize("args, message", [
    (["--emulate", "zigbee"], "--emulate: unknown transport zigbee"),
    (["--reset", "kick"], "--reset: 'kick' is not a reset method"),
    (["--mqtt-listen", "localhost"], "--mqtt-listen: 'localhost' is not HOST:PORT"),
    (["--mqtt-broker", "http://x"], "--mqtt-broker: 'http://x' is not mqtt://"),
    (["--fault", "serial"], "--fault: 'serial' is not TRANSPORT:FAULT"),
    (["--waivers", "/nonexistent.yaml"], "--waivers: /nonexistent.yaml: no such file"),
    (["--rules", "SER-*", "--rules", "SRE-*"], "--rules: 'SRE-*' matches no rule of ECS-1.0"),
])
def test_bad_options_are_usage_errors(tmp_path, args, message):
    result = certkit("run", KETTLE, "--out", tmp_path, *args)
    assert result.code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_profile_is_a_usage_error(tmp_path):
    result = certkit("run", tmp_path / "nope.yaml")
    assert result.code == 2
    assert "nope.yaml: no such file" in result.stderr


def test_rules_of_ones_own_run_with_the_suite(tmp_path):
    env = {"CERTKIT_TEST_RELEASE": str(tmp_path)}  # exists: LAB-002 returns at once
    result = certkit("run", KETTLE, "--out", tmp_path / "out", "--rules", "LAB-00[12]",
                     "--add-rules", BENCH_RULES, env=env)
    verdict = read_verdict(tmp_path / "out")
    # Rules of one's own are namespaced and recorded apart from the standard's.
    assert outcomes(verdict["custom_rules"]) == {"custom:LAB-001": "pass",
                                                 "custom:LAB-002": "pass"}
    assert not any(r["rule"].startswith(("LAB", "custom")) for r in verdict["rules"])
    assert result.code == 0
    evidence = (tmp_path / "out" / "evidence" / "custom_LAB-001.log").read_text("utf-8")
    assert "manufacturer is 'Acme Labs'" in evidence


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_keeps_verdict_and_evidence(tmp_path, signum):
    out = tmp_path / "out"
    proc = start_certkit("run", KETTLE, "--out", out, "--rules", "DSN-00[1-3]",
                         "--rules", "LAB-002", "--add-rules", BENCH_RULES,
                         env={"CERTKIT_TEST_RELEASE": str(tmp_path / "never")},
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until the design rules are recorded
            if (out / "verdict.json").exists() and \
                    outcomes(read_verdict(out)).get("DSN-003") == "pass":
                break
            time.sleep(0.05)
        time.sleep(0.3)  # LAB-002 is now waiting
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 3, stderr
    verdict = read_verdict(out)
    assert verdict["verdict"] == "INCOMPLETE"
    assert verdict["complete"] is False
    assert verdict["stop_reason"] == "the run was interrupted"
    found = outcomes(verdict)
    assert [found[f"DSN-00{i}"] for i in (1, 2, 3)] == ["pass"] * 3
    assert outcomes(verdict["custom_rules"])["custom:LAB-002"] == "error"
    assert (out / "evidence" / "DSN-001.log").is_file()
    assert ET.parse(out / "junit.xml").getroot() is not None
    assert "VERDICT: INCOMPLETE" in stdout
    assert "Traceback" not in stderr


NASTY_PROFILES = {
    "binary": b"\x00\xff\xfe garbage \x81",
    "empty": b"",
    "nesting-bomb": b"a: " + b"[" * 100_000 + b"]" * 100_000,
    "alias-bomb": b'a: &a ["x","x"]\nb: &b [*a,*a]\nc: &c [*b,*b]\nd: [*c,*c]\n',
    "python-tag": b"certkit: !!python/object/apply:os.system ['true']\n",
    "control-char": b"certkit: 1\nstandard: \x07\n",
    "long-line": b"certkit: " + b"9" * 1_000_000 + b"\n",
    "not-a-mapping": b"- certkit\n- 1\n",
}


@pytest.mark.parametrize("name", sorted(NASTY_PROFILES))
def test_nasty_profiles_end_in_a_clear_error(tmp_path, name):
    profile = tmp_path / f"{name}.yaml"
    profile.write_bytes(NASTY_PROFILES[name])
    result = certkit("run", profile, "--emulate", "--out", tmp_path / "out", timeout=60)
    assert result.code == 2
    assert "Traceback" not in result.stdout + result.stderr
    if (tmp_path / "out" / "verdict.json").exists():
        verdict = read_verdict(tmp_path / "out")
        assert verdict["verdict"] == "NOT CERTIFIED"
        assert outcomes(verdict)["PRF-001"] == "fail" or outcomes(verdict)["PRF-002"] == "fail"
    else:  # not even text: refused before a run starts, with the reason
        assert f"{name}.yaml: not UTF-8 text" in result.stderr


def test_a_rule_that_blocks_ends_in_error_at_its_deadline(tmp_path):
    started = time.monotonic()
    result = certkit("run", KETTLE, "--out", tmp_path, "--rules", "LAB-001", "--rules", "LAB-003",
                     "--add-rules", BENCH_RULES, timeout=60)
    assert time.monotonic() - started < 30
    verdict = read_verdict(tmp_path)
    lab3 = next(r for r in verdict["custom_rules"]["rules"] if r["rule"] == "custom:LAB-003")
    assert lab3["outcome"] == "error"
    assert "did not finish within its deadline of 1 s" in lab3["message"]
    assert outcomes(verdict["custom_rules"])["custom:LAB-001"] == "pass"  # the run went on
    assert result.code == 3 and verdict["verdict"] == "INCOMPLETE"
    evidence = (tmp_path / "evidence" / "custom_LAB-003.log").read_text("utf-8")
    assert "blocking on an event" in evidence
