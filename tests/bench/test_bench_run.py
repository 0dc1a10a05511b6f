"""`certkit run --bench`: real runs of emulated DUTs at once, each in its own process."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from tests.support.cli import certkit, start_certkit
from tests.support.paths import KETTLE, PROFILES, SENSOR
from tests.support.results import read_verdict

RULES = ["--rules", "SER-001", "--rules", "MQT-001", "--rules", "BLE-001"]


def bench_file(folder: Path, duts: str) -> Path:
    path = folder / "lab.bench.yaml"
    path.write_text("certkit-bench: 1\nduts:\n" + textwrap.dedent(duts), "utf-8")
    return path


def judged(verdict: dict) -> list[tuple[str, str]]:
    """The rule instances a run judged (pass or fail), design rules apart."""
    return [(r["rule"], r["outcome"]) for r in verdict["rules"]
            if r["outcome"] in ("pass", "fail") and not r["rule"].startswith(("PRF", "DSN"))]


def test_duts_certified_at_once_with_bench_json_and_exit_codes(tmp_path: Path):
    bench = bench_file(tmp_path, f"""\
        - name: outlet
          profile: {PROFILES / 'acme.outlet.o1.yaml'}
          emulate: [serial, mqtt]
          identity: {{serial-number: O1-0001}}
        - name: faulty-kettle
          profile: {KETTLE}
          emulate: [serial, mqtt, ble]
          fault: [serial:wrong-model]
        - name: impostor
          profile: {SENSOR}
          emulate: [ble]
          identity: {{serial-number: TH1-0999}}
        """)
    assert certkit("keygen", "--private", tmp_path / "k.pem", "--public",
                   tmp_path / "k.pub").code == 0
    out = tmp_path / "out"
    result = certkit("run", "--bench", bench, "--out", out, *RULES, "--key", tmp_path / "k.pem",
                     timeout=120)
    assert result.code == 1, result.stdout + result.stderr  # a DUT NOT CERTIFIED
    summary = json.loads((out / "bench.json").read_text("utf-8"))
    assert summary["started"] and summary["finished"]
    by_name = {d["name"]: d for d in summary["duts"]}
    assert {n: (d["verdict"], d["exit"]) for n, d in by_name.items()} == {
        "outlet": ("CERTIFIED", 0), "faulty-kettle": ("NOT CERTIFIED", 1),
        "impostor": ("INCOMPLETE", 3)}
    for name, entry in by_name.items():
        assert Path(entry["out"]) == out / name
        assert read_verdict(out / name)["verdict"] == entry["verdict"]
        assert (out / name / "junit.xml").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["bench.json", "faulty-kettle", "impostor",
                                                     "logs", "outlet"]
    # The identity as observed is in the verdict.
    outlet = read_verdict(out / "outlet")
    assert outlet["dut"]["serial-number"] == "O1-0001"
    assert outlet["dut"]["observed"]["serial-number"] == {"serial": "O1-0001", "mqtt": "O1-0001"}
    # ... and in the signed record, which every DUT's run signed with the bench's key.
    certificate = out / "outlet" / "certificate.json"
    record = json.loads(certificate.read_text("utf-8"))["record"]
    assert record["dut"]["serial-number"] == "O1-0001"
    assert record["dut"]["observed"]["device-id"] == {"mqtt": "acme-o1-0001"}
    assert certkit("verify", certificate, "--public-key", tmp_path / "k.pub").code == 0
    assert ("SER-001", "fail") in judged(read_verdict(out / "faulty-kettle"))
    # The wrong unit: a bench error naming expected and observed, and no rule judged.
    impostor = read_verdict(out / "impostor")
    assert impostor["complete"] is False
    assert ("the unit on ble is not the one the bench names: serial-number expected "
            "'TH1-0999', observed 'TH1-0001'") in impostor["stop_reason"]
    assert judged(impostor) == []
    assert "BENCH: 3 DUTs" in result.stdout


def test_exit_3_when_a_dut_is_incomplete_and_none_fails(tmp_path: Path):
    bench = bench_file(tmp_path, f"""\
        - name: sensor
          profile: {SENSOR}
          emulate: [ble]
        - name: impostor
          profile: {PROFILES / 'acme.outlet.o1.yaml'}
          emulate: [serial, mqtt]
          identity: {{device-id: acme-o1-0001, serial-number: O1-0002}}
        """)
    out = tmp_path / "out"
    result = certkit("run", "--bench", bench, "--out", out, *RULES, timeout=120)
    assert result.code == 3, result.stdout + result.stderr
    summary = json.loads((out / "bench.json").read_text("utf-8"))
    assert [(d["name"], d["verdict"]) for d in summary["duts"]] == [
        ("sensor", "CERTIFIED"), ("impostor", "INCOMPLETE")]
    impostor = read_verdict(out / "impostor")
    assert "serial-number expected 'O1-0002', observed 'O1-0001'" in impostor["stop_reason"]
    assert judged(impostor) == []


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_stops_every_dut_and_leaves_every_verdict(tmp_path: Path, stop: int):
    bench = bench_file(tmp_path, f"""\
        - name: kettle-a
          profile: {KETTLE}
          emulate: [serial, mqtt, ble]
        - name: kettle-b
          profile: {KETTLE}
          emulate: [serial, mqtt, ble]
        """)
    out = tmp_path / "out"
    process = start_certkit("run", "--bench", bench, "--out", out, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        # Until both runs have judged a rule instance that touches the device.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = [judged(read_verdict(out / n)) if (out / n / "verdict.json").exists() else []
                    for n in ("kettle-a", "kettle-b")]
            if all(done):
                break
            time.sleep(0.2)
        assert all(done), "the runs did not start within 60 s"
        process.send_signal(stop)
        stdout, stderr = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 3, stdout + stderr
    summary = json.loads((out / "bench.json").read_text("utf-8"))
    assert summary["finished"]
    for entry in summary["duts"]:
        verdict = read_verdict(Path(entry["out"]))
        assert entry["verdict"] == verdict["verdict"] == "INCOMPLETE"
        assert verdict["complete"] is False and "interrupted" in verdict["stop_reason"]
        assert entry["exit"] == 3 and "killed" not in entry  # each run ended itself
    assert running_with(f"--out={out}") == []  # no DUT's run is left behind


def running_with(argument: str) -> list[int]:
    """The processes with this exact argument on their command line."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(a.decode(errors="replace").startswith(argument) for a in args):
            found.append(int(proc.name))
    return found


