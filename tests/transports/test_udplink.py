"""A fourth transport shipped as a package of its own (tests/transports/udplink: certkit UDP,
JSON datagrams on loopback, with its link, emulator, interop face and a rule of its own,
UDP-001) is certified by `certkit run --emulate` with no edit outside its package: CERTIFIED,
its rule judged, taking part in INT-002, INT-003 and SEC-002; each of its emulator's faults
fails the rule it names, with expected and observed. An ECS-1.0 profile that does not
declare it is planned as before."""

from __future__ import annotations

import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from certkit_emulators.state import DeviceState
from certkit_udplink.emulator import UdpEmulator
from certkit_udplink.face import UdpFace
from certkit_udplink.link import UdpLink
from certkit_udplink.protocol import UNKNOWN_OPERATION, encode

from certkit.design import lint_file
from certkit.evidence import EvidenceLog
from certkit.plan import make_plan
from certkit.report.record import suite_sha256
from certkit.standard import builtin
from certkit.standard.catalogue import extended
from certkit.transports import transport
from tests.conftest import KETTLE, certkit, outcomes, read_verdict
from tests.transports.conftest import UDP_PROFILE, UDPLINK

RUN_TIMEOUT_S = 300
OPEN_S = 2.0
CLOSE_S = 1.0
UDP_001 = [f"UDP-001[{key}]" for key in ("1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3",
                                          "2.4", "2.5")]


