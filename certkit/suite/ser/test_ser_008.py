"""SER-008: Actions run and refuse bad arguments (ECS-1 section 5)."""

from __future__ import annotations

import pytest

from certkit.checks import fail
from certkit.evidence import EvidenceLog
from certkit.links.serial import SerialLink
from certkit.links.serial.protocol import LineError, action, decode_value, encode_value
from certkit.links.serial.samples import invalid_samples, valid_value
from certkit.plan import Instance
from certkit.profile.model import Action, Profile
from certkit.suite.ser.support import (
    PATIENCE_MS,
    LimitMs,
    answered,
    one_entry,
    result_entries,
    rule_limit_ms,
)


@pytest.mark.certkit_rule("SER-008")
def test_ser_008_actions(rule_instance: Instance, serial: SerialLink, profile: Profile,
                         evidence: EvidenceLog, limit_ms: LimitMs) -> None:
    act = rule_instance.target_as(Action)
    reply_ms = rule_limit_ms(rule_instance, "reply", limit_ms)
    timeout = (reply_ms + PATIENCE_MS) / 1000
    props = {p.piid: p for s in profile.services if s.siid == act.siid for p in s.properties}
    args = [(piid, encode_value(valid_value(props[piid]), props[piid].format))
            for piid in act.inputs]

    exchange = serial.request(action(act.siid, act.aiid, args), timeout)
    reply = answered(exchange, f"a result to `{exchange.downlink}`", reply_ms, evidence)
    entry = one_entry(reply, "action", exchange.downlink, act.siid, act.aiid)
    if entry.code != 0:
        fail(f"code 0 to `{exchange.downlink}`", f"`{reply.text}`")
    outs = [piid for piid, _ in entry.outputs]
    if outs != list(act.outputs):
        fail(f"the out values of {act.label} ({list(act.outputs) or 'none'})",
             f"`{reply.text}` (out piids {outs or 'none'})")
    for piid, token in entry.outputs:
        try:
            why = props[piid].check_value(decode_value(token, props[piid]))
        except LineError as exc:
            why = exc.reason
        if why:
            fail(f"valid out values of {act.label}", f"`{reply.text}`: {why}")

    refusals: list[tuple[str, int, list[tuple[int, str]], int]] = []  # why, aiid, args, code
    if args:
        refusals.append(("one argument short", act.aiid, args[:-1], -4006))
        first = props[act.inputs[0]]
        bad = invalid_samples(first)[0]
        refusals.append((f"{first.name} {bad.why}", act.aiid, [(first.piid, bad.text), *args[1:]],
                         -4006))
    else:
        extra = next(iter(props.values()), None)
        piid = extra.piid if extra else 1
        wire = encode_value(valid_value(extra), extra.format) if extra else "1"
        refusals.append(("an argument too many", act.aiid, [(piid, wire)], -4006))
    free_aiid = max(a.aiid for a in profile.actions() if a.siid == act.siid) + 1
    if free_aiid <= 255:
        refusals.append((f"unknown aiid {free_aiid}", free_aiid, [], -4003))
    for why, aiid, call_args, code in refusals:
        exchange = serial.request(action(act.siid, aiid, call_args), timeout)
        reply = answered(exchange, f"a result to `{exchange.downlink}` ({why})", reply_ms)
        entries = result_entries(reply, "action", exchange.downlink)
        if entries[0].code != code:
            fail(f"code {code} to `{exchange.downlink}` ({why})", f"`{reply.text}`")
