"""The MQTT variance matrix (issue 10, part 4): every variant of the reference Homie 5
emulator is CERTIFIED, on each embedded broker.

A variant is a conformant choice a real firmware may make (`certkit_emulators.mqtt.VARIANTS`);
a variant that ends anything but CERTIFIED shows a rule that misjudges real devices.

The runs are real `certkit run profiles/acme.kettle.k1.yaml --emulate ... --variant
mqtt:NAME` subprocesses, four at a time (they mostly wait out ECS-1's windows). Each
variant runs alone, with the MQT family and SEC-003 (on both brokers, but those that change
only payloads, on the default one); and all but `reconnect-slow` (a 20 s
reconnect sets its own pace) run again in a combination of compatible variants that also
runs the INT rules with every transport emulated (what the other transports see of it, and
how variants mix). MQTT 5 on amqtt (MQTT 3.1.1 only) must end INCOMPLETE with a bench
error, never a fail (C-3), so `mqtt5` is combined on mosquitto only.

The matrix (variant x broker -> verdict) is printed and written to
`mqtt-variant-matrix.json` in the session's temporary folder, or to the file that
CERTKIT_VARIANT_MATRIX names.

Below the runs, pure checks of what each variant changes in the emulated device, so
no variant passes by doing nothing.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from certkit_emulators.mqtt import VARIANTS
from certkit_emulators.mqtt.device import HomieDevice

from certkit.links.mqtt import description as homie_description
from certkit.links.mqtt import homie
from tests.support.cli import certkit, run_certkit
from tests.support.paths import KETTLE
from tests.support.results import RunResult, outcomes, read_verdict

BROKERS = ("mosquitto", "amqtt")  # --mqtt-broker embedded:NAME
PARALLEL_RUNS = 4  # the runs mostly wait out ECS-1's windows: about a seventh of a core each
RUN_TIMEOUT_S = 150
MQT_RULES = ("MQT-*", "SEC-003")
WITH_INT = (*MQT_RULES, "INT-*")


@dataclass(frozen=True)
class Group:
    """Variants that run together, the rules they run, and about how long it takes."""

    variants: tuple[str, ...]
    rules: tuple[str, ...]
    seconds: float
    transports: str = ""  # --emulate's argument ("": every declared transport)
    brokers: tuple[str, ...] = BROKERS


# Every variant runs alone (MQT family and SEC-003, MQTT emulated alone) ...
SECONDS_ALONE = {"slow-ready": 12, "reconnect-slow": 36}
# Variants that change only payloads and which topics carry them, nothing a broker treats
# differently: alone on the default broker, and on amqtt in their combination (for time).
PAYLOADS_ONLY = {"description-defaults-omitted", "description-extra-keys",
                 "description-spelling", "description-no-property-names",
                 "float-trailing-zeros", "rounds-to-step", "no-republish-unchanged",
                 "publishes-target", "log-messages"}
ALONE: dict[str, Group] = {
    name: Group((name,), MQT_RULES, SECONDS_ALONE.get(name, 5), "mqtt",
                ("mosquitto",) if name in PAYLOADS_ONLY else BROKERS)
    for name in VARIANTS}
# ... and, but for mqtt5 and reconnect-slow, in one combination that also runs the INT rules
# with every transport emulated: what other transports see of it, and how variants mix.
COMBINED: dict[str, Group] = {
    # The independent device of issue 10, and what a lean SDK leaves out or adds.
    "issue-10-device": Group(("broadcast-subscription", "ready-on-suback", "reconnect-fast",
                              "qos0-non-retained", "description-defaults-omitted",
                              "description-extra-keys", "periodic-republish"), WITH_INT, 10),
    # How values travel: only changes, rounded, spelled otherwise, ready before them.
    "values": Group(("subscribe-per-property", "ready-before-values", "no-init-state",
                     "no-republish-unchanged", "rounds-to-step", "float-trailing-zeros",
                     "description-spelling", "description-no-property-names",
                     "broker-assigned-client-id", "subscribe-qos0"), WITH_INT, 11),
    # Sessions and delivery: persistent, QoS 2, slow to be ready, extra topics.
    "sessions": Group(("subscribe-first", "slow-ready", "persistent-session", "qos2",
                       "publishes-target", "log-messages"), WITH_INT, 15),
    # A modern MQTT 5 firmware (clean start 0, session expiry): brokers that speak MQTT 5.
    "mqtt5-session": Group(("mqtt5", "persistent-session", "qos2", "ready-on-suback",
                            "reconnect-fast"), WITH_INT, 10, brokers=("mosquitto",)),
}
ONLY_ALONE = {"reconnect-slow"}
RUNS: dict[str, Group] = {**ALONE, **{f"combined:{name}": g for name, g in COMBINED.items()}}
# The one cell that is not CERTIFIED: amqtt cannot serve MQTT 5 (a bench error, C-3).
BENCH_ERROR = {("mqtt5", "amqtt")}


def _run(group: Group, broker: str, out: Path) -> RunResult:
    args = ["--emulate", *([group.transports] if group.transports else []),
            "--mqtt-broker", f"embedded:{broker}"]
    args += [f"--rules={rule}" for rule in group.rules]
    args += [f"--variant=mqtt:{name}" for name in group.variants]
    return run_certkit(KETTLE, out, *args, timeout=RUN_TIMEOUT_S)


@pytest.fixture(scope="module")
def matrix_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], RunResult]:
    """Every (run, broker), PARALLEL_RUNS at a time, the longest first."""
    cells = sorted(((name, b) for name in RUNS for b in RUNS[name].brokers),
                   key=lambda cell: -(30 if cell in BENCH_ERROR else RUNS[cell[0]].seconds))
    # Folders are made here: pytest's mktemp is not safe from threads.
    folders = {cell: tmp_path_factory.mktemp(f"{cell[0].replace(':', '-')}-{cell[1]}")
               for cell in cells}
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(PARALLEL_RUNS) as pool:
        futures = {cell: pool.submit(_run, RUNS[cell[0]], cell[1], folders[cell] / "out")
                   for cell in cells}
        runs = {cell: future.result(timeout=RUN_TIMEOUT_S * len(cells))
                for cell, future in futures.items()}
    wall = time.monotonic() - started
    _record(runs, wall, tmp_path_factory.getbasetemp())
    return runs


def _combinations_of(variant: str, broker: str) -> list[str]:
    return [f"combined:{name}" for name, g in COMBINED.items()
            if variant in g.variants and broker in g.brokers]


def _record(runs: dict[tuple[str, str], RunResult], wall: float, folder: Path) -> None:
    def combined(name: str, broker: str) -> str:
        verdicts = {runs[(run, broker)].verdict["verdict"]
                    for run in _combinations_of(name, broker)}
        return "/".join(sorted(verdicts)) or "-"

    def alone(name: str, broker: str) -> str:
        return runs[(name, broker)].verdict["verdict"] if (name, broker) in runs else "-"

    cells = {name: {broker: {"alone": alone(name, broker),
                             "combined": combined(name, broker)}
                    for broker in BROKERS}
             for name in VARIANTS}
    document = {
        "matrix": cells,
        "runs": {f"{name} on {broker}": {"variants": list(RUNS[name].variants),
                                         "rules": list(RUNS[name].rules),
                                         "served by": run.verdict["bench"].get(
                                             "mqtt-broker-served"),
                                         "verdict": run.verdict["verdict"],
                                         "seconds": round(run.seconds, 1)}
                 for (name, broker), run in runs.items()},
        "wall seconds": round(wall, 1),
    }
    target = Path(os.environ.get("CERTKIT_VARIANT_MATRIX") or folder / "mqtt-variant-matrix.json")
    target.write_text(json.dumps(document, indent=2) + "\n", "utf-8")
    width = max(map(len, cells))
    head = "  ".join(f"{f'{b} {how}':<20}" for b in BROKERS for how in ("alone", "combined"))
    lines = [f"{'variant':<{width}}  {head}"]
    lines += [f"{name:<{width}}  " + "  ".join(f"{cells[name][b][how]:<20}" for b in BROKERS
                                                for how in ("alone", "combined"))
              for name in sorted(cells)]
    print(f"\nMQTT variance matrix (variant x embedded broker -> verdict), {wall:.0f} s wall, "
          f"written to {target}:\n" + "\n".join(lines))


# ---------------------------------------------------------------- the matrix


def test_every_variant_runs_alone_and_in_one_combination():
    for broker in BROKERS:
        combined = {name for group in COMBINED.values() if broker in group.brokers
                    for name in group.variants}
        assert combined == set(VARIANTS) - ONLY_ALONE - {v for v, b in BENCH_ERROR if b == broker}
        alone = {name for name, group in ALONE.items() if broker in group.brokers}
        assert alone | combined == set(VARIANTS), broker  # every variant on every broker
    assert set(ALONE) == set(VARIANTS)
    for name, variant in VARIANTS.items():
        assert variant.exercises and variant.description, name


def _assert_certified(run: RunResult, group: Group, broker: str) -> None:
    assert run.verdict["verdict"] == "CERTIFIED" and run.code == 0, run.trouble()
    assert run.verdict["bench"]["mqtt-broker-served"].startswith(f"embedded {broker}")
    assert run.verdict["bench"]["variants"] == "mqtt:" + ",".join(sorted(group.variants))
    passed = {k.split("[")[0] for k, v in outcomes(run.verdict).items() if v == "pass"}
    assert {f"MQT-00{n}" for n in range(1, 10)} | {"MQT-010"} <= passed
    if "INT-*" in group.rules:
        assert {"INT-001", "INT-003", "INT-004", "INT-005"} <= passed


@pytest.mark.parametrize("variant, broker", [(v, b) for v in VARIANTS for b in ALONE[v].brokers
                                             if (v, b) not in BENCH_ERROR])
def test_variant_alone_is_certified(matrix_runs, variant, broker):
    _assert_certified(matrix_runs[(variant, broker)], ALONE[variant], broker)


@pytest.mark.parametrize("combination, broker", [(c, b) for c in sorted(COMBINED)
                                                 for b in COMBINED[c].brokers])
def test_variants_combined_are_certified(matrix_runs, combination, broker):
    _assert_certified(matrix_runs[(f"combined:{combination}", broker)], COMBINED[combination],
                      broker)


def test_mqtt5_on_amqtt_is_a_bench_error(matrix_runs):
    run = matrix_runs[("mqtt5", "amqtt")]
    found = outcomes(run.verdict)
    assert run.verdict["verdict"] == "INCOMPLETE" and run.code == 3, run.trouble()
    assert "fail" not in found.values(), run.trouble()
    errors = [r["message"] for r in run.verdict["rules"] if r["outcome"] == "error"]
    assert errors and all("MQTT 5" in m for m in errors), errors


# What each group's evidence shows of its variants, so no group passes without them.
BASE = "homie/5/acme-k1-0001"
ON_THE_WIRE: dict[str, list[tuple[str, str]]] = {
    "combined:issue-10-device": [("MQT-001", f"dut SUBSCRIBE {BASE}/+/+/set, homie/5/$broadcast/#"),
                        ("MQT-006[action-2.1]",
                         f"dut PUBLISH {BASE}/kettle/start-boil qos=0 retain=0"),
                        ("MQT-003", "acme-precision")],
    "combined:values": [("MQT-001", f"dut SUBSCRIBE {BASE}/kettle/start-boil/set"),
               ("MQT-005[2.2]", f"{BASE}/kettle/temperature qos=1 retain=1 \"55.0\""),
               ("MQT-003", "0.00:110.00:0.50")],
    "combined:sessions": [("MQT-001", "clean=0"), ("MQT-001", "qos=2"),
                 ("MQT-006[2.3]", f"dut PUBLISH {BASE}/kettle/target-temperature/$target"),
                 ("MQT-001", f"dut PUBLISH {BASE}/$log/info qos=0 retain=0")],
    "mqtt5": [("MQT-001", "MQTT 5 keepalive")],
    "combined:mqtt5-session": [("MQT-001", "MQTT 5 keepalive=30s clean=0")],
    "persistent-session": [("MQT-001", "clean=0")],
    "broker-assigned-client-id": [("MQT-001", "CONNECT client-id='' MQTT 3.1.1")],
    "subscribe-per-property": [("MQT-001", f"dut SUBSCRIBE {BASE}/kettle/start-boil/set")],
}
# Reconnect delays (the cut to the DUT's next session, MQT-008), in ms: (at least, below).
RECONNECT_MS = {"reconnect-fast": (150, 900), "combined:issue-10-device": (150, 900),
                "reconnect-slow": (19_000, 25_000)}


@pytest.mark.parametrize("group", sorted(set(ON_THE_WIRE) | set(RECONNECT_MS)))
def test_the_variants_show_on_the_wire(matrix_runs, group):
    for broker in RUNS[group].brokers:
        if (group, broker) in BENCH_ERROR:
            continue
        evidence = matrix_runs[(group, broker)].out / "evidence"
        for instance, seen in ON_THE_WIRE.get(group, []):
            text = (evidence / f"{instance}.log").read_text("utf-8")
            assert seen in text, (group, broker, instance, seen)
        if group in RECONNECT_MS:
            text = (evidence / "MQT-008.log").read_text("utf-8")
            delay = float(re.search(r"measure cut to new session ([0-9.]+) ms", text)[1])
            low, high = RECONNECT_MS[group]
            assert low <= delay < high, (group, broker, delay)


def test_periodic_republish_publishes_ready_more_often_than_it_connects(matrix_runs):
    for broker in BROKERS:
        logs = (matrix_runs[("periodic-republish", broker)].out / "evidence").glob("*.log")
        text = "".join(log.read_text("utf-8") for log in logs)
        readies = text.count(f'dut PUBLISH {BASE}/$state qos=1 retain=1 "ready"')
        assert readies > text.count("dut CONNECT") >= 1, (broker, readies)


def test_health_checks_do_not_need_a_republish_of_an_unchanged_value(tmp_path):
    """SEC-002 and INT-004 check the DUT's health on the first property they find; when that
    one is writable, a /set of its current value got no answer from a DUT that publishes
    only changes, and both rules failed it."""
    text = KETTLE.read_text("utf-8")
    first, second, end = (text.index("  - siid: 1\n"), text.index("  - siid: 2\n"),
                          text.index("transports:"))
    writable_first = (text[:first] + text[second:end] + text[first:second]
                      + "transports:\n  mqtt: {device-id: acme-k1-0001}\n")
    profile = tmp_path / "kettle-mqtt-writable-first.yaml"
    profile.write_text(writable_first, "utf-8")
    result = certkit("run", profile, "--out", tmp_path / "out", "--emulate",
                     "--variant", "mqtt:no-republish-unchanged", "--rules", "SEC-002",
                     "--rules", "INT-004", timeout=RUN_TIMEOUT_S)
    verdict = read_verdict(tmp_path / "out")
    assert outcomes(verdict) == {"SEC-002[mqtt]": "pass", "INT-004[mqtt]": "pass"}, verdict
    assert result.code == 0


def test_the_whole_matrix(matrix_runs):
    for (name, broker), run in matrix_runs.items():
        wanted = "INCOMPLETE" if (name, broker) in BENCH_ERROR else "CERTIFIED"
        assert run.verdict["verdict"] == wanted, (name, broker, run.trouble())


# ---------------------------------------------------------------- what each variant changes


def device(kettle, *variants: str) -> HomieDevice:
    return HomieDevice(kettle, frozenset(), variants=frozenset(variants))


def _topics(outs) -> list[str]:
    return [out.topic.rsplit("/", 2)[-1] if "$" in out.topic else out.topic.split("/", 3)[-1]
            for out in outs]


def test_heartbeat_is_ready_and_every_retained_value(kettle):
    beat = device(kettle, "periodic-republish").heartbeat()
    assert beat[0].payload == b"ready" and all(out.retain for out in beat)
    assert len(beat) == 1 + sum(p.readable for p in kettle.properties())


def test_announcement_orders(kettle):
    before, after = device(kettle).announcements()
    assert _topics(before)[:2] == ["$state", "$description"] and _topics(after) == ["$state"]
    before, after = device(kettle, "subscribe-first").announcements()
    assert before == [] and _topics(after)[:2] == ["$state", "$description"]
    before, after = device(kettle, "ready-before-values").announcements()
    assert _topics(before) == ["$state", "$description"]
    assert after[0].payload == b"ready" and all(out.delay_s > 0 for out in after[1:])
    before, _ = device(kettle, "no-init-state").announcements()
    assert b"init" not in [out.payload for out in before]
    _, after = device(kettle, "slow-ready").announcements()
    assert after[-1].payload == b"ready" and after[-1].delay_s > 2
    _, after = device(kettle).announcements(with_ready=False)
    assert after == []  # ready-on-suback: the client sends it on the SUBACK
    _, after = device(kettle, "log-messages").announcements()
    assert after[-1].topic.endswith("/$log/info") and after[-1].qos == 0


def test_subscriptions(kettle):
    base = "homie/5/acme-k1-0001"
    assert device(kettle).subscriptions() == [[f"{base}/+/+/set"]]
    assert device(kettle, "broadcast-subscription").subscriptions() == [
        [f"{base}/+/+/set", "homie/5/$broadcast/#"]]
    per = device(kettle, "subscribe-per-property").subscriptions()
    assert per == [[f"{base}/kettle/{name}/set"] for name in
                   ("on", "target-temperature", "keep-warm", "start-boil")]


def test_broadcasts_are_ignored(kettle):
    assert device(kettle, "broadcast-subscription").command(
        "homie/5/$broadcast/alert", b"hello") == []


def test_descriptions_that_leave_out_defaults_or_add_keys_still_match(kettle):
    for variant in ("description-defaults-omitted", "description-extra-keys",
                    "description-spelling", "description-no-property-names"):
        text = device(kettle, variant).description()
        assert text != device(kettle).description(), variant
        document = homie_description.parse(text)
        assert homie_description.conformance_problems(document) == [], variant
        assert homie_description.profile_mismatches(document, kettle) == [], variant
    lean = json.loads(device(kettle, "description-defaults-omitted").description())
    temperature = lean["nodes"]["kettle"]["properties"]["temperature"]
    assert "settable" not in temperature and "retained" not in temperature


def _set(dev: HomieDevice, path: str, payload: bytes):
    return dev.command(f"{dev.base}/{path}/set", payload)


def test_no_republish_of_an_unchanged_value(kettle):
    dev = device(kettle, "no-republish-unchanged")
    assert [o.payload for o in _set(dev, "kettle/target-temperature", b"85")] == [b"85"]
    assert _set(dev, "kettle/target-temperature", b"85") == []
    assert [o.payload for o in _set(device(kettle), "kettle/target-temperature", b"70")] == [
        b"70"]


def test_rounding_to_the_step_before_the_range_check(kettle):
    target = kettle.property(2, 3)
    coarse = dataclasses.replace(target, format="float", value_range=(40, 100, 0.5))
    services = tuple(dataclasses.replace(s, properties=tuple(
        coarse if p is target else p for p in s.properties)) for s in kettle.services)
    profile = dataclasses.replace(kettle, services=services)
    rounding, strict = device(profile, "rounds-to-step"), device(profile)
    assert [o.payload for o in _set(rounding, "kettle/target-temperature", b"70.3")] == [b"70.5"]
    assert _set(strict, "kettle/target-temperature", b"70.3") == []
    assert [o.payload for o in _set(rounding, "kettle/target-temperature", b"100.2")] == [b"100"]
    assert _set(rounding, "kettle/target-temperature", b"100.4") == []  # 100.5: out of range


def test_actions_publish_the_trigger_and_events_follow(kettle):
    dev = device(kettle, "qos0-non-retained")
    outs = _set(dev, "kettle/start-boil", b'{"target-temperature": 85}')
    by_topic = {o.topic.split("/", 3)[-1]: o for o in outs}
    assert by_topic["kettle/target-temperature"].payload == b"85"
    trigger, event = by_topic["kettle/start-boil"], by_topic["kettle/boil-finished"]
    assert json.loads(trigger.payload) == {"target-temperature": 85}
    assert (trigger.retain, trigger.qos, event.retain, event.qos) == (False, 0, False, 0)
    assert event.delay_s > trigger.delay_s
    reference = {o.topic.split("/", 3)[-1]: o for o in _set(
        device(kettle), "kettle/start-boil", b'{"target-temperature": 90}')}
    assert reference["kettle/start-boil"].qos is None  # the device's QoS 1
    assert _set(dev, "kettle/start-boil", b'{"target-temperature": 101}') == []


def test_target_float_spelling_and_logs(kettle):
    dev = device(kettle, "publishes-target", "float-trailing-zeros", "log-messages")
    outs = _set(dev, "kettle/target-temperature", b"60")
    assert [o.topic.split("/", 3)[-1] for o in outs] == [
        "kettle/target-temperature/$target", "kettle/target-temperature"]
    assert dev.value_payload(kettle.property(2, 2), 55.5) == b"55.50"
    refused = _set(dev, "kettle/target-temperature", b"101")
    assert [o.topic.rsplit("/", 2)[-2:] for o in refused] == [["$log", "warn"]]
    assert refused[0].qos == 0 and not refused[0].retain
    assert homie.decode(kettle.property(2, 2), b"55.50") == 55.5