def test_single_run_identity_mismatch_judges_no_rule(tmp_path: Path):
    out = tmp_path / "out"
    result = certkit("run", PROFILES / "acme.outlet.o1.yaml", "--emulate",
                     "--identity", "serial-number=O1-7777", "--rules", "SER-00[1-3]",
                     "--out", out, timeout=90)
    assert result.code == 3, result.stdout + result.stderr
    verdict = read_verdict(out)
    assert judged(verdict) == []
    assert verdict["stop_reason"] == ("bench error: the unit on serial is not the one the bench "
                                      "names: serial-number expected 'O1-7777', observed "
                                      "'O1-0001'")
    assert verdict["bench"]["identity"] == "serial-number=O1-7777"


def test_an_identity_no_opened_link_reports_is_not_taken_as_confirmed(tmp_path: Path):
    # Only the serial link opens (SER rules); the MQTT device id the bench names is never read.
    rules = ("--rules", "SER-00[1-3]")
    named = ("--identity", "serial-number=O1-0001")
    unread = certkit("run", PROFILES / "acme.outlet.o1.yaml", "--emulate", *named,
                     "--identity", "device-id=acme-o1-0001", *rules, "--out", tmp_path / "a",
                     timeout=90)
    assert unread.code == 3, unread.stdout + unread.stderr
    assert read_verdict(tmp_path / "a")["stop_reason"] == (
        "bench error: the unit was not confirmed as the one the bench names: device-id "
        "'acme-o1-0001' was never reported (identity read over serial)")
    confirmed = certkit("run", PROFILES / "acme.outlet.o1.yaml", "--emulate", *named, *rules,
                        "--out", tmp_path / "b", timeout=90)
    verdict = read_verdict(tmp_path / "b")
    assert verdict["stop_reason"] is None, confirmed.stdout + confirmed.stderr
    assert verdict["dut"]["observed"]["serial-number"] == {"serial": "O1-0001"}


def test_example_lab_certifies_the_five_examples_at_once(tmp_path: Path):
    out = tmp_path / "lab"
    result = certkit("run", "--bench", PROFILES / "lab.bench.yaml", "--out", out, *RULES,
                     timeout=120)
    assert result.code == 0, result.stdout + result.stderr
    summary = json.loads((out / "bench.json").read_text("utf-8"))
    assert [(d["name"], d["verdict"], d["exit"]) for d in summary["duts"]] == [
        (name, "CERTIFIED", 0) for name in ("kettle", "light", "outlet", "purifier", "sensor")]
    for entry in summary["duts"]:
        verdict = read_verdict(Path(entry["out"]))
        assert judged(verdict), entry["name"]  # each DUT was checked, not only its profile
        emulated = verdict["bench_as_run"]["transports"]
        assert {e["dut"] for e in emulated.values()} == {"emulated"}


def test_live_table_on_a_terminal(tmp_path: Path):
    import pty

    bench = bench_file(tmp_path, f"""\
        - name: sensor
          profile: {SENSOR}
          emulate: [ble]
        """)
    leader, follower = pty.openpty()
    process = start_certkit("run", "--bench", bench, "--out", tmp_path / "out",
                            "--rules", "BLE-001", stdout=follower, stderr=subprocess.PIPE)
    os.close(follower)
    shown = b""
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # read as it comes: a full terminal would block it
            ready, _, _ = select.select([leader], [], [], 0.5)
            try:
                chunk = os.read(leader, 65536) if ready else b""
            except OSError:  # the other end is closed and drained
                break
            shown += chunk
            if not chunk and process.poll() is not None:
                break
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        process.stderr.close()
        os.close(leader)
    text = shown.decode("utf-8", "replace")
    assert "DUT" in text and "verdict" in text  # the table's header
    assert "sensor" in text and "CERTIFIED" in text
    assert process.returncode == 0
