"""INT-003: Concurrent controllers converge on the last write (ECS-1 section 8)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from certkit.checks import expect, fail, not_applicable
from certkit.evidence import EvidenceLog
from certkit.profile.model import Profile, Property
from certkit.profile.values import other_valid_value, valid_values
from certkit.suite.int.support import exposing, faces_of, same_across, writable_on
from certkit.transports import transport
from certkit.transports.interop import CONFIRM_S, InteropFace


@pytest.mark.certkit_rule("INT-003")
def test_int_003_last_writer_wins(profile: Profile, link: Callable[[str], Any],
                                  limit_ms: Callable[[str], int],
                                  evidence: EvidenceLog) -> None:
    faces = dict(faces_of(profile, link, profile.transports.declared, evidence))
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
                      if current is None or not same_across(prop, v, current)), 0)
        writes = [(first if i % 2 == 0 else second, values[(start + i) % len(values)])
                  for i in range(6)]
        if same_across(prop, writes[-1][1], writes[-2][1]):
            writes[-1] = (writes[-1][0], other_valid_value(prop, writes[-2][1]))
        evidence.note(f"{prop.label}: interleaved writes "
                      + ", ".join(f"{name} {value!r}" for (name, _), value in writes))
        for (name, face), value in writes:
            answered, _ = face.set(prop, value, CONFIRM_S)
            expect(answered, f"every write answered ({name} {prop.label} = {value!r})",
                   "no answer")
        last = writes[-1][1]
        changed = time.monotonic()
        for name in exposing(profile, prop):
            if name not in faces:
                continue
            shown, _ = faces[name].wait_value(prop, last, changed + within)
            if shown is None or not same_across(prop, shown, last):
                fail(f"every transport at the last accepted write, {prop.label} = {last!r} "
                     f"(by {writes[-1][0][0]})", f"{name} shows {shown!r}")


Controller = tuple[str, InteropFace]


def _controller_pairs(profile: Profile, faces: dict[str, InteropFace]
                      ) -> list[tuple[Controller, Controller, Property]]:
    """(first, second, property): a transport's second controller with its first (two
    clients of one broker); then any two transports sharing a writable property. A
    transport several controllers reach (a broker: the cloud) writes second, and when
    the DUT has one, every pair of transports includes one."""
    pairs = []
    for name, face in faces.items():
        prop = writable_on(profile, name)
        second = face.second_controller()
        if prop is not None and second is not None:
            pairs.append(((f"{name} client 2", second), (name, face), prop))
    shared = [n for n in faces if transport(n).several_controllers]
    order = [n for n in faces if n not in shared] + shared
    for i, a in enumerate(order):
        for b in order[i + 1:]:
            if shared and a not in shared and b not in shared:
                continue
            props = [p for p in profile.properties_on(a)
                     if p.writable and p.readable and p in profile.properties_on(b)]
            if props:
                pairs.append(((a, faces[a]), (b, faces[b]), props[0]))
    return pairs
