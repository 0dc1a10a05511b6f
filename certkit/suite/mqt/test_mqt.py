"""ECS-1 section 6 (MQTT, Homie 5) and SEC-003, checked through the MQTT link.

One test per rule; a rule checked per property takes `rule_instance`. A test
judges only what the DUT did and ends with `certkit.checks.fail(expected,
observed)` when it broke the rule. Whether the bench held up is decided by
`checked`: a failure seen while the broker was down, or a check during
which certkit's broker connection dropped, ends in `error` instead.

The order is deliberate: rules that only look come first, then those that
cut the DUT's connection (MQT-004, MQT-008), then those that judge all the
traffic seen so far (MQT-009, MQT-010), and SEC-003, which swaps the
endpoint's certificate, last.
"""

from __future__ import annotations

import contextlib
import functools
import time
from typing import Any, Callable

import pytest

from certkit.checks import LabError, RuleFailure, fail
from certkit.links.mqtt import MqttLink, homie
from certkit.links.mqtt.messages import Message
from certkit.links.mqtt.description import (DescriptionError, Problem, conformance_problems,
                                            parse, profile_mismatches)
from certkit.links.mqtt.dutlog import DutPublish, Session, describe_publish
from certkit.links.mqtt.homie import PayloadError, render
from certkit.plan import Instance
from certkit.profile.model import Action, Profile, Property
from certkit.profile.values import other_valid_value, same_value

WILL_WAIT_S = 3.0     # a broker publishes a will at once; this only bounds the wait
LATE_MS = 1500        # MQT-006 waits this long past the limit to report a late answer's delay
OBSERVE_S = 1.0       # MQT-009/010 judge at least this much traffic after `ready`
DUT_LOG_CATCH_UP_S = 1.0  # bounds the wait for the endpoint's log of a packet it passed on


def _open(link: Callable[[str], Any], request: pytest.FixtureRequest) -> MqttLink:
    # The endpoint's address is printed on opening; a bench operator must see it live.
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        return link("mqtt")


@pytest.fixture
def mqtt(link: Callable[[str], Any], request: pytest.FixtureRequest) -> MqttLink:
    """The MQTT link, with the bench checked before the rule starts."""
    opened = _open(link, request)
    opened.require_bench()
    return opened


def checked(test: Callable[..., None]) -> Callable[..., None]:
    """Vouches for the bench around a rule: a fail stands only if the broker was up
    throughout (checked with a probe); otherwise, and after a pass during which
    certkit's broker connection dropped, the rule ends in `error`."""

    @functools.wraps(test)
    def run(*args: Any, mqtt: MqttLink, **kwargs: Any) -> None:
        mark = mqtt.mark_bench()
        try:
            test(*args, mqtt=mqtt, **kwargs)
        except RuleFailure:
            mqtt.require_bench(since=mark, probe=True)
            raise
        mqtt.require_bench(since=mark)

    return run


# ---------------------------------------------------------------- helpers

SHOWN_OFFENDERS = 10  # publishes a fail copies into its evidence


def _offending(evidence: Any, why: str, publishes: list[DutPublish]) -> None:
    """Copy the publishes a judgement rests on into this instance's evidence, at the time
    they were sent: rules that judge all the traffic since the link opened find most of it
    logged under the instances that made it."""
    for sent in publishes[:SHOWN_OFFENDERS]:
        evidence.record("mqtt", "<-", f"{why}: dut {describe_publish(sent.publish)} "
                                      f"(connection #{sent.session})", at=sent.t)
    if len(publishes) > SHOWN_OFFENDERS:
        evidence.note(f"{why}: {len(publishes) - SHOWN_OFFENDERS} more not shown")



def _settled(mqtt: MqttLink, limit_ms: Callable[[str], int]) -> Session:
    """The DUT's live session, once it is ready (or its ready-ms has passed)."""
    session = mqtt.await_session(limit_ms("reconnect-ms"))
    mqtt.await_ready(session, limit_ms("ready-ms"))
    return session


def _fail_first(problems: list[Problem], evidence: Any) -> None:
    for problem in problems:
        evidence.note(f"problem: {problem}")
    if problems:
        first = problems[0]
        more = f"{len(problems) - 1} more problem(s) in the evidence" if len(problems) > 1 else ""
        fail(f"{first.expected} at {first.path}", first.observed, more)


