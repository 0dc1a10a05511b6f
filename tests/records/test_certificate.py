"""Signed certification records: verify detects any change and names the key; the gate
refuses what it must, naming the field (records of real runs: test_record_format.py)."""

from __future__ import annotations

import copy
import json
from datetime import date

import pytest

from certkit.certificate import (
    KeyFileError,
    canonical,
    gate,
    generate_keys,
    key_id,
    load_private_key,
    load_public_key,
    make_record,
    sign,
    verify,
)
from tests.support.cli import certkit
from tests.support.paths import KETTLE
from tests.support.results import read_verdict

TODAY = date(2026, 11, 22)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    generate_keys(folder / "private.pem", folder / "public.pem")
    generate_keys(folder / "other.pem", folder / "other.pub.pem")
    return folder


def transport(dut: str = "real", faults: tuple = (), **fields) -> dict:
    return {"dut": dut, "faults": list(faults), "variants": [], **fields}


REAL_BENCH = {"transports": {"serial": transport(port="/dev/ttyUSB0", reset="dtr"),
                             "mqtt": transport(endpoint=None, broker=None,
                                               broker_served="embedded mosquitto 2.0.11")},
              "emulated": [], "interop_faults": []}


def bench(**duts: str) -> dict:
    """REAL_BENCH with some transports emulated: bench(serial="emulated")."""
    transports = {name: transport(duts.get(name, "real")) for name in ("serial", "mqtt", "ble")}
    return {"transports": transports, "interop_faults": [],
            "emulated": sorted(n for n, d in duts.items() if d == "emulated")}


CUSTOM_PASS = {"files": [{"path": "lab/rules.py", "sha256": "cd" * 32}],
               "rules": [{"rule": "custom:LAB-001", "instance": "", "level": "R",
                          "outcome": "pass", "message": "", "duration_s": 0.0}]}


def custom(outcome: str, level: str = "R") -> dict:
    rules = [dict(CUSTOM_PASS["rules"][0], outcome=outcome, level=level, message="no")]
    return dict(CUSTOM_PASS, rules=rules)


def verdict_document(verdict: str = "CERTIFIED", **changes) -> dict:
    document = {
        "verdict": verdict, "standard": "ECS-1.0", "certkit": "0.1.0",
        "suite_sha256": "ef" * 32,
        "profile": {"path": "profiles/acme.kettle.k1.yaml", "sha256": "ab" * 32,
                    "model": "acme.kettle.k1"},
        "bench_as_run": REAL_BENCH, "custom_rules": CUSTOM_PASS, "partial": False,
        "selection": [], "complete": True, "started": "2026-11-22T10:00:00.000+00:00",
        "finished": "2026-11-22T10:00:20.000+00:00",
        "waivers": [{"rule": "SER-009", "reason": "noise", "reviewer": "j.chen",
                     "expires": "2027-01-31"}],
        "rules": [{"rule": "SER-004", "instance": "2.1", "level": "M", "outcome": "pass",
                   "message": "", "duration_s": 0.1},
                  {"rule": "SER-009", "instance": "", "level": "M", "outcome": "waived",
                   "message": "waived by j.chen", "duration_s": 3.0}],
    }
    document.update(changes)
    return document


IDENTITY = {"model": "acme.kettle.k1", "firmware": "1.4.2", "mcu-version": "0142",
            "device-id": "acme-k1-0001", "ble-address": "F0:00:00:00:01:42",
            "observed": {"firmware": {"serial": "1.4.2", "ble": "1.4.2"}}}


def signed(keys, document=None, identity=IDENTITY) -> dict:
    record = make_record(document or verdict_document(), identity)
    return sign(record, load_private_key(keys / "private.pem"))


