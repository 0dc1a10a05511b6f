"""Signed certification records (ECS-1 section 11, C-4) and the campaign gate.

A record is the verdict document's essentials, signed with Ed25519 over its
RFC 8785 (JCS) canonical JSON (the `rfc8785` library), so any JCS
implementation can check it; it holds integers only, no floats:

    {"record": {..., "signer": {"algorithm": "Ed25519", "key_id": "<sha256 of the raw key>",
                                "public_key": "<base64 raw key>"}},
     "signature": {"algorithm": "Ed25519", "key_id": "<the same>", "value": "<base64>"}}

The record names the key that signed it; verification against another public
key fails and says which key the record names. Any change to any field breaks
the signature. The campaign gate accepts a record only when it verifies, is
CERTIFIED under the campaign's standard (ECS-1.0 unless told), covers the
whole standard, was run on a real DUT on every transport (unless the gate
allows emulated reference designs), carries no failed rule of one's own,
names the campaign's model and firmware, and none of its waivers has
expired. docs/records.md describes every field.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

# 3: rule IDs qualified by their standard (ECS-1.0:SER-004); format 2 records, whose IDs are
# ECS-1.0's unqualified, are still read (docs/records.md).
RECORD_FORMAT = 3
READ_FORMATS = (2, 3)
# What a merged record says of each run it merges (docs/records.md, "Reruns that merge").
MERGED_RUN_FIELDS = ("run", "started", "finished", "verdict", "verdict_sha256", "resumed")


class KeyFileError(ValueError):
    """A key file is missing, unreadable or not an Ed25519 key."""


class RecordError(ValueError):
    """A value cannot go into a record (a float, or not JSON)."""


def canonical(value: dict[str, Any]) -> bytes:
    """The signed bytes: RFC 8785 (JCS) canonical JSON of a float-free record."""
    _integers_only(value)
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError) as exc:
        raise RecordError(f"not canonical JSON: {exc}") from None


def _integers_only(value: object) -> None:
    stack = [value]
    while stack:  # iterative: a deeply nested document is refused, not a RecursionError
        item = stack.pop()
        if isinstance(item, float):
            raise RecordError(f"a record holds integers only, not {item!r}")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def raw_public_key(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: Ed25519PublicKey) -> str:
    """The key's name in records: the sha256 (hex) of its 32 raw bytes."""
    return hashlib.sha256(raw_public_key(public)).hexdigest()


# ---------------------------------------------------------------- keys


def generate_keys(private_path: Path, public_path: Path) -> str:
    """Write a new key pair (PEM); refuses to overwrite. Returns the key id."""
    for path in (private_path, public_path):
        if path.exists():
            raise KeyFileError(f"{path} exists; certkit never overwrites a key")
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    private_path.parent.mkdir(parents=True, exist_ok=True)
    with open(private_path, "xb", opener=lambda p, f: os.open(p, f, 0o600)) as out:
        out.write(private_pem)
    public_path.parent.mkdir(parents=True, exist_ok=True)
    with open(public_path, "xb") as out:
        out.write(public_pem)
    return key_id(private.public_key())


def _read(path: Path) -> bytes:
    from certkit.inputfiles import InputFileError, read_input

    try:  # a regular file: a FIFO or a device given as a key would block or never end
        return read_input(path)
    except InputFileError as exc:
        raise KeyFileError(str(exc)) from None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(_read(path), password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(_read(path))
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path}: not an Ed25519 key")
    return key


# ---------------------------------------------------------------- records


