"""SER-011: Multi-property downlinks get one ordered result (ECS-1 section 5)."""

from __future__ import annotations

import pytest

from certkit.checks import fail, not_applicable
from certkit.links.serial import SerialLink
from certkit.links.serial.protocol import (
    LineError,
    encode_value,
    get_properties,
    read_result,
    set_properties,
)
from certkit.links.serial.samples import valid_value
from certkit.plan import Instance
from certkit.profile.model import Profile, Property
from certkit.suite.ser.support import (
    PATIENCE_MS,
    LimitMs,
    ResultKind,
    answered,
    line_of,
    section10_reply_ms,
)


@pytest.mark.certkit_rule("SER-011")
def test_ser_011_one_ordered_result(rule_instance: Instance, serial: SerialLink,
                                    profile: Profile,
                                    limit_ms: LimitMs) -> None:
    readable = [p for p in profile.properties() if p.readable]
    if len(readable) < 2:
        not_applicable("the profile declares fewer than two readable properties")
    # Reverse declaration order, so an MCU that answers in its own order is caught.
    chosen = list(reversed(readable))[:4]
    values = _check_multi(serial, get_properties([(p.siid, p.piid) for p in chosen]), "get",
                          chosen, limit_ms)
    writable = [p for p in reversed(profile.properties()) if p.writable][:4]
    if len(writable) >= 2:
        assignments = [(p.siid, p.piid,
                        values.get(p.key) or encode_value(valid_value(p), p.format))
                       for p in writable]
        _check_multi(serial, set_properties(assignments), "set", writable, limit_ms)


def _check_multi(serial: SerialLink, downlink: str, kind: ResultKind, props: list[Property],
                 limit_ms: LimitMs) -> dict[str, str]:
    """Checks the one-line, in-order answer; returns the values read, by key."""
    patience = section10_reply_ms(limit_ms) + PATIENCE_MS
    exchange = serial.request(downlink, patience / 1000)
    reply = answered(exchange, f"a result to `{downlink}`", patience)
    wanted = [p.key for p in props]
    try:
        entries = read_result(line_of(reply), kind)
    except LineError as exc:
        fail(f"one result line with entries for {' '.join(wanted)} in that order",
             f"`{reply.text}` ({exc})")
    got = [e.key for e in entries]
    if got != wanted:
        fail(f"one result line with {len(wanted)} entries, for {' '.join(wanted)} in that order",
             f"{len(got)} entr{'y' if len(got) == 1 else 'ies'} ({' '.join(got) or 'none'}) in "
             f"`{reply.text}`")
    return {e.key: e.value.text for e in entries if e.value is not None}
