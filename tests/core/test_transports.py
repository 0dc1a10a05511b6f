"""The transport registry: certkit's three come from its entry points, and a transport
registered beside them shows wherever central code lists transports (bench options, the
command line, bench files, the profile schema, plan conditions), with no edit there."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, ClassVar

import pytest

import certkit.transports as registry
from certkit.bench import Bench, BenchError, bench_options, identity_keys, parse_emulate
from certkit.benchfile.load import BenchFileError, load_bench_file
from certkit.benchfile.schema import bench_schema
from certkit.cli import run_cmd
from certkit.design import document, lint_file
from certkit.plan import conditions
from certkit.transports.base import BenchOption, Claim, Transport
from tests.support.paths import KETTLE, ROOT
from tests.transports.registry import own_transports

HISTORIC = ["--serial", "--reset", "--mqtt-listen", "--mqtt-broker", "--ble", "--ble-adapter"]


class LoopTransport(Transport):
    """A transport of no certkit module: a loopback of its own."""

    name = "loop"
    title = "loopback"
    short = "loop"
    bench_options = (BenchOption("port", "PORT", "the loopback port"),)
    profile_schema: ClassVar[dict[str, Any]] = {"type": "object", "additionalProperties": False, "required": ["channel"],
                      "properties": {"channel": {"type": "integer", "minimum": 1}}}
    identity_keys = ("loop-id",)

    def parse_settings(self, data: dict[str, Any]) -> int:
        return int(data["channel"])

    def open_link(self, profile: Any, bench: Any, evidence: Any) -> Any:
        raise NotImplementedError

    def claims(self, bench: Bench, emulated: bool, declared: bool) -> list[Claim]:
        port = bench.settings(self.name).get("port")
        return [Claim("loop port", port, "port")] if port and not emulated else []


LOOP = LoopTransport()
BENCH = """certkit-bench: 1
duts:
  - {{name: one, profile: {kettle}, emulate: [ble], loop: {{port: lo0}}}}
  - {{name: two, profile: {kettle}, emulate: [ble], loop: {{port: {port}}}}}
"""


@pytest.fixture
def with_loop() -> Iterator[None]:
    """certkit's own three and the loop (not the third-party transports installed, such as
    tests/transports/udplink)."""
    with own_transports(EntryPoint("loop", f"{__name__}:LOOP", registry.GROUP)):
        yield


@pytest.fixture
def own_only() -> Iterator[None]:
    with own_transports():
        yield


def test_certkits_own_three_are_entry_points_in_order(own_only: None) -> None:
    listed = {e.name for e in entry_points(group=registry.GROUP)}
    assert {"serial", "mqtt", "ble"} <= listed
    assert registry.names() == ("serial", "mqtt", "ble")
    with pytest.raises(registry.UnknownTransport, match="no transport 'zigbee'"):
        registry.transport("zigbee")


def test_bench_options_keep_their_historic_names(own_only: None) -> None:
    assert [o.cli for o in bench_options()] == HISTORIC
    assert [o.plugin for o in bench_options()][:2] == ["--certkit-serial", "--certkit-reset"]
    bench = Bench.from_options(serial="/dev/ttyUSB0", reset="rts",
                               mqtt_listen="127.0.0.1:1883", ble_adapter="bluez")
    assert bench.settings("serial") == {"port": "/dev/ttyUSB0", "reset": "rts"}
    assert str(bench.settings("mqtt")["listen"]) == "127.0.0.1:1883"
    assert bench.describe() == {"serial": "/dev/ttyUSB0", "reset": "rts",
                                "mqtt-listen": "127.0.0.1:1883", "ble-adapter": "bluez"}
    with pytest.raises(BenchError, match="--reset: 'sometimes' is not a reset method"):
        Bench.from_options(reset="sometimes")


def test_a_fourth_transport_is_listed_everywhere(with_loop: None, tmp_path: Path) -> None:
    assert registry.names() == ("serial", "mqtt", "ble", "loop")
    assert [o.cli for o in bench_options()] == [*HISTORIC, "--loop-port"]
    bench = Bench.from_options(emulate="all", loop_port="7")
    assert bench.emulate == {"serial", "mqtt", "ble", "loop"}
    assert bench.settings("loop") == {"port": "7"} and bench.describe()["loop-port"] == "7"
    assert parse_emulate("loop") == {"loop"}
    assert "loop-id" in identity_keys()

    parser = argparse.ArgumentParser()
    run_cmd.add_parser(parser.add_subparsers())
    assert parser.parse_args(["run", "P", "--loop-port", "9"]).loop_port == "9"

    dut = bench_schema()["properties"]["duts"]["items"]["properties"]
    assert dut["loop"]["properties"]["port"]["description"] == "the loopback port"
    assert "loop" in dut["emulate"]["items"]["enum"]

    held = conditions()["loop"]
    assert held.holds == "the profile declares transports.loop"

    profile = tmp_path / "loop.yaml"
    profile.write_text(KETTLE.read_text("utf-8").replace(
        "transports:\n", "transports:\n  loop: {channel: 3}\n", 1), "utf-8")
    lint = lint_file(profile)
    assert lint.ok, [f.text() for f in lint.findings]
    assert lint.profile is not None and lint.profile.transports.loop == 3
    assert "loop" in lint.profile.transports.declared
    assert held.test(lint.profile)

    profile.write_text(KETTLE.read_text("utf-8").replace(
        "transports:\n", "transports:\n  loop: {channel: 0}\n", 1), "utf-8")
    assert any(f.rule == "PRF-002" for f in lint_file(profile).findings)


def test_a_fourth_transports_bench_keys_and_claims(with_loop: None, tmp_path: Path) -> None:
    bench = tmp_path / "lab.bench.yaml"
    bench.write_text(BENCH.format(kettle=KETTLE, port="lo1"), "utf-8")
    one, two = load_bench_file(bench).duts
    assert one.bench.settings("loop") == {"port": "lo0"}
    assert two.run_args()[1:] == ["--emulate=ble", "--loop-port=lo1"]
    bench.write_text(BENCH.format(kettle=KETTLE, port="lo0"), "utf-8")
    with pytest.raises(BenchFileError, match=r"4:\d+: loop port lo0 is also one's \(line 3\): "
                                             "two DUTs cannot share a loop port"):
        load_bench_file(bench)


def test_the_shipped_profile_schema_holds_each_transports_fragment(own_only: None) -> None:
    """profile.schema.json (for editors) carries what lint uses: each of certkit's own
    transports' `transports.<name>` fragment."""
    shipped = json.loads((ROOT / "certkit" / "profile" / "profile.schema.json").read_text("utf-8"))
    assert shipped["$defs"]["transports"]["properties"] == {
        name: transport.profile_schema for name, transport in registry.transports().items()}
    assert document.profile_schema()["$defs"]["transports"] == shipped["$defs"]["transports"]
