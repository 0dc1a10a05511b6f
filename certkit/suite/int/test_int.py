"""ECS-1 section 8 (interoperability) and SEC-002, checked across the DUT's links.

A DUT with several transports is one device: these rules open every link it
declares (the `link` fixture opens each once per run) and drive each through
its transport's interop face (`Transport.face(link)`, an `InteropFace` of
`certkit/transports/interop.py`). No transport is named here: what
differs between transports (the identity each reports, a second controller,
the unknown message, a neighbour, malformed inputs) is each face's business.
A transport whose face lacks a capability takes no part in that rule, and
the evidence says so.

Every figure goes into the evidence with its limit. SEC-002 draws its 100
inputs per transport from a seeded generator and records the seed: setting
CERTKIT_SEC002_SEED to it replays exactly the same inputs.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from certkit.checks import expect, fail, not_applicable
from certkit.evidence import EvidenceLog
from certkit.plan import Instance
from certkit.profile.model import Profile, Property
from certkit.profile.values import other_valid_value, same_value, valid_values
from certkit.transports import transport
from certkit.transports.interop import (
    CONFIRM_S,
    MALFORMED,
    InteropFace,
    Neighbour,
    Unresponsive,
    Unsupported,
    stable,
)

SEC002_SEED = int(os.environ.get("CERTKIT_SEC002_SEED", "20260601"))
SETTLE_S = 0.3        # after an unknown or malformed input, before the health check


def _face(link: Callable[[str], Any], name: str, profile: Profile) -> InteropFace | None:
    """The transport's interop face on its link, the DUT ready on it (a link opened by
    this rule may not have seen the DUT yet; LabError when it never comes). None when
    the transport has no interop face."""
    face: InteropFace | None = transport(name).face(link(name))
    if face is not None:
        face.await_ready(profile)
    return face


def _faces(profile: Profile, link: Callable[[str], Any], names: Iterable[str],
           evidence: EvidenceLog) -> Iterator[tuple[str, InteropFace]]:
    """(name, face) for each transport of `names` that has a face, each link opened as
    it comes (a transport whose link failed ends the rule in error; one without a face
    is left out, as the evidence says)."""
    for name in names:
        face = _face(link, name, profile)
        if face is None:
            evidence.note(f"{name} has no interop face: it takes no part in this rule")
        else:
            yield name, face


def _exposing(profile: Profile, prop: Property) -> list[str]:
    return [t for t in profile.transports.declared if prop in profile.properties_on(t)]


def _writable_on(profile: Profile, name: str) -> Property | None:
    props = [p for p in profile.properties_on(name) if p.writable and p.readable]
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
    faces = dict(_faces(profile, link, _exposing(profile, prop), evidence))
    if len(faces) < 2:
        not_applicable(f"fewer than two transports with an interop face expose {prop.label}")
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
    for name, face in _faces(profile, link, profile.transports.declared, evidence):
        for what, value in face.identity(profile, CONFIRM_S).items():
            seen.append((what, name, value))
            dut_identity(what, value, name)
    for what, name, value in seen:
        evidence.note(f"{name} reports {what} {value!r} (profile: {declared[what]!r})")
    wrong = [f"{name} {what} {value!r}" for what, name, value in seen
             if value != declared[what]]
    if wrong:
        fail("model, firmware and mcu-version equal to the profile's on every transport "
             f"({declared['model']}, {declared['firmware']}, {declared['mcu-version']})",
             "; ".join(wrong))


# --------------------------------------------------------------------- INT-003


@pytest.mark.certkit_rule("INT-003")
def test_int_003_last_writer_wins(profile: Profile, link: Callable[[str], Any],
                                  limit_ms: Callable[[str], int],
                                  evidence: EvidenceLog) -> None:
    faces = dict(_faces(profile, link, profile.transports.declared, evidence))
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
        for name in _exposing(profile, prop):
            if name not in faces:
                continue
            shown, _ = faces[name].wait_value(prop, last, changed + within)
            if shown is None or not _same(prop, shown, last):
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
        prop = _writable_on(profile, name)
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


# --------------------------------------------------------------------- INT-004


@pytest.mark.certkit_rule("INT-004")
def test_int_004_unknown_messages(rule_instance: Instance, profile: Profile,
                                  link: Callable[[str], Any], limit_ms: Callable[[str], int],
                                  evidence: EvidenceLog) -> None:
    name: str = rule_instance.target  # type: ignore[assignment]
    face = _face(link, name, profile)
    if face is None:
        not_applicable(f"{name} has no interop face to send an unknown message through")
    probe = next((p for p in profile.properties_on(name) if p.readable), None)
    reply_s = limit_ms("reply-ms") / 1000
    try:
        face.unknown_message(reply_s, SETTLE_S)
    except Unsupported as exc:
        not_applicable(str(exc))
    if probe is not None:
        expect(face.healthy(probe, CONFIRM_S), "the DUT to keep working afterwards "
               f"(it answers a read of {probe.label} on {name})", "no answer")


# --------------------------------------------------------------------- INT-005


@pytest.mark.certkit_rule("INT-005")
def test_int_005_quality_bar(rule_instance: Instance, profile: Profile,
                             link: Callable[[str], Any], evidence: EvidenceLog) -> None:
    name: str = rule_instance.target  # type: ignore[assignment]
    prop = _writable_on(profile, name)
    if prop is None:
        not_applicable(f"no readable, writable property on {name}")
    limits = rule_instance.rule.limits
    cycles, p95_ms, max_ms = (int(limits["cycles"].value), limits["p95"].value,
                              limits["max"].value)
    face = _face(link, name, profile)
    if face is None:
        not_applicable(f"{name} has no interop face to set and confirm through")
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
    evidence.measure(f"{name} cycles confirmed", cycles - unconfirmed, "count",
                     limit=f"all {cycles}", ok=unconfirmed == 0)
    evidence.measure(f"{name} p95 latency", round(p95, 1), "ms",
                     limit=f"at most {p95_ms:g} ms", ok=p95 <= p95_ms, samples=latencies)
    evidence.measure(f"{name} max latency", round(worst, 1), "ms",
                     limit=f"at most {max_ms:g} ms", ok=worst <= max_ms)
    evidence.note(f"{name} latencies (ms, in cycle order): "
                  + " ".join(f"{x:.1f}" for x in latencies))
    expect(unconfirmed == 0, f"all {cycles} set-and-confirm cycles on {name} confirmed",
           f"{unconfirmed} unconfirmed")
    expect(p95 <= p95_ms and worst <= max_ms,
           f"p95 at most {p95_ms:g} ms and max at most {max_ms:g} ms on {name}",
           f"p95 {p95:.0f} ms, max {worst:.0f} ms over {cycles} cycles")


# --------------------------------------------------------------------- INT-006


@pytest.mark.certkit_rule("INT-006")
def test_int_006_coexistence(profile: Profile, link: Callable[[str], Any],
                             evidence: EvidenceLog) -> None:
    # Only a medium the DUT shares (a broker, a radio) can have a neighbour on it.
    shared = [n for n in profile.transports.declared if transport(n).medium is not None]
    neighbours: list[Neighbour] = []
    try:
        for _, face in _faces(profile, link, shared, evidence):
            face.neighbour(profile, evidence, neighbours.append)
    finally:
        for neighbour in neighbours:
            neighbour.stop(2.0)


# --------------------------------------------------------------------- SEC-002


@pytest.mark.certkit_rule("SEC-002")
def test_sec_002_malformed_input(rule_instance: Instance, profile: Profile,
                                 link: Callable[[str], Any], evidence: EvidenceLog) -> None:
    name: str = rule_instance.target  # type: ignore[assignment]
    face = _face(link, name, profile)
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
               if before[p] is not None and not _same(p, before[p], after[p])]
    if not responsive or changed:
        evidence.note("SEC-002: the inputs that broke it, replayable by seed: " + " | ".join(sent))
    expect(responsive, f"the DUT to answer on {name} after {MALFORMED} malformed inputs",
           "no answer")
    expect(not changed, f"its state unchanged after {MALFORMED} malformed inputs",
           "; ".join(changed))
