"""MQT-003: Description matches the profile (ECS-1 section 6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from certkit.links.mqtt import homie
from certkit.links.mqtt.controller import MqttLink
from certkit.links.mqtt.description import profile_mismatches
from certkit.profile.model import Profile
from certkit.suite.mqt.support import checked, description_document, fail_first


@pytest.mark.certkit_rule("MQT-003")
@checked
def test_mqt_003_description_matches_profile(mqtt: MqttLink, profile: Profile,
                                             limit_ms: Callable[[str], int], evidence: Any) -> None:
    document = description_document(mqtt, limit_ms, evidence)
    fail_first(profile_mismatches(document, profile), evidence)
    evidence.note(f"$description matches the profile: {len(homie.homie_properties(profile))} "
                  "properties, actions and events")
