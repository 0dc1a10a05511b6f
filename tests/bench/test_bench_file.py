"""Bench files: the schema, the errors a user sees (file, line, column, what), resources
two DUTs cannot share, and the example lab of the five profiles."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from certkit.benchfile import BenchFileError, load_bench_file
from certkit.benchfile.schema import schema_text
from certkit.profile.yaml12 import load_yaml
from tests.support.cli import certkit
from tests.support.paths import PROFILES, ROOT
from tests.transports.registry import own_transports

LAB = PROFILES / "lab.bench.yaml"


def write(folder: Path, text: str) -> Path:
    path = folder / "bench.yaml"
    path.write_text(textwrap.dedent(text), "utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(BenchFileError) as caught:
        load_bench_file(path)
    return str(caught.value).splitlines()


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    """A folder with the kettle and the sensor profiles, for bench files to name."""
    for name in ("acme.kettle.k1.yaml", "acme.sensor.th1.yaml"):
        (tmp_path / name).write_text((PROFILES / name).read_text("utf-8"), "utf-8")
    return tmp_path


def test_shipped_schema_is_generated_from_the_bench_options_table():
    shipped = (ROOT / "certkit" / "benchfile" / "bench.schema.json").read_text("utf-8")
    with own_transports():  # the shipped schema is of certkit's own (a third party's aside)
        assert shipped == schema_text()
    schema = json.loads(shipped)
    Draft202012Validator.check_schema(schema)
    dut = schema["properties"]["duts"]["items"]["properties"]
    assert set(dut["serial"]["properties"]) == {"port", "reset"}
    assert set(dut["mqtt"]["properties"]) == {"listen", "broker"}
    assert set(dut["ble"]["properties"]) == {"adapter", "address"}


def test_example_lab_covers_the_five_example_profiles_emulated():
    bench = load_bench_file(LAB)
    assert sorted(d.profile.name for d in bench.duts) == sorted(
        p.name for p in PROFILES.glob("acme.*.yaml"))
    for dut in bench.duts:
        assert set(dut.transports) <= dut.bench.emulate, dut.name
    assert LAB.read_text("utf-8").startswith(
        "# yaml-language-server: $schema=../certkit/benchfile/bench.schema.json")
    Draft202012Validator(json.loads(schema_text())).validate(
        load_yaml(LAB.read_text("utf-8")).value)


def test_dut_runs_with_the_options_of_a_single_run(lab: Path):
    path = write(lab, """\
        certkit-bench: 1
        duts:
          - name: kettle-a
            profile: acme.kettle.k1.yaml
            emulate: [serial, mqtt]
            fault: [serial:slow-polls]
            mqtt: {broker: "embedded:amqtt"}
            ble: {adapter: "bumble:tcp-client:127.0.0.1:9000", address: "AA:BB:CC:DD:EE:FF"}
            identity: {serial-number: K1-0042}
        """)
    (dut,) = load_bench_file(path).duts
    assert dut.run_args() == [
        str(lab / "acme.kettle.k1.yaml"), "--emulate=mqtt,serial",
        "--mqtt-broker=embedded:amqtt", "--ble=AA:BB:CC:DD:EE:FF",
        "--ble-adapter=bumble:tcp-client:127.0.0.1:9000", "--fault=serial:slow-polls",
        "--identity=serial-number=K1-0042"]


@pytest.mark.parametrize("body, line, column, what", [
    ("certkit-bench: 1\nduts:\n  - name: a\n    profile: acme.kettle.k1.yaml\n    seral: {}\n",
     5, 5, "unknown key 'seral'"),
    ("certkit-bench: 2\nduts:\n  - {name: a, profile: acme.kettle.k1.yaml}\n",
     1, 16, "certkit-bench"),
    ("certkit-bench: 1\nduts:\n  - name: a\n    profile: nowhere.yaml\n",
     4, 14, "profile 'nowhere.yaml': no such file"),
    (("certkit-bench: 1\nduts:\n  - {name: a, profile: acme.kettle.k1.yaml}\n"
     "  - {name: a, profile: acme.sensor.th1.yaml}\n"), 4, 12, "DUT name 'a' is also used on line 3"),
    (("certkit-bench: 1\nduts:\n  - name: a\n    profile: acme.kettle.k1.yaml\n"
     "    fault: [serial:slow-polls]\n"), 5, 12, "needs --emulate serial"),
    (("certkit-bench: 1\nduts:\n  - name: a\n    profile: acme.kettle.k1.yaml\n"
     "    emulate: [serial]\n    fault: [serial:no-such-fault]\n"), 6, 12, "no-such-fault"),
    (("certkit-bench: 1\nduts:\n  - name: a\n    profile: acme.kettle.k1.yaml\n"
     "    serial: {port: /dev/ttyUSB0, reset: wiggle}\n"), 5, 41, "serial.reset: 'wiggle'"),
    (("certkit-bench: 1\nduts:\n  - name: a\n    profile: acme.kettle.k1.yaml\n"
     "    mqtt: {listen: nowhere}\n"), 5, 20, "mqtt.listen: 'nowhere' is not HOST:PORT"),
    (("certkit-bench: 1\nduts:\n  - name: a\n    profile: acme.kettle.k1.yaml\n"
     "    identity: {model: acme.light.l2}\n"), 5, 23, "contradicts the profile"),
    (("certkit-bench: 1\nduts:\n  - name: a\n    profile: acme.sensor.th1.yaml\n"
     "    identity: {device-id: acme-th1-0001}\n"), 5, 27, "no mqtt transport to read it over"),
    ("certkit-bench: 1\nduts:\n  - name: a\n    profile: [oops\n", 5, 1, "not a well-formed"),
    ("certkit-bench: 1\nduts:\n  - name: ../escape\n    profile: acme.kettle.k1.yaml\n",
     3, 11, "does not match"),
])
def test_errors_name_file_line_column_and_what(lab: Path, body: str, line: int, column: int,
                                               what: str):
    path = write(lab, body)
    found = problems(path)
    assert any(p.startswith(f"{path}:{line}:{column}: ") and what in p for p in found), found


@pytest.mark.parametrize("first, second, line, column, what", [
    ("serial: {port: /dev/ttyUSB0}", "serial: {port: /dev/../dev/ttyUSB0}", 8, 20,
     "serial port /dev/ttyUSB0 is also kettle-a's (line 6)"),
    ('mqtt: {listen: "0.0.0.0:1883"}', 'mqtt: {listen: "127.0.0.1:1883"}', 8, 20,
     "MQTT listen address 127.0.0.1:1883 clashes with kettle-a's 0.0.0.0:1883"),
    ("ble: {adapter: bluez}", "ble: {address: 'AA:BB:CC:DD:EE:FF'}", 8, 20,
     "BLE adapter bluez is also kettle-a's"),
])
def test_resources_two_duts_cannot_share_are_refused(lab: Path, first: str, second: str,
                                                     line: int, column: int, what: str):
    path = write(lab, f"""\
        certkit-bench: 1
        duts:
          - name: kettle-a
            profile: acme.kettle.k1.yaml
            emulate: [mqtt]
            {first}
          - name: kettle-b
            profile: acme.kettle.k1.yaml
            emulate: [mqtt]
            {second}
        """.replace("emulate: [mqtt]\n            mqtt", "emulate: [ble]\n            mqtt"))
    found = problems(path)
    assert any(p.startswith(f"{path}:") and what in p for p in found), found


def test_emulated_duts_share_nothing(lab: Path):
    path = write(lab, """\
        certkit-bench: 1
        duts:
          - {name: k1, profile: acme.kettle.k1.yaml, emulate: [serial, mqtt, ble]}
          - {name: k2, profile: acme.kettle.k1.yaml, emulate: [serial, mqtt, ble]}
          - {name: s1, profile: acme.sensor.th1.yaml, emulate: [ble]}
        """)
    assert [d.name for d in load_bench_file(path).duts] == ["k1", "k2", "s1"]


def test_cli_reports_a_bench_file_error_with_exit_2(lab: Path):
    path = write(lab, "certkit-bench: 1\nduts:\n  - {name: a, profile: missing.yaml}\n")
    result = certkit("run", "--bench", path, "--out", lab / "out", timeout=60)
    assert result.code == 2
    assert f"{path}:3:24: profile 'missing.yaml': no such file" in result.stderr
    assert not (lab / "out").exists()


def test_cli_refuses_single_run_options_and_unknown_duts(lab: Path):
    result = certkit("run", "--bench", LAB, "--serial", "/dev/ttyUSB0", timeout=60)
    assert result.code == 2 and "--serial: with --bench" in result.stderr
    result = certkit("run", "--bench", LAB, "--dut", "toaster", "--out", lab / "o", timeout=60)
    assert result.code == 2 and "--dut 'toaster': no such DUT" in result.stderr
    result = certkit("run", "--bench", LAB, "--rules", "XYZ-*", "--out", lab / "o", timeout=60)
    assert result.code == 2 and "--rules: 'XYZ-*' matches no rule" in result.stderr
    assert not (lab / "o").exists()
