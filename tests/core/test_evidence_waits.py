"""Waits are data: `EvidenceLog.waited` keeps the note as written and records the wait as a
measurement in seconds, which verdict.json carries and the benchmarks add up."""

from __future__ import annotations

from pathlib import Path

from certkit.evidence import DUT_WAIT, IMPOSED_WAIT, WAIT_LIMIT, EvidenceLog
from tests.support.cli import run_certkit
from tests.support.paths import KETTLE


def test_a_wait_is_its_note_and_a_measurement_in_seconds():
    log = EvidenceLog()
    log.waited(0.5, "imposed wait: 500 ms (reply-ms after the invalid payloads)", imposed=True)
    log.waited(0.0254, "bench: waited 25 ms for the DUT's session", imposed=False)
    imposed, dut = log.since(0)
    assert (imposed.channel, imposed.text) == (
        "note", "imposed wait: 500 ms (reply-ms after the invalid payloads)")
    assert imposed.measurement is not None and dut.measurement is not None
    assert (imposed.measurement.name, imposed.measurement.value, imposed.measurement.unit,
            imposed.measurement.limit, imposed.measurement.ok) == (
        IMPOSED_WAIT, 0.5, "s", WAIT_LIMIT, True)
    # A wait of milliseconds counts as one: the MQTT session wait once dropped out of the
    # benchmark's "waited N s" pattern.
    assert (dut.measurement.name, dut.measurement.value) == (DUT_WAIT, 0.025)
    assert dut.line().endswith("note bench: waited 25 ms for the DUT's session")


def test_the_record_carries_the_waits_the_benchmarks_read(tmp_path: Path):
    run = run_certkit(KETTLE, tmp_path / "out", "--emulate", "serial", "--rules", "SER-002")
    assert run.code == 0, run.stderr
    window = run.figures(IMPOSED_WAIT)
    assert [(f["unit"], f["ok"]) for f in window] == [("s", True)]
    imposed, dut = run.waits_s()
    assert imposed == window[0]["value"] > 0 and dut == 0
    log = run.evidence("SER-002")
    assert "imposed wait: 3000 ms (the polling window observed)" in log