def _description(mqtt: MqttLink, limit_ms: Callable[[str], int], evidence: Any) -> Any:
    _settled(mqtt, limit_ms)
    topic = f"{mqtt.base}/$description"
    message = mqtt.retained().get(topic) or mqtt.latest(topic)
    if message is None:
        fail(f"a $description on {topic}", "none")
    evidence.record("mqtt", "", f"$description in full: {render(message.payload, 100_000)}")
    try:
        return parse(message.payload)
    except DescriptionError as exc:
        fail("$description to be JSON", str(exc))


def _expectation(hp: homie.HomieProperty) -> str:
    return f"a {hp.datatype}" + (f" in {hp.format}" if hp.format else "")


def _value(prop: Property, message: Message | None) -> Any:
    if message is None:
        return None
    try:
        return homie.decode(prop, message.payload)
    except PayloadError:
        return None


def _current(mqtt: MqttLink, prop: Property) -> Any:
    """The property's value as last published, or as retained."""
    topic = mqtt.topic(homie.homie_property(prop))
    value = _value(prop, mqtt.latest(topic))
    return value if value is not None else _value(prop, mqtt.retained().get(topic))


def _announced(mqtt: MqttLink, session: Session, topics: set[str],
               limit_ms: Callable[[str], int]) -> dict[str, Message]:
    """What the broker retains under the DUT's tree, once `topics` are there or ready-ms
    after the session began has passed: ECS-1 orders neither `ready` before the values
    nor the values before `ready`, so a value missing at `ready` may still be on its way."""
    retained = mqtt.retained()
    missing = topics - set(retained)
    if not missing:
        return retained
    start = session.connack_t or session.opened
    deadline = start + limit_ms("ready-ms") / 1000

    def arrived(topic: str) -> bool:
        latest = mqtt.latest(topic)
        return latest is not None and latest.t >= start

    while not all(arrived(t) for t in missing) and time.monotonic() < deadline:
        time.sleep(0.02)
    return mqtt.retained()


def _retained_problems(mqtt: MqttLink, profile: Profile,
                       retained: dict[str, Message]) -> list[Problem]:
    problems = []
    for prop in profile.properties_on("mqtt"):
        if not prop.readable:
            continue
        hp = homie.homie_property(prop)
        topic = mqtt.topic(hp)
        message = retained.get(topic)
        if message is None:
            problems.append(Problem(topic, f"a retained value ({_expectation(hp)})", "none"))
            continue
        try:
            homie.decode(prop, message.payload)
        except PayloadError as exc:
            problems.append(Problem(topic, f"a retained value valid as {_expectation(hp)}",
                                    f"{render(message.payload)} ({exc})"))
    return problems


# ---------------------------------------------------------------- the rules that look


@pytest.mark.certkit_rule("MQT-001")
@checked
def test_state_and_description_are_retained(mqtt: MqttLink, limit_ms: Callable[[str], int],
                                            evidence: Any) -> None:
    _settled(mqtt, limit_ms)
    retained = mqtt.retained()
    for name in ("$state", "$description"):
        topic = f"{mqtt.base}/{name}"

        def own_publishes(topic: str = topic) -> list[Any]:
            return [p.publish for p in mqtt.dut.publishes_since(mqtt.opened_t)
                    if p.publish.topic == topic]

        if topic in retained and not own_publishes():
            # The endpoint logs a DUT packet just after passing it on, so the broker may
            # deliver it first: give the log a moment to catch up.
            mqtt.dut.wait(own_publishes, time.monotonic() + DUT_LOG_CATCH_UP_S)
        sent = mqtt.dut.publishes_since(mqtt.opened_t)
        own = own_publishes()
        if topic in retained and any(p.retain for p in own):
            evidence.note(f"{topic}: published retained, and retained by the broker")
            continue
        if own and not any(p.retain for p in own):
            _offending(evidence, "published without retain",
                       [p for p in sent if p.publish.topic == topic])
            fail(f"{topic} published retained",
                 f"{len(own)} publish(es) of {name}, none with the retain flag")
        elsewhere = [p.publish.topic for p in sent
                     if p.publish.topic.endswith(f"/{name}") and p.publish.topic != topic]
        if elsewhere:
            _offending(evidence, "outside the device's tree",
                       [p for p in sent if p.publish.topic == elsewhere[0]])
            fail(f"a retained {topic} (device-id {mqtt.base.rsplit('/', 1)[1]})",
                 f"{name} published as {elsewhere[0]}")
        if own:
            fail(f"a retained {topic}", "nothing retained there on the broker")
        fail(f"a retained {topic}", f"none: the DUT never published {name}")


