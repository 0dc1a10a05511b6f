"""What the MQT rules and SEC-003 share (ECS-1 section 6, MQTT with Homie 5): the `mqtt`
link fixture, `checked`, and how the DUT's session, its $description and its values are
read.

A rule checked per property takes `rule_instance`. A rule judges only what the DUT did and
ends with `certkit.checks.fail(expected, observed)` when it broke the rule. Whether the
bench held up is decided by `checked`: a failure seen while the broker was down, or a check
during which certkit's broker connection dropped, ends in `error` instead.

The catalogue's run-order puts the rules that only look first, then those that cut the
DUT's connection (MQT-004, MQT-008), then those that judge all the traffic seen so far
(MQT-009, MQT-010, through `observed_traffic`), and SEC-003, which swaps the endpoint's
certificate, last.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable
from typing import Any

import pytest

from certkit.checks import LabError, RuleFailure, fail
from certkit.links.base import Link
from certkit.links.mqtt import homie
from certkit.links.mqtt.controller import MqttLink
from certkit.links.mqtt.description import DescriptionError, Problem, parse
from certkit.links.mqtt.dutlog import DutPublish, Session, describe_publish
from certkit.links.mqtt.homie import PayloadError, render
from certkit.links.mqtt.messages import Message
from certkit.profile.model import Property

OBSERVE_S = 1.0       # MQT-009/010 judge at least this much traffic after `ready`
SHOWN_OFFENDERS = 10  # publishes a fail copies into its evidence


def _open(link: Callable[[str], Link], request: pytest.FixtureRequest) -> MqttLink:
    # The endpoint's address is printed on opening; a bench operator must see it live.
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        opened = link("mqtt")
    if not isinstance(opened, MqttLink):
        raise LabError(f"the MQTT rules need certkit's MQTT link, not {type(opened).__name__}")
    return opened


@pytest.fixture
def mqtt(link: Callable[[str], Link], request: pytest.FixtureRequest) -> MqttLink:
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


def offending(evidence: Any, why: str, publishes: list[DutPublish]) -> None:
    """Copy the publishes a judgement rests on into this instance's evidence, at the time
    they were sent: rules that judge all the traffic since the link opened find most of it
    logged under the instances that made it."""
    for sent in publishes[:SHOWN_OFFENDERS]:
        evidence.record("mqtt", "<-", f"{why}: dut {describe_publish(sent.publish)} "
                                      f"(connection #{sent.session})", at=sent.t)
    if len(publishes) > SHOWN_OFFENDERS:
        evidence.note(f"{why}: {len(publishes) - SHOWN_OFFENDERS} more not shown")


def settled(mqtt: MqttLink, limit_ms: Callable[[str], int]) -> Session:
    """The DUT's live session, once it is ready (or its ready-ms has passed)."""
    session = mqtt.await_session(limit_ms("reconnect-ms"))
    mqtt.await_ready(session, limit_ms("ready-ms"))
    return session


def fail_first(problems: list[Problem], evidence: Any) -> None:
    for problem in problems:
        evidence.note(f"problem: {problem}")
    if problems:
        first = problems[0]
        more = f"{len(problems) - 1} more problem(s) in the evidence" if len(problems) > 1 else ""
        fail(f"{first.expected} at {first.path}", first.observed, more)


def description_document(mqtt: MqttLink, limit_ms: Callable[[str], int], evidence: Any) -> Any:
    settled(mqtt, limit_ms)
    topic = f"{mqtt.base}/$description"
    message = mqtt.retained().get(topic) or mqtt.latest(topic)
    if message is None:
        fail(f"a $description on {topic}", "none")
    evidence.record("mqtt", "", f"$description in full: {render(message.payload, 100_000)}")
    try:
        return parse(message.payload)
    except DescriptionError as exc:
        fail("$description to be JSON", str(exc))


def expectation(hp: homie.HomieProperty) -> str:
    return f"a {hp.datatype}" + (f" in {hp.format}" if hp.format else "")


def decoded_value(prop: Property, message: Message | None) -> Any:
    if message is None:
        return None
    try:
        return homie.decode(prop, message.payload)
    except PayloadError:
        return None


def current_value(mqtt: MqttLink, prop: Property) -> Any:
    """The property's value as last published, or as retained."""
    topic = mqtt.topic(homie.homie_property(prop))
    value = decoded_value(prop, mqtt.latest(topic))
    return value if value is not None else decoded_value(prop, mqtt.retained().get(topic))


def announced(mqtt: MqttLink, session: Session, topics: set[str],
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


def observed_traffic(mqtt: MqttLink, limit_ms: Callable[[str], int]) -> None:
    session = settled(mqtt, limit_ms)
    settle = (session.connack_t or session.opened) + OBSERVE_S - time.monotonic()
    if settle > 0:
        time.sleep(settle)
