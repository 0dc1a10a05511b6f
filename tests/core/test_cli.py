"""`certkit rules` and `certkit plan` as a user calls them."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.cli import certkit
from tests.support.paths import KETTLE, ROOT
from tests.support.results import read_verdict


def test_rules_lists_the_whole_catalogue():
    result = certkit("rules")
    assert result.code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 57
    assert lines[0].startswith("PRF-001  M  ")


def test_rules_filters_by_family_and_rejects_unknown_ones():
    result = certkit("rules", "ser", "--format", "json")
    rules = json.loads(result.stdout)
    assert [r["id"] for r in rules] == [f"SER-{n:03d}" for n in range(1, 14)]
    assert rules[3]["limits"]["reply"] == {"value": 1000, "unit": "ms", "timing": "reply-ms"}
    bad = certkit("rules", "XYZ")
    assert bad.code == 2 and "unknown family 'XYZ'" in bad.stderr


def test_docs_catalogue_is_generated_from_the_data():
    page = (ROOT / "docs" / "rules.md").read_text("utf-8")
    assert page == certkit("rules", "--format", "markdown").stdout, (
        "docs/rules.md is stale: regenerate it with "
        "`certkit rules --format markdown > docs/rules.md`")


def test_plan_explains_each_instance():
    result = certkit("plan", KETTLE, "--explain")
    assert result.code == 0
    text = result.stdout
    assert "run  SER-004[2.2]" in text and "kettle.temperature" in text
    assert "n/a  BLE-009" in text
    assert "because the device is not battery powered" in text


def test_plan_json_and_refusal_of_a_broken_profile(tmp_path):
    plan = json.loads(certkit("plan", KETTLE, "--format", "json", "--rules", "SER-005").stdout)
    assert [(i["rule"], i["instance"], i["applies"]) for i in plan] == [
        ("SER-005", "2.1", True), ("SER-005", "2.3", True), ("SER-005", "2.5", True)]
    broken = tmp_path / "p.yaml"
    broken.write_text("certkit: 2\n")
    result = certkit("plan", broken)
    assert result.code == 2 and "fails its design rules" in result.stderr


def test_usage_errors_exit_2_without_traceback():
    for args in (["frobnicate"], ["lint"], ["run"], ["plan", "--explain"]):
        result = certkit(*args)
        assert result.code == 2, args
        assert "Traceback" not in result.stderr


def test_pytest_runs_a_certification_through_the_entry_point(tmp_path):
    # The plugin is loaded by the pytest11 entry point: plain pytest certifies too.
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "certkit.suite", "-p", "no:cacheprovider",
         "--certkit-profile", str(KETTLE), "--certkit-out", str(tmp_path),
         "--certkit-rules", "DSN-*", "-q", "--rootdir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "VERDICT: CERTIFIED" in proc.stdout
    verdict = read_verdict(tmp_path)
    assert len(verdict["rules"]) == 12


def test_emulate_lists_faults_with_their_rules():
    result = certkit("emulate", "--list-faults", "serial")
    assert result.code == 0
    assert "wrong-model" in result.stdout and "SER-001" in result.stdout


def test_faults_are_checked_before_a_run(tmp_path):
    unknown = certkit("run", KETTLE, "--emulate", "serial", "--fault", "serial:nope",
                      "--out", tmp_path)
    assert unknown.code == 2 and "has no fault nope" in unknown.stderr
    not_emulated = certkit("run", KETTLE, "--fault", "serial:wrong-model", "--out", tmp_path)
    assert not_emulated.code == 2 and "needs --emulate serial" in not_emulated.stderr
    assert not (tmp_path / "verdict.json").exists()
