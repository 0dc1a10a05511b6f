"""`certkit run --resume OUT --out OUT2`: re-run only what OUT left in `error` or not run, on
its profile and bench, and merge every attempt into one verdict (docs/records.md).

The bench fault is real: the run's external broker (`--mqtt-broker mqtt://127.0.0.1:PORT`)
does not listen yet, so every MQTT instance ends in `error`; before the resume a mosquitto
starts on that port. The earlier folder is never changed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from certkit.benchfile.progress import read_progress
from certkit.links.mqtt.broker import free_port
from tests.conftest import KETTLE, ROOT, certkit, outcomes, read_verdict
from tests.support.mosquitto import MOSQUITTO, Mosquitto

STOP_TIMEOUT_S = 2.0


@pytest.fixture
def broker_port(tmp_path: Path) -> Iterator[tuple[int, object]]:
    """A loopback port where no broker listens yet, and `start()` to start mosquitto on it
    (stopped at teardown)."""
    assert MOSQUITTO is not None, "mosquitto is not installed: run ./dev/test"
    broker = Mosquitto(tmp_path / "mosquitto", port=free_port())
    try:
        yield broker.port, broker.start
    finally:
        broker.stop()


def snapshot(folder: Path) -> dict[str, str]:
    """Every file of a folder by its sha256: what 'never changed' compares."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def by_instance(verdict: dict) -> dict[str, dict]:
    return {(f"{r['rule']}[{r['instance']}]" if r["instance"] else r["rule"]): r
            for r in verdict["rules"]}


def test_a_bench_fault_resumed_to_certified_keeps_every_attempt_and_passes_the_gate(
        tmp_path: Path, broker_port: tuple) -> None:
    port, start_broker = broker_port
    keys = tmp_path / "lab.pem", tmp_path / "lab.pub"
    assert certkit("keygen", "--private", keys[0], "--public", keys[1]).code == 0
    out, merged = tmp_path / "run1", tmp_path / "merged"
    first = certkit("run", KETTLE, "--emulate", "--mqtt-broker", f"mqtt://127.0.0.1:{port}",
                    "--key", keys[0], "--out", out, timeout=300)
    assert first.code == 3, first.stdout[-2000:] + first.stderr[-2000:]
    before = read_verdict(out)
    errors = {k for k, v in outcomes(before).items() if v == "error"}
    assert errors and all(k.startswith(("MQT-", "INT-", "SEC-")) for k in errors), errors
    assert any(k.startswith("MQT-") for k in errors)
    untouched = snapshot(out)

    start_broker()  # the bench is mended
    second = certkit("run", "--resume", out, "--key", keys[0], "--out", merged, timeout=300)
    assert second.code == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert snapshot(out) == untouched  # the earlier folder is never changed
    verdict = read_verdict(merged)
    assert verdict["verdict"] == "CERTIFIED" and verdict["complete"] is True
    assert verdict["started"] == before["started"]
    runs = verdict["merged"]["runs"]
    assert [r["run"] for r in runs] == [1, 2] and runs[0]["verdict"] == "INCOMPLETE"
    assert runs[0]["verdict_sha256"] == hashlib.sha256(
        (out / "verdict.json").read_bytes()).hexdigest()
    assert runs[0]["started"] == before["started"]
    assert set(runs[1]["resumed"]) == errors
    assert runs[1]["verdict_sha256"] == hashlib.sha256(
        (merged / "runs/2/verdict.json").read_bytes()).hexdigest()

    results = by_instance(verdict)
    for key, result in results.items():
        attempts = result["attempts"]
        for attempt in attempts:  # every attempt's evidence is there, as hashed
            assert hashlib.sha256((merged / attempt["evidence"]).read_bytes()).hexdigest() \
                == attempt["evidence_sha256"]
            assert attempt["ended"]
        if key in errors:  # the error kept, the pass after it
            assert [(a["run"], a["outcome"]) for a in attempts] == [(1, "error"), (2, "pass")]
            assert "does not accept connections" in attempts[0]["message"] or \
                "could not be opened" in attempts[0]["message"]
            assert result["evidence"] == attempts[1]["evidence"]
            assert result["evidence"].startswith("runs/2/evidence/")
        else:  # never re-run
            assert [a["run"] for a in attempts] == ([1] if before_has_evidence(before, key)
                                                   else [])
            assert result["outcome"] == outcomes(before)[key]
            assert not (merged / "runs/2/evidence" / Path(
                by_instance(before)[key]["evidence"] or "none").name).exists()

    summary = (merged / "summary.md").read_text("utf-8")
    assert f"Merged from 2 runs ({len(errors)} instances retried after an error" in summary
    assert 'name="verdict" value="CERTIFIED"' in (merged / "junit.xml").read_text("utf-8")
    certificate = merged / "certificate.json"
    record = json.loads(certificate.read_text("utf-8"))["record"]
    assert [r["verdict_sha256"] for r in record["merged"]["runs"]] == \
        [r["verdict_sha256"] for r in runs]
    mqt = next(r for r in record["rules"] if r["outcome"] == "pass" and
               len(r.get("attempts", [])) == 2)
    assert [a["outcome"] for a in mqt["attempts"]] == ["error", "pass"]
    gate = ["--public-key", keys[1], "--model", "acme.kettle.k1", "--firmware", "1.4.2",
            "--allow-emulated"]
    accepted = certkit("gate", certificate, *gate)
    assert accepted.code == 0, accepted.stdout + accepted.stderr
    refused = certkit("gate", out / "certificate.json", *gate)
    assert refused.code == 1 and "INCOMPLETE" in refused.stdout
    tampered = tmp_path / "tampered.json"
    tampered.write_text(certificate.read_text("utf-8").replace('"error"', '"pass"', 1))
    assert certkit("gate", tampered, *gate).code == 1


