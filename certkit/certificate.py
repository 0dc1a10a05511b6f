"""Signed certification records (ECS-1 section 11) and the campaign gate.

A record is the verdict document's essentials, encoded canonically (JSON,
sorted keys, no spaces, UTF-8, integers only) and signed with Ed25519:

    {"record": {...}, "signature": {"algorithm": "Ed25519", "key": "<id>", "value": "<base64>"}}

Anyone with the ecosystem's public key verifies it offline; any change to any
field breaks the signature. The campaign gate accepts a record only when it
verifies, is CERTIFIED, covers the whole standard, names the campaign's model
and firmware, and none of its waivers has expired.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

RECORD_FORMAT = 1


class KeyFileError(ValueError):
    """A key file is missing, unreadable or not an Ed25519 key."""


def canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False).encode("utf-8")


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


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
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: {exc.strerror}") from None


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


def make_record(verdict_document: dict, identity: dict) -> dict:
    """The signed content, from a verdict.json document and the DUT identity."""
    doc = verdict_document
    return {
        "format": RECORD_FORMAT,
        "harness": {"name": "certkit", "version": doc["certkit"]},
        "standard": doc["standard"],
        "profile": {"path": doc["profile"]["path"], "sha256": doc["profile"]["sha256"]},
        "dut": identity,
        "selection": doc["selection"],
        "complete": doc["complete"],
        "rules": [{"rule": r["rule"], "instance": r["instance"], "level": r["level"],
                   "outcome": r["outcome"], "message": r["message"]} for r in doc["rules"]],
        "waivers": doc["waivers"],
        "started": doc["started"],
        "finished": doc["finished"],
        "verdict": doc["verdict"],
    }


def sign(record: dict, private: Ed25519PrivateKey) -> dict:
    signature = private.sign(canonical(record))
    return {"record": record, "signature": {
        "algorithm": "Ed25519", "key": key_id(private.public_key()),
        "value": base64.b64encode(signature).decode("ascii")}}


@dataclass(frozen=True)
class Check:
    ok: bool
    reason: str


def verify(certificate: object, public: Ed25519PublicKey) -> Check:
    if not isinstance(certificate, dict) or set(certificate) != {"record", "signature"}:
        return Check(False, "not a certification record (expected record and signature)")
    signature = certificate["signature"]
    if not isinstance(signature, dict) or signature.get("algorithm") != "Ed25519":
        return Check(False, "the record is not signed with Ed25519")
    try:
        raw = base64.b64decode(str(signature.get("value", "")), validate=True)
        public.verify(raw, canonical(certificate["record"]))
    except (InvalidSignature, ValueError):
        return Check(False, "the signature does not match the record and this public key "
                            "(the record was changed, or signed with another key)")
    return Check(True, f"signature valid (key {key_id(public)})")


def gate(certificate: object, public: Ed25519PublicKey, model: str, firmware: str,
         today: date) -> Check:
    """The crowdfunding platform's check before a campaign goes live."""
    checked = verify(certificate, public)
    if not checked.ok:
        return checked
    record = certificate["record"]  # type: ignore[index]
    if record.get("verdict") != "CERTIFIED":
        return Check(False, f"the verdict is {record.get('verdict')}, not CERTIFIED")
    if record.get("selection") or not record.get("complete"):
        return Check(False, "the record covers only part of the standard "
                            f"(selection {record.get('selection')}, complete "
                            f"{record.get('complete')})")
    dut = record.get("dut", {})
    if dut.get("model") != model:
        return Check(False, f"the record certifies model {dut.get('model')!r}, not {model!r}")
    if dut.get("firmware") != firmware:
        return Check(False, f"the record certifies firmware {dut.get('firmware')!r}, "
                            f"not {firmware!r}")
    for waiver in record.get("waivers", []):
        if date.fromisoformat(waiver["expires"]) < today:
            return Check(False, f"the waiver for {waiver['rule']} expired on "
                                f"{waiver['expires']}")
    return Check(True, f"accepted: {model} firmware {firmware} is CERTIFIED under "
                       f"{record.get('standard')}")
