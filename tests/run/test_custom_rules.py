"""Rules of one's own cannot touch the standard's (issue 11): a test that claims or imitates
a standard rule is refused at collection, mistakes in --add-rules files are named plainly,
two results for one instance are a harness error, and the record keeps custom rules apart."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.support.cli import certkit
from tests.support.paths import KETTLE, ROOT
from tests.support.results import outcomes, read_verdict

OVERRIDE = ROOT / "fixtures" / "rules" / "override.py"
BENCH_RULES = ROOT / "fixtures" / "rules" / "bench_rules.py"


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    assert certkit("keygen", "--private", folder / "priv.pem", "--public",
                   folder / "pub.pem").code == 0
    return folder


def test_the_dishonest_override_is_refused_at_collection(tmp_path, keys):
    """The scenario of issue 11: an always-passing SER-002 meant to replace a real fail."""
    out = tmp_path / "X"
    result = certkit("run", KETTLE, "--emulate", "--fault", "serial:slow-polls",
                     "--add-rules", OVERRIDE, "--key", keys / "priv.pem", "--out", out)
    assert result.code == 2, result.stdout + result.stderr
    line = next(n for n, text in enumerate(OVERRIDE.read_text("utf-8").splitlines(), 1)
                if "certkit_rule" in text)
    assert (f"fixtures/rules/override.py:{line}: certkit_rule('SER-002') claims a rule of "
            "ECS-1.0") in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    # Nothing ran: no device touched, no verdict, nothing signed.
    assert not (out / "certificate.json").exists()
    assert not (out / "verdict.json").exists()
    assert not (out / "evidence").exists()
    gate = certkit("gate", out / "certificate.json", "--public-key", keys / "pub.pem",
                   "--model", "acme.kettle.k1", "--firmware", "1.4.2")
    assert gate.code == 2 and "ACCEPTED" not in gate.stdout


def test_without_the_override_the_fault_fails_ser_002_and_the_gate_refuses(tmp_path, keys):
    """What the override tried to hide: the fault does fail SER-002, and the record says so."""
    out = tmp_path / "X"
    result = certkit("run", KETTLE, "--emulate", "serial", "--fault", "serial:slow-polls",
                     "--variant", "serial:batched-reports", "--rules", "SER-002",
                     "--key", keys / "priv.pem", "--out", out)
    assert result.code == 1
    assert outcomes(read_verdict(out)) == {"SER-002": "fail"}
    record = json.loads((out / "certificate.json").read_text("utf-8"))["record"]
    assert record["bench_as_run"]["transports"]["serial"] == {
        "dut": "emulated", "faults": ["slow-polls"], "variants": ["batched-reports"],
        "port": "emulator pty", "reset": None}
    assert record["bench_as_run"]["transports"]["mqtt"]["dut"] == "real"
    gate = certkit("gate", out / "certificate.json", "--public-key", keys / "pub.pem",
                   "--model", "acme.kettle.k1", "--firmware", "1.4.2", "--allow-emulated")
    assert gate.code == 1 and "REFUSED: verdict is NOT CERTIFIED" in gate.stdout


RULE = '''import pytest


@pytest.mark.certkit_rule({marker})
def test_rule():
    pass
'''


@pytest.mark.parametrize("name, text, line, message", [
    ("imitation", RULE.format(marker='"SER-999", level="M", title="t"'), 4,
     "certkit_rule('SER-999'): SER- IDs belong to ECS-1.0"),
    ("lowercase", RULE.format(marker='"ser-002", level="M", title="t"'), 4,
     "certkit_rule('ser-002'): SER- IDs belong to ECS-1.0"),
    ("namespaced", RULE.format(marker='"custom:LAB-001", level="M", title="t"'), 4,
     "do not write the 'custom:' yourself"),
    ("no-level", RULE.format(marker='"LAB-009", title="t"'), 4,
     "certkit_rule('LAB-009'): a rule of your own needs level='M' or 'R'"),
    ("no-title", RULE.format(marker='"LAB-009", level="M"'), 4,
     "certkit_rule('LAB-009'): a rule of your own needs a title"),
    ("no-id", RULE.format(marker=""), 4, "certkit_rule() names no rule"),
    ("syntax", RULE.format(marker='"LAB-009", level="M", title="t"').replace(
        "def test_rule():", "def test_rule(:"), 5, "SyntaxError"),
    ("import", "import certkit_no_such_module\n" + RULE.format(
        marker='"LAB-009", level="M", title="t"'), 1,
     "ModuleNotFoundError: No module named 'certkit_no_such_module'"),
])
def test_mistakes_in_add_rules_files_are_named_plainly(tmp_path, name, text, line, message):
    rules = tmp_path / f"rules_{name.replace('-', '_')}.py"
    rules.write_text(text, "utf-8")
    out = tmp_path / "out"
    result = certkit("run", KETTLE, "--emulate", "--rules", "DSN-001", "--add-rules", rules,
                     "--out", out)
    assert result.code == 2, result.stdout + result.stderr
    assert f"{rules}:{line}: " in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not (out / "verdict.json").exists()


def test_two_results_for_one_instance_are_a_harness_error(tmp_path):
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "test_first.py").write_text(RULE.format(marker='"LAB-001", level="M", title="t"'))
    (folder / "test_second.py").write_text(RULE.format(
        marker='"LAB-001", level="M", title="t"').replace("pass", "assert 1 == 2, 'no'"))
    out = tmp_path / "out"
    result = certkit("run", KETTLE, "--rules", "LAB-001", "--add-rules", folder, "--out", out)
    verdict = read_verdict(out)
    [lab] = verdict["custom_rules"]["rules"]
    assert lab["rule"] == "custom:LAB-001" and lab["outcome"] == "error"
    assert lab["message"].startswith("harness error: 2 results for one instance")
    assert "rules/test_first.py::test_rule, " in lab["message"]
    assert "rules/test_second.py::test_rule: " in lab["message"]
    assert "pass" in lab["message"] and "fail (no" in lab["message"]
    assert verdict["verdict"] == "INCOMPLETE" and result.code == 3


def test_custom_rules_are_recorded_apart_with_the_sha256_of_their_files(tmp_path, keys):
    env = {"CERTKIT_TEST_RELEASE": str(tmp_path)}  # exists: LAB-002 returns at once
    out = tmp_path / "out"
    # A file none of whose rules is selected still ran its code: it is listed too.
    unselected = tmp_path / "unselected_rules.py"
    unselected.write_text(RULE.format(marker='"OTHER-1", level="M", title="t"'), "utf-8")
    result = certkit("run", KETTLE, "--rules", "DSN-001", "--rules", "custom:LAB-00[12]",
                     "--add-rules", BENCH_RULES, "--add-rules", unselected,
                     "--key", keys / "priv.pem", "--out", out, env=env)
    assert result.code == 0, result.stdout + result.stderr
    verdict = read_verdict(out)
    assert outcomes(verdict) == {"DSN-001": "pass"}
    files = sorted([{"path": "fixtures/rules/bench_rules.py",
                     "sha256": hashlib.sha256(BENCH_RULES.read_bytes()).hexdigest()},
                    {"path": unselected.as_posix(),
                     "sha256": hashlib.sha256(unselected.read_bytes()).hexdigest()}],
                   key=lambda f: f["path"])
    assert verdict["custom_rules"]["files"] == files
    assert outcomes(verdict["custom_rules"]) == {"custom:LAB-001": "pass",
                                                 "custom:LAB-002": "pass"}
    record = json.loads((out / "certificate.json").read_text("utf-8"))["record"]
    assert [r["rule"] for r in record["rules"]] == ["ECS-1.0:DSN-001"]  # qualified (format 3)
    assert record["custom_rules"]["files"] == files
    assert [(r["rule"], r["level"], r["outcome"]) for r in record["custom_rules"]["rules"]] == [
        ("custom:LAB-001", "R", "pass"), ("custom:LAB-002", "M", "pass")]
    assert "custom:LAB-001" in (out / "evidence" / "custom_LAB-001.log").read_text("utf-8")


def test_the_gate_refuses_a_certified_record_whose_rule_of_ones_own_failed(tmp_path, keys):
    """A recommended custom rule that fails leaves the run CERTIFIED (a warning), but the
    record carries it and the gate refuses it, even for an emulated reference design."""
    rules = tmp_path / "lab_rules.py"
    rules.write_text(RULE.format(marker='"LAB-010", level="R", title="Lab extra"').replace(
        "pass", "assert False, 'the lab wanted more'"))
    out = tmp_path / "out"
    result = certkit("run", KETTLE, "--emulate", "--add-rules", rules, "--key",
                     keys / "priv.pem", "--out", out, timeout=300)
    verdict = read_verdict(out)
    assert result.code == 0 and verdict["verdict"] == "CERTIFIED", verdict["stop_reason"]
    assert outcomes(verdict["custom_rules"]) == {"custom:LAB-010": "fail"}
    gate = certkit("gate", out / "certificate.json", "--public-key", keys / "pub.pem",
                   "--model", "acme.kettle.k1", "--firmware", "1.4.2", "--allow-emulated")
    assert gate.code == 1
    assert "REFUSED: custom_rules.rules: rules of the bench's own did not pass " \
           "(custom:LAB-010: fail)" in gate.stdout
