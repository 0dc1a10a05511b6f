"""End to end on loopback with labgrid's real parts (tests/lab/labgrid_lab.py): the reference
MCU's pty exported by labgrid-exporter (through the ser2net it starts), its power outlet
switched by labgrid's NetworkPowerDriver, places made with labgrid-client, and
`certkit run --bench` as a CI job runs it.

- A DUT on a place is CERTIFIED over the place's serial port, SER-001 after a real power
  cycle through labgrid; the verdict and the signed record name place, holder, exporter and
  resources; the place is released afterwards.
- A place held by another user (LG_USERNAME) past --place-timeout: the DUT is INCOMPLETE
  with a bench error naming place and holder, no rule judged, and the place stays theirs.
- Two bench runs that want one place both end CERTIFIED, one after the other.
- Ctrl-C mid-run, or the DUT's run killed: the place is released.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from tests.lab.labgrid_lab import LabgridLab, start_lab
from tests.support.cli import certkit, start_certkit
from tests.support.paths import KETTLE
from tests.support.results import outcomes, read_verdict

RUN_S = 240.0     # one bench run here, waiting for its place included
STOP_S = 30.0     # a bench run's exit after Ctrl-C
SOME_RULES = ("--rules", "SER-001", "--rules", "SER-004")  # a power cycle and the exchanges

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> LabgridLab:
    lab = start_lab(tmp_path_factory.mktemp("labgrid"), places=("kettle", "kettle-2"))
    yield lab
    lab.stop()


@pytest.fixture
def place_free(lab: LabgridLab):
    """Every test starts and ends with the places free (a test that failed half-way must not
    leave one held for the next)."""
    assert lab.holder("kettle") is None and lab.holder("kettle-2") is None
    yield
    for place in ("kettle", "kettle-2"):
        if lab.holder(place) is not None:
            lab.client("-p", place, "release", "--kick", check=False)


def write_bench(folder: Path, lab: LabgridLab, places: dict[str, str]) -> Path:
    """A bench file of DUTs (name: place), each a kettle on its labgrid place."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kettle.yaml").write_text(KETTLE.read_text("utf-8"), "utf-8")
    path = folder / "bench.yaml"
    path.write_text("certkit-bench: 1\nduts:\n" + "".join(f"""\
  - name: {name}
    profile: kettle.yaml
    emulate: [mqtt, ble]     # only the serial rules run here; the place has the serial port
    serial: {{reset: power}}
    labgrid: {{place: {place}, coordinator: "{lab.coordinator}"}}
""" for name, place in places.items()), "utf-8")
    return path


class BenchRun:
    """`certkit run --bench` in a session of its own, its output in a file."""

    def __init__(self, folder: Path, lab: LabgridLab, *args: str,
                 places: dict[str, str] | None = None) -> None:
        self.folder, self.out = folder, folder / "out"
        self.output = folder / "bench-output.txt"
        bench = write_bench(folder, lab, places or {"kettle-a": "kettle"})
        with self.output.open("wb") as sink:
            self.proc = start_certkit("run", "--bench", bench, "--out", self.out, *args,
                                      env=lab.env(), stdin=subprocess.DEVNULL, stdout=sink,
                                      stderr=subprocess.STDOUT, start_new_session=True)

    def finish(self, timeout: float = RUN_S) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    @property
    def said(self) -> str:
        return self.output.read_text("utf-8", "replace")

    @property
    def summary(self) -> dict:
        return json.loads((self.out / "bench.json").read_text("utf-8"))

    def verdict(self, dut: str = "kettle-a") -> dict:
        return read_verdict(self.out / dut)

    def wait_for(self, path: Path, timeout: float = RUN_S) -> None:
        deadline = time.monotonic() + timeout
        while not path.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{path} never appeared; the bench said:\n{self.said}")
            time.sleep(0.1)


def ser(verdict: dict) -> dict[str, str]:
    return {k: v for k, v in outcomes(verdict).items() if k.startswith("SER-")}


