"""What the SER rules share (ECS-1 section 5): the `serial` link fixture, the patience
past a limit, and how a reply, its result entries and a property's value are read from the
MCU's answers.

certkit sits in the connectivity module's seat (`certkit.links.serial`): the rules send
downlinks through `SerialLink.request`, which waits with deadlines, and judge the MCU's
answers and the traffic the link recorded.

SER-009, SER-010 and SER-003 judge traffic over a window, so the catalogue's run-order
puts them after the rules that make it: each reviews everything the MCU sent since the
link opened (at least `REVIEW_MIN_S` of it, `review_window`), so a device that breaks
framing or floods reports at any point of the run is caught, not only in a window of its
own. The evidence of such a rule quotes the lines it blames, with their times.

Limits come from the catalogue (`rule.limits`), tightened by the profile's `timing` where
the limit names a timing key; nothing here is a literal number of the standard.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import pytest

from certkit.checks import LabError, fail
from certkit.evidence import EvidenceLog
from certkit.links import Link
from certkit.links.serial import SerialLink
from certkit.links.serial.module import Exchange, Uplink
from certkit.links.serial.protocol import (
    Entry,
    Line,
    LineError,
    decode_value,
    get_properties,
    read_result,
)
from certkit.plan import Instance
from certkit.profile.model import Property

PATIENCE_MS = 1000.0
RESET_TIMEOUT_S = 30.0
REVIEW_MIN_S = 2.0  # SER-003/009/010 look at least this much traffic; see the docstring
DETAILS_SHOWN = 3   # problems quoted in a fail message; the evidence has them all
LimitMs = Callable[[str], int]
ResultKind = Literal["get", "set", "action"]


@pytest.fixture
def serial(link: Callable[[str], Link]) -> SerialLink:
    opened = link("serial")
    if not isinstance(opened, SerialLink):
        raise LabError(f"the serial rules need certkit's serial link, not {type(opened).__name__}")
    return opened


def rule_limit_ms(instance: Instance, name: str, limit_ms: LimitMs) -> float:
    """A rule's limit in ms: the profile's `timing` value where the limit has a key."""
    limit = instance.rule.limits[name]
    return float(limit_ms(limit.timing)) if limit.timing else float(limit.value)


def section10_reply_ms(limit_ms: LimitMs) -> float:
    """Section 10's reply limit as the profile tightens it: the base of every patience."""
    return float(limit_ms("reply-ms"))


def answered(exchange: Exchange, what: str, limit: float | None,
             evidence: EvidenceLog | None = None) -> Uplink:
    """The line that answered `exchange`, or a fail that says what happened instead."""
    if exchange.status != "replied":
        within = f" within {limit:g} ms" if limit is not None else ""
        fail(f"{what}{within}", f"{exchange.describe()} (downlink `{exchange.downlink}`)")
    reply = reply_of(exchange)
    elapsed = (reply.t - sent_at(exchange)) * 1000  # exchange.elapsed_ms, known to be set
    if limit is not None:
        if evidence is not None:
            evidence.measure("reply time", round(elapsed, 1), "ms", limit=f"at most {limit:g} ms",
                             ok=elapsed <= limit)
        if elapsed > limit:
            fail(f"{what} within {limit:g} ms",
                 f"it after {elapsed:.0f} ms, limit {limit:g} ms (downlink `{exchange.downlink}`)")
    return reply


def sent_at(exchange: Exchange) -> float:
    """When the downlink of an exchange that was sent (or replied to) left the module."""
    if exchange.sent_at is None:
        raise LabError(f"`{exchange.downlink}` was not sent ({exchange.describe()})")
    return exchange.sent_at


def reply_of(exchange: Exchange) -> Uplink:
    """The uplink that answered an exchange whose status is `replied`."""
    if exchange.reply is None:
        raise LabError(f"`{exchange.downlink}` has no reply ({exchange.describe()})")
    return exchange.reply


def line_of(uplink: Uplink) -> Line:
    """The parsed line of an uplink found by its command (so always well formed)."""
    if uplink.line is None:
        raise LabError(f"`{uplink.text}` was matched but is not a well-formed line")
    return uplink.line


def command_is(command: str) -> Callable[[Uplink], bool]:
    return lambda uplink: uplink.command == command


def result_entries(reply: Uplink, kind: ResultKind, downlink: str) -> list[Entry]:
    try:
        return read_result(line_of(reply), kind)
    except LineError as exc:
        fail(f"a result line that answers `{downlink}`", f"`{reply.text}` ({exc})")


def one_entry(reply: Uplink, kind: ResultKind, downlink: str, siid: int, iid: int) -> Entry:
    entries = result_entries(reply, kind, downlink)
    if len(entries) != 1 or (entries[0].siid, entries[0].iid) != (siid, iid):
        fail(f"one result entry for {siid}.{iid}", f"`{reply.text}`")
    return entries[0]


def read_value(serial: SerialLink, prop: Property, limit_ms: LimitMs) -> bool | int | float | str:
    """The property's current value, by a get whose timing is not the point."""
    patience = section10_reply_ms(limit_ms) + PATIENCE_MS
    exchange = serial.request(get_properties([(prop.siid, prop.piid)]), patience / 1000)
    reply = answered(exchange, f"a result to the get of {prop.label}", patience)
    entry = one_entry(reply, "get", exchange.downlink, prop.siid, prop.piid)
    if entry.code != 0 or entry.value is None:
        fail(f"code 0 and a value to the get of {prop.label}", f"`{reply.text}`")
    try:
        return decode_value(entry.value, prop)
    except LineError as exc:
        fail(f"a {prop.format} value for {prop.label}", f"`{reply.text}` ({exc.reason})")


def summary(problems: list[str]) -> str:
    shown = "; ".join(problems[:DETAILS_SHOWN])
    more = len(problems) - DETAILS_SHOWN
    return shown + (f"; and {more} more (see the evidence)" if more > 0 else "")


def review_window(serial: SerialLink) -> list[Uplink]:
    """Everything the MCU sent since the link opened, at least REVIEW_MIN_S of it."""
    serial.pause(serial.opened_at + REVIEW_MIN_S - serial.now())
    return serial.uplinks(since=serial.opened_at)
