"""SEC-002: Malformed input does not break the DUT (ECS-1 section 9).

Its 100 inputs per transport come from a seeded generator and the seed is recorded: setting
CERTKIT_SEC002_SEED to it replays exactly the same inputs.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from typing import Any

import pytest

from certkit.checks import expect, fail, not_applicable
from certkit.evidence import EvidenceLog
from certkit.plan import Instance
from certkit.profile.model import Profile
from certkit.profile.values import other_valid_value
from certkit.suite.int.support import SETTLE_S, face_of, same_across
from certkit.transports.interop import CONFIRM_S, MALFORMED, Unresponsive, Unsupported, stable

SEC002_SEED = int(os.environ.get("CERTKIT_SEC002_SEED", "20260601"))


@pytest.mark.certkit_rule("SEC-002")
def test_sec_002_malformed_input(rule_instance: Instance, profile: Profile,
                                 link: Callable[[str], Any], evidence: EvidenceLog) -> None:
    name = rule_instance.target_as(str)
    face = face_of(link, name, profile)
    if face is None:
        not_applicable(f"{name} has no interop face to send malformed input through")
    checked = [p for p in profile.properties_on(name) if stable(p)]
    writable = [p for p in checked if p.writable]
    if not checked:
        not_applicable(f"no readable property on {name} to check the state with")
    seed = SEC002_SEED + sum(map(ord, name))
    try:
        inputs = face.malformed_inputs(random.Random(seed), profile, writable or checked)
    except Unsupported as exc:
        not_applicable(str(exc))
    evidence.note(f"SEC-002: {MALFORMED} malformed inputs from seed {seed} "
                  f"(CERTKIT_SEC002_SEED={SEC002_SEED} replays them)")
    if writable:  # a value other than power-on, so a reboot shows as a change
        prop = writable[0]
        face.set(prop, other_valid_value(prop, face.read(prop, CONFIRM_S)), CONFIRM_S)
    before = {p: face.read(p, CONFIRM_S) for p in checked}
    sent: list[str] = []
    for number, malformed in enumerate(inputs, 1):
        sent.append(malformed.what)
        try:
            malformed.send()
        except Unresponsive as exc:
            fail("the DUT to stay responsive through malformed input",
                 f"it stopped answering at input {number}: {malformed.what} ({exc})")
    time.sleep(SETTLE_S)
    evidence.note("SEC-002 inputs: " + " | ".join(sent))
    responsive = face.healthy(checked[0], CONFIRM_S)
    after = {p: face.read(p, CONFIRM_S) for p in checked}
    changed = [f"{p.label} {before[p]!r} -> {after[p]!r}" for p in checked
               if before[p] is not None and not same_across(p, before[p], after[p])]
    if not responsive or changed:
        evidence.note("SEC-002: the inputs that broke it, replayable by seed: " + " | ".join(sent))
    expect(responsive, f"the DUT to answer on {name} after {MALFORMED} malformed inputs",
           "no answer")
    expect(not changed, f"its state unchanged after {MALFORMED} malformed inputs",
           "; ".join(changed))