def leaf_paths(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaf_paths(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaf_paths(item, path + (index,))
    else:
        yield path


def flipped(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if value is None:
        return "x"
    return str(value) + "x"


def test_a_signed_record_verifies(keys):
    result = verify(signed(keys), load_public_key(keys / "public.pem"))
    assert result.ok, result.reason


def test_flipping_any_field_breaks_the_signature(keys):
    certificate = signed(keys)
    public = load_public_key(keys / "public.pem")
    paths = list(leaf_paths(certificate["record"]))
    assert len(paths) > 30
    for path in paths:
        changed = copy.deepcopy(certificate)
        holder = changed["record"]
        for part in path[:-1]:
            holder = holder[part]
        holder[path[-1]] = flipped(holder[path[-1]])
        assert not verify(changed, public).ok, path


def test_a_changed_signature_or_another_key_fails(keys):
    certificate = signed(keys)
    public = load_public_key(keys / "public.pem")
    changed = copy.deepcopy(certificate)
    value = changed["signature"]["value"]
    changed["signature"]["value"] = ("A" if value[0] != "A" else "B") + value[1:]
    assert not verify(changed, public).ok
    assert not verify(certificate, load_public_key(keys / "other.pub.pem")).ok
    unsigned = {"record": certificate["record"]}
    assert "not a certkit record" in verify(unsigned, public).reason
    garbage = dict(certificate, signature=dict(certificate["signature"], value="%%%"))
    assert not verify(garbage, public).ok


def test_the_record_names_its_key_and_verify_says_which_key_when_another_is_given(keys):
    certificate = signed(keys)
    public, other = load_public_key(keys / "public.pem"), load_public_key(keys / "other.pub.pem")
    signer = certificate["record"]["signer"]
    assert signer["key_id"] == key_id(public) == certificate["signature"]["key_id"]
    assert len(signer["key_id"]) == 64  # the whole sha256 of the raw key, not a prefix
    result = verify(certificate, other)
    assert not result.ok
    assert f"the record names key {key_id(public)}" in result.reason
    assert f"not the public key given ({key_id(other)})" in result.reason


def test_the_signed_bytes_are_jcs_and_hold_no_floats(keys):
    import base64

    import rfc8785

    certificate = signed(keys)
    signed_bytes = rfc8785.dumps(certificate["record"])
    assert canonical(certificate["record"]) == signed_bytes
    load_public_key(keys / "public.pem").verify(
        base64.b64decode(certificate["signature"]["value"]), signed_bytes)
    # verdict.json's durations (floats) stay out of the record
    assert "duration_s" not in json.dumps(certificate["record"])
    with pytest.raises(ValueError, match="integers only"):
        canonical({"a": [1, {"b": 0.5}]})


def test_a_record_that_names_another_key_in_its_envelope_is_refused(keys):
    certificate = signed(keys)
    certificate["signature"]["key_id"] = "00" * 32
    result = verify(certificate, load_public_key(keys / "public.pem"))
    assert not result.ok and "the signature names key" in result.reason


def test_a_record_of_the_old_format_is_refused_by_name(keys):
    certificate = signed(keys)
    certificate["record"]["format"] = 1
    result = verify(certificate, load_public_key(keys / "public.pem"))
    assert not result.ok and "record format 1" in result.reason


def test_the_gate_accepts_a_valid_certified_record(keys):
    result = gate(signed(keys), load_public_key(keys / "public.pem"),
                  "acme.kettle.k1", "1.4.2", TODAY)
    assert result.ok, result.reason
    assert "emulated" not in result.reason


@pytest.mark.parametrize("document, model, firmware, reason", [
    (verdict_document(), "acme.kettle.k2", "1.4.2", "dut.model: the record certifies model"),
    (verdict_document(), "acme.kettle.k1", "1.4.3", "dut.firmware: the record certifies firm"),
    (verdict_document(standard="ECS-1.1"), "acme.kettle.k1", "1.4.2",
     "standard: the record certifies against 'ECS-1.1', not 'ECS-1.0'"),
    (verdict_document("NOT CERTIFIED"), "acme.kettle.k1", "1.4.2", "verdict is NOT CERTIFIED"),
    (verdict_document("INCOMPLETE"), "acme.kettle.k1", "1.4.2", "verdict is INCOMPLETE"),
    (verdict_document(selection=["SER-*"], partial=True), "acme.kettle.k1", "1.4.2",
     "partial is true"),
    (verdict_document(complete=False), "acme.kettle.k1", "1.4.2", "complete is false"),
    (verdict_document(bench_as_run=bench(serial="emulated")), "acme.kettle.k1", "1.4.2",
     "bench_as_run.transports.serial.dut is 'emulated'"),
    (verdict_document(bench_as_run=bench(ble="emulated", mqtt="emulated")), "acme.kettle.k1",
     "1.4.2", "bench_as_run.transports.ble.dut is 'emulated'"),
    (verdict_document(custom_rules=custom("fail")), "acme.kettle.k1", "1.4.2",
     "custom_rules.rules: rules of the bench's own did not pass (custom:LAB-001: fail)"),
    (verdict_document(waivers=[{"rule": "SER-009", "reason": "r", "reviewer": "x",
                                "expires": "2026-11-01"}]),
     "acme.kettle.k1", "1.4.2", "expired on 2026-11-01"),
])
def test_the_gate_refuses(keys, document, model, firmware, reason):
    result = gate(signed(keys, document), load_public_key(keys / "public.pem"),
                  model, firmware, TODAY)
    assert not result.ok
    assert reason in result.reason


def test_allow_emulated_accepts_reference_emulators_and_says_so(keys):
    public = load_public_key(keys / "public.pem")
    emulated = signed(keys, verdict_document(bench_as_run=bench(serial="emulated",
                                                                mqtt="emulated")))
    result = gate(emulated, public, "acme.kettle.k1", "1.4.2", TODAY, allow_emulated=True)
    assert result.ok, result.reason
    assert "emulated reference design accepted on purpose with --allow-emulated" in result.reason
    faulty = bench(serial="emulated")
    faulty["transports"]["serial"]["faults"] = ["slow-polls"]
    refused = gate(signed(keys, verdict_document(bench_as_run=faulty)), public,
                   "acme.kettle.k1", "1.4.2", TODAY, allow_emulated=True)
    assert not refused.ok
    assert "bench_as_run.transports.serial.faults is ['slow-polls']" in refused.reason
    # --allow-emulated never waives anything else: a failed rule of one's own still refuses
    custom_failed = signed(keys, verdict_document(bench_as_run=bench(serial="emulated"),
                                                  custom_rules=custom("fail")))
    assert not gate(custom_failed, public, "acme.kettle.k1", "1.4.2", TODAY,
                    allow_emulated=True).ok


def test_a_recommended_rule_of_ones_own_that_failed_is_refused_by_the_gate_alone(keys):
    """A custom R fail is only a warning in the verdict (CERTIFIED), but the gate refuses it."""
    certificate = signed(keys, verdict_document(custom_rules=custom("fail", level="R")))
    assert certificate["record"]["verdict"] == "CERTIFIED"
    result = gate(certificate, load_public_key(keys / "public.pem"), "acme.kettle.k1",
                  "1.4.2", TODAY)
    assert not result.ok and result.reason.startswith("custom_rules.rules")


def test_custom_results_are_recorded_apart_from_the_standards(keys):
    record = signed(keys)["record"]
    assert [r["rule"] for r in record["rules"]] == ["ECS-1.0:SER-004", "ECS-1.0:SER-009"]
    assert record["custom_rules"] == {
        "files": [{"path": "lab/rules.py", "sha256": "cd" * 32}],
        "rules": [{"rule": "custom:LAB-001", "instance": "", "level": "R", "outcome": "pass",
                   "message": ""}]}
    assert record["harness"]["suite_sha256"] == "ef" * 32
    assert record["bench_as_run"] == REAL_BENCH


def test_the_gate_refuses_an_unsigned_record(keys):
    unsigned = {"record": make_record(verdict_document(), IDENTITY)}
    result = gate(unsigned, load_public_key(keys / "public.pem"), "acme.kettle.k1", "1.4.2",
                  TODAY)
    assert not result.ok


def test_keys_are_never_overwritten_and_bad_keys_are_named(keys, tmp_path):
    with pytest.raises(KeyFileError, match="never overwrites"):
        generate_keys(keys / "private.pem", tmp_path / "new.pem")
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(KeyFileError, match="junk.pem"):
        load_private_key(tmp_path / "junk.pem")
    with pytest.raises(KeyFileError, match="not an Ed25519 key|not a PEM"):
        load_public_key(keys / "private.pem")


def test_run_keygen_verify_and_gate_from_the_command_line(tmp_path):
    assert certkit("keygen", "--private", tmp_path / "k.pem", "--public",
                   tmp_path / "k.pub").code == 0
    again = certkit("keygen", "--private", tmp_path / "k.pem", "--public", tmp_path / "x.pub")
    assert again.code == 2 and "never overwrites" in again.stderr
    out = tmp_path / "run"
    run = certkit("run", KETTLE, "--rules", "DSN-*", "--key", tmp_path / "k.pem", "--out", out)
    assert run.code == 0
    certificate = out / "certificate.json"
    record = json.loads(certificate.read_text("utf-8"))["record"]
    assert record["verdict"] == read_verdict(out)["verdict"] == "CERTIFIED"
    assert record["profile"]["sha256"] == read_verdict(out)["profile"]["sha256"]
    assert record["dut"]["model"] == "acme.kettle.k1"
    valid = certkit("verify", certificate, "--public-key", tmp_path / "k.pub")
    assert valid.code == 0 and valid.stdout.startswith("VALID")
    # A design-only run is a partial run: the gate refuses it.
    refused = certkit("gate", certificate, "--public-key", tmp_path / "k.pub",
                      "--model", "acme.kettle.k1", "--firmware", "1.4.2")
    assert refused.code == 1 and "partial is true" in refused.stdout
    tampered = tmp_path / "tampered.json"
    tampered.write_text(certificate.read_text("utf-8").replace('"1.4.2"', '"1.4.3"'))
    invalid = certkit("verify", tampered, "--public-key", tmp_path / "k.pub")
    assert invalid.code == 1 and invalid.stdout.startswith("INVALID")
    missing = certkit("verify", tmp_path / "nope.json", "--public-key", tmp_path / "k.pub")
    assert missing.code == 2 and "Traceback" not in missing.stderr


def test_rule_ids_leave_qualified_by_their_standard(keys):
    """Format 3: every rule ID of the standard, in the results and the waivers, names its
    standard; a rule of one's own stays custom:ID."""
    record = signed(keys)["record"]
    assert record["format"] == 3 and record["standard"] == "ECS-1.0"
    assert [w["rule"] for w in record["waivers"]] == ["ECS-1.0:SER-009"]
    qualified_already = verdict_document(rules=[
        {"rule": "SER-004", "id": "ECS-1.0:SER-004", "instance": "", "level": "M",
         "outcome": "pass", "message": "", "duration_s": 0.1}])
    assert [r["rule"] for r in signed(keys, qualified_already)["record"]["rules"]] == [
        "ECS-1.0:SER-004"]


def format_2_record(document: dict) -> dict:
    """What certkit signed before rule IDs were qualified: format 2, ECS-1.0's IDs bare."""
    record = make_record(document, IDENTITY)
    bare = {"rules": [dict(r, rule=r["rule"].removeprefix("ECS-1.0:")) for r in record["rules"]],
            "waivers": [dict(w, rule=w["rule"].removeprefix("ECS-1.0:"))
                        for w in record["waivers"]]}
    return {**record, **bare, "format": 2}


def test_the_gate_still_accepts_a_record_signed_in_format_2(keys):
    private = load_private_key(keys / "private.pem")
    public = load_public_key(keys / "public.pem")
    old = sign(format_2_record(verdict_document()), private)
    assert old["record"]["rules"][0]["rule"] == "SER-004"
    assert verify(old, public).ok
    result = gate(old, public, "acme.kettle.k1", "1.4.2", TODAY)
    assert result.ok and "CERTIFIED under ECS-1.0" in result.reason, result.reason
    expired = sign(format_2_record(verdict_document(waivers=[
        {"rule": "SER-009", "reason": "r", "reviewer": "x", "expires": "2026-11-01"}])), private)
    refused = gate(expired, public, "acme.kettle.k1", "1.4.2", TODAY)
    assert not refused.ok and "the waiver for SER-009 expired on 2026-11-01" in refused.reason