def before_has_evidence(before: dict, key: str) -> bool:
    return bool(by_instance(before)[key]["evidence"])


def test_a_fail_is_kept_never_rerun_and_nothing_is_left_to_resume(
        tmp_path: Path, broker_port: tuple) -> None:
    port, start_broker = broker_port
    out, merged = tmp_path / "run1", tmp_path / "merged"
    bench = ["--emulate", "--fault", "serial:wrong-model",
             "--mqtt-broker", f"mqtt://127.0.0.1:{port}"]
    first = certkit("run", KETTLE, *bench, "--rules", "SER-001", "--rules", "MQT-00[12]",
                    "--out", out)
    assert first.code == 1, first.stdout[-2000:] + first.stderr[-2000:]
    assert outcomes(read_verdict(out)) | {} == {
        "SER-001": "fail", "MQT-001": "error", "MQT-002": "error"}
    start_broker()
    # The bench options may be repeated (the same ones), not changed.
    other = certkit("run", "--resume", out, "--emulate", "--mqtt-broker",
                    f"mqtt://127.0.0.1:{port}", "--out", tmp_path / "other")
    assert other.code == 2 and "faults: serial:wrong-model" in other.stderr, other.stderr
    assert not (tmp_path / "other").exists()
    second = certkit("run", "--resume", out, *bench, "--out", merged)
    assert second.code == 1, second.stdout[-2000:] + second.stderr[-2000:]
    verdict = read_verdict(merged)
    assert verdict["verdict"] == "NOT CERTIFIED"
    results = by_instance(verdict)
    assert results["SER-001"]["outcome"] == "fail"
    assert [(a["run"], a["outcome"]) for a in results["SER-001"]["attempts"]] == [(1, "fail")]
    assert "wrong" in results["SER-001"]["message"] or results["SER-001"]["message"]
    assert [(a["run"], a["outcome"]) for a in results["MQT-001"]["attempts"]] == \
        [(1, "error"), (2, "pass")]
    assert sorted(p.name for p in (merged / "runs/2/evidence").glob("*.log")) == \
        ["MQT-001.log", "MQT-002.log", "after-the-last-rule.log"]
    assert verdict["merged"]["runs"][1]["resumed"] == ["MQT-001", "MQT-002"]
    # Allure results for `certkit report`: each instance's last attempt only.
    allure = [json.loads(p.read_text("utf-8"))
              for p in (merged / "allure-results").glob("*-result.json")]
    assert sorted((r["name"].split()[0], r["status"]) for r in allure) == [
        ("MQT-001", "passed"), ("MQT-002", "passed"), ("SER-001", "failed")]
    # Resuming the merge: nothing is left in error, and a fail is never re-run.
    again = certkit("run", "--resume", merged, "--out", tmp_path / "again")
    assert again.code == 2 and "nothing to re-run" in again.stderr, again.stderr


