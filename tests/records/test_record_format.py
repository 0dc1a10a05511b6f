"""A real signed record (an emulated kettle run): every field is signed, it says what was
certified, the gate reads it, and an implementation other than certkit's verifies it."""

from __future__ import annotations

import copy
import json
import subprocess
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certkit import __version__
from certkit.certificate import generate_keys, key_id, load_public_key, verify
from certkit.report.record import suite_sha256
from tests.support.cli import certkit
from tests.support.paths import KETTLE, ROOT
from tests.support.results import read_verdict

TODAY = date(2026, 11, 29)


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    generate_keys(folder / "lab.pem", folder / "lab.pub")
    generate_keys(folder / "other.pem", folder / "other.pub")
    return folder


@pytest.fixture(scope="module")
def emulated_run(tmp_path_factory, keys) -> tuple[int, Path]:
    out = tmp_path_factory.mktemp("kettle") / "run"
    result = certkit("run", KETTLE, "--emulate", "--key", keys / "lab.pem", "--out", out,
                     timeout=300)
    return result.code, out


@pytest.fixture(scope="module")
def certificate(emulated_run) -> dict:
    return json.loads((emulated_run[1] / "certificate.json").read_text("utf-8"))


def gate(path: Path, keys: Path, *extra: str):
    return certkit("gate", path, "--public-key", keys / "lab.pub", "--model", "acme.kettle.k1",
                   "--firmware", "1.4.2", *extra)


def test_the_emulated_kettle_is_certified_and_its_record_verifies(emulated_run, keys):
    code, out = emulated_run
    assert code == 0 and read_verdict(out)["verdict"] == "CERTIFIED"
    result = certkit("verify", out / "certificate.json", "--public-key", keys / "lab.pub")
    assert result.code == 0 and result.stdout.startswith("VALID"), result.stdout


def test_the_gate_refuses_an_emulated_dut_and_allow_emulated_accepts_it_saying_so(
        emulated_run, keys):
    path = emulated_run[1] / "certificate.json"
    refused = gate(path, keys)
    assert refused.code == 1
    assert "REFUSED: bench_as_run.transports.ble.dut is 'emulated'" in refused.stdout
    assert "emulated: ble, mqtt, serial" in refused.stdout
    accepted = gate(path, keys, "--allow-emulated")
    assert accepted.code == 0, accepted.stdout
    assert "--allow-emulated: records of emulated reference designs are accepted" in \
        accepted.stdout
    assert "ACCEPTED: acme.kettle.k1 firmware 1.4.2 is CERTIFIED under ECS-1.0 (emulated " \
           "reference design accepted on purpose with --allow-emulated" in accepted.stdout


def test_the_record_says_what_was_certified(certificate, emulated_run):
    record = certificate["record"]
    verdict = read_verdict(emulated_run[1])
    assert record["format"] == 3 and record["standard"] == verdict["standard"] == "ECS-1.0"
    # Rule IDs leave qualified by their standard (verdict.json: each result's `id`).
    assert [r["rule"] for r in record["rules"]] == [r["id"] for r in verdict["rules"]]
    assert all(r["id"] == f"ECS-1.0:{r['rule']}" for r in verdict["rules"])
    # The suite as the run hashed it (suite_sha256() itself: the shell recipe test below).
    assert record["harness"] == {"name": "certkit", "version": __version__,
                                 "suite_sha256": verdict["suite_sha256"]}
    assert len(verdict["suite_sha256"]) == 64
    bench = record["bench_as_run"]
    assert bench["emulated"] == ["ble", "mqtt", "serial"]
    assert {t: e["dut"] for t, e in bench["transports"].items()} == {
        "serial": "emulated", "mqtt": "emulated", "ble": "emulated"}
    assert bench["transports"]["mqtt"]["broker_served"].startswith("embedded ")
    assert bench["transports"]["mqtt"]["broker_served"] == verdict["bench"]["mqtt-broker-served"]
    assert bench["transports"]["ble"]["adapter"] == "emulator virtual link"
    assert bench["transports"]["serial"]["port"] == "emulator pty"
    assert all(e["faults"] == [] and e["variants"] == [] for e in bench["transports"].values())
    assert bench == verdict["bench_as_run"]
    assert record["selection"] == [] and record["partial"] is False
    assert record["complete"] is True
    assert record["custom_rules"] == {"files": [], "rules": []}
    assert len(record["rules"]) == len(verdict["rules"]) > 90
    assert record["signer"]["key_id"] == certificate["signature"]["key_id"]


def test_the_suite_sha256_is_the_documented_shell_recipe():
    recipe = ("find certkit/suite certkit/standard/rules.yaml -type f ! -path '*__pycache__*' "
              "| LC_ALL=C sort | xargs sha256sum | sha256sum")
    shell = subprocess.run(["bash", "-c", recipe], cwd=ROOT, capture_output=True, text=True,
                           timeout=30, check=True)
    assert shell.stdout.split()[0] == suite_sha256()


