"""MQT-002: Description is valid Homie 5 JSON (ECS-1 section 6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from certkit.links.mqtt.controller import MqttLink
from certkit.links.mqtt.description import conformance_problems
from certkit.suite.mqt.support import checked, description_document, fail_first


@pytest.mark.certkit_rule("MQT-002")
@checked
def test_mqt_002_description_is_homie_5(mqtt: MqttLink, limit_ms: Callable[[str], int],
                                        evidence: Any) -> None:
    document = description_document(mqtt, limit_ms, evidence)
    fail_first(conformance_problems(document), evidence)
    evidence.note("$description conforms to the Homie 5 description schema")