def test_a_dut_on_a_place_is_certified_after_a_power_cycle_through_labgrid(
        lab, place_free, tmp_path) -> None:
    keys = certkit("keygen", "--private", tmp_path / "key.pem", "--public",
                   tmp_path / "key.pub", timeout=60)
    assert keys.code == 0, keys.stderr
    run = BenchRun(tmp_path, lab, "--rules", "SER-*", "--key", str(tmp_path / "key.pem"))
    code = run.finish()
    verdict = run.verdict()
    assert code == 0 and verdict["verdict"] == "CERTIFIED", (run.said, ser(verdict))
    assert set(ser(verdict).values()) == {"pass"} and len(ser(verdict)) >= 20
    me = lab.holder_name()
    assert "acquired labgrid place kettle (exporters exporter-1)" in run.said
    # The serial port is the place's (the exporter's ser2net), the reset its power outlet.
    serial = verdict["bench_as_run"]["transports"]["serial"]
    assert serial["port"].startswith("rfc2217://127.0.0.1:") and serial["reset"] == "power"
    evidence = (run.out / "kettle-a" / "evidence" / "SER-001.log").read_text("utf-8")
    assert "resetting the DUT (power (labgrid place kettle: exporter-1/bench-1/" \
           "NetworkPowerPort/NetworkPowerPort))" in evidence
    switched = [line for line in (lab.folder / "kettle" / "mcu.log").read_text().splitlines()
                if line.startswith("outlet:")]
    assert switched[-2:] == ["outlet: off", "outlet: on"]
    # The record names the place, its holder, exporter and resources; signed too.
    place = verdict["bench_as_run"]["lab"]
    assert (place["place"], place["coordinator"], place["holder"], place["exporters"]) == (
        "kettle", lab.coordinator, me, "exporter-1")
    assert set(place["resources"].split(",")) == {
        "exporter-1/bench-1/NetworkSerialPort/RawSerialPort",
        "exporter-1/bench-1/NetworkPowerPort/NetworkPowerPort"}
    signed = json.loads((run.out / "kettle-a" / "certificate.json").read_text("utf-8"))
    assert signed["record"]["bench_as_run"]["lab"] == place
    assert run.summary["duts"][0]["labgrid"]["released"] == "released"
    assert lab.holder("kettle") is None


def test_a_place_held_by_another_user_ends_incomplete_and_stays_theirs(
        lab, place_free, tmp_path) -> None:
    lab.client("-p", "kettle", "acquire", user="alice")
    try:
        alice = lab.holder("kettle")
        assert alice is not None and alice.endswith("/alice")
        run = BenchRun(tmp_path, lab, *SOME_RULES, "--place-timeout", "3")
        code = run.finish()
        verdict = run.verdict()
        assert code == 3 and verdict["verdict"] == "INCOMPLETE", run.said
        assert f"kettle-a: waiting for labgrid place kettle: held by {alice}" in run.said
        # No rule was judged: each is an error naming the place and its holder.
        assert set(ser(verdict).values()) == {"error"}
        for rule in verdict["rules"]:
            assert f"labgrid place kettle (coordinator {lab.coordinator}) is held by " \
                   f"{alice}" in rule["message"], rule
        assert verdict["stop_reason"].startswith("bench error: labgrid place kettle")
        assert verdict["bench_as_run"]["lab"]["held-by"] == alice
        assert verdict["bench_as_run"]["lab"]["acquired"] == "no"
        assert (run.out / "kettle-a" / "junit.xml").exists()
        assert (run.out / "kettle-a" / "summary.md").exists()
        assert run.summary["duts"][0]["labgrid"]["held"] is False
        assert lab.holder("kettle") == alice  # never stolen
        assert "Reservation" not in lab.client("reservations").stdout  # none left behind
    finally:
        lab.client("-p", "kettle", "release", user="alice")


def test_two_bench_runs_on_one_place_are_both_certified_one_after_the_other(
        lab, place_free, tmp_path) -> None:
    first = BenchRun(tmp_path / "first", lab, *SOME_RULES)
    first.wait_for(first.out / "logs" / "kettle-a.log")
    second = BenchRun(tmp_path / "second", lab, *SOME_RULES)
    try:
        codes = first.finish(), second.finish()
    finally:
        first.kill()
        second.kill()
    assert codes == (0, 0), (first.said, second.said)
    runs = sorted((first, second), key=lambda r: r.verdict()["bench_as_run"]["lab"]["acquired"])
    assert [r.verdict()["verdict"] for r in runs] == ["CERTIFIED", "CERTIFIED"]
    # The one that got the place second waited for the other's run to end.
    assert "waiting for labgrid place kettle: held by" in runs[1].said
    assert runs[0].verdict()["finished"] <= runs[1].verdict()["bench_as_run"]["lab"]["acquired"]
    assert lab.holder("kettle") is None


def test_ctrl_c_mid_run_releases_the_place(lab, place_free, tmp_path) -> None:
    run = BenchRun(tmp_path, lab, "--rules", "SER-*")
    run.wait_for(run.out / "kettle-a" / "evidence" / "SER-001.log")
    assert lab.holder("kettle") is not None
    os.killpg(run.proc.pid, signal.SIGINT)  # Ctrl-C at a terminal reaches the whole group
    code = run.finish(STOP_S)
    assert code == 3, run.said
    assert run.verdict()["verdict"] == "INCOMPLETE"
    assert run.summary["duts"][0]["labgrid"]["released"] == "released"
    assert lab.holder("kettle") is None