def ctrl_c_once(args: list[str | Path], reached: Callable[[], bool], unreached: str) -> None:
    """`certkit ARGS` stopped with SIGINT (Ctrl-C) once `reached()`: it must end in 3."""
    proc = subprocess.Popen([sys.executable, "-m", "certkit", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not reached():
            assert time.monotonic() < deadline and proc.poll() is None, unreached
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait(STOP_TIMEOUT_S)
    assert proc.returncode == 3, stdout[-2000:] + stderr[-2000:]


def interrupted_by_ctrl_c(out: Path) -> None:
    """A run stopped with SIGINT (Ctrl-C) once two instances have ended."""
    ctrl_c_once(["run", KETTLE, "--emulate", "--rules", "SER-*", "--out", out],
                lambda: len(ended(out)) >= 2, "the run did not start")


def ended(out: Path) -> list[str]:
    """The instances of a running run that have a result, as its verdict.json says now."""
    try:
        return [k for k, r in by_instance(read_verdict(out)).items() if r["evidence"]]
    except (OSError, ValueError):
        return []


def interrupted_by_max_duration(out: Path) -> None:
    first = certkit("run", KETTLE, "--emulate", "--rules", "SER-*", "--max-duration", "2",
                    "--out", out)
    assert first.code == 3, first.stdout[-2000:] + first.stderr[-2000:]


@pytest.mark.parametrize("interrupt", [interrupted_by_ctrl_c, interrupted_by_max_duration],
                         ids=["ctrl-c", "max-duration"])
def test_an_interrupted_run_resumed_runs_what_it_never_reached(
        tmp_path: Path, interrupt: Callable[[Path], None]) -> None:
    out, merged = tmp_path / "run1", tmp_path / "merged"
    interrupt(out)
    before = read_verdict(out)
    assert before["complete"] is False and before["stop_reason"]
    not_run = {k for k, r in by_instance(before).items() if r["evidence"] is None
               and r["outcome"] == "error"}
    ran = {k for k, r in by_instance(before).items() if r["evidence"] is not None}
    assert not_run and ran
    second = certkit("run", "--resume", out, "--out", merged, timeout=300)
    assert second.code == 0, second.stdout[-2000:] + second.stderr[-2000:]
    verdict = read_verdict(merged)
    assert verdict["verdict"] == "CERTIFIED" and verdict["complete"] is True
    assert verdict["partial"] is True and verdict["selection"] == ["SER-*"]
    assert verdict["stop_reason"] is None
    assert verdict["merged"]["runs"][0]["stop_reason"] == before["stop_reason"]
    for key, result in by_instance(verdict).items():
        runs = [a["run"] for a in result["attempts"]]
        if key in not_run:  # reached only by the resumed run
            assert runs == [2], (key, result)
        elif by_instance(before)[key]["outcome"] == "error":  # stopped mid-check: retried
            assert runs == [1, 2], (key, result)
        else:
            assert runs == [1], (key, result)


def test_a_resume_is_refused_when_its_profile_bench_or_rules_are_not_the_earlier_runs(
        tmp_path: Path) -> None:
    profile = tmp_path / "kettle.yaml"
    shutil.copyfile(KETTLE, profile)
    out = tmp_path / "run1"
    first = certkit("run", profile, "--emulate", "--rules", "SER-001", "--out", out,
                    "--max-duration", "0.01")
    assert first.code == 3, first.stdout[-2000:] + first.stderr[-2000:]
    untouched = snapshot(out)

    def refused(*args: object) -> str:
        result = certkit("run", "--resume", out, *args, "--out", tmp_path / "merged")
        assert result.code == 2, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "merged").exists()
        return result.stderr

    assert "emulate" in refused("--emulate", "serial")
    assert "--rules SER-00[12]" in refused("--rules", "SER-00[12]")
    assert "--bench" in refused("--dut", "kettle")
    assert "no such file" in refused("--add-rules", tmp_path / "missing.py")
    inside = certkit("run", "--resume", out, "--out", out / "merged")
    assert inside.code == 2 and "folder of their own" in inside.stderr
    missing = certkit("run", "--resume", tmp_path / "nowhere")
    assert missing.code == 2 and "no verdict.json" in missing.stderr
    profile.write_text(profile.read_text("utf-8") + "# edited after the run\n", "utf-8")
    changed = refused()
    assert "changed" in changed and read_verdict(out)["profile"]["sha256"] in changed
    assert snapshot(out) == untouched


def test_a_bench_run_resumes_each_dut_from_its_folder(tmp_path: Path,
                                                       broker_port: tuple) -> None:
    port, start_broker = broker_port
    bench = tmp_path / "two.bench.yaml"
    bench.write_text(f"""certkit-bench: 1
duts:
  - name: mended
    profile: {KETTLE}
    emulate: [serial, mqtt, ble]
    mqtt: {{broker: "mqtt://127.0.0.1:{port}"}}
    identity: {{serial-number: K1-0001}}
  - name: sound
    profile: {KETTLE}
    emulate: [serial, mqtt, ble]
""", "utf-8")
    out, merged = tmp_path / "bench1", tmp_path / "bench2"
    rules = ["--rules", "SER-001", "--rules", "MQT-00[12]"]
    first = certkit("run", "--bench", bench, *rules, "--out", out, timeout=300)
    assert first.code == 3, first.stdout[-2000:] + first.stderr[-2000:]
    assert outcomes(read_verdict(out / "mended"))["MQT-001"] == "error"
    assert read_verdict(out / "sound")["verdict"] == "CERTIFIED"
    untouched = snapshot(out)
    start_broker()
    second = certkit("run", "--bench", bench, "--resume", out, "--out", merged, timeout=300)
    assert second.code == 0, second.stdout[-2000:] + second.stderr[-2000:]
    assert snapshot(out) == untouched
    summary = json.loads((merged / "bench.json").read_text("utf-8"))
    duts = {d["name"]: d for d in summary["duts"]}
    assert duts["sound"]["resumed"] is False and duts["sound"]["verdict"] == "CERTIFIED"
    assert snapshot(merged / "sound") == snapshot(out / "sound")  # copied as it was
    mended = read_verdict(merged / "mended")
    assert duts["mended"]["verdict"] == mended["verdict"] == "CERTIFIED"
    assert duts["mended"]["resumed"] is True
    assert [r["run"] for r in mended["merged"]["runs"]] == [1, 2]
    assert [a["outcome"] for a in by_instance(mended)["MQT-001"]["attempts"]] == \
        ["error", "pass"]
    assert [a["run"] for a in by_instance(mended)["SER-001"]["attempts"]] == [1]
    # The live table follows a resumed DUT's attempt until its merged verdict is written.
    going = tmp_path / "going"
    shutil.copytree(merged / "mended" / "runs", going / "runs")
    progress = read_progress("mended", going)
    assert (progress.planned, progress.passed) == (2, 2)  # the attempt's: MQT-001, MQT-002


def test_rules_of_ones_own_are_resumed_only_given_again_and_unchanged(tmp_path: Path) -> None:
    own = tmp_path / "own_rules.py"
    shutil.copyfile(ROOT / "fixtures/rules/bench_rules.py", own)  # LAB-003 always errs
    out = tmp_path / "run1"
    first = certkit("run", KETTLE, "--rules", "DSN-001", "--rules", "*LAB-00[13]",
                    "--add-rules", own, "--out", out)
    assert first.code == 3, first.stdout[-2000:] + first.stderr[-2000:]
    without = certkit("run", "--resume", out, "--out", tmp_path / "without")
    assert without.code == 2 and "give them again with --add-rules" in without.stderr
    second = certkit("run", "--resume", out, "--add-rules", own, "--out", tmp_path / "merged")
    assert second.code == 3, second.stdout[-2000:] + second.stderr[-2000:]
    verdict = read_verdict(tmp_path / "merged")
    custom = {r["rule"]: r for r in verdict["custom_rules"]["rules"]}
    assert [(a["run"], a["outcome"]) for a in custom["custom:LAB-003"]["attempts"]] == \
        [(1, "error"), (2, "error")]
    assert [a["run"] for a in custom["custom:LAB-001"]["attempts"]] == [1]
    assert verdict["merged"]["runs"][1]["resumed"] == ["custom:LAB-003"]
    own.write_text(own.read_text("utf-8") + "# changed after the run\n", "utf-8")
    changed = certkit("run", "--resume", out, "--add-rules", own, "--out", tmp_path / "again")
    assert changed.code == 2 and "changed since" in changed.stderr, changed.stderr


def test_a_resume_interrupted_by_ctrl_c_still_merges_and_can_be_resumed_in_turn(
        tmp_path: Path) -> None:
    out, merged, final = tmp_path / "run1", tmp_path / "merged", tmp_path / "final"
    interrupted_by_max_duration(out)
    ctrl_c_once(["run", "--resume", out, "--out", merged],
                lambda: bool(ended(merged / "runs" / "2")), "no attempt ended")
    second = read_verdict(merged)  # merged whatever the attempt reached
    assert second["verdict"] == "INCOMPLETE" and second["complete"] is False
    assert "interrupted" in second["merged"]["runs"][1]["stop_reason"]
    retried = {k for k, r in by_instance(second).items()
               if [a["run"] for a in r["attempts"]][-1:] == [2]}
    assert retried
    third = certkit("run", "--resume", merged, "--out", final, timeout=300)
    assert third.code == 0, third.stdout[-2000:] + third.stderr[-2000:]
    verdict = read_verdict(final)
    assert verdict["verdict"] == "CERTIFIED" and verdict["complete"] is True
    assert [r["run"] for r in verdict["merged"]["runs"]] == [1, 2, 3]
    assert sorted(p.name for p in (final / "runs").iterdir()) == ["1", "2", "3"]
    for key, result in by_instance(verdict).items():  # no attempt lost on the way
        before = [a["run"] for a in by_instance(second)[key]["attempts"]]
        assert [a["run"] for a in result["attempts"]][:len(before)] == before, key
        for attempt in result["attempts"]:
            assert hashlib.sha256((final / attempt["evidence"]).read_bytes()).hexdigest() \
                == attempt["evidence_sha256"]