def make_record(verdict_document: dict[str, Any], identity: dict[str, Any]) -> dict[str, Any]:
    """The signed content, from a verdict.json document and the DUT identity (the signer is
    added by `sign`)."""
    doc = verdict_document
    from certkit.standard import QUALIFIER

    def qualified(rule_id: str) -> str:
        if rule_id.startswith("custom:") or QUALIFIER in rule_id:
            return rule_id
        return f"{doc['standard']}{QUALIFIER}{rule_id}"

    def result(r: dict[str, Any]) -> dict[str, Any]:
        shown = {"rule": qualified(r["rule"]), "instance": r["instance"], "level": r["level"],
                 "outcome": r["outcome"], "message": r["message"]}
        if "attempts" in r:  # a merged run's (certkit run --resume): every attempt, no floats
            shown["attempts"] = [{k: v for k, v in a.items() if k != "duration_s"}
                                 for a in r["attempts"]]
        return shown

    def waiver(w: dict[str, Any]) -> dict[str, Any]:
        return {**{k: v for k, v in w.items() if k != "id"}, "rule": qualified(w["rule"])}

    def merged_run(run: dict[str, Any]) -> dict[str, Any]:
        shown = {k: run[k] for k in MERGED_RUN_FIELDS}
        if shown["resumed"] is not None:  # instance IDs (SER-004[2.1]), qualified like rules
            shown["resumed"] = [qualified(rule) + bracket + key for rule, bracket, key in
                                (instance.partition("[") for instance in shown["resumed"])]
        return shown

    custom = doc.get("custom_rules", {"files": [], "rules": []})
    merged = ({"merged": {"runs": [merged_run(run) for run in doc["merged"]["runs"]]}}
              if isinstance(doc.get("merged"), dict) else {})
    return {
        **merged,
        "format": RECORD_FORMAT,
        "harness": {"name": "certkit", "version": doc["certkit"],
                    "suite_sha256": doc["suite_sha256"]},
        "standard": doc["standard"],
        "profile": {"path": doc["profile"]["path"], "sha256": doc["profile"]["sha256"]},
        "dut": identity,
        "bench_as_run": doc["bench_as_run"],
        "selection": doc["selection"],
        "partial": doc["partial"],
        "complete": doc["complete"],
        "rules": [result(r) for r in doc["rules"]],
        "custom_rules": {"files": custom["files"], "rules": [result(r) for r in custom["rules"]]},
        "waivers": [waiver(w) for w in doc["waivers"]],
        "started": doc["started"],
        "finished": doc["finished"],
        "verdict": doc["verdict"],
    }


def sign(record: dict[str, Any], private: Ed25519PrivateKey) -> dict[str, Any]:
    """The certificate: the record, naming its signer, and the signature over both."""
    public = private.public_key()
    named = key_id(public)
    record = {**record, "signer": {
        "algorithm": "Ed25519", "key_id": named,
        "public_key": base64.b64encode(raw_public_key(public)).decode("ascii")}}
    signature = private.sign(canonical(record))
    return {"record": record, "signature": {
        "algorithm": "Ed25519", "key_id": named,
        "value": base64.b64encode(signature).decode("ascii")}}


@dataclass(frozen=True)
class Check:
    ok: bool
    reason: str


def _named_key(certificate: object) -> tuple[dict[str, Any], dict[str, Any], str] | Check:
    """The record, its signature and the key id it names, or why it is not a signed record."""
    if not isinstance(certificate, dict) or set(certificate) != {"record", "signature"}:
        return Check(False, "not a certkit record (expected record and signature)")
    record, signature = certificate["record"], certificate["signature"]
    if not isinstance(record, dict) or not isinstance(signature, dict):
        return Check(False, "not a certkit record (record and signature must be objects)")
    if set(signature) != {"algorithm", "key_id", "value"}:
        return Check(False, "not a certkit record (the signature holds algorithm, key_id and "
                            "value, nothing else)")
    if record.get("format") not in READ_FORMATS:
        return Check(False, f"record format {record.get('format')!r} is not a format this "
                            f"certkit reads ({', '.join(map(str, READ_FORMATS))})")
    signer = record.get("signer")
    if not isinstance(signer, dict) or not isinstance(signer.get("key_id"), str):
        return Check(False, "the record names no signing key (signer.key_id)")
    if signature.get("algorithm") != "Ed25519" or signer.get("algorithm") != "Ed25519":
        return Check(False, "the record is not signed with Ed25519")
    if signature.get("key_id") != signer["key_id"]:
        return Check(False, f"the signature names key {signature.get('key_id')!r} but the "
                            f"record names key {signer['key_id']!r} (signer.key_id)")
    try:
        named_raw = base64.b64decode(str(signer.get("public_key", "")), validate=True)
    except ValueError:
        named_raw = b""
    if hashlib.sha256(named_raw).hexdigest() != signer["key_id"]:
        return Check(False, "the record's signer.public_key is not the key signer.key_id names")
    return record, signature, signer["key_id"]


def verify(certificate: object, public: Ed25519PublicKey) -> Check:
    return _verified(certificate, public)[1]


def _verified(certificate: object, public: Ed25519PublicKey) -> tuple[dict[str, Any], Check]:
    """The signed record (empty when its signature is not valid) and the check."""
    named = _named_key(certificate)
    if isinstance(named, Check):
        return {}, named
    record, signature, named_id = named
    given = key_id(public)
    if named_id != given:
        return {}, Check(False, f"the record names key {named_id} (signer.key_id), not the "
                                f"public key given ({given}): it was signed with another key")
    try:
        signed = canonical(record)
    except RecordError as exc:
        return {}, Check(False, f"not a certkit record: {exc}")
    try:
        raw = base64.b64decode(str(signature.get("value", "")), validate=True)
        public.verify(raw, signed)
    except (InvalidSignature, ValueError):
        return {}, Check(False, "the signature does not match the record: the record was "
                                f"changed after key {given} signed it")
    return record, Check(True, f"signature valid (key {given})")


