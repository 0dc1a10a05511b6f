"""Waivers: applied, expired, misspelled, and never over an error."""

from __future__ import annotations

from datetime import date

import pytest

from certkit.verdict import Outcome, RuleResult, Verdict, decide
from certkit.waivers import Waiver, WaiverError, apply_waivers, load_waivers
from tests.support.cli import certkit
from tests.support.paths import KETTLE
from tests.support.results import outcomes, read_verdict

TODAY = date(2026, 11, 22)


def waiver(rule="SER-009", instance=None, expires=date(2027, 1, 31)) -> Waiver:
    return Waiver(rule, "sensor noise", "j.chen", expires, instance)


def results() -> list[RuleResult]:
    return [RuleResult("SER-009", "", "M", Outcome.FAIL, "3 reports in 1 s"),
            RuleResult("SER-004", "2.1", "M", Outcome.FAIL, "no reply"),
            RuleResult("SER-004", "2.2", "M", Outcome.PASS),
            RuleResult("MQT-004", "", "M", Outcome.ERROR, "broker down")]


def test_a_waiver_turns_its_fail_into_waived():
    report = apply_waivers(results(), [waiver()], TODAY)
    ser9 = report.results[0]
    assert ser9.outcome is Outcome.WAIVED
    assert "waived by j.chen until 2027-01-31" in ser9.message
    assert "3 reports in 1 s" in ser9.message
    assert report.applied == [waiver()]


def test_an_instance_waiver_covers_only_that_instance():
    report = apply_waivers(results(), [waiver("SER-004", "2.1")], TODAY)
    assert [r.outcome for r in report.results[1:3]] == [Outcome.WAIVED, Outcome.PASS]


def test_waived_fails_no_longer_block_the_verdict():
    only_fails = results()[:2]
    assert decide(only_fails) is Verdict.NOT_CERTIFIED
    report = apply_waivers(only_fails, [waiver(), waiver("SER-004")], TODAY)
    assert decide(report.results) is Verdict.CERTIFIED


def test_an_expired_waiver_is_reported_and_ignored():
    report = apply_waivers(results(), [waiver(expires=date(2026, 11, 21))], TODAY)
    assert report.results[0].outcome is Outcome.FAIL
    assert report.notes == ["waiver for SER-009 expired on 2026-11-21; not applied"]
    still_valid = apply_waivers(results(), [waiver(expires=TODAY)], TODAY)
    assert still_valid.results[0].outcome is Outcome.WAIVED  # valid through its last day


def test_a_waiver_never_turns_an_error_into_anything_else():
    report = apply_waivers(results(), [waiver("MQT-004")], TODAY)
    assert report.results[3].outcome is Outcome.ERROR
    assert "never a check that did not run" in report.notes[0]
    assert decide(report.results[2:]) is Verdict.INCOMPLETE


def test_a_waiver_for_a_rule_that_passed_is_unused():
    report = apply_waivers(results(), [waiver("SER-004", "2.2")], TODAY)
    assert report.notes == ["waiver for SER-004[2.2] is unused: no failure of it in this run"]


WAIVERS = """\
waivers:
  - rule: {rule}
    reason: legacy model id
    reviewer: j.chen
    expires: {expires}
"""


@pytest.mark.parametrize("text, message", [
    (WAIVERS.format(rule="SER-0O9", expires="2027-01-31"),
     ":2:11: 'SER-0O9' is not a rule of ECS-1.0"),
    (WAIVERS.format(rule="ECS-1.0:SER-0O9", expires="2027-01-31"),
     ":2:11: 'ECS-1.0:SER-0O9' is not a rule of ECS-1.0"),
    (WAIVERS.format(rule="ECS-9:SER-009", expires="2027-01-31"),
     ":2:11: 'ECS-9:SER-009': no standard 'ECS-9' is installed"),
    (WAIVERS.format(rule="SER-009", expires="31.01.2027"),
     ":5:14: expires '31.01.2027' is not a date YYYY-MM-DD"),
    ("waivers:\n  - rule: SER-009\n    reason: r\n", ":2:5: /waivers/0: required key 'reviewer' is missing"),
    ("waivers: [1, 2\n", ":2:1: "),
    ("waiver:\n  - rule: SER-009\n", ":1:1: /waiver: unknown key 'waiver'"),
])
def test_the_waivers_file_is_checked_with_positions(tmp_path, text, message):
    path = tmp_path / "waivers.yaml"
    path.write_text(text)
    with pytest.raises(WaiverError) as raised:
        load_waivers(path)
    assert f"{path}{message}" in str(raised.value)


def test_a_waiver_names_its_standard_and_a_bare_id_is_ecs_1_0s(tmp_path):
    path = tmp_path / "waivers.yaml"
    path.write_text(WAIVERS.format(rule="ECS-1.0:SER-009", expires="2027-01-31")
                    + "  - rule: SER-004\n    reason: r\n    reviewer: x\n"
                      "    expires: 2027-01-31\n")
    qualified, bare = load_waivers(path)
    assert (qualified.standard, qualified.rule, qualified.qualified) == (
        "ECS-1.0", "SER-009", "ECS-1.0:SER-009")
    assert (bare.standard, bare.rule) == ("ECS-1.0", "SER-004")
    assert qualified.as_json()["id"] == "ECS-1.0:SER-009"
    assert apply_waivers(results(), [qualified], TODAY).applied == [qualified]


def test_waivers_in_a_run(tmp_path):
    broken = tmp_path / "kettle.yaml"
    broken.write_text(KETTLE.read_text("utf-8").replace("name: on, format: bool,",
                                                        "name: on, format: bool, unit: none,"))
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(WAIVERS.format(rule="DSN-006", expires="2099-12-31")
                       + "  - rule: DSN-001\n    reason: r\n    reviewer: x\n"
                         "    expires: 2000-01-01\n")
    result = certkit("run", broken, "--rules", "DSN-00[16]", "--waivers", waivers,
                     "--out", tmp_path / "out")
    verdict = read_verdict(tmp_path / "out")
    assert outcomes(verdict) == {"DSN-001": "pass", "DSN-006": "waived"}
    assert verdict["waivers"][0]["rule"] == "DSN-006"
    assert verdict["waiver_notes"] == ["waiver for DSN-001 expired on 2000-01-01; not applied"]
    assert verdict["verdict"] == "CERTIFIED"
    assert result.code == 2  # the profile still fails lint: no device is touched
    bad = tmp_path / "bad.yaml"
    bad.write_text(WAIVERS.format(rule="DSN-0O1", expires="2099-12-31"))
    refused = certkit("run", KETTLE, "--waivers", bad, "--out", tmp_path / "out2")
    assert refused.code == 2 and "'DSN-0O1' is not a rule" in refused.stderr
