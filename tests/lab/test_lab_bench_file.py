"""A bench file's `labgrid: {place, coordinator}`: in the schema, read into the DUT, and the
mistakes refused up front with file, line and column (no coordinator is needed for these)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from certkit.benchfile import BenchFileError, load_bench_file
from certkit.benchfile.schema import schema_text
from certkit.lab.lease import LabResource, Lease, PlaceRef, lab_facts
from certkit.report.record import bench_as_run
from tests.support.cli import certkit
from tests.support.paths import KETTLE


def bench(folder: Path, duts: str) -> Path:
    (folder / "kettle.yaml").write_text(KETTLE.read_text("utf-8"), "utf-8")
    path = folder / "bench.yaml"
    path.write_text("certkit-bench: 1\nduts:\n" + textwrap.indent(textwrap.dedent(duts), "  "),
                    "utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(BenchFileError) as caught:
        load_bench_file(path)
    return str(caught.value).splitlines()


def test_the_schema_knows_labgrid_places() -> None:
    dut = json.loads(schema_text())["properties"]["duts"]["items"]["properties"]
    assert dut["labgrid"]["required"] == ["place"]
    assert set(dut["labgrid"]["properties"]) == {"place", "coordinator"}
    assert "power" in dut["serial"]["properties"]["reset"]["description"]


def test_a_dut_on_a_place_is_read_with_its_coordinator(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("LG_COORDINATOR", raising=False)
    path = bench(tmp_path, """\
        - name: kettle-a
          profile: kettle.yaml
          serial: {reset: power}
          labgrid: {place: kettle-1, coordinator: "lab-host:20408"}
        - name: kettle-b
          profile: kettle.yaml
          emulate: [mqtt, ble]
          labgrid: {place: kettle-2}
        """)
    first, second = load_bench_file(path).duts
    assert first.labgrid == PlaceRef("kettle-1", "lab-host:20408")
    assert second.labgrid == PlaceRef("kettle-2", None)
    assert "--reset=power" in first.run_args()
    assert not any(a.startswith("--serial") for a in first.run_args())  # the place's, later


def test_labgrid_mistakes_are_refused_where_they_are_written(tmp_path) -> None:
    path = bench(tmp_path, """\
        - name: on-a-place
          profile: kettle.yaml
          emulate: [serial]
          serial: {port: /dev/ttyUSB0}
          labgrid: {place: kettle-1}
        - name: no-place
          profile: kettle.yaml
          emulate: [mqtt, ble]
          serial: {port: /dev/ttyUSB1, reset: power}
        """)
    assert [line.removeprefix(str(path)) for line in problems(path)] == [
        (":6:20: serial.port: labgrid place kettle-1 provides the DUT's serial port; leave "
        "port out"),
        (":7:14: labgrid place kettle-1: the DUT's serial port is the place's, so serial "
        "cannot be emulated"),
        (":11:41: serial.reset power switches the power resource of a labgrid place: give the "
        "DUT `labgrid: {place: NAME}`")]
    unnamed = bench(tmp_path, """\
        - name: no-name
          profile: kettle.yaml
          labgrid: {coordinator: "lab-host:20408"}
        """)
    assert problems(unnamed) == [(f"{unnamed}:5:14: /duts/0/labgrid: required key 'place' is "
                                 "missing")]


def test_two_duts_of_one_bench_cannot_share_a_place(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LG_COORDINATOR", "lab-host:20408")
    path = bench(tmp_path, """\
        - name: kettle-a
          profile: kettle.yaml
          emulate: [mqtt, ble]
          labgrid: {place: kettle-1}
        - name: kettle-b
          profile: kettle.yaml
          emulate: [mqtt, ble]
          labgrid: {place: kettle-1, coordinator: "lab-host:20408"}
        """)
    assert [line.removeprefix(str(path)) for line in problems(path)] == [
        (":10:22: labgrid place kettle-1 on lab-host:20408 is also kettle-a's (line 6): two DUTs "
        "cannot share a labgrid place")]


def test_the_record_names_the_place_and_the_serial_port_is_labgrids_url() -> None:
    lease = Lease("kettle-1", "lab-host:20408", "ci-7/runner", "TOKEN12345", (
        LabResource("exporter-1", "bench-1", "NetworkSerialPort", "RawSerialPort",
                    {"host": "10.0.0.7", "port": 51234, "speed": 115200}),
        LabResource("exporter-1", "bench-1", "NetworkPowerPort", "NetworkPowerPort",
                    {"model": "rest", "host": "http://10.0.0.9/outlet/{index}", "index": 0})),
        "2026-11-29T17:00:00.000+00:00", 1.5)
    assert lease.serial_port == "rfc2217://10.0.0.7:51234?ign_set_control"
    assert Lease.from_json(lease.to_json()) == lease
    from certkit.bench import Bench

    shown = bench_as_run(Bench(), ("serial",), lease.facts())
    assert shown["lab"] == lab_facts(lease.facts())
    assert shown["lab"]["place"] == "kettle-1" and shown["lab"]["exporters"] == "exporter-1"
    assert shown["lab"]["resources"] == ("exporter-1/bench-1/NetworkSerialPort/RawSerialPort,"
                                         "exporter-1/bench-1/NetworkPowerPort/NetworkPowerPort")
    assert "lab" not in bench_as_run(Bench(), ("serial",), {})  # records without a place


def test_place_timeout_is_for_bench_files() -> None:
    done = certkit("run", KETTLE, "--emulate", "--place-timeout", "5", timeout=60)
    assert done.code == 2 and "--place-timeout is for the labgrid places" in done.stderr


def test_reset_power_without_a_place_is_a_lab_error() -> None:
    from certkit.checks import LabError
    from certkit.links.serial.reset import reset_method

    with pytest.raises(LabError, match="--reset power switches a labgrid place's power"):
        reset_method("power")


def test_a_raw_network_serial_port_is_a_socket_url_and_an_unpublished_one_none() -> None:
    def lease(params: dict) -> Lease:
        return Lease("p", "c:1", "h/u", "T", (LabResource("e", "g", "NetworkSerialPort", "s",
                                                          params),), "2026-11-29", 0.0)

    assert lease({"host": "rack-3", "port": 4002, "protocol": "raw"}).serial_port == \
        "socket://rack-3:4002"
    assert lease({"host": "rack-3", "port": None}).serial_port is None  # ser2net not started
    assert lease({"host": "rack-3", "port": 4001}).power is None