def _emulated(record: dict[str, Any], allow_emulated: bool) -> str | None:
    """Why the bench as run does not certify a device, or None."""
    bench = record.get("bench_as_run")
    if not isinstance(bench, dict) or not isinstance(bench.get("transports"), dict):
        return "the record does not say what bench was certified (bench_as_run)"
    transports = bench["transports"]
    for name, entry in sorted(transports.items()):
        if not isinstance(entry, dict) or entry.get("dut") not in ("real", "emulated"):
            return f"bench_as_run.transports.{name}.dut is neither 'real' nor 'emulated'"
    emulated = sorted(name for name, entry in transports.items() if entry["dut"] == "emulated")
    if emulated and not allow_emulated:
        return (f"bench_as_run.transports.{emulated[0]}.dut is 'emulated': the record certifies "
                f"certkit's reference emulator, not a device (emulated: {', '.join(emulated)})")
    for name in emulated:
        entry = transports[name]
        if entry.get("faults"):
            return (f"bench_as_run.transports.{name}.faults is {entry['faults']}: an emulator "
                    "with injected faults is no reference design, even with --allow-emulated")
    if bench.get("interop_faults"):
        return (f"bench_as_run.interop_faults is {bench['interop_faults']}: faults were "
                "injected into the emulated device")
    return None


def gate(certificate: object, public: Ed25519PublicKey, model: str, firmware: str,
         today: date, allow_emulated: bool = False, standard: str = "ECS-1.0") -> Check:
    """The crowdfunding platform's check before a campaign goes live. `allow_emulated`
    accepts emulated reference designs (an ecosystem's own CI), and says so. `standard`:
    the one the record must certify against (a record of another proves nothing here)."""
    record, checked = _verified(certificate, public)
    if not checked.ok:
        return checked
    if record.get("standard") != standard:
        return Check(False, f"standard: the record certifies against {record.get('standard')!r}, "
                            f"not {standard!r}")
    if record.get("verdict") != "CERTIFIED":
        return Check(False, f"verdict is {record.get('verdict')}, not CERTIFIED")
    if record.get("partial") is not False or record.get("selection"):
        return Check(False, "partial is true: the record covers only part of the standard "
                            f"(selection {record.get('selection')})")
    if record.get("complete") is not True:
        return Check(False, "complete is false: the run stopped before it checked every rule")
    bench = _emulated(record, allow_emulated)
    if bench:
        return Check(False, bench)
    custom = record.get("custom_rules")
    results = custom.get("rules") if isinstance(custom, dict) else None
    if not isinstance(results, list):
        return Check(False, "the record does not list its rules of one's own (custom_rules)")
    failed = [r for r in results if not isinstance(r, dict) or r.get("outcome") in ("fail", "error")]
    if failed:
        named = ", ".join(f"{r.get('rule')}: {r.get('outcome')}" if isinstance(r, dict) else "?"
                          for r in failed)
        return Check(False, f"custom_rules.rules: rules of the bench's own did not pass ({named})")
    named_dut = record.get("dut")
    dut: dict[str, Any] = named_dut if isinstance(named_dut, dict) else {}
    if dut.get("model") != model:
        return Check(False, f"dut.model: the record certifies model {dut.get('model')!r}, "
                            f"not {model!r}")
    if dut.get("firmware") != firmware:
        return Check(False, f"dut.firmware: the record certifies firmware "
                            f"{dut.get('firmware')!r}, not {firmware!r}")
    for waiver in record.get("waivers") or []:
        try:
            expires = date.fromisoformat(waiver["expires"])
        except (TypeError, KeyError, ValueError):
            return Check(False, f"waivers: {waiver!r} has no valid expiry date")
        if expires < today:
            return Check(False, f"waivers: the waiver for {waiver.get('rule')} expired on "
                                f"{waiver['expires']}")
    emulated = record["bench_as_run"].get("emulated") or []
    note = (f" (emulated reference design accepted on purpose with --allow-emulated: "
            f"{', '.join(emulated)} emulated)" if emulated else "")
    return Check(True, f"{model} firmware {firmware} is CERTIFIED under "
                       f"{record.get('standard')}{note}")
