"""Every output of a run tells the verdict's story (issue 11, "Outputs agree").

junit.xml, the run's terminal output, Allure's statuses and summary.md map ECS-1
outcomes the same way: only an unwaived fail of a mandatory rule is a failure,
an `error` is an error (Allure "broken"), waived results and warnings are
visible but pass. A `--rules` run says "partial" wherever the verdict shows.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support.cli import certkit
from tests.support.paths import KETTLE
from tests.support.results import outcomes, read_verdict

WAIVER = """\
waivers:
  - rule: DSN-006
    reason: the bool unit is accepted for this model
    reviewer: j.chen
    expires: 2099-12-31
"""


def junit(out: Path) -> tuple[ET.Element, dict[str, ET.Element]]:
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    return suite, {case.get("name"): case for case in suite.iter("testcase")}


def suite_property(suite: ET.Element, name: str) -> str:
    return next(p.get("value") for p in suite.find("properties") if p.get("name") == name)


def allure_statuses(out: Path) -> dict[str, dict]:
    results = [json.loads(p.read_text("utf-8"))
               for p in (out / "allure-results").glob("*-result.json")]
    # Tagged with the rule's ID qualified by its standard (ECS-1.0:MQT-009).
    return {next(label["value"] for label in r["labels"]
                 if label["name"] == "tag").removeprefix("ECS-1.0:"): r
            for r in results}


def summary(out: Path) -> str:
    made = certkit("report", out, "--summary-only")
    assert made.code == 0, made.stderr
    return (out / "summary.md").read_text("utf-8")


@pytest.fixture(scope="module")
def waived_run(tmp_path_factory) -> tuple[int, str, Path]:
    """DSN-006 fails (a bool with a unit) and is waived: CERTIFIED as far as it went."""
    folder = tmp_path_factory.mktemp("waived")
    profile = folder / "kettle.yaml"
    profile.write_text(KETTLE.read_text("utf-8").replace("name: on, format: bool,",
                                                         "name: on, format: bool, unit: none,"))
    (folder / "waivers.yaml").write_text(WAIVER)
    result = certkit("run", profile, "--rules", "DSN-00[16]", "--waivers",
                     folder / "waivers.yaml", "--out", folder / "out")
    return result.code, result.stdout, folder / "out"


def test_a_waived_fail_is_no_failure_in_any_output(waived_run):
    _, stdout, out = waived_run
    verdict = read_verdict(out)
    assert outcomes(verdict) == {"DSN-001": "pass", "DSN-006": "waived"}
    assert verdict["verdict"] == "CERTIFIED"
    suite, cases = junit(out)
    assert (suite.get("failures"), suite.get("errors"), suite.get("tests")) == ("0", "0", "2")
    waived = cases["DSN-006"]
    assert waived.find("failure") is None and waived.find("error") is None
    assert "waived: waived by j.chen" in waived.find("system-out").text
    assert suite_property(suite, "waived") == "1"
    assert "instances: 1 pass, 1 waived" in stdout and " failed" not in stdout
    status = allure_statuses(out)["DSN-006"]
    assert status["status"] == "passed"
    assert status["statusDetails"]["message"].startswith("waived: ")
    text = summary(out)
    assert "Device failures" not in text
    assert "## Waivers" in text and "j.chen" in text


def test_a_partial_run_says_partial_wherever_the_verdict_shows(waived_run):
    _, stdout, out = waived_run
    partial = "CERTIFIED (partial: only rules matching DSN-00[16])"
    assert f"VERDICT: {partial}" in stdout
    suite, _ = junit(out)
    assert suite_property(suite, "verdict") == partial
    assert suite_property(suite, "partial") == "true"
    assert summary(out).startswith(f"# certkit: {partial}\n")
    environment = (out / "allure-results" / "environment.properties").read_text("utf-8")
    assert "selection=partial: only rules matching DSN-00[16]" in environment


def test_a_lab_error_is_an_error_not_a_failure(tmp_path):
    result = certkit("run", KETTLE, "--serial", "/dev/does-not-exist", "--rules", "SER-00[12]",
                     "--out", tmp_path)
    assert result.code == 3
    verdict = read_verdict(tmp_path)
    assert set(outcomes(verdict).values()) == {"error"}
    suite, cases = junit(tmp_path)
    assert (suite.get("failures"), suite.get("errors")) == ("0", "2")
    assert "/dev/does-not-exist" in cases["SER-001"].find("error").get("message")
    # certkit's own counts, and no closing line of pytest's that could contradict them
    assert "instances: 2 error" in result.stdout and " failed" not in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("VERDICT: INCOMPLETE")
    assert {r["status"] for r in allure_statuses(tmp_path).values()} == {"broken"}
    text = summary(tmp_path)
    assert "Could not be checked" in text and "Device failures" not in text


@pytest.fixture(scope="module")
def mqtt_run(tmp_path_factory) -> tuple[int, str, Path]:
    """MQT-009 (recommended) and MQT-010 (mandatory) fail on an emulator that publishes with
    QoS 0 and to a topic outside its tree."""
    out = tmp_path_factory.mktemp("mqtt") / "out"
    result = certkit("run", KETTLE, "--emulate", "mqtt", "--fault", "mqtt:qos0",
                     "--fault", "mqtt:stray-topic", "--rules", "MQT-009", "--rules", "MQT-010",
                     "--out", out)
    return result.code, result.stdout, out


def test_a_recommended_rule_fail_is_a_warning_not_a_failure(mqtt_run):
    code, stdout, out = mqtt_run
    assert code == 1, stdout[-2000:]
    assert outcomes(read_verdict(out)) == {"MQT-009": "fail", "MQT-010": "fail"}
    suite, cases = junit(out)
    assert suite.get("failures") == "1"  # MQT-010 only
    assert cases["MQT-010"].find("failure") is not None
    assert cases["MQT-009"].find("failure") is None
    assert cases["MQT-009"].find("system-out").text.startswith("warning (recommended rule")
    assert suite_property(suite, "warnings") == "1"
    assert stdout.strip().splitlines()[-1].startswith("VERDICT: NOT CERTIFIED")
    assert " failed" not in stdout and " warned" not in stdout  # no pytest counts
    assert "instances: 1 fail, 1 warning" in stdout
    assert "MQT-009   R   warning" in stdout
    statuses = allure_statuses(out)
    assert (statuses["MQT-009"]["status"], statuses["MQT-010"]["status"]) == ("passed", "failed")
    text = summary(out)
    assert "`MQT-010`" in text.split("## Warnings")[0] and "`MQT-009`" not in text
    assert "Rule instances: 1 fail, 1 warning." in text


def test_a_traffic_rule_fail_shows_the_offending_publishes(mqtt_run):
    _, _, out = mqtt_run
    qos = (out / "evidence" / "MQT-009.log").read_text("utf-8")
    assert "QoS 0: dut PUBLISH homie/5/acme-k1-0001/$state qos=0" in qos
    tree = (out / "evidence" / "MQT-010.log").read_text("utf-8")
    assert "outside the device's tree: dut PUBLISH debug/acme-k1-0001/boot" in tree


def test_teardown_traffic_is_not_filed_under_the_last_rule(mqtt_run):
    _, _, out = mqtt_run
    last = (out / "evidence" / "MQT-010.log").read_text("utf-8")
    after = (out / "evidence" / "after-the-last-rule.log").read_text("utf-8")
    assert "DISCONNECT" not in last and '"disconnected"' not in last
    assert "DISCONNECT" in after
