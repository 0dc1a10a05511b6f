"""INT-006: DUT ignores a neighbouring reference device (ECS-1 section 8)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from certkit.evidence import EvidenceLog
from certkit.profile.model import Profile
from certkit.suite.int.support import faces_of
from certkit.transports import transport
from certkit.transports.interop import Neighbour


@pytest.mark.certkit_rule("INT-006")
def test_int_006_coexistence(profile: Profile, link: Callable[[str], Any],
                             evidence: EvidenceLog) -> None:
    # Only a medium the DUT shares (a broker, a radio) can have a neighbour on it.
    shared = [n for n in profile.transports.declared if transport(n).medium is not None]
    neighbours: list[Neighbour] = []
    try:
        for _, face in faces_of(profile, link, shared, evidence):
            face.neighbour(profile, evidence, neighbours.append)
    finally:
        for neighbour in neighbours:
            neighbour.stop(2.0)
