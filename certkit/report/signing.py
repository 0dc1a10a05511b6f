"""certificate.json: the run's verdict record signed with the operator's key (--key)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certkit.certificate import make_record, sign
from certkit.report.record import write_atomically


def write_certificate(out: Path, document: dict[str, Any], key: Ed25519PrivateKey) -> None:
    """Sign the verdict document (docs/records.md) and write it to out/certificate.json."""
    certificate = sign(make_record(document, document["dut"]), key)
    write_atomically(out / "certificate.json",
                     json.dumps(certificate, indent=2, ensure_ascii=False) + "\n")