@pytest.mark.certkit_rule("MQT-002")
@checked
def test_description_is_homie_5(mqtt: MqttLink, limit_ms: Callable[[str], int],
                                evidence: Any) -> None:
    document = _description(mqtt, limit_ms, evidence)
    _fail_first(conformance_problems(document), evidence)
    evidence.note("$description conforms to the Homie 5 description schema")


@pytest.mark.certkit_rule("MQT-003")
@checked
def test_description_matches_profile(mqtt: MqttLink, profile: Profile,
                                     limit_ms: Callable[[str], int], evidence: Any) -> None:
    document = _description(mqtt, limit_ms, evidence)
    _fail_first(profile_mismatches(document, profile), evidence)
    evidence.note(f"$description matches the profile: {len(homie.homie_properties(profile))} "
                  "properties, actions and events")


@pytest.mark.certkit_rule("MQT-005")
@checked
def test_retained_value_is_valid(rule_instance: Instance, mqtt: MqttLink,
                                 limit_ms: Callable[[str], int], evidence: Any) -> None:
    prop: Property = rule_instance.target  # type: ignore[assignment]
    hp = homie.homie_property(prop)
    topic = mqtt.topic(hp)
    session = _settled(mqtt, limit_ms)
    message = _announced(mqtt, session, {topic}, limit_ms).get(topic)
    if message is None:
        fail(f"a retained value on {topic} ({_expectation(hp)})",
             f"none by {limit_ms('ready-ms')} ms after the DUT connected")
    try:
        value = homie.decode(prop, message.payload)
    except PayloadError as exc:
        fail(f"a retained value on {topic} valid as {_expectation(hp)}",
             f"{render(message.payload)} ({exc})")
    evidence.note(f"{topic} retains {value!r}: valid")


@pytest.mark.certkit_rule("MQT-006")
@checked
def test_set_is_applied(rule_instance: Instance, mqtt: MqttLink, profile: Profile,
                        limit_ms: Callable[[str], int], evidence: Any) -> None:
    if isinstance(rule_instance.target, Action):
        _trigger_is_applied(rule_instance.target, mqtt, profile, limit_ms, evidence)
        return
    prop: Property = rule_instance.target  # type: ignore[assignment]
    hp = homie.homie_property(prop)
    topic = mqtt.topic(hp)
    limit = limit_ms("reply-ms")
    _settled(mqtt, limit_ms)
    target = other_valid_value(prop, _current(mqtt, prop))
    payload = homie.encode(prop, target)
    expected = f"{topic} = {render(payload)} within {limit} ms of the /set"
    mark = mqtt.mark()
    sent = time.monotonic()
    mqtt.set(hp, payload)
    _answered_in_time(mqtt, topic, lambda m: m.topic == topic and same_value(
        prop.format, _value(prop, m), target), sent, mark, limit, expected,
        "/set to published value", evidence)


def _answered_in_time(mqtt: MqttLink, topic: str, matches: Callable[[Message], bool],
                      sent: float, mark: int, limit: int, expected: str, figure: str,
                      evidence: Any) -> Message:
    """The DUT's answer on `topic`, waited for past the limit so that a late one is
    reported with its delay; fails when it is missing or late."""
    echo = mqtt.wait_message(matches, sent + (limit + LATE_MS) / 1000, mark)
    if echo is None:
        others = [m for m in mqtt.messages.since(mark) if m.topic == topic]
        fail(expected, f"{render(others[-1].payload)} instead" if others
             else f"nothing on {topic} after {limit + LATE_MS} ms")
    latency = (echo.t - sent) * 1000
    evidence.measure(figure, round(latency, 1), "ms", limit=f"at most {limit} ms",
                     ok=latency <= limit)
    if latency > limit:
        fail(expected, f"it after {latency:.0f} ms")
    return echo


