"""`certkit keygen`, `certkit verify` and `certkit gate`: certification records.

keygen writes an Ed25519 key pair; verify checks a record's signature
offline; gate is the crowdfunding platform's check before a campaign opens.
Exit codes: 0 valid (accepted), 1 invalid (refused), 2 usage error.
(cryptography is imported by the handlers, so other commands start faster.)
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keygen = commands.add_parser("keygen", help="write an Ed25519 key pair for signing records")
    keygen.add_argument("--private", metavar="FILE", type=Path, required=True)
    keygen.add_argument("--public", metavar="FILE", type=Path, required=True)
    keygen.set_defaults(handler=run_keygen)

    check = commands.add_parser("verify", help="check a certification record's signature")
    check.add_argument("certificate", metavar="CERTIFICATE", type=Path)
    check.add_argument("--public-key", metavar="FILE", type=Path, required=True)
    check.set_defaults(handler=run_verify)

    campaign = commands.add_parser(
        "gate", help="the campaign gate: accept only a valid CERTIFIED record for this device")
    campaign.add_argument("certificate", metavar="CERTIFICATE", type=Path)
    campaign.add_argument("--public-key", metavar="FILE", type=Path, required=True)
    campaign.add_argument("--model", required=True)
    campaign.add_argument("--firmware", metavar="VERSION", required=True)
    campaign.add_argument("--standard", metavar="NAME", default="ECS-1.0",
                          help="the standard the record must certify against (default ECS-1.0)")
    campaign.add_argument("--allow-emulated", action="store_true",
                          help="accept a record of certkit's reference emulators (for an "
                               "ecosystem's CI that certifies emulated reference designs on "
                               "purpose; never for a campaign)")
    campaign.set_defaults(handler=run_gate)


def run_keygen(args: argparse.Namespace) -> int:
    from certkit.certificate import KeyFileError, generate_keys

    if args.private.resolve() == args.public.resolve():
        print(f"certkit keygen: --private and --public are both {args.private}; a key pair "
              "needs two files", file=sys.stderr)
        return 2
    existed = {path: path.exists() or path.is_symlink() for path in (args.private, args.public)}
    try:
        key = generate_keys(args.private, args.public)
    except KeyFileError as exc:
        print(f"certkit keygen: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # never a private key without its public key, nor a half-written one
        for path, was_there in existed.items():
            if not was_there and path.is_file():
                path.unlink()
        print(f"certkit keygen: cannot write {exc.filename or args.public}: "
              f"{exc.strerror or exc}; no key was written", file=sys.stderr)
        return 2
    print(f"wrote {args.private} (keep it secret) and {args.public}; key id {key}")
    return 0


def _load(args: argparse.Namespace, command: str
          ) -> tuple[dict[str, Any], Ed25519PublicKey] | None:
    from certkit.certificate import KeyFileError, load_public_key

    try:
        public = load_public_key(args.public_key)
    except KeyFileError as exc:
        print(f"certkit {command}: {exc}", file=sys.stderr)
        return None
    from certkit.inputfiles import InputFileError, read_json_object

    try:  # a regular file of at most 1 MiB holding a JSON object, else the reason
        return read_json_object(args.certificate), public
    except InputFileError as exc:
        print(f"certkit {command}: {exc}", file=sys.stderr)
    except RecursionError:
        print(f"certkit {command}: {args.certificate}: not a certkit record (nested too deeply)",
              file=sys.stderr)
    return None


# What a JSON object of the wrong shape raises inside verify or gate (a list where a mapping
# belongs, a number where a date does, nesting past the recursion limit).
NOT_A_RECORD = (AttributeError, TypeError, KeyError, IndexError, ValueError, RecursionError)


def _not_a_record(args: argparse.Namespace, command: str, exc: BaseException) -> int:
    print(f"certkit {command}: {args.certificate}: not a certkit record (a field has the "
          f"wrong shape: {type(exc).__name__})", file=sys.stderr)
    return 2


def run_verify(args: argparse.Namespace) -> int:
    loaded = _load(args, "verify")
    if loaded is None:
        return 2
    from certkit.certificate import verify

    try:
        result = verify(*loaded)
    except NOT_A_RECORD as exc:
        return _not_a_record(args, "verify", exc)
    print(f"{'VALID' if result.ok else 'INVALID'}: {result.reason}")
    return 0 if result.ok else 1


def run_gate(args: argparse.Namespace) -> int:
    loaded = _load(args, "gate")
    if loaded is None:
        return 2
    from certkit.certificate import gate

    if args.allow_emulated:
        print("certkit gate: --allow-emulated: records of emulated reference designs are "
              "accepted (an ecosystem's CI, never a campaign)")
    try:
        result = gate(*loaded, model=args.model, firmware=args.firmware, today=date.today(),
                      allow_emulated=args.allow_emulated, standard=args.standard)
    except NOT_A_RECORD as exc:
        return _not_a_record(args, "gate", exc)
    print(f"{'ACCEPTED' if result.ok else 'REFUSED'}: {result.reason}")
    return 0 if result.ok else 1
