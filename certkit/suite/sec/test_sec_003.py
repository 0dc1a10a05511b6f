"""SEC-003: MQTT uses TLS and rejects untrusted brokers (ECS-1 section 9)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from certkit.checks import LabError, fail
from certkit.links.mqtt.controller import MqttLink
from certkit.links.mqtt.dutlog import Session
from certkit.plan import Instance
from certkit.suite.mqt.support import SHOWN_OFFENDERS, checked, settled


@pytest.mark.certkit_rule("SEC-003")
@checked
def test_sec_003_tls_only_and_untrusted_broker_refused(rule_instance: Instance, mqtt: MqttLink,
                                                       limit_ms: Callable[[str], int],
                                                       evidence: Any) -> None:
    window = int(rule_instance.rule.limits["session"].value)
    reconnect = limit_ms("reconnect-ms")
    session = settled(mqtt, limit_ms)
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