def _trigger_is_applied(action: Action, mqtt: MqttLink, profile: Profile,
                        limit_ms: Callable[[str], int], evidence: Any) -> None:
    """C-6: the trigger is published on the action's topic within reply-ms; argument
    properties the DUT writes are reported with the argument's value."""
    hp = homie.homie_action(action)
    topic = mqtt.topic(hp)
    limit = limit_ms("reply-ms")
    _settled(mqtt, limit_ms)
    inputs = homie.action_inputs(profile, action)
    # Values other than the current ones, so the arguments a DUT writes show as changes.
    arguments = {p.name: other_valid_value(p, _current(mqtt, p) if p.readable else None)
                 for p in inputs}
    payload = homie.trigger_payload(profile, action, arguments)
    expected = f"the trigger {render(payload)} on {topic} within {limit} ms of the /set"
    mark = mqtt.mark()
    sent = time.monotonic()
    mqtt.set(hp, payload)

    def is_trigger(m: Message) -> bool:
        if m.topic != topic:
            return False
        try:
            seen = homie.decode_trigger(profile, action, m.payload)
        except PayloadError:
            return False
        return homie.same_arguments(profile, action, seen, arguments)

    _answered_in_time(mqtt, topic, is_trigger, sent, mark, limit, expected,
                      "/set to published trigger", evidence)
    for prop in inputs:
        if not prop.readable:
            continue
        wanted = arguments[prop.name]
        where = mqtt.topic(homie.homie_property(prop))
        reports = [m for m in mqtt.messages.since(mark) if m.topic == where]
        wrong = [m for m in reports
                 if not same_value(prop.format, _value(prop, m), wanted)]
        if wrong:
            fail(f"{where} reported as the argument {render(homie.encode(prop, wanted))} "
                 f"of {action.label}, or not at all", render(wrong[-1].payload))
        evidence.note(f"argument {prop.name}: " + (
            f"reported as {render(reports[-1].payload)}" if reports
            else "nothing on its topic (an action may take an argument without storing it)"))


@pytest.mark.certkit_rule("MQT-007")
@checked
def test_invalid_set_changes_nothing(rule_instance: Instance, mqtt: MqttLink, profile: Profile,
                                     limit_ms: Callable[[str], int], evidence: Any) -> None:
    if isinstance(rule_instance.target, Action):
        _invalid_triggers_change_nothing(rule_instance.target, mqtt, profile, limit_ms,
                                         evidence)
        return
    prop: Property = rule_instance.target  # type: ignore[assignment]
    hp = homie.homie_property(prop)
    topic, state_topic = mqtt.topic(hp), f"{mqtt.base}/$state"
    window = limit_ms("reply-ms")
    session = _settled(mqtt, limit_ms)
    before = _current(mqtt, prop)
    state = mqtt.dut_state() or "(none)"
    mark = mqtt.mark()
    payloads = homie.invalid_payloads(prop)
    for why, payload in payloads:
        evidence.note(f"invalid /set payload, {why}: {render(payload)}")
        mqtt.set(hp, payload)
    sent = time.monotonic()

    def changed(m: Message) -> bool:
        if m.topic == state_topic:
            return m.payload.decode("utf-8", "replace") != state
        return m.topic == topic and (before is None or not same_value(
            prop.format, _value(prop, m), before))

    # Nothing may change within reply-ms: a conformant DUT makes certkit wait it out.
    hit = mqtt.wait_message(changed, sent + window / 1000, mark)
    if hit is None:
        evidence.waited(window / 1000,
                        f"imposed wait: {window} ms (reply-ms after the invalid payloads)",
                        imposed=True)
    kept = f"{render(homie.encode(prop, before))}" if before is not None else "its value"
    if hit is not None and hit.topic == topic:
        culprit = next((why for why, p in payloads if p == hit.payload), None)
        fail(f"{topic} to keep {kept} after invalid /set payloads",
             f"{render(hit.payload)}" + (f" (the {culprit} payload applied)" if culprit else ""))
    if hit is not None:
        fail(f"$state to stay {state} after invalid /set payloads", render(hit.payload))
    if not session.live:
        fail("the DUT to stay connected after invalid /set payloads",
             f"its connection {session.close_reason}")
    evidence.note(f"{len(payloads)} invalid payloads: {topic} kept {kept}, $state stayed {state}")


