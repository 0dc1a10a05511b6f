"""A second standard, shipped as a package of its own (tests/standards/toy: TOY-1.0, two rules,
TOY-001 on the profile and TOY-002 on the serial link), certifies a profile that names it; an
ECS-1.0 profile is planned and recorded as before."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from certkit.design import lint_file, lint_text
from certkit.standard import Standard, builtin, standard, standards
from tests.conftest import KETTLE, certkit, outcomes, read_verdict
from tests.standards.conftest import TOY_PROFILE

SERIAL_FAULT = "serial:version-request-ignored"  # the emulator ignores the version request


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    made = certkit("keygen", "--private", folder / "lab.pem", "--public", folder / "lab.pub")
    assert made.code == 0, made.stderr
    return folder


@pytest.fixture(scope="module")
def certified(tmp_path_factory: pytest.TempPathFactory, keys: Path) -> Path:
    out = tmp_path_factory.mktemp("toy") / "run"
    result = certkit("run", TOY_PROFILE, "--emulate", "--key", keys / "lab.pem", "--out", out,
                     timeout=300)
    assert result.code == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "VERDICT: CERTIFIED"
    return out


def test_both_standards_are_registered_and_the_toy_is_nothing_but_its_package() -> None:
    assert list(standards()) == ["ECS-1.0", "TOY-1.0"]
    toy = standard("TOY-1.0")
    assert [rule.id for rule in toy.catalogue.rules] == ["TOY-001", "TOY-002"]
    assert toy.catalogue.run_order == ("TOY-001", "TOY-002")
    assert toy.design_rules == ("TOY-001",) and toy.categories is None
    assert toy.suite_folder().parent.name == "certkit_toy"
    assert builtin().design_rules[:3] == ("PRF-001", "PRF-002", "PRF-003")


def test_a_standard_is_named_once_its_catalogue_must_agree() -> None:
    misnamed = Standard("TOY-2.0", title="t", data="certkit_toy", suite="certkit_toy.suite")
    with pytest.raises(ValueError, match="rules.yaml is the catalogue of TOY-1.0, not of TOY-2.0"):
        misnamed.catalogue  # noqa: B018


def test_lint_checks_the_profile_against_the_standard_it_names() -> None:
    result = lint_file(TOY_PROFILE)
    assert result.ok and not result.findings
    assert result.standard is standard("TOY-1.0")
    assert result.checked == {"PRF-001", "PRF-002", "PRF-003", "TOY-001"}  # no DSN check
    assert result.profile is not None and result.profile.standard == "TOY-1.0"
    text = TOY_PROFILE.read_text("utf-8")
    nameless = text.replace("name: {en: Acme Smart Kettle, ", "name: {")
    broken = lint_text(nameless, TOY_PROFILE)
    [finding] = broken.findings
    line = nameless.splitlines().index('  name: {zh-CN: "艾克米智能水壶"}') + 1
    assert (finding.rule, finding.standard, finding.level) == ("TOY-001", "TOY-1.0", "M")
    assert (finding.line, finding.column) == (line, 9)
    assert "not in English" in finding.message


def test_an_unknown_standard_is_a_lint_error_at_its_line_and_column(tmp_path: Path) -> None:
    profile = tmp_path / "unknown.yaml"
    text = TOY_PROFILE.read_text("utf-8").replace("standard: TOY-1.0", "standard: TOY-9.9")
    profile.write_text(text, "utf-8")
    line = text.splitlines().index("standard: TOY-9.9") + 1
    result = certkit("lint", profile)
    assert result.code == 1
    assert (f"{profile}:{line}:11: error: PRF-003 standard 'TOY-9.9' is not supported "
            "(this certkit certifies against ECS-1.0, TOY-1.0: the standards installed)"
            in result.stdout), result.stdout + result.stderr
    run = certkit("run", profile, "--emulate", "--out", tmp_path / "run")
    assert run.code == 2 and "no device was touched" in run.stderr


def test_plan_and_rules_are_the_standards_own() -> None:
    planned = certkit("plan", TOY_PROFILE, "--format", "json")
    assert planned.code == 0, planned.stderr
    assert [(i["rule"], i["applies"]) for i in json.loads(planned.stdout)] == [
        ("TOY-001", True), ("TOY-002", True)]
    listed = certkit("rules", "--standard", "TOY-1.0")
    assert listed.stdout.splitlines() == [
        "TOY-001  M  The device has an English name",
        "TOY-002  M  MCU answers the MCU version request within 500 ms"]
    ecs = certkit("plan", KETTLE, "--format", "json")
    assert {i["rule"] for i in json.loads(ecs.stdout)} == {r.id for r in builtin().catalogue.rules}


def test_a_profile_that_names_the_toy_is_certified_by_its_rules(certified: Path) -> None:
    verdict = read_verdict(certified)
    assert verdict["standard"] == "TOY-1.0"
    assert outcomes(verdict) == {"TOY-001": "pass", "TOY-002": "pass"}
    assert [r["id"] for r in verdict["rules"]] == ["TOY-1.0:TOY-001", "TOY-1.0:TOY-002"]
    reply = verdict["rules"][1]["measurements"][0]
    assert reply["name"] == "reply time" and reply["ok"] is True


def test_its_rule_ids_leave_qualified_by_the_standard(certified: Path, keys: Path) -> None:
    suite = ET.parse(certified / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("name") == "certkit TOY-1.0"
    assert [p.get("value") for p in suite.iterfind("testcase/properties/property[@name='rule']")
            ] == ["TOY-1.0:TOY-001", "TOY-1.0:TOY-002"]
    # allure-pytest at its floor (2.13) also tags each result with its pytest marks.
    tags = sorted(label["value"]
                  for path in (certified / "allure-results").glob("*-result.json")
                  for label in json.loads(path.read_text("utf-8"))["labels"]
                  if label["name"] == "tag" and not label["value"].startswith("certkit_rule("))
    assert tags == ["TOY-1.0:TOY-001", "TOY-1.0:TOY-002"]
    record = json.loads((certified / "certificate.json").read_text("utf-8"))["record"]
    assert record["standard"] == "TOY-1.0"
    assert [r["rule"] for r in record["rules"]] == ["TOY-1.0:TOY-001", "TOY-1.0:TOY-002"]
    campaign = ("gate", certified / "certificate.json", "--public-key", keys / "lab.pub",
                "--model", "acme.kettle.k1", "--firmware", "1.4.2", "--allow-emulated")
    refused = certkit(*campaign)  # a campaign's standard is ECS-1.0 unless it says otherwise
    assert refused.code == 1
    assert ("REFUSED: standard: the record certifies against 'TOY-1.0', not 'ECS-1.0'"
            in refused.stdout), refused.stdout + refused.stderr
    accepted = certkit(*campaign, "--standard", "TOY-1.0")
    assert accepted.code == 0, accepted.stdout + accepted.stderr
    assert "is CERTIFIED under TOY-1.0" in accepted.stdout


def test_the_serial_fault_that_breaks_its_serial_rule_is_not_certified(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = certkit("run", TOY_PROFILE, "--emulate", "--fault", SERIAL_FAULT, "--out", out,
                     timeout=300)
    assert result.code == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "VERDICT: NOT CERTIFIED"
    verdict = read_verdict(out)
    assert outcomes(verdict) == {"TOY-001": "pass", "TOY-002": "fail"}
    failed = verdict["rules"][1]
    assert failed["message"] == ("expected `mcu_version` within 500 ms of "
                                 "`down MIIO_mcu_version_req`, observed no mcu_version line")
    assert "FAIL  TOY-002: expected `mcu_version` within 500 ms" in result.stdout


def test_waivers_name_the_rules_of_the_profiles_standard(tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n  - rule: TOY-1.0:TOY-002\n    reason: known\n"
                       "    reviewer: j.chen\n    expires: 2999-01-01\n", "utf-8")
    out = tmp_path / "waived"
    result = certkit("run", TOY_PROFILE, "--emulate", "--fault", SERIAL_FAULT,
                     "--waivers", waivers, "--out", out, timeout=300)
    assert result.code == 0, result.stdout[-3000:] + result.stderr[-3000:]
    verdict = read_verdict(out)
    assert outcomes(verdict) == {"TOY-001": "pass", "TOY-002": "waived"}
    assert [(w["rule"], w["id"]) for w in verdict["waivers"]] == [("TOY-002", "TOY-1.0:TOY-002")]
    # A bare ID is ECS-1.0's (as waivers were written before): no rule of this run's standard.
    waivers.write_text("waivers:\n  - rule: SER-012\n    reason: known\n"
                       "    reviewer: j.chen\n    expires: 2999-01-01\n", "utf-8")
    refused = certkit("run", TOY_PROFILE, "--emulate", "--waivers", waivers,
                      "--out", tmp_path / "refused")
    assert refused.code == 2
    assert (f"--waivers: {waivers}:2:11: 'SER-012' is a rule of ECS-1.0, but the profile "
            "states conformance to TOY-1.0" in refused.stderr), refused.stderr


def test_an_ecs1_profile_is_unaffected(tmp_path: Path) -> None:
    """The kettle is still checked against ECS-1.0 with TOY-1.0 installed beside it."""
    out = tmp_path / "run"
    result = certkit("run", KETTLE, "--emulate", "--rules", "DSN-00[12]", "--rules", "SER-012",
                     "--out", out, timeout=300)
    assert result.code == 0, result.stdout[-3000:] + result.stderr[-3000:]
    verdict = read_verdict(out)
    assert verdict["standard"] == "ECS-1.0"
    assert outcomes(verdict) == {"DSN-001": "pass", "DSN-002": "pass", "SER-012": "pass"}
    assert [r["id"] for r in verdict["rules"]] == ["ECS-1.0:DSN-001", "ECS-1.0:DSN-002",
                                                   "ECS-1.0:SER-012"]


def test_a_profile_that_fails_its_standards_design_rule_touches_no_device(tmp_path: Path) -> None:
    profile = tmp_path / "nameless.yaml"
    profile.write_text(TOY_PROFILE.read_text("utf-8").replace(
        "name: {en: Acme Smart Kettle, ", "name: {"), "utf-8")
    out = tmp_path / "run"
    result = certkit("run", profile, "--emulate", "--out", out, timeout=300)
    assert result.code == 2 and "no device was touched" in result.stderr
    verdict = read_verdict(out)
    assert verdict["verdict"] == "NOT CERTIFIED"
    assert [(r["id"], r["outcome"]) for r in verdict["rules"]] == [("TOY-1.0:TOY-001", "fail")]
    assert "not in English (en)" in verdict["rules"][0]["message"]


def test_sarif_names_another_standards_rule_qualified(tmp_path: Path) -> None:
    profile = tmp_path / "nameless.yaml"
    profile.write_text(TOY_PROFILE.read_text("utf-8").replace(
        "name: {en: Acme Smart Kettle, ", "name: {"), "utf-8")
    result = certkit("lint", "--format", "sarif", profile)
    assert result.code == 1, result.stderr
    run = json.loads(result.stdout)["runs"][0]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["TOY-1.0:TOY-001"]
    assert run["tool"]["driver"]["rules"][0]["shortDescription"]["text"] == \
        "The device has an English name"
    assert [r["ruleId"] for r in run["results"]] == ["TOY-1.0:TOY-001"]


# A standard's facts may set other section 10 limits (ECS-1.1, say): these are its own.
TIMING_LIMITS_MS = {"reply-ms": 250, "notify-ms": 1000, "boot-ms": 2000, "ready-ms": 5000,
                    "reconnect-ms": 30000, "readvertise-ms": 2000}


def test_the_limits_a_profiles_timing_tightens_are_its_standards(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    import certkit.standard

    faster = Standard("ECS-1.1", title="t", data="certkit.standard", suite="certkit.suite",
                      facts=__name__)
    assert faster.timing_limits_ms["reply-ms"] == 250
    assert standard("TOY-1.0").timing_limits_ms == builtin().timing_limits_ms  # no facts
    profile = lint_file(TOY_PROFILE).profile
    assert profile is not None and profile.limit_ms("boot-ms") == 2000
    monkeypatch.setattr(certkit.standard, "standards", lambda: {"ECS-1.1": faster})
    later = dataclasses.replace(profile, standard="ECS-1.1", timing={})
    assert later.limit_ms("reply-ms") == 250
    assert dataclasses.replace(later, timing={"reply-ms": 100}).limit_ms("reply-ms") == 100