@pytest.fixture(scope="module")
def certified(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("udp") / "run"
    result = certkit("run", UDP_PROFILE, "--emulate", "--out", out, timeout=RUN_TIMEOUT_S)
    assert result.code == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "VERDICT: CERTIFIED"
    return out


def test_the_transport_is_nothing_but_its_package() -> None:
    udp = transport("udp")
    assert Path(str(sys.modules[type(udp).__module__].__file__)).is_relative_to(UDPLINK)
    assert [f for f in udp.faults()] == ["slow-get", "dies-on-garbage"]
    assert udp.faults()["slow-get"].rule == "UDP-001"
    ecs = builtin()
    assert "UDP-001" not in ecs.catalogue  # the standard's own catalogue is untouched
    with_udp = ecs.with_transports(["serial", "udp"])
    assert with_udp.name == "ECS-1.0" and with_udp.catalogue.get("UDP-001").level == "M"
    order = with_udp.catalogue.run_order
    assert order.index("SER-003") < order.index("UDP-001") == order.index("INT-001") - 1
    assert [name for name, _ in with_udp.added_files] == ["certkit_udplink/rules.yaml"]
    assert [name for name, _ in with_udp.added_modules] == [
        "certkit_udplink/suite/test_udp.py"]
    assert ecs.with_transports(["serial", "mqtt", "ble"]) is ecs
    # A record's suite_sha256 covers the rules and checks the transport added.
    assert suite_sha256(with_udp) != suite_sha256(ecs)


def test_an_ecs1_profile_without_it_is_planned_as_before() -> None:
    lint = lint_file(KETTLE)
    assert lint.standard is builtin()
    assert lint.profile is not None
    assert {i.rule.id for i in make_plan(lint.profile).instances} == {
        r.id for r in builtin().catalogue.rules}
    listed = certkit("rules", "--format", "json")
    assert "UDP-001" not in listed.stdout


def test_a_profile_declaring_it_plans_its_rule() -> None:
    planned = certkit("plan", UDP_PROFILE, "--format", "json", "--rules", "UDP-*")
    assert planned.code == 0, planned.stderr
    assert '"UDP-001"' in planned.stdout and planned.stdout.count('"applies": true') == 9


def test_a_rule_id_of_the_standard_is_refused(tmp_path: Path) -> None:
    claims = tmp_path / "rules.yaml"
    claims.write_text((UDPLINK / "certkit_udplink" / "rules.yaml").read_text("utf-8")
                      .replace("UDP-001", "SER-001").replace("UDP:", "SERX:"), "utf-8")
    with pytest.raises(ValueError, match=r"the udp transport's rules.yaml: SER-001 already "
                                         r"in ECS-1.0's catalogue"):
        extended(builtin().catalogue, claims, "the udp transport")


def test_it_is_certified_with_its_own_rule(certified: Path) -> None:
    verdict = read_verdict(certified)
    found = outcomes(verdict)
    assert {rule: found[rule] for rule in UDP_001} == dict.fromkeys(UDP_001, "pass")
    assert found["INT-002"] == found["INT-003"] == found["SEC-002[udp]"] == "pass"
    assert found["INT-004[udp]"] == found["INT-005[udp]"] == "pass"
    reply = next(r for r in verdict["rules"] if (r["id"], r["instance"]) == (
        "ECS-1.0:UDP-001", "2.1"))  # qualified by the standard it adds the rule to
    [measured] = reply["measurements"]
    assert measured["name"] == "get answered" and measured["ok"] is True
    assert measured["limit"] == "at most 500 ms"  # timing.reply-ms tightens the 1000 ms
    assert verdict["bench_as_run"]["transports"]["udp"] == {
        "dut": "emulated", "faults": [], "variants": [], "device": "emulator on loopback"}


def test_it_takes_part_in_the_interop_rules(certified: Path) -> None:
    evidence = certified / "evidence"
    identity = (evidence / "INT-002.log").read_text("utf-8")
    for what, value in (("model", "acme.kettle.k1"), ("firmware", "1.4.2"),
                        ("mcu-version", "0142")):
        assert f"udp reports {what} {value!r} (profile: {value!r})" in identity
    pairs = (evidence / "INT-003.log").read_text("utf-8")
    assert "interleaved writes udp client 2 " in pairs  # its second controller
    assert "interleaved writes serial " in pairs and ", udp " in pairs
    malformed = (evidence / "SEC-002[udp].log").read_text("utf-8")
    assert "SEC-002: 100 malformed inputs from seed" in malformed
    assert malformed.count("udp -> b") >= 100 or malformed.count("\\x") > 0
    unknown = (evidence / "INT-004[udp].log").read_text("utf-8")
    assert '"op":"subscribe-all"' in unknown
    assert f'"code":{UNKNOWN_OPERATION}' in unknown


def test_its_fault_fails_its_rule_with_expected_and_observed(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = certkit("run", UDP_PROFILE, "--emulate", "--fault", "udp:slow-get",
                     "--rules", "UDP-001", "--rules", "INT-002", "--out", out,
                     timeout=RUN_TIMEOUT_S)
    assert result.code == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1].startswith("VERDICT: NOT CERTIFIED")
    verdict = read_verdict(out)
    found = outcomes(verdict)
    assert {rule: found[rule] for rule in UDP_001} == dict.fromkeys(UDP_001, "fail")
    assert found["INT-002"] == "pass"  # a late answer is still an answer
    failed = next(r for r in verdict["rules"] if (r["rule"], r["instance"]) == ("UDP-001",
                                                                                "2.1"))
    assert failed["message"].startswith("expected a value of kettle.on within 500 ms, "
                                        "observed answered after ")
    assert failed["measurements"][0]["ok"] is False
    assert "FAIL  UDP-001[2.1]: expected a value of kettle.on within 500 ms" in result.stdout


def test_its_sec_002_fault_is_caught(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = certkit("run", UDP_PROFILE, "--emulate", "--fault", "udp:dies-on-garbage",
                     "--rules", "SEC-002", "--out", out, timeout=RUN_TIMEOUT_S)
    assert result.code == 1, result.stdout[-3000:] + result.stderr[-3000:]
    found = outcomes(read_verdict(out))
    assert found == {"SEC-002[serial]": "pass", "SEC-002[udp]": "fail"}
    assert ("FAIL  SEC-002[udp]: expected the DUT to answer on udp after 100 malformed "
            "inputs, observed no answer") in result.stdout


def test_unknown_fault_names_are_refused(tmp_path: Path) -> None:
    result = certkit("run", UDP_PROFILE, "--emulate", "--fault", "udp:nope",
                     "--out", tmp_path / "run")
    assert result.code == 2
    assert "the udp emulator has no fault nope" in result.stderr
    listed = certkit("emulate", "--list-faults")
    assert "slow-get" in listed.stdout and "UDP-001" in listed.stdout


def test_the_link_and_emulator_share_the_device_on_loopback() -> None:
    """Two controllers of one emulated device over real sockets: a set by one is reported to
    the other; a get of no property, an unknown operation and garbage are refused or
    ignored, and the device still answers."""
    profile = lint_file(UDP_PROFILE).profile
    assert profile is not None
    evidence = EvidenceLog()
    state = DeviceState(profile)
    first = UdpLink(evidence, None, emulator=UdpEmulator(profile, state=state))
    first.open(OPEN_S)
    second = UdpLink(evidence, first.address, who="client 2")
    try:
        second.open(OPEN_S)
        assert first.hello is not None and first.hello["model"] == "acme.kettle.k1"
        on = profile.property(2, 1)
        assert on is not None
        face = UdpFace(first)
        since = time.monotonic()
        assert face.set(on, True, OPEN_S)[0]
        shown, at = UdpFace(second).wait_value(on, True, time.monotonic() + OPEN_S, since)
        assert shown is True and at < float("inf")
        assert second.reports(since, 2, 1), "the second controller heard no report"
        assert state.value(on) is True
        missing = first.request({"op": "get", "siid": 9, "piid": 9}, OPEN_S).reply
        assert missing == {"op": "error", "id": missing and missing["id"], "code": -4003}
        refused = first.request({"op": "set", "siid": 2, "piid": 1, "value": "yes"}, OPEN_S)
        assert refused.reply is not None and refused.reply["code"] == -4005
        first.send(b"\xff\xfe not json")
        first.send(encode([1, 2]))
        assert face.read(on, OPEN_S) is True  # still answering, still on
    finally:
        second.close(CLOSE_S)
        first.close(CLOSE_S)
    address = first.address
    assert address is not None
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:  # the emulator's port is closed with its link
        probe.bind(address)
    finally:
        probe.close()


def test_a_device_reached_at_its_address_is_certified(tmp_path: Path) -> None:
    """Not emulated by the run: `certkit emulate udp` in a process of its own stands in for a
    real device, reached with --udp-device HOST:PORT (the bench option the package
    declares), its bench recorded as real."""
    device = subprocess.Popen([sys.executable, "-m", "certkit", "emulate", "udp",
                               str(UDP_PROFILE)], stdout=subprocess.PIPE, text=True)
    try:
        assert device.stdout is not None
        ready, _, _ = select.select([device.stdout], [], [], RUN_TIMEOUT_S / 10)
        assert ready, "certkit emulate udp said nothing"
        address = device.stdout.readline().split()[-1]
        out = tmp_path / "run"
        result = certkit("run", UDP_PROFILE, "--emulate", "serial", "--udp-device", address,
                         "--rules", "UDP-001", "--rules", "INT-002", "--out", out,
                         timeout=RUN_TIMEOUT_S)
        assert result.code == 0, result.stdout[-3000:] + result.stderr[-3000:]
        verdict = read_verdict(out)
        assert set(outcomes(verdict).values()) == {"pass"} and len(outcomes(verdict)) == 10
        assert verdict["bench_as_run"]["transports"]["udp"]["dut"] == "real"
        assert verdict["bench"]["udp-device"] == address
    finally:
        device.terminate()
        try:
            device.wait(CLOSE_S * 5)
        except subprocess.TimeoutExpired:
            device.kill()
            device.wait(CLOSE_S * 5)


def test_a_bench_file_runs_its_rule(tmp_path: Path) -> None:
    """A bench file's DUT declaring it, with `--rules UDP-001` (a rule no standard has by
    itself: the bench run knows the rules installed transports add)."""
    bench = tmp_path / "udp.bench.yaml"
    bench.write_text("certkit-bench: 1\nduts:\n"
                     f"  - {{name: kettle, profile: {UDP_PROFILE}, emulate: [serial, udp], "
                     "fault: [udp:slow-get]}\n", "utf-8")
    out = tmp_path / "out"
    result = certkit("run", "--bench", bench, "--rules", "UDP-001", "--out", out,
                     timeout=RUN_TIMEOUT_S)
    assert result.code == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert outcomes(read_verdict(out / "kettle")) == dict.fromkeys(UDP_001, "fail")