def _invalid_triggers_change_nothing(action: Action, mqtt: MqttLink, profile: Profile,
                                     limit_ms: Callable[[str], int], evidence: Any) -> None:
    """C-6: invalid triggers publish no trigger, change no argument property, and leave
    the DUT `ready` and connected."""
    hp = homie.homie_action(action)
    topic, state_topic = mqtt.topic(hp), f"{mqtt.base}/$state"
    window = limit_ms("reply-ms")
    session = _settled(mqtt, limit_ms)
    before = {mqtt.topic(homie.homie_property(p)): (p, _current(mqtt, p))
              for p in homie.action_inputs(profile, action) if p.readable}
    state = mqtt.dut_state() or "(none)"
    mark = mqtt.mark()
    payloads = homie.invalid_triggers(profile, action)
    for why, payload in payloads:
        evidence.note(f"invalid trigger, {why}: {render(payload)}")
        mqtt.set(hp, payload)
    sent = time.monotonic()

    def changed(m: Message) -> bool:
        if m.topic == state_topic:
            return m.payload.decode("utf-8", "replace") != state
        if m.topic in before:
            prop, value = before[m.topic]
            return value is None or not same_value(prop.format, _value(prop, m), value)
        return m.topic == topic

    hit = mqtt.wait_message(changed, sent + window / 1000, mark)
    if hit is None:
        evidence.waited(window / 1000,
                        f"imposed wait: {window} ms (reply-ms after the invalid triggers)",
                        imposed=True)
    culprit = next((why for why, p in payloads if hit is not None and p == hit.payload), None)
    applied = f" (the {culprit} trigger ran)" if culprit else ""
    if hit is not None and hit.topic == topic:
        fail(f"no trigger on {topic} after invalid triggers", render(hit.payload) + applied)
    if hit is not None and hit.topic in before:
        prop, value = before[hit.topic]
        kept = render(homie.encode(prop, value)) if value is not None else "its value"
        fail(f"{hit.topic} to keep {kept} after invalid triggers of {action.label}",
             render(hit.payload))
    if hit is not None:
        fail(f"$state to stay {state} after invalid triggers", render(hit.payload))
    if not session.live:
        fail("the DUT to stay connected after invalid triggers",
             f"its connection {session.close_reason}")
    evidence.note(f"{len(payloads)} invalid triggers: nothing on {topic}, arguments kept, "
                  f"$state stayed {state}")


# ---------------------------------------------------------------- the rules that cut


@pytest.mark.certkit_rule("MQT-004")
@checked
def test_ready_then_will_on_cut(mqtt: MqttLink, limit_ms: Callable[[str], int],
                                evidence: Any) -> None:
    limit = limit_ms("ready-ms")
    session = mqtt.await_session(limit_ms("reconnect-ms"))
    topic = f"{mqtt.base}/$state"
    start = session.connack_t or session.opened

    def ready_sent() -> float | None:
        return next((p.t for p in mqtt.dut.publishes if p.session == session.number
                     and p.publish.topic == topic and p.publish.payload == b"ready"), None)

    ready_t = mqtt.dut.wait(ready_sent, max(start + limit / 1000, time.monotonic() + 0.05))
    if ready_t is None:
        elapsed = (time.monotonic() - start) * 1000
        fail(f"$state ready within {limit} ms of connecting",
             f"{render((mqtt.dut_state() or 'nothing').encode())} after {elapsed:.0f} ms")
    evidence.measure("connected to $state ready", round((ready_t - start) * 1000, 1), "ms",
                     limit=f"at most {limit} ms", ok=True)

    will = session.connect.will if session.connect else None
    mark = mqtt.mark()
    cut = mqtt.cut()
    lost = mqtt.wait_message(lambda m: m.topic == topic and m.payload == b"lost",
                             cut + WILL_WAIT_S, mark)
    expected = f"the broker to publish the DUT's will {topic} = \"lost\" when certkit cut it"
    if lost is None:
        if will is None:
            fail(expected, "no will: the DUT's CONNECT registered none")
        if will.topic != topic or will.payload != b"lost":
            fail(expected, f"the DUT's will is {will.topic} = {render(will.payload)}")
        raise LabError(f"the DUT registered the will {topic} = \"lost\", but the broker did not "
                       f"publish it within {WILL_WAIT_S:.0f} s of the cut")
    if will is not None and not will.retain:
        fail(f"a retained will {topic} = \"lost\"", "a will without the retain flag")
    evidence.measure("cut to will published", round((lost.t - cut) * 1000, 1), "ms",
                     limit="none (the broker's)", ok=True)