def test_verify_names_the_key_the_record_names(emulated_run, keys):
    result = certkit("verify", emulated_run[1] / "certificate.json",
                     "--public-key", keys / "other.pub")
    assert result.code == 1
    named = key_id(load_public_key(keys / "lab.pub"))
    other = key_id(load_public_key(keys / "other.pub"))
    assert f"INVALID: the record names key {named} (signer.key_id), not the public key given " \
           f"({other})" in result.stdout


# ---------------------------------------------------------------- every field is signed


def places(value, path=()):
    """Every leaf, every list element and every object member, as paths."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path + (key,)
            yield from places(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield path + (index,)
            yield from places(item, path + (index,))


def flipped(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if value is None:
        return "x"
    if isinstance(value, str):
        return value[:-1] + chr(ord(value[-1]) ^ 1) if value else "x"
    if isinstance(value, list):
        return value + [value[-1] if value else 0]
    return {**value, "x": 1}


def changed(certificate: dict, path: tuple, change) -> dict:
    copied = copy.deepcopy(certificate)
    holder = copied
    for part in path[:-1]:
        holder = holder[part]
    change(holder, path[-1])
    return copied


def flip(holder, key):
    holder[key] = flipped(holder[key])


def remove(holder, key):
    del holder[key]


def test_every_field_of_a_real_record_is_signed(certificate, keys):
    public = load_public_key(keys / "lab.pub")
    assert verify(certificate, public).ok
    paths = list(places(certificate))
    assert len(paths) > 500  # every rule instance's fields are in there
    for path in paths:
        for change in (flip, remove):
            assert not verify(changed(certificate, path, change), public).ok, (change, path)
    for path in [()] + [p for p in paths if isinstance(_at(certificate, p), dict)]:
        extra = changed(certificate, path + ("x",), lambda holder, key: holder.update(x=1)) \
            if path else {**certificate, "x": 1}
        assert not verify(extra, public).ok, ("extra member", path)


def _at(value, path):
    for part in path:
        value = value[part]
    return value


JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**53 + 1, 2**53 - 1) | st.text(),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=5)


@pytest.fixture(scope="module")
def record_places(certificate) -> list[tuple]:
    return list(places(certificate))


@given(data=st.data())
def test_any_value_put_anywhere_in_a_real_record_breaks_it(certificate, record_places, keys,
                                                          data):
    path = data.draw(st.sampled_from(record_places))
    value = data.draw(JSON.filter(lambda v: v != _at(certificate, path)
                                  or type(v) is not type(_at(certificate, path))))
    tampered = changed(certificate, path, lambda holder, key: holder.__setitem__(key, value))
    assert not verify(tampered, load_public_key(keys / "lab.pub")).ok


# ---------------------------------------------------------------- another implementation

NODE_VERIFY = r"""
const fs = require("fs"), crypto = require("crypto");
const canon = (v) => Array.isArray(v) ? `[${v.map(canon).join(",")}]`
  : v !== null && typeof v === "object"
    ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canon(v[k])}`).join(",")}}`
    : JSON.stringify(v);
const [certificate, publicKey] = process.argv.slice(1);
const c = JSON.parse(fs.readFileSync(certificate, "utf8"));
const key = crypto.createPublicKey(fs.readFileSync(publicKey));
const raw = key.export({format: "der", type: "spki"}).subarray(-32);
const id = crypto.createHash("sha256").update(raw).digest("hex");
const ok = crypto.verify(null, Buffer.from(canon(c.record), "utf8"), key,
                         Buffer.from(c.signature.value, "base64"));
console.log(JSON.stringify({ok, named: c.record.signer.key_id === id}));
"""


def node_verifies(certificate: Path, public: Path) -> dict:
    result = subprocess.run(["node", "-e", NODE_VERIFY, str(certificate), str(public)],
                            capture_output=True, text=True, timeout=30, check=True)
    return json.loads(result.stdout)


def test_node_alone_verifies_a_real_record_as_docs_records_md_shows(emulated_run, keys,
                                                                   tmp_path):
    """JCS from the docs' dozen lines of JavaScript and node's own Ed25519: no certkit."""
    path = emulated_run[1] / "certificate.json"
    assert node_verifies(path, keys / "lab.pub") == {"ok": True, "named": True}
    assert node_verifies(path, keys / "other.pub") == {"ok": False, "named": False}
    tampered = tmp_path / "tampered.json"
    tampered.write_text(path.read_text("utf-8").replace('"pass"', '"fail"', 1), "utf-8")
    assert node_verifies(tampered, keys / "lab.pub")["ok"] is False
