"""The outputs of a DUT whose labgrid place was never held: its run is not started (no rule
may judge a unit on a place this bench does not hold), so the bench writes what an
interrupted run writes: verdict.json with every planned instance `error` ("not run: " and
the bench error naming the place and its holder), INCOMPLETE; junit.xml; summary.md; and
with --key the signed record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from certkit.bench import Bench


def unheld_facts(place: str, coordinator: str, holder: str | None) -> dict[str, str]:
    """The record's bench facts of a place that was not acquired (see Lease.facts)."""
    return {"lab-place": place, "lab-coordinator": coordinator,
            "lab-held-by": holder or "unknown", "lab-acquired": "no"}


def write_unheld_outputs(out: Path, profile_path: Path, bench: Bench, reason: str,
                         facts: dict[str, str], patterns: tuple[str, ...] = (),
                         key: Path | None = None) -> dict[str, Any]:
    """verdict.json, junit.xml (and certificate.json with `key`) in `out`; the document."""
    from certkit.design import ProfileReadError, lint_file
    from certkit.plan import make_plan
    from certkit.report.junit import junit_xml
    from certkit.report.record import RunRecord, now, sha256_file, write_atomically

    try:
        lint = lint_file(profile_path)
    except ProfileReadError:
        lint = None
    profile = lint.profile if lint is not None else None
    plan = make_plan(profile, patterns) if lint is not None and lint.ok and profile else None
    record = RunRecord(out, profile_path, lint.sha256 if lint else sha256_file(profile_path),
                       profile.device.model if profile else None, plan, patterns,
                       {**bench.describe(), **facts}, setup=bench,
                       transports=tuple(profile.transports.declared) if profile else ())
    if lint is not None:
        record.standard = lint.standard  # the one the profile names
    record.stop_reason = reason
    record.finished = now()
    out.mkdir(parents=True, exist_ok=True)
    document = record.write()
    write_atomically(out / "junit.xml", junit_xml(document, []))
    if key is not None:
        from certkit.certificate import load_private_key, make_record, sign

        certificate = sign(make_record(document, document["dut"]), load_private_key(key))
        write_atomically(out / "certificate.json",
                         json.dumps(certificate, indent=2, ensure_ascii=False) + "\n")
    from certkit.report.publish import publish

    publish(out, document, findings=lint.findings if lint is not None else ())  # summary.md
    return document