@pytest.mark.certkit_rule("MQT-008")
@checked
def test_reconnects_after_cut(mqtt: MqttLink, profile: Profile,
                              limit_ms: Callable[[str], int], evidence: Any) -> None:
    limit, ready_limit = limit_ms("reconnect-ms"), limit_ms("ready-ms")
    if mqtt.dut.live_session() is None and mqtt.last_cut_t is not None:
        cut = mqtt.last_cut_t  # an earlier rule's cut, which the DUT has not come back from
        evidence.note(f"the DUT has not reconnected since certkit cut it "
                      f"{time.monotonic() - cut:.1f} s ago; measuring from that cut")
    else:
        _settled(mqtt, limit_ms)
        cut = mqtt.cut()

    def back() -> Session | None:
        session = mqtt.dut.live_session()
        return session if session is not None and session.opened > cut else None

    session = mqtt.dut.wait(back, max(cut + limit / 1000, time.monotonic() + 0.05))
    if session is None:
        fail(f"a new MQTT session within {limit} ms of the cut",
             f"none after {(time.monotonic() - cut) * 1000:.0f} ms")
    reconnect = ((session.connack_t or session.opened) - cut) * 1000
    evidence.measure("cut to new session", round(reconnect, 1), "ms", limit=f"at most {limit} ms",
                     ok=reconnect <= limit)
    if reconnect > limit:
        fail(f"a new MQTT session within {limit} ms of the cut", f"one after {reconnect:.0f} ms")
    if mqtt.await_ready(session, ready_limit) is None:
        fail(f"$state ready within {ready_limit} ms of reconnecting",
             render((mqtt.dut_state(after=session.opened) or "nothing").encode()))
    retained_topics = {mqtt.topic(homie.homie_property(p)) for p in profile.properties_on("mqtt")
                       if p.readable}
    _fail_first(_retained_problems(mqtt, profile,
                                   _announced(mqtt, session, retained_topics, limit_ms)),
                evidence)


# ---------------------------------------------------------------- the rules that judge the traffic


def _observed_traffic(mqtt: MqttLink, limit_ms: Callable[[str], int]) -> None:
    session = _settled(mqtt, limit_ms)
    settle = (session.connack_t or session.opened) + OBSERVE_S - time.monotonic()
    if settle > 0:
        time.sleep(settle)


@pytest.mark.certkit_rule("MQT-009")
@checked
def test_qos_1_or_2(mqtt: MqttLink, profile: Profile, limit_ms: Callable[[str], int],
                    evidence: Any) -> None:
    _observed_traffic(mqtt, limit_ms)
    judged = homie.qos_judged_topics(profile)
    logged = mqtt.dut.publishes_since(mqtt.opened_t)
    sent = [p.publish for p in logged]
    own = [p for p in sent if p.topic in judged]
    if not own:
        fail(f"$state, $description and retained values published under {mqtt.base}/ with "
             "QoS 1 or 2", "no such publish at all")
    others = len(sent) - len(own)
    if others:
        evidence.note(f"{others} other publish(es) not judged (C-5: non-retained values and "
                      "other topics)")
    low = [p.topic for p in own if p.qos == 0]
    low += [f"the will {s.connect.will.topic}" for s in mqtt.dut.sessions_after(mqtt.opened_t)
            if s.connect and s.connect.will and s.connect.will.qos == 0]
    if low:
        _offending(evidence, "QoS 0", [p for p in logged
                                       if p.publish.topic in judged and p.publish.qos == 0])
        for will in low:
            if will.startswith("the will "):
                evidence.note(f"QoS 0: {will}, in the DUT's CONNECT")
        more = f"{len(low) - 1} more with QoS 0" if len(low) > 1 else ""
        fail("$state, $description and retained values with QoS 1 or 2", f"QoS 0 on {low[0]}",
             more)
    evidence.note(f"{len(own)} publishes of $state, $description and retained values, all "
                  "with QoS 1 or 2")


