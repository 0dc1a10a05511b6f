"""The interop faces: each transport's is found through the registry, SEC-002's inputs
replay from their seed as they always have, and a face without a capability says so
instead of standing in for another transport.

What the faces do to a DUT is proved by the runs in test_interop_runs.py.
"""

from __future__ import annotations

import hashlib
import random
from types import SimpleNamespace
from typing import Any

import pytest

from certkit.bench import Bench
from certkit.evidence import EvidenceLog
from certkit.profile.model import Profile, Property
from certkit.suite.sec.test_sec_002 import SEC002_SEED
from certkit.transports import transport, transports
from certkit.transports.interop import MALFORMED, InteropFace, Unsupported, stable

# The first of the kettle's SEC-002 inputs per transport, and the sha256 (first 16 hex
# digits) of the evidence line that lists all of them, as runs before the faces moved
# into their transports recorded them.
KETTLE_INPUTS = {
    "serial": ("down thf1<.&p8d[wel|@g}h8on;#5_0hnfd(:w|qq% (38 bytes)", "0eaf4970aefb7816"),
    "mqtt": ("/set kettle/keep-warm/set b'\\xff\\xfe\\xfd' (3 bytes)", "c965fc6c812a53cc"),
    "ble": ("write kettle.on b44061efb3 (5 bytes)", "13ab9bec7cebd24c"),
}


def _unopened_face(name: str, profile: Profile) -> InteropFace:
    """The transport's face on a link that is made but not opened (no device needed to
    draw inputs)."""
    link = transport(name).open_link(profile, Bench(emulate=frozenset({name})), EvidenceLog())
    face = transport(name).face(link)
    assert isinstance(face, InteropFace), face
    return face


@pytest.mark.parametrize("name", sorted(KETTLE_INPUTS))
def test_sec_002_inputs_replay_from_their_seed(kettle: Profile, name: str) -> None:
    face = _unopened_face(name, kettle)
    checked = [p for p in kettle.properties_on(name) if stable(p)]
    props = [p for p in checked if p.writable] or checked
    seed = SEC002_SEED + sum(map(ord, name))
    drawn = [i.what for i in face.malformed_inputs(random.Random(seed), kettle, props)]
    again = [i.what for i in face.malformed_inputs(random.Random(seed), kettle, props)]
    first, digest = KETTLE_INPUTS[name]
    assert len(drawn) == MALFORMED and drawn == again
    assert drawn[0] == first
    assert hashlib.sha256(" | ".join(drawn).encode()).hexdigest()[:16] == digest


def test_every_registered_transport_of_the_kettle_has_a_face(kettle: Profile) -> None:
    declared = set(kettle.transports.declared)
    faces = {name: _unopened_face(name, kettle) for name in transports() if name in declared}
    assert set(faces) == declared
    assert {name: face.transport for name, face in faces.items()} == {n: n for n in faces}


class _SetAndReadOnly(InteropFace):
    """A face that can only set and read (a transport that offers no more)."""

    def __init__(self) -> None:
        super().__init__(SimpleNamespace(transport="loopback"))
        self.values: dict[str, Any] = {}

    def set(self, prop: Property, value: Any, timeout: float) -> tuple[bool, float]:
        self.values[prop.label] = value
        return True, 0.0

    def read(self, prop: Property, timeout: float) -> Any:
        return self.values.get(prop.label)


def test_a_face_without_a_capability_says_so(kettle: Profile) -> None:
    face = _SetAndReadOnly()
    with pytest.raises(Unsupported, match="loopback transport names no unknown message"):
        face.unknown_message(0.1, 0.0)
    with pytest.raises(Unsupported, match="loopback face has no malformed inputs"):
        face.malformed_inputs(random.Random(1), kettle, list(kettle.properties_on("serial")))
    assert face.second_controller() is None
    evidence = EvidenceLog()
    started: list[Any] = []
    face.neighbour(kettle, evidence, started.append)
    assert started == []
    assert [item.text for item in evidence.since(0)] == [
        "INT-006: the loopback face has no reference neighbour; loopback not checked"]
