"""Serial ports on the network (`rfc2217://`, `socket://`), through Debian's ser2net in front
of the reference MCU's pty, judged exactly as the pty itself.

- Every SER rule: the same outcome per instance over RFC 2217, over a raw TCP socket and
  over the local pty (CERTIFIED each); a fault fails the same rules the same way.
- ser2net killed mid-run (the network port gone): the rules that were left end in `error`
  as bench faults, the run INCOMPLETE, never NOT CERTIFIED.
- An RFC 2217 URL without `ign_set_control` (ser2net does not confirm SET-CONTROL): the
  rules end in `error` with the fix in the message.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from certkit.checks import LabError
from certkit.links.serial.module import open_port
from tests.lab.processes import Ser2net, free_port, start_mcu
from tests.support.cli import finish_run, start_certkit
from tests.support.paths import KETTLE
from tests.support.results import RunResult, outcomes

RUN_S = 180.0  # the deadline of one certkit run here (a whole SER family takes ~10 s)
ALL_SER = ("--rules", "SER-*")


def certify(folder: Path, name: str, port: str, reset: str, *args: str,
            during: Callable[[subprocess.Popen, Path], None] | None = None) -> RunResult:
    """`certkit run KETTLE --serial PORT`, its output in FOLDER/NAME.log; `during(process,
    out)` runs while it does."""
    out = folder / name
    started = time.monotonic()
    process = start_certkit("run", KETTLE, "--serial", port, "--reset", f"cmd:{reset}",
                            "--out", out, *args, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, encoding="utf-8", errors="replace")
    try:
        if during is not None:
            during(process, out)
        run = finish_run(process, out, started, RUN_S)
    finally:
        if process.poll() is None:  # `during` failed
            process.kill()
            process.communicate(timeout=10)
    (folder / f"{name}.log").write_text(run.output, "utf-8")
    _ = run.verdict  # read now: a run that wrote none fails here, as the fixture's error
    return run


def ser(verdict: dict) -> dict[str, str]:
    return {k: v for k, v in outcomes(verdict).items() if k.startswith("SER-")}


@pytest.fixture(scope="module")
def network_runs(tmp_path_factory) -> dict[str, RunResult]:
    """The conformant kettle over its pty, over RFC 2217 and over a raw socket, then with a
    fault (wrong model, sets not applied) over the pty and over RFC 2217; one at a time."""
    folder = tmp_path_factory.mktemp("network-serial")
    runs = {}
    for faults, kinds in (((), ("pty", "rfc2217", "socket")),
                          (("wrong-model", "sets-not-applied"), ("pty", "rfc2217"))):
        with start_mcu(folder, KETTLE, *[f"--fault={f}" for f in faults]) as emulator:
            ser2net = Ser2net(folder, emulator.port)
            try:
                ports = {"pty": emulator.port, "rfc2217": ser2net.rfc2217,
                         "socket": ser2net.socket}
                for kind in kinds:
                    name = kind + "".join(f"+{f}" for f in faults)
                    runs[name] = certify(folder, name, ports[kind], emulator.reset, *ALL_SER)
            finally:
                ser2net.child.stop()
    return runs


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["rfc2217", "socket"])
def test_every_ser_rule_judges_a_network_port_as_the_local_pty(network_runs, kind) -> None:
    code, verdict = network_runs[kind].code, network_runs[kind].verdict
    local_code, local = network_runs["pty"].code, network_runs["pty"].verdict
    assert local_code == 0 and local["verdict"] == "CERTIFIED", ser(local)
    assert len(ser(local)) >= 20  # every SER rule, once per property where it is per property
    assert set(ser(local).values()) == {"pass"}
    assert (code, verdict["verdict"]) == (0, "CERTIFIED"), ser(verdict)
    assert ser(verdict) == ser(local)
    assert verdict["bench_as_run"]["transports"]["serial"]["port"].startswith(f"{kind}://")


@pytest.mark.slow
def test_a_faulty_mcu_fails_the_same_rules_over_rfc2217_as_over_its_pty(network_runs) -> None:
    local = network_runs["pty+wrong-model+sets-not-applied"].verdict
    remote_run = network_runs["rfc2217+wrong-model+sets-not-applied"]
    code, remote = remote_run.code, remote_run.verdict
    assert code == 1 and remote["verdict"] == local["verdict"] == "NOT CERTIFIED"
    assert ser(remote) == ser(local)
    failed = {k for k, v in ser(remote).items() if v == "fail"}
    assert {"SER-001"} <= failed and any(k.startswith("SER-005") for k in failed)
    messages = {r["rule"]: r["message"] for r in remote["rules"] if r["outcome"] == "fail"}
    assert "observed `model acme.kettle.k1x`" in messages["SER-001"]


@pytest.mark.slow
def test_a_network_port_that_drops_mid_run_is_a_bench_fault(tmp_path) -> None:
    with start_mcu(tmp_path, KETTLE) as emulator:
        ser2net = Ser2net(tmp_path, emulator.port)

        def drop_after_the_first_rules(process: subprocess.Popen, out: Path) -> None:
            deadline = time.monotonic() + RUN_S
            evidence = out / "evidence" / "SER-001.log"  # SER-001 runs first
            while (not evidence.exists() and process.poll() is None
                   and time.monotonic() < deadline):
                time.sleep(0.05)
            ser2net.child.kill()

        try:
            run = certify(tmp_path, "dropped", ser2net.rfc2217, emulator.reset, *ALL_SER,
                          during=drop_after_the_first_rules)
        finally:
            ser2net.child.stop()
    code, verdict = run.code, run.verdict
    results = ser(verdict)
    assert code == 3 and verdict["verdict"] == "INCOMPLETE", results
    assert "fail" not in results.values()
    assert results["SER-001"] == "pass"
    errors = [r["message"] for r in verdict["rules"]
              if r["rule"].startswith("SER-") and r["outcome"] == "error"]
    assert errors and all("serial port" in m and "failed" in m for m in errors), errors
    assert any("bench fault" in m or "connection failed" in m or "disconnected" in m
               for m in errors), errors


@pytest.mark.slow
def test_rfc2217_without_ign_set_control_errs_with_the_fix(tmp_path) -> None:
    with start_mcu(tmp_path, KETTLE) as emulator:
        ser2net = Ser2net(tmp_path, emulator.port)
        try:
            plain = ser2net.rfc2217.removesuffix("?ign_set_control")
            run = certify(tmp_path, "plain", plain, emulator.reset, "--rules", "SER-001")
        finally:
            ser2net.child.stop()
    code, verdict = run.code, run.verdict
    assert code == 3 and ser(verdict) == {"SER-001": "error"}
    message = verdict["rules"][0]["message"]
    assert "add ?ign_set_control to the URL" in message, message


def test_a_network_port_nobody_listens_on_is_a_lab_error_at_once() -> None:
    for url in (f"rfc2217://127.0.0.1:{free_port()}?ign_set_control",
                f"socket://127.0.0.1:{free_port()}"):
        with pytest.raises(LabError, match="cannot open serial port .*refused"):
            open_port(url, 115200)