@pytest.mark.certkit_rule("MQT-010")
@checked
def test_publishes_only_in_own_tree(mqtt: MqttLink, limit_ms: Callable[[str], int],
                                    evidence: Any) -> None:
    _observed_traffic(mqtt, limit_ms)
    logged = mqtt.dut.publishes_since(mqtt.opened_t)
    topics = [p.publish.topic for p in logged]
    topics += [s.connect.will.topic for s in mqtt.dut.sessions_after(mqtt.opened_t)
               if s.connect and s.connect.will]
    outside = [t for t in topics if not t.startswith(f"{mqtt.base}/")]
    if outside:
        _offending(evidence, "outside the device's tree",
                   [p for p in logged if not p.publish.topic.startswith(f"{mqtt.base}/")])
        published = {p.publish.topic for p in logged}
        for will in [t for t in outside if t not in published][:SHOWN_OFFENDERS]:
            evidence.note(f"outside the device's tree: the will {will}, in the DUT's CONNECT")
        fail(f"publishes only under {mqtt.base}/", f"a publish to {outside[0]}",
             f"{len(outside)} outside in all" if len(outside) > 1 else "")
    commands = [t for t in topics if t == "set" or t.endswith("/set")]
    if commands:
        _offending(evidence, "a command topic", [p for p in logged if p.publish.topic in commands])
        fail("no publish to any /set topic", f"a publish to {commands[0]}")
    evidence.note(f"{len(topics)} publishes, all under {mqtt.base}/ and none to a /set topic")


# ---------------------------------------------------------------- security


@pytest.mark.certkit_rule("SEC-003")
@checked
def test_tls_only_and_untrusted_broker_refused(rule_instance: Instance, mqtt: MqttLink,
                                               limit_ms: Callable[[str], int],
                                               evidence: Any) -> None:
    window = int(rule_instance.rule.limits["session"].value)
    reconnect = limit_ms("reconnect-ms")
    session = _settled(mqtt, limit_ms)
    plain = mqtt.dut.incidents_since(mqtt.opened_t, frozenset({"plaintext"}))
    if plain or not session.tls:
        for incident in plain[:SHOWN_OFFENDERS]:
            evidence.record("bench", "", f"judged: {incident.text}", at=incident.t)
        fail("MQTT over TLS only", plain[0].text if plain else "a session without TLS")
    evidence.note(f"the DUT's session {session.number} runs over TLS")

    mqtt.present("untrusted")
    try:
        cut = mqtt.cut()
        attempt = mqtt.dut.wait(
            lambda: next((i.t for i in mqtt.dut.incidents if i.t > cut and i.kind == "tls-refused"),
                         None) or next((s.opened for s in mqtt.dut.sessions.values()
                                        if s.opened > cut), None),
            cut + reconnect / 1000)
        if attempt is None:
            raise LabError(f"the DUT made no connection attempt within {reconnect} ms of the cut, "
                           "so its certificate check could not be exercised")

        def session_with_untrusted() -> Session | None:
            return next((s for s in mqtt.dut.sessions.values() if s.opened > cut
                         and s.certificate == "untrusted" and s.established), None)

        accepted = mqtt.dut.wait(session_with_untrusted, attempt + window / 1000)
        if accepted is not None:
            after = ((accepted.connack_t or accepted.opened) - attempt) * 1000
            fail(f"no MQTT session within {window} ms while the endpoint presents a certificate "
                 "not signed by the DUT's CA", f"a session after {after:.0f} ms")
        refused = mqtt.dut.incidents_since(cut, frozenset({"tls-refused"}))
        evidence.waited(window / 1000, f"imposed wait: {window} ms (SEC-003: no session with "
                        f"an untrusted certificate); the DUT refused {len(refused)} "
                        "handshake(s)", imposed=True)
    finally:
        mqtt.present("trusted")
        if mqtt.dut.live_session() is not None:
            mqtt.cut()  # leave no session that was made with the untrusted certificate
