"""ECS-1 section 8 (interoperability) and SEC-002, checked across the DUT's links.

A DUT with several transports is one device: these rules open every link it
declares (the `link` fixture opens each once per run) and drive them through
`certkit.suite.faces`, one small interface per transport.

Every figure goes into the evidence with its limit. SEC-002 draws its 100
inputs per transport from a seeded generator and records the seed: setting
CERTKIT_SEC002_SEED to it replays exactly the same inputs.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import time
from collections.abc import Callable
from typing import Any

import pytest

from certkit.checks import LabError, expect, fail, not_applicable
from certkit.evidence import EvidenceLog
from certkit.links.ble import AttError, NoResponse, PeerLost
from certkit.links.ble.codec import (FIRMWARE_REVISION, MODEL_NUMBER, characteristic_uuid,
                                     sig_uuid)
from certkit.links.mqtt import homie
from certkit.plan import Instance
from certkit.profile.model import Profile, Property
from certkit.profile.values import other_valid_value, same_value, valid_values
from certkit.suite.faces import Face, face_for

SEC002_SEED = int(os.environ.get("CERTKIT_SEC002_SEED", "20260601"))
CONFIRM_S = 1.5       # patience for a confirmation whose timing is not the point
SETTLE_S = 0.3        # after malformed input, before the health check
NEIGHBOUR_S = 0.6     # how long INT-006 watches the DUT after the neighbour's commands
QUIET_S = 0.3         # silence INT-006 waits for before it starts
MALFORMED = 100


def _open(link: Callable[[str], Any], transport: str, profile: Profile) -> Any:
    """The transport's link, with an MQTT DUT's session up and `ready` (a link opened by
    this rule has not seen the DUT yet; LabError when it never connects)."""
    opened = link(transport)
    if transport == "mqtt":
        ready_ms = profile.limit_ms("ready-ms")
        opened.await_ready(opened.await_session(ready_ms), ready_ms)
    return opened


def _faces(profile: Profile, link: Callable[[str], Any]) -> dict[str, Face]:
    """A face per declared transport (a transport whose link failed ends the rule in error)."""
    return {t: face_for(_open(link, t, profile)) for t in profile.transports.declared}


def _exposing(profile: Profile, prop: Property) -> list[str]:
    return [t for t in profile.transports.declared if prop in profile.properties_on(t)]


def _stable(prop: Property) -> bool:
    """Properties whose value only a controller changes (not sensors)."""
    return prop.readable and (prop.writable or not prop.notifies)


def _writable_on(profile: Profile, transport: str) -> Property | None:
    props = [p for p in profile.properties_on(transport) if p.writable and p.readable]
    return next((p for p in props if p.format != "bool"), props[0] if props else None)


def _propagation_s(instance: Instance, limit_ms: Callable[[str], int]) -> float:
    limit = instance.rule.limits.get("propagation")
    return (limit_ms(limit.timing) if limit and limit.timing else 1000) / 1000


# --------------------------------------------------------------------- INT-001


@pytest.mark.certkit_rule("INT-001")
def test_int_001_changes_propagate(rule_instance: Instance, profile: Profile,
                                   link: Callable[[str], Any], limit_ms: Callable[[str], int],
                                   evidence: EvidenceLog) -> None:
    prop: Property = rule_instance.target  # type: ignore[assignment]
    faces = {t: face_for(_open(link, t, profile)) for t in _exposing(profile, prop)}
    within = _propagation_s(rule_instance, limit_ms)
    current = next(iter(faces.values())).read(prop, CONFIRM_S)
    for source, face in faces.items():
        value = other_valid_value(prop, current)
        sent = time.monotonic()
        confirmed, _ = face.set(prop, value, CONFIRM_S)
        expect(confirmed, f"the set of {prop.label} = {value!r} through {source} to be confirmed",
               "no confirmation")
        changed = time.monotonic()
        for other, seen_on in faces.items():
            if other == source:
                continue
            # Seen when the DUT showed it: its own report, or the answer to a read.
            # (A report can come before the source's confirmation: that is no delay at all.)
            shown, seen_at = seen_on.wait_value(prop, value, changed + within, since=sent)
            delay = max(seen_at - changed, 0.0) * 1000
            ok = shown is not None and _same(prop, shown, value) and delay <= within * 1000
            evidence.measure(f"{source} -> {other} propagation", round(delay, 1), "ms",
                             limit=f"at most {within * 1000:.0f} ms", ok=ok)
            if not ok:
                fail(f"{prop.label} = {value!r} on {other} within {within * 1000:.0f} ms of "
                     f"its change through {source}", f"{shown!r}")
        current = value


def _same(prop: Property, a: Any, b: Any) -> bool:
    """Values seen on two transports: compared as decimal text carries them, the coarser
    encoding, so a value that passes a per-transport rule cannot fail here."""
    return same_value(prop.format, a, b, "decimal")


# --------------------------------------------------------------------- INT-002


@pytest.mark.certkit_rule("INT-002")
def test_int_002_identity_agrees(profile: Profile, link: Callable[[str], Any],
                                 dut_identity: Callable[[str, str, str], None],
                                 evidence: EvidenceLog) -> None:
    declared = {"model": profile.device.model, "firmware": profile.device.firmware,
                "mcu-version": profile.device.mcu_version}
    seen: list[tuple[str, str, str]] = []  # (what, transport, value)
    for transport in profile.transports.declared:
        for what, value in _identity_on(transport, _open(link, transport, profile),
                                        profile).items():
            seen.append((what, transport, value))
            dut_identity(what, value, transport)
    for what, transport, value in seen:
        evidence.note(f"{transport} reports {what} {value!r} (profile: {declared[what]!r})")
    wrong = [f"{transport} {what} {value!r}" for what, transport, value in seen
             if value != declared[what]]
    if wrong:
        fail("model, firmware and mcu-version equal to the profile's on every transport "
             f"({declared['model']}, {declared['firmware']}, {declared['mcu-version']})",
             "; ".join(wrong))


def _identity_on(transport: str, opened: Any, profile: Profile) -> dict[str, str]:
    """What one transport says the DUT is: model, firmware, mcu-version where it says it."""
    info = {p.name: p for p in profile.properties_on(transport) if p.siid == 1 and p.readable}
    found: dict[str, str] = {}
    if transport == "serial":
        for command, what in (("model", "model"), ("mcu_version", "mcu-version")):
            lines = [u for u in opened.uplinks(command=command) if u.line and u.line.params]
            if not lines and command == "mcu_version":  # not seen since the link opened: ask
                opened.request("MIIO_mcu_version_req", CONFIRM_S, expect="mcu_version")
                lines = [u for u in opened.uplinks(command=command) if u.line and u.line.params]
            if lines:
                found[what] = lines[-1].line.params[0].text
    elif transport == "mqtt":
        description = opened.retained().get(f"{opened.base}/$description")
        try:
            found["model"] = str(json.loads(description.payload)["type"])
        except (AttributeError, ValueError, KeyError, TypeError):
            found["model"] = "(no $description with a type)"
    elif transport == "ble":
        for what, uuid16 in (("model", MODEL_NUMBER), ("firmware", FIRMWARE_REVISION)):
            found[what] = opened.read(sig_uuid(uuid16)).decode("utf-8", "replace")
    face = face_for(opened)
    for what, name in (("model", "model"), ("firmware", "firmware-revision")):
        if what not in found and name in info:
            value = face.read(info[name], CONFIRM_S)
            found[what] = str(value) if value is not None else "(no answer)"
    return found


# --------------------------------------------------------------------- INT-003


@pytest.mark.certkit_rule("INT-003")
def test_int_003_last_writer_wins(profile: Profile, link: Callable[[str], Any],
                                  limit_ms: Callable[[str], int],
                                  evidence: EvidenceLog) -> None:
    faces = _faces(profile, link)
    pairs = _controller_pairs(profile, faces)
    if not pairs:
        not_applicable("no property is writable through two controllers")
    within = limit_ms("notify-ms") / 1000
    for first, second, prop in pairs:
        values = valid_values(prop)
        if len(values) < 2:
            continue
        # Every write a change (the first from the current value): a DUT need not answer a
        # write of the value it already has (Homie SDKs publish only changes).
        current = second[1].read(prop, CONFIRM_S)
        start = next((i for i, v in enumerate(values)
                      if current is None or not _same(prop, v, current)), 0)
        writes = [(first if i % 2 == 0 else second, values[(start + i) % len(values)])
                  for i in range(6)]
        if _same(prop, writes[-1][1], writes[-2][1]):
            writes[-1] = (writes[-1][0], other_valid_value(prop, writes[-2][1]))
        evidence.note(f"{prop.label}: interleaved writes "
                      + ", ".join(f"{name} {value!r}" for (name, _), value in writes))
        for (name, face), value in writes:
            answered, _ = face.set(prop, value, CONFIRM_S)
            expect(answered, f"every write answered ({name} {prop.label} = {value!r})",
                   "no answer")
        last = writes[-1][1]
        changed = time.monotonic()
        for transport in _exposing(profile, prop):
            shown, _ = faces[transport].wait_value(prop, last, changed + within)
            if shown is None or not _same(prop, shown, last):
                fail(f"every transport at the last accepted write, {prop.label} = {last!r} "
                     f"(by {writes[-1][0][0]})", f"{transport} shows {shown!r}")


def _controller_pairs(profile: Profile, faces: dict[str, Face]
                      ) -> list[tuple[tuple[str, Face], tuple[str, Face], Property]]:
    """(first, second, property): two MQTT clients; MQTT with serial; MQTT with BLE; else
    any two transports sharing a writable property. MQTT writes second, as a cloud would."""
    pairs = []
    mqtt = faces.get("mqtt")
    if mqtt is not None:
        prop = _writable_on(profile, "mqtt")
        second = _SecondMqttClient.make(mqtt.link)
        if prop is not None and second is not None:
            pairs.append((("mqtt client 2", second), ("mqtt", mqtt), prop))
    order = [t for t in ("serial", "ble", "mqtt") if t in faces]
    for i, a in enumerate(order):
        for b in order[i + 1:]:
            if mqtt is not None and "mqtt" not in (a, b):
                continue
            shared = [p for p in profile.properties_on(a)
                      if p.writable and p.readable and p in profile.properties_on(b)]
            if shared:
                pairs.append(((a, faces[a]), (b, faces[b]), shared[0]))
    return pairs


class _SecondMqttClient(Face):
    """A second controller: its own paho client on the same broker, confirmed through the
    link's view of the DUT's topics."""

    transport = "mqtt"

    def __init__(self, mqtt_link: Any, client: Any) -> None:
        super().__init__(mqtt_link)
        self.client = client
        self.main = face_for(mqtt_link)

    @classmethod
    def make(cls, mqtt_link: Any) -> _SecondMqttClient | None:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        upstream = mqtt_link.upstream
        if upstream is None:
            return None
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"certkit-second-{os.getpid()}")
        if mqtt_link.credentials.username:
            client.username_pw_set(mqtt_link.credentials.username,
                                   mqtt_link.credentials.password)
        try:
            client.connect(upstream.host, upstream.port, keepalive=15)
        except OSError as exc:
            raise LabError(f"the second MQTT controller could not connect: {exc}") from None
        client.loop_start()
        mqtt_link._stops.append(("second controller", lambda t: _stop_paho(client)))
        return cls(mqtt_link, client)

    def set(self, prop: Property, value: Any, timeout: float) -> tuple[bool, float]:
        topic = self.link.topic(homie.homie_property(prop))
        mark, sent = self.link.mark(), time.monotonic()
        payload = homie.encode(prop, value)
        self.link.evidence.record("mqtt", "->", f"client 2 PUBLISH {topic}/set {payload!r}")
        self.client.publish(f"{topic}/set", payload, qos=1)
        echo = self.link.wait_message(
            lambda m: m.topic == topic and _payload_is(m.payload, prop, value), sent + timeout,
            mark)
        return echo is not None, (echo.t - sent) * 1000 if echo else math.inf

    def read(self, prop: Property, timeout: float) -> Any:
        return self.main.read(prop, timeout)


def _stop_paho(client: Any) -> None:
    client.disconnect()
    client.loop_stop()


# --------------------------------------------------------------------- INT-004


@pytest.mark.certkit_rule("INT-004")
def test_int_004_unknown_messages(rule_instance: Instance, profile: Profile,
                                  link: Callable[[str], Any], limit_ms: Callable[[str], int],
                                  evidence: EvidenceLog) -> None:
    transport: str = rule_instance.target  # type: ignore[assignment]
    opened = _open(link, transport, profile)
    face = face_for(opened)
    probe = next((p for p in profile.properties_on(transport) if p.readable), None)
    reply_s = limit_ms("reply-ms") / 1000
    if transport == "serial":
        exchange = opened.request("certkit_future_method 1 2", reply_s, expect=None)
        # From the moment the downlink left: a boot announcement before it (the MCU
        # starting up when the link opened) is no reaction to it.
        sent = exchange.sent_at or time.monotonic()
        answer = opened.wait_for(lambda u: u.line is not None and u.line.command in
                                 ("error", "result"), sent, sent + 1.5 + reply_s)
        rebooted = opened.wait_for(lambda u: u.command == "model", sent, sent + SETTLE_S)
        if rebooted is not None:
            fail("the MCU to refuse the unknown downlink and keep working",
                 f"it rebooted (`{rebooted.text}` {(rebooted.t - sent) * 1000:.0f} ms later)")
        if answer is None:
            fail("`error` with a code in -9999..-5000 or `result` -4003 to the unknown "
                 "downlink `certkit_future_method 1 2`", "no answer")
        if answer.line.command == "error":
            code = answer.line.params[-1].text if answer.line.params else ""
            expect(code.lstrip("-").isdigit() and -9999 <= int(code) <= -5000,
                   "an error code in -9999..-5000", f"`{answer.text}`")
        else:
            expect(" -4003" in answer.text, "result code -4003", f"`{answer.text}`")
    elif transport == "mqtt":
        opened.publish(f"{opened.base}/certkit-future-node/certkit-future/set", b"1")
        opened.publish("homie/5/$broadcast/certkit-future", b"hello")
        time.sleep(SETTLE_S)
        state = opened.dut_state()
        expect(state == "ready", "the DUT still `ready` after an unknown /set and a broadcast",
               f"$state {state!r}")
    else:
        not_applicable("ECS-1 names no unknown message for BLE (section 8, INT-004)")
    if probe is not None:
        expect(face.healthy(probe, CONFIRM_S), "the DUT to keep working afterwards "
               f"(it answers a read of {probe.label} on {transport})", "no answer")


# --------------------------------------------------------------------- INT-005


@pytest.mark.certkit_rule("INT-005")
def test_int_005_quality_bar(rule_instance: Instance, profile: Profile,
                             link: Callable[[str], Any], evidence: EvidenceLog) -> None:
    transport: str = rule_instance.target  # type: ignore[assignment]
    prop = _writable_on(profile, transport)
    if prop is None:
        not_applicable(f"no readable, writable property on {transport}")
    limits = rule_instance.rule.limits
    cycles, p95_ms, max_ms = (int(limits["cycles"].value), limits["p95"].value,
                              limits["max"].value)
    face = face_for(_open(link, transport, profile))
    values = valid_values(prop)
    latencies: list[float] = []
    unconfirmed = 0
    current = face.read(prop, CONFIRM_S)
    for i in range(cycles):
        value = other_valid_value(prop, current) if i % 2 == 0 or len(values) < 2 else (
            next((v for v in values[1:] if not _same(prop, v, current)),
                 other_valid_value(prop, current)))
        confirmed, ms = face.set(prop, value, 2 * max_ms / 1000)
        if confirmed:
            latencies.append(ms)
            current = value
        else:
            unconfirmed += 1
    ranked = sorted(latencies)  # `latencies` stay in cycle order: drift over the run shows
    p95 = ranked[max(0, math.ceil(0.95 * len(ranked)) - 1)] if ranked else math.inf
    worst = ranked[-1] if ranked else math.inf
    evidence.measure(f"{transport} cycles confirmed", cycles - unconfirmed, "count",
                     limit=f"all {cycles}", ok=unconfirmed == 0)
    evidence.measure(f"{transport} p95 latency", round(p95, 1), "ms",
                     limit=f"at most {p95_ms:g} ms", ok=p95 <= p95_ms, samples=latencies)
    evidence.measure(f"{transport} max latency", round(worst, 1), "ms",
                     limit=f"at most {max_ms:g} ms", ok=worst <= max_ms)
    evidence.note(f"{transport} latencies (ms, in cycle order): "
                  + " ".join(f"{x:.1f}" for x in latencies))
    expect(unconfirmed == 0, f"all {cycles} set-and-confirm cycles on {transport} confirmed",
           f"{unconfirmed} unconfirmed")
    expect(p95 <= p95_ms and worst <= max_ms,
           f"p95 at most {p95_ms:g} ms and max at most {max_ms:g} ms on {transport}",
           f"p95 {p95:.0f} ms, max {worst:.0f} ms over {cycles} cycles")


# --------------------------------------------------------------------- INT-006


@pytest.mark.certkit_rule("INT-006")
def test_int_006_coexistence(profile: Profile, link: Callable[[str], Any],
                             evidence: EvidenceLog) -> None:
    neighbours: list[Any] = []
    try:
        if profile.transports.mqtt is not None:
            _mqtt_neighbour(profile, _open(link, "mqtt", profile), neighbours, evidence)
        if profile.transports.ble is not None:
            _ble_neighbour(profile, link("ble"), neighbours, evidence)
    finally:
        for neighbour in neighbours:
            neighbour.stop(2.0)


def _neighbour_profile(profile: Profile) -> Profile:
    mqtt = profile.transports.mqtt
    transports = dataclasses.replace(profile.transports, mqtt=dataclasses.replace(
        mqtt, device_id=f"{mqtt.device_id}-neighbour", tls="none")) if mqtt else profile.transports
    return dataclasses.replace(profile, transports=transports)


def _mqtt_neighbour(profile: Profile, mqtt: Any, neighbours: list[Any],
                    evidence: EvidenceLog) -> None:
    from certkit_emulators.mqtt import MqttEmulator

    upstream = mqtt.upstream
    if upstream is None or mqtt.tls_required:
        evidence.note("INT-006: no plain broker to put a neighbour on; MQTT part not checked")
        return
    other = _neighbour_profile(profile)
    neighbour = MqttEmulator(other, host=upstream.host, port=upstream.port)
    neighbours.append(neighbour)
    neighbour.start(2.0)
    deadline = time.monotonic() + 3.0
    while neighbour.connections == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    if neighbour.connections == 0:
        raise LabError("the reference neighbour could not connect to the broker")
    evidence.note(f"INT-006: reference neighbour {homie.base_topic(other)} on the same broker")
    face = face_for(mqtt)
    settable = [p for p in profile.properties_on("mqtt") if p.writable and p.readable]
    _quiet(mqtt, QUIET_S, deadline=time.monotonic() + 2.0)
    before = {p: face.read(p, CONFIRM_S) for p in settable}
    mark = mqtt.mark()
    base = homie.base_topic(other)
    # The DUT's own topic for each property, and the value the neighbour was told to take.
    commanded: dict[str, tuple[Property, Any]] = {}
    for prop in settable:
        value = other_valid_value(prop, before[prop])
        path = homie.homie_property(prop).path
        mqtt.publish(f"{base}/{path}/set", homie.encode(prop, value))
        commanded[f"{mqtt.base}/{path}"] = (prop, value)
    time.sleep(NEIGHBOUR_S)
    # The DUT may publish its own values meanwhile (sensors, late reports); it breaks the
    # rule only by taking a value that was commanded to the neighbour.
    obeyed = [f"{m.topic} = {homie.render(m.payload)}" for m in mqtt.messages.since(mark)
              if m.topic in commanded and _payload_is(m.payload, *commanded[m.topic])]
    if obeyed:
        fail(f"the DUT to ignore commands to {base}/", f"it took them: {', '.join(obeyed)}")


def _quiet(mqtt: Any, quiet_s: float, deadline: float) -> None:
    """Wait until the DUT has published nothing for `quiet_s` (or the deadline), so that
    reports still in flight from earlier rules are not taken for answers to the neighbour."""
    while time.monotonic() < deadline:
        mark = mqtt.mark()
        time.sleep(quiet_s)
        if not [m for m in mqtt.messages.since(mark) if m.topic.startswith(mqtt.base + "/")]:
            return


def _payload_is(payload: bytes, prop: Property, value: Any) -> bool:
    try:
        return _same(prop, homie.decode(prop, payload), value)
    except homie.PayloadError:
        return False


def _ble_neighbour(profile: Profile, ble: Any, neighbours: list[Any],
                   evidence: EvidenceLog) -> None:
    emulator = ble.emulator
    if emulator is None or emulator.link is None:
        evidence.note("INT-006: the BLE neighbour needs the emulated radio; BLE part not checked")
        return
    from certkit_emulators.ble import BleEmulator

    neighbour = BleEmulator(_neighbour_profile(profile), loop=emulator.loop,
                            address="C1:23:45:67:89:AB")
    neighbours.append(neighbour)
    neighbour.start(5.0, link=emulator.link)
    evidence.note(f"INT-006: reference neighbour {neighbour.address} on the same radio")
    face = face_for(ble)
    readable = [p for p in profile.properties_on("ble") if _stable(p)]
    before = {p: face.read(p, CONFIRM_S) for p in readable}
    ble.disconnect()
    ble.connect()
    after = {p: face.read(p, CONFIRM_S) for p in readable}
    changed = [p.label for p in readable if after[p] != before[p]]
    expect(not changed, "the DUT's values untouched beside the neighbour",
           f"changed: {', '.join(changed)}")


# --------------------------------------------------------------------- SEC-002


@pytest.mark.certkit_rule("SEC-002")
def test_sec_002_malformed_input(rule_instance: Instance, profile: Profile,
                                 link: Callable[[str], Any], evidence: EvidenceLog) -> None:
    transport: str = rule_instance.target  # type: ignore[assignment]
    opened = _open(link, transport, profile)
    face = face_for(opened)
    stable = [p for p in profile.properties_on(transport) if _stable(p)]
    writable = [p for p in stable if p.writable]
    if not stable:
        not_applicable(f"no readable property on {transport} to check the state with")
    seed = SEC002_SEED + sum(map(ord, transport))
    rng = random.Random(seed)
    evidence.note(f"SEC-002: {MALFORMED} malformed inputs from seed {seed} "
                  f"(CERTKIT_SEC002_SEED={SEC002_SEED} replays them)")
    if writable:  # a value other than power-on, so a reboot shows as a change
        prop = writable[0]
        face.set(prop, other_valid_value(prop, face.read(prop, CONFIRM_S)), CONFIRM_S)
    before = {p: face.read(p, CONFIRM_S) for p in stable}
    inputs = MALFORMED_INPUTS[transport](rng, profile, writable or stable)
    sent: list[str] = []
    for number, (what, send) in enumerate(inputs, 1):
        sent.append(what)
        try:
            send(opened)
        except (PeerLost, NoResponse) as exc:
            fail("the DUT to stay responsive through malformed input",
                 f"it stopped answering at input {number}: {what} ({exc})")
    time.sleep(SETTLE_S)
    evidence.note("SEC-002 inputs: " + " | ".join(sent))
    responsive = face.healthy(stable[0], CONFIRM_S)
    after = {p: face.read(p, CONFIRM_S) for p in stable}
    changed = [f"{p.label} {before[p]!r} -> {after[p]!r}" for p in stable
               if before[p] is not None and not _same(p, before[p], after[p])]
    if not responsive or changed:
        evidence.note("SEC-002: the inputs that broke it, replayable by seed: " + " | ".join(sent))
    expect(responsive, f"the DUT to answer on {transport} after {MALFORMED} malformed inputs",
           "no answer")
    expect(not changed, f"its state unchanged after {MALFORMED} malformed inputs",
           "; ".join(changed))


Sender = Callable[[Any], None]


def _serial_inputs(rng: random.Random, profile: Profile,
                   props: list[Property]) -> list[tuple[str, Sender]]:
    alphabet = "abcdefghijklmnopqrstuvwxyz_0123456789 .-\"'#$%&()*+,/:;<=>?@[]^{|}~"
    inputs = []
    for i in range(MALFORMED):
        prop = rng.choice(props)
        kind = i % 5
        if kind == 0:
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60)))
        elif kind == 1:
            text = f"set_properties {prop.siid} {prop.piid} " + "9" * rng.randint(520, 900)
        elif kind == 2:
            text = f"set_properties {prop.siid} {prop.piid} \"{rng.random()}"
        elif kind == 3:
            text = f"get_properties {prop.siid}"
        else:
            text = "set_properties " + " ".join(str(rng.randint(-9, 300)) for _ in range(
                rng.choice((1, 2, 4, 70))))
        inputs.append((f"down {text[:60]}{'...' if len(text) > 60 else ''} ({len(text)} bytes)",
                       lambda s, text=text: s.request(text, 0.3, expect=None)))
    return inputs


def _mqtt_inputs(rng: random.Random, profile: Profile,
                 props: list[Property]) -> list[tuple[str, Sender]]:
    inputs = []
    for i in range(MALFORMED):
        prop = rng.choice(props)
        known = [payload for _, payload in homie.invalid_payloads(prop)]
        kind = i % 4
        if kind == 0 and known:
            payload = rng.choice(known)
        elif kind == 1:
            payload = bytes(rng.randrange(128, 256) for _ in range(rng.randint(1, 16)))
        elif kind == 2:
            payload = b"{" * rng.randint(1, 4096)
        else:
            payload = rng.choice((b"", b"null", b"NaN", b"1e999", b"[]", b"\x00", b"true false"))
        topic = f"{homie.homie_property(prop).path}/set"
        inputs.append((f"/set {topic} {payload[:24]!r} ({len(payload)} bytes)",
                       lambda m, t=topic, p=payload: m.publish(f"{m.base}/{t}", p)))
    return inputs


def _ble_inputs(rng: random.Random, profile: Profile,
                props: list[Property]) -> list[tuple[str, Sender]]:
    from certkit.links.ble import values as ble_values
    from certkit.links.ble.codec import SIZES

    inputs = []
    for i in range(MALFORMED):
        prop = rng.choice([p for p in props if p.writable] or props)
        size = SIZES.get(prop.format, 4)
        if i % 3 == 0:
            data = bytes(rng.randrange(256) for _ in range(size + rng.randint(1, 8)))
        elif i % 3 == 1:
            data = bytes(rng.randrange(256) for _ in range(max(0, size - rng.randint(1, size))))
        else:
            invalid = ble_values.invalid_value(prop)
            data = invalid.data if invalid is not None else b"\xff" * (size + 1)
        uuid = characteristic_uuid(prop.siid, prop.piid)

        def send(b: Any, uuid: str = uuid, data: bytes = data) -> None:
            b.secure()
            try:
                b.write(uuid, data)
            except AttError:
                pass  # refused, as it should be
        inputs.append((f"write {prop.label} {data.hex()[:32]} ({len(data)} bytes)", send))
    return inputs


MALFORMED_INPUTS: dict[str, Callable[[random.Random, Profile, list[Property]],
                                     list[tuple[str, Sender]]]] = {
    "serial": _serial_inputs, "mqtt": _mqtt_inputs, "ble": _ble_inputs}