def test_a_killed_dut_run_releases_the_place(lab, place_free, tmp_path) -> None:
    run = BenchRun(tmp_path, lab, "--rules", "SER-*")
    run.wait_for(run.out / "kettle-a" / "evidence" / "SER-001.log")
    dut_runs = psutil.Process(run.proc.pid).children()
    assert len(dut_runs) == 1
    dut_runs[0].kill()  # the DUT's process crashes
    code = run.finish()
    assert code == 3, run.said
    assert run.summary["duts"][0]["exit"] == -signal.SIGKILL
    assert run.summary["duts"][0]["labgrid"]["released"] == "released"
    assert lab.holder("kettle") is None


def test_several_duts_run_at_once_on_a_place_each(lab, place_free, tmp_path) -> None:
    run = BenchRun(tmp_path, lab, *SOME_RULES, places={"kettle-a": "kettle",
                                                       "kettle-b": "kettle-2"})
    code = run.finish()
    assert code == 0, run.said
    a, b = run.verdict("kettle-a"), run.verdict("kettle-b")
    assert (a["verdict"], b["verdict"]) == ("CERTIFIED", "CERTIFIED")
    assert (a["bench_as_run"]["lab"]["place"], b["bench_as_run"]["lab"]["place"]) == (
        "kettle", "kettle-2")
    # At once: each held its place before the other's run had ended.
    assert a["bench_as_run"]["lab"]["acquired"] < b["finished"]
    assert b["bench_as_run"]["lab"]["acquired"] < a["finished"]
    assert lab.holder("kettle") is None and lab.holder("kettle-2") is None


def test_a_place_no_exporter_offers_is_a_bench_error(lab, place_free, tmp_path) -> None:
    lab.client("-p", "nowhere", "create")
    lab.client("-p", "nowhere", "add-match", "exporter-9/bench-9/*")
    try:
        run = BenchRun(tmp_path, lab, *SOME_RULES, places={"kettle-a": "nowhere"})
        assert run.finish() == 3, run.said
        verdict = run.verdict()
        assert verdict["verdict"] == "INCOMPLETE"
        assert "labgrid place nowhere: no exporter offers exporter-9/bench-9/* (is the " \
               "exporter running?)" in verdict["stop_reason"]
        assert lab.holder("nowhere") is None
    finally:
        lab.client("-p", "nowhere", "delete")


def test_sigterm_while_waiting_for_a_place_stops_at_once_and_leaves_it(
        lab, place_free, tmp_path) -> None:
    lab.client("-p", "kettle", "acquire", user="alice")
    try:
        alice = lab.holder("kettle")
        run = BenchRun(tmp_path, lab, *SOME_RULES)  # the default --place-timeout: 600 s
        deadline = time.monotonic() + RUN_S
        while "waiting for labgrid place kettle" not in run.said:
            assert run.proc.poll() is None and time.monotonic() < deadline, run.said
            time.sleep(0.1)
        os.killpg(run.proc.pid, signal.SIGTERM)  # a cancelled CI job
        assert run.finish(STOP_S) == 3, run.said
        verdict = run.verdict()
        assert verdict["verdict"] == "INCOMPLETE"
        assert f"stopped while waiting for labgrid place kettle (held by {alice})" in \
               verdict["stop_reason"]
        assert lab.holder("kettle") == alice
        assert "Reservation" not in lab.client("reservations").stdout
    finally:
        lab.client("-p", "kettle", "release", user="alice")


def test_a_place_taken_away_mid_run_stops_the_run(lab, place_free, tmp_path) -> None:
    run = BenchRun(tmp_path, lab, "--rules", "SER-*")
    run.wait_for(run.out / "kettle-a" / "evidence" / "SER-001.log")
    lab.client("-p", "kettle", "release", "--kick", user="alice")
    code = run.finish()
    verdict = run.verdict()
    assert code == 3 and verdict["verdict"] == "INCOMPLETE", run.said
    assert "fail" not in ser(verdict).values()
    assert "labgrid place kettle was taken away during the run" in \
           run.summary["duts"][0]["labgrid"]["problem"]
    assert verdict["stop_reason"].startswith("bench error: labgrid place kettle was taken "
                                             "away during the run; the run was stopped")
    assert lab.holder("kettle") is None
