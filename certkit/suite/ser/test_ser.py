"""ECS-1 section 5: the MIoT module serial protocol, SER-001..013.

certkit sits in the connectivity module's seat (`certkit.links.serial`):
these rules send downlinks through `SerialLink.request`, which waits with
deadlines, and judge the MCU's answers and the traffic the link recorded.

The module runs in file order. SER-009, SER-010 and SER-003 judge traffic
over a window, so they come last and review everything the MCU sent since
the link opened (at least `REVIEW_MIN_S` of it): a device that breaks
framing or floods reports at any point of the run is caught, not only in
a window of its own. The evidence of such a rule quotes the lines it
blames, with their times.

Limits come from the catalogue (`rule.limits`), tightened by the profile's
`timing` where the limit names a timing key; nothing here is a literal
number of the standard.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest

from certkit.checks import LabError, fail, not_applicable
from certkit.evidence import EvidenceLog
from certkit.links.serial import SerialLink, analysis
from certkit.links.serial.module import Exchange, Uplink
from certkit.links.serial.protocol import (
    MCU_VERSION_REQUEST,
    Entry,
    LineError,
    Token,
    action,
    decode_value,
    encode_value,
    get_properties,
    net_change,
    read_result,
    set_properties,
    tokenize,
)
from certkit.links.serial.samples import invalid_samples, valid_value
from certkit.plan import Instance
from certkit.profile.model import Profile, Property
from certkit.profile.values import other_valid_value, same_value
from certkit.standard.catalogue import catalogue

# How much longer than a limit we wait, so a late answer is reported with
# its time ("after 812 ms, limit 500 ms") instead of as missing.
PATIENCE_MS = 1000.0
RESET_TIMEOUT_S = 30.0
REVIEW_MIN_S = 2.0  # SER-003/009/010 look at least this much traffic; see the docstring
DETAILS_SHOWN = 3   # problems quoted in a fail message; the evidence has them all

LimitMs = Callable[[str], int]


@pytest.fixture
def serial(link: Callable[[str], Any]) -> SerialLink:
    return link("serial")


def _limit(instance: Instance, name: str, limit_ms: LimitMs) -> float:
    """A rule's limit in ms: the profile's `timing` value where the limit has a key."""
    limit = instance.rule.limits[name]
    return float(limit_ms(limit.timing)) if limit.timing else float(limit.value)


def _section10_reply_ms(limit_ms: LimitMs) -> float:
    """Section 10's reply limit as the profile tightens it: the base of every patience."""
    return float(limit_ms("reply-ms"))


def _answered(exchange: Exchange, what: str, limit: float | None,
              evidence: EvidenceLog | None = None) -> Uplink:
    """The line that answered `exchange`, or a fail that says what happened instead."""
    if exchange.status != "replied":
        within = f" within {limit:g} ms" if limit is not None else ""
        fail(f"{what}{within}", f"{exchange.describe()} (downlink `{exchange.downlink}`)")
    elapsed = exchange.elapsed_ms
    if limit is not None:
        if evidence is not None:
            evidence.measure("reply time", round(elapsed, 1), "ms", limit=f"at most {limit:g} ms",
                             ok=elapsed <= limit)
        if elapsed > limit:
            fail(f"{what} within {limit:g} ms",
                 f"it after {elapsed:.0f} ms, limit {limit:g} ms (downlink `{exchange.downlink}`)")
    return exchange.reply


def _entries(reply: Uplink, kind: str, downlink: str) -> list[Entry]:
    try:
        return read_result(reply.line, kind)
    except LineError as exc:
        fail(f"a result line that answers `{downlink}`", f"`{reply.text}` ({exc})")


def _one_entry(reply: Uplink, kind: str, downlink: str, siid: int, iid: int) -> Entry:
    entries = _entries(reply, kind, downlink)
    if len(entries) != 1 or (entries[0].siid, entries[0].iid) != (siid, iid):
        fail(f"one result entry for {siid}.{iid}", f"`{reply.text}`")
    return entries[0]


def _read(serial: SerialLink, prop: Property, limit_ms: LimitMs) -> Any:
    """The property's current value, by a get whose timing is not the point."""
    patience = _section10_reply_ms(limit_ms) + PATIENCE_MS
    exchange = serial.request(get_properties([(prop.siid, prop.piid)]), patience / 1000)
    reply = _answered(exchange, f"a result to the get of {prop.label}", patience)
    entry = _one_entry(reply, "get", exchange.downlink, prop.siid, prop.piid)
    if entry.code != 0 or entry.value is None:
        fail(f"code 0 and a value to the get of {prop.label}", f"`{reply.text}`")
    try:
        return decode_value(entry.value, prop)
    except LineError as exc:
        fail(f"a {prop.format} value for {prop.label}", f"`{reply.text}` ({exc.reason})")


def _summary(problems: list[str]) -> str:
    shown = "; ".join(problems[:DETAILS_SHOWN])
    more = len(problems) - DETAILS_SHOWN
    return shown + (f"; and {more} more (see the evidence)" if more > 0 else "")


def _review_window(serial: SerialLink) -> list[Uplink]:
    """Everything the MCU sent since the link opened, at least REVIEW_MIN_S of it."""
    serial.pause(serial.opened_at + REVIEW_MIN_S - serial.now())
    return serial.uplinks(since=serial.opened_at)


def _when(serial: SerialLink, uplink: Uplink) -> str:
    return f"+{uplink.t - serial.opened_at:.3f} s"


# ------------------------------------------------------------------ SER-001


@pytest.mark.certkit_rule("SER-001")
def test_ser_001_announces_model_after_reset(rule_instance: Instance, serial: SerialLink,
                                             profile: Profile, evidence: EvidenceLog,
                                             limit_ms: LimitMs) -> None:
    boot_ms = _limit(rule_instance, "boot", limit_ms)
    began, done = serial.reset_device(RESET_TIMEOUT_S)
    until = done + (boot_ms + PATIENCE_MS) / 1000
    announced = {
        "model": profile.device.model,
        "mcu_version": profile.device.mcu_version,
    }
    for command, value in announced.items():
        expected = f"`{command} {value}` within {boot_ms:g} ms of the reset"
        uplink = serial.wait_for(lambda u, c=command: u.command == c, began, until)
        if uplink is None:
            fail(expected, f"no {command} line within {boot_ms + PATIENCE_MS:g} ms")
        elapsed = max(0.0, (uplink.t - done) * 1000)
        evidence.measure(f"{command} after reset", round(elapsed, 1), "ms",
                         limit=f"at most {boot_ms:g} ms", ok=elapsed <= boot_ms)
        said = uplink.line.params[0].text
        if said != value:
            fail(expected, f"`{uplink.text}`")
        if elapsed > boot_ms:
            fail(expected, f"it after {elapsed:.0f} ms, limit {boot_ms:g} ms")


# ------------------------------------------------------------------ SER-002


@pytest.mark.certkit_rule("SER-002")
def test_ser_002_polls_get_down(rule_instance: Instance, serial: SerialLink,
                                evidence: EvidenceLog) -> None:
    limits = rule_instance.rule.limits
    low, high = limits["poll-median-min"].value, limits["poll-median-max"].value
    gap_limit, window = limits["poll-gap"].value, limits["window"].value
    start = serial.now()
    serial.pause(window / 1000)
    end = serial.now()
    evidence.waited(end - start, f"imposed wait: {window:g} ms (the polling window observed)",
                    imposed=True)
    polls = [u.t for u in serial.uplinks(start, end, "get_down")]
    stats = analysis.poll_stats(polls, start, end)
    shown = f"{stats.count} polls in {(end - start):.1f} s"
    evidence.measure("get_down polls", stats.count, "polls", limit="at least 2",
                     ok=stats.count >= 2)
    if stats.median_ms is None:
        fail(f"get_down polls with a median interval of {low:g}..{high:g} ms", shown)
    median_ok = low <= stats.median_ms <= high
    intervals = [(later - earlier) * 1000 for earlier, later in zip(polls, polls[1:])]
    evidence.measure("median poll interval", round(stats.median_ms, 1), "ms",
                     limit=f"{low:g}..{high:g} ms", ok=median_ok, samples=intervals)
    evidence.measure("largest gap", round(stats.max_gap_ms, 1), "ms",
                     limit=f"at most {gap_limit:g} ms", ok=stats.max_gap_ms <= gap_limit)
    if not median_ok:
        fail(f"a median get_down interval of {low:g}..{high:g} ms",
             f"median poll {stats.median_ms:.0f} ms, limit {low:g}..{high:g} ms ({shown})")
    if stats.max_gap_ms > gap_limit:
        fail(f"no gap between polls over {gap_limit:g} ms",
             f"a gap of {stats.max_gap_ms:.0f} ms, limit {gap_limit:g} ms ({shown})")


# ------------------------------------------------------------------ SER-004


@pytest.mark.certkit_rule("SER-004")
def test_ser_004_get_readable_property(rule_instance: Instance, serial: SerialLink,
                                       evidence: EvidenceLog, limit_ms: LimitMs) -> None:
    prop: Property = rule_instance.target
    reply_ms = _limit(rule_instance, "reply", limit_ms)
    exchange = serial.request(get_properties([(prop.siid, prop.piid)]),
                              (reply_ms + PATIENCE_MS) / 1000)
    reply = _answered(exchange, f"a result to `{exchange.downlink}`", reply_ms, evidence)
    entry = _one_entry(reply, "get", exchange.downlink, prop.siid, prop.piid)
    if entry.code != 0 or entry.value is None:
        fail(f"code 0 and a value for {prop.label}", f"`{reply.text}`")
    try:
        why = prop.check_value(decode_value(entry.value, prop))
    except LineError as exc:
        why = exc.reason
    if why:
        fail(f"a valid {prop.format} value for {prop.label}", f"`{reply.text}`: {why}")


# ------------------------------------------------------------------ SER-005


@pytest.mark.certkit_rule("SER-005")
def test_ser_005_set_writable_property(rule_instance: Instance, serial: SerialLink,
                                       evidence: EvidenceLog, limit_ms: LimitMs) -> None:
    prop: Property = rule_instance.target
    reply_ms = _limit(rule_instance, "reply", limit_ms)
    notify_ms = _limit(rule_instance, "notify", limit_ms)
    before = _read(serial, prop, limit_ms) if prop.readable else None
    new = other_valid_value(prop, before)
    wire = encode_value(new, prop.format)
    exchange = serial.request(set_properties([(prop.siid, prop.piid, wire)]),
                              (reply_ms + PATIENCE_MS) / 1000)
    try:
        reply = _answered(exchange, f"a result to `{exchange.downlink}`", reply_ms, evidence)
        entry = _one_entry(reply, "set", exchange.downlink, prop.siid, prop.piid)
        if entry.code not in (0, 1):
            fail(f"code 0 (or 1) to the set of {prop.label} to {wire}", f"`{reply.text}`")
        if prop.readable:
            now = _read(serial, prop, limit_ms)
            # Code 1 means accepted, applied later: give it the notify limit to show.
            settle_until = exchange.sent_at + notify_ms / 1000
            while (entry.code == 1 and not same_value(prop.format, now, new)
                   and serial.now() < settle_until):
                serial.pause(0.05)
                now = _read(serial, prop, limit_ms)
            if not same_value(prop.format, now, new):
                fail(f"a get after the set of {prop.label} to return {wire}",
                     f"{encode_value(now, prop.format)}")
        if prop.notifies:  # looked for from the set on, so the get above costs no time
            _expect_report(serial, evidence, prop, new, exchange.sent_at, notify_ms)
    finally:
        if before is not None and exchange.status == "replied":
            # Put the value back for the rules after; a port that failed meanwhile
            # must not hide this rule's own outcome.
            with contextlib.suppress(LabError):
                _set_back(serial, prop, before, limit_ms)


def _set_back(serial: SerialLink, prop: Property, value: Any, limit_ms: LimitMs) -> None:
    """Best effort, and settled: a set answered 1 (accepted, applied later) is waited for
    until a get shows it (within the notify limit), so it cannot land in a later rule's
    check (SER-007 would see its property change under it)."""
    patience = _section10_reply_ms(limit_ms) + PATIENCE_MS
    exchange = serial.request(set_properties([(prop.siid, prop.piid,
                                               encode_value(value, prop.format))]),
                              patience / 1000)
    if exchange.status != "replied":
        return
    try:
        entries = read_result(exchange.reply.line, "set")
    except LineError:
        return
    if [e.code for e in entries] != [1] or not prop.readable:
        return
    until = exchange.sent_at + limit_ms("notify-ms") / 1000
    while serial.now() < until:
        got = serial.request(get_properties([(prop.siid, prop.piid)]), patience / 1000)
        if got.status != "replied":
            return
        try:
            entries = read_result(got.reply.line, "get")
            if entries and entries[0].value is not None and same_value(
                    prop.format, decode_value(entries[0].value, prop), value):
                return
        except LineError:
            return
        serial.pause(0.05)


def _expect_report(serial: SerialLink, evidence: EvidenceLog, prop: Property, new: Any,
                   since: float, notify_ms: float) -> None:
    def carries_new_value(uplink: Uplink) -> bool:
        if uplink.command != "properties_changed":
            return False
        p = uplink.line.params
        return any((p[i].text, p[i + 1].text) == (str(prop.siid), str(prop.piid))
                   and _decodes_to(p[i + 2], prop, new) for i in range(0, len(p) - 2, 3))

    wire = encode_value(new, prop.format)
    report = serial.wait_for(carries_new_value, since, since + (notify_ms + PATIENCE_MS) / 1000)
    expected = f"`properties_changed {prop.siid} {prop.piid} {wire}` within {notify_ms:g} ms"
    if report is None:
        fail(expected, f"no such report within {notify_ms + PATIENCE_MS:g} ms")
    elapsed = (report.t - since) * 1000
    evidence.measure("report after set", round(elapsed, 1), "ms",
                     limit=f"at most {notify_ms:g} ms", ok=elapsed <= notify_ms)
    if elapsed > notify_ms:
        fail(expected, f"it after {elapsed:.0f} ms, limit {notify_ms:g} ms")


def _decodes_to(token: Token, prop: Property, value: Any) -> bool:
    try:
        return same_value(prop.format, decode_value(token, prop), value)
    except LineError:
        return False


# ------------------------------------------------------------------ SER-006


@pytest.mark.certkit_rule("SER-006")
def test_ser_006_access_is_enforced(rule_instance: Instance, serial: SerialLink,
                                    profile: Profile, evidence: EvidenceLog,
                                    limit_ms: LimitMs) -> None:
    cases: list[tuple[str, int, int, int, str]] = []  # downlink, siid, piid, code, why
    for prop in profile.properties():
        if not prop.readable:
            cases.append((get_properties([(prop.siid, prop.piid)]), prop.siid, prop.piid,
                          -4001, f"{prop.label} is not readable"))
        if not prop.writable:
            wire = encode_value(valid_value(prop), prop.format)
            cases.append((set_properties([(prop.siid, prop.piid, wire)]), prop.siid, prop.piid,
                          -4002, f"{prop.label} is not writable"))
    last = profile.services[-1]
    free_piid = max((p.piid for p in last.properties), default=0) + 1
    free_siid = max(s.siid for s in profile.services) + 1
    if free_piid <= 255:
        cases.append((get_properties([(last.siid, free_piid)]), last.siid, free_piid, -4003,
                      f"{last.name} has no piid {free_piid}"))
    if free_siid <= 255:
        cases.append((set_properties([(free_siid, 1, "true")]), free_siid, 1, -4003,
                      f"there is no siid {free_siid}"))
    if not any(code == -4001 for *_, code, _ in cases):
        evidence.note("no property lacks read access, so -4001 is not exercised")
    patience = _section10_reply_ms(limit_ms) + PATIENCE_MS
    problems = []
    for downlink, siid, piid, code, why in cases:
        exchange = serial.request(downlink, patience / 1000)
        if exchange.status != "replied":
            problems.append(f"`{downlink}` ({why}) got {exchange.describe()}")
            continue
        try:
            entries = read_result(exchange.reply.line, "set" if "set_" in downlink else "get")
        except LineError as exc:
            problems.append(f"`{downlink}` got `{exchange.reply.text}` ({exc})")
            continue
        got = [e.code for e in entries if (e.siid, e.iid) == (siid, piid)]
        if got != [code]:
            problems.append(f"`{downlink}` ({why}) got `{exchange.reply.text}`, not code {code}")
    for problem in problems:
        evidence.note(problem)
    if problems:
        fail("code -4001 for a get of a non-readable property, -4002 for a set of a "
             "non-writable one and -4003 for an unknown siid/piid",
             f"{len(problems)} of {len(cases)} not answered as required: {_summary(problems)}")


# ------------------------------------------------------------------ SER-007


@pytest.mark.certkit_rule("SER-007")
def test_ser_007_invalid_values_refused(rule_instance: Instance, serial: SerialLink,
                                        evidence: EvidenceLog, limit_ms: LimitMs) -> None:
    prop: Property = rule_instance.target
    patience = _section10_reply_ms(limit_ms) + PATIENCE_MS
    before = _read(serial, prop, limit_ms) if prop.readable else None
    start = serial.now()
    if prop.format == "string":
        evidence.note("no too-long string is sent: profiles declare no string length")
    problems = []
    for sample in invalid_samples(prop):
        exchange = serial.request(set_properties([(prop.siid, prop.piid, sample.text)]),
                                  patience / 1000)
        if exchange.status != "replied":
            problems.append(f"{sample.text} ({sample.why}) got {exchange.describe()}")
            continue
        try:
            entries = read_result(exchange.reply.line, "set")
        except LineError as exc:
            problems.append(f"{sample.text} got `{exchange.reply.text}` ({exc})")
            continue
        if [e.code for e in entries] != [-4005]:
            problems.append(f"{sample.text} ({sample.why}) got `{exchange.reply.text}`")
    if before is not None:
        after = _read(serial, prop, limit_ms)
        if not same_value(prop.format, after, before):
            reported = serial.uplinks(since=start, command="properties_changed")
            problems.append(f"the value changed from {encode_value(before, prop.format)} to "
                            f"{encode_value(after, prop.format)}"
                            + (" (the device reported changes meanwhile)" if reported else ""))
    for problem in problems:
        evidence.note(problem)
    if problems:
        fail(f"code -4005 to every invalid value for {prop.label} and its value kept",
             _summary(problems))


# ------------------------------------------------------------------ SER-008


@pytest.mark.certkit_rule("SER-008")
def test_ser_008_actions(rule_instance: Instance, serial: SerialLink, profile: Profile,
                         evidence: EvidenceLog, limit_ms: LimitMs) -> None:
    act = rule_instance.target
    reply_ms = _limit(rule_instance, "reply", limit_ms)
    timeout = (reply_ms + PATIENCE_MS) / 1000
    props = {p.piid: p for s in profile.services if s.siid == act.siid for p in s.properties}
    args = [(piid, encode_value(valid_value(props[piid]), props[piid].format))
            for piid in act.inputs]

    exchange = serial.request(action(act.siid, act.aiid, args), timeout)
    reply = _answered(exchange, f"a result to `{exchange.downlink}`", reply_ms, evidence)
    entry = _one_entry(reply, "action", exchange.downlink, act.siid, act.aiid)
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
        reply = _answered(exchange, f"a result to `{exchange.downlink}` ({why})", reply_ms)
        entries = _entries(reply, "action", exchange.downlink)
        if entries[0].code != code:
            fail(f"code {code} to `{exchange.downlink}` ({why})", f"`{reply.text}`")


# ------------------------------------------------------------------ SER-011


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


def _check_multi(serial: SerialLink, downlink: str, kind: str, props: list[Property],
                 limit_ms: LimitMs) -> dict[str, str]:
    """Checks the one-line, in-order answer; returns the values read, by key."""
    patience = _section10_reply_ms(limit_ms) + PATIENCE_MS
    exchange = serial.request(downlink, patience / 1000)
    reply = _answered(exchange, f"a result to `{downlink}`", patience)
    wanted = [p.key for p in props]
    try:
        entries = read_result(reply.line, kind)
    except LineError as exc:
        fail(f"one result line with entries for {' '.join(wanted)} in that order",
             f"`{reply.text}` ({exc})")
    got = [e.key for e in entries]
    if got != wanted:
        fail(f"one result line with {len(wanted)} entries, for {' '.join(wanted)} in that order",
             f"{len(got)} entr{'y' if len(got) == 1 else 'ies'} ({' '.join(got) or 'none'}) in "
             f"`{reply.text}`")
    return {e.key: e.value.text for e in entries if e.value is not None}


# ------------------------------------------------------------------ SER-012


@pytest.mark.certkit_rule("SER-012")
def test_ser_012_mcu_version_request(rule_instance: Instance, serial: SerialLink,
                                     evidence: EvidenceLog, limit_ms: LimitMs) -> None:
    reply_ms = _limit(rule_instance, "reply", limit_ms)
    exchange = serial.request(MCU_VERSION_REQUEST, (reply_ms + PATIENCE_MS) / 1000,
                              expect="mcu_version")
    _answered(exchange, f"`mcu_version` after `down {MCU_VERSION_REQUEST}`", reply_ms, evidence)


# ------------------------------------------------------------------ SER-013


@pytest.mark.certkit_rule("SER-013")
def test_ser_013_reports_on_cloud(rule_instance: Instance, serial: SerialLink, profile: Profile,
                                  evidence: EvidenceLog, limit_ms: LimitMs) -> None:
    report_ms = rule_instance.rule.limits["report"].value
    wanted = {p.key: p for p in profile.properties() if p.notifies}
    if not wanted:
        not_applicable("the profile declares no notify property")
    patience = _section10_reply_ms(limit_ms) + PATIENCE_MS
    try:
        # Go offline first: an MCU may well report only on a change to cloud.
        for state in ("offline", "cloud"):
            serial.net_state = state
            exchange = serial.request(net_change(state), patience / 1000, expect=None)
            if exchange.status != "sent":
                fail(f"the MCU to poll for `down {exchange.downlink}`", exchange.describe())
    finally:
        serial.net_state = "cloud"
    seen: set[str] = set()

    def all_reported(uplink: Uplink) -> bool:
        if uplink.command == "properties_changed":
            p = uplink.line.params
            seen.update(f"{p[i].text}.{p[i + 1].text}" for i in range(0, len(p) - 2, 3))
        return not set(wanted) - seen

    since = exchange.sent_at
    done = serial.wait_for(all_reported, since, since + report_ms / 1000)
    if done is not None:
        elapsed = (done.t - since) * 1000
        evidence.measure("every notify property reported after", round(elapsed, 1), "ms",
                         limit=f"at most {report_ms:g} ms", ok=True)
        return
    missing = [wanted[key].label for key in wanted if key not in seen]
    fail(f"properties_changed for every notify property within {report_ms:g} ms of "
         "`MIIO_net_change cloud`",
         f"none for {', '.join(missing)} ({len(wanted) - len(missing)} of {len(wanted)} "
         "reported)")


# ------------------------------------------------------- reviews: SER-009/010


@pytest.mark.certkit_rule("SER-009")
def test_ser_009_property_reports(rule_instance: Instance, serial: SerialLink, profile: Profile,
                                  evidence: EvidenceLog, limit_ms: LimitMs) -> None:
    interval = rule_instance.rule.limits["self-report-interval"].value
    uplinks = _review_window(serial)
    lines = [(u.t, u.line) for u in uplinks if u.line is not None]
    found = analysis.reports(lines)
    problems = analysis.report_problems(profile, found)
    labels = {p.key: p.label for p in profile.properties()}
    problems += analysis.self_report_bursts(found, _excuses(serial, limit_ms), interval, labels)
    span = serial.now() - serial.opened_at
    evidence.note(f"reviewed {len(found)} property reports over {span:.1f} s")
    for problem in problems:
        evidence.note(problem)
    if problems:
        fail("properties_changed naming only notify properties, with valid values, and "
             f"self-made changes reported at most once per {interval:g} ms per property",
             f"{len(problems)} problem(s): {_summary(problems)}")


def _excuses(serial: SerialLink, limit_ms: LimitMs) -> list[analysis.Excuse]:
    """Reports the harness asked for: of values it set, and the sync after going cloud."""
    notify_s = limit_ms("notify-ms") / 1000
    sync_s = _ser013_report_ms() / 1000
    excuses = []
    for sent in serial.downlinks(since=serial.opened_at):
        try:
            tokens = tokenize(sent.downlink.encode("ascii"))
        except LineError:
            continue
        method, p = tokens[0].text, tokens[1:]
        if method == "set_properties":
            excuses += [analysis.Excuse(sent.t, sent.t + notify_s, f"{p[i].text}.{p[i + 1].text}",
                                        p[i + 2].text) for i in range(0, len(p) - 2, 3)]
        elif method == "action" and len(p) >= 2:
            excuses += [analysis.Excuse(sent.t, sent.t + notify_s, f"{p[0].text}.{p[i].text}",
                                        p[i + 1].text) for i in range(2, len(p) - 1, 2)]
        elif method == "MIIO_net_change" and p and p[0].text == "cloud":
            excuses.append(analysis.Excuse(sent.t, sent.t + sync_s))
    return excuses


def _ser013_report_ms() -> float:
    return catalogue().get("SER-013").limits["report"].value


@pytest.mark.certkit_rule("SER-010")
def test_ser_010_event_reports(rule_instance: Instance, serial: SerialLink, profile: Profile,
                               evidence: EvidenceLog) -> None:
    per_second = int(rule_instance.rule.limits["events-per-second"].value)
    uplinks = _review_window(serial)
    events = [u for u in uplinks if u.command == "event_occured"]
    problems = analysis.event_problems(profile, [(u.t, u.line) for u in events])
    problems += analysis.event_bursts([u.t for u in events], per_second)
    span = serial.now() - serial.opened_at
    evidence.note(f"reviewed {len(events)} event reports over {span:.1f} s")
    for problem in problems:
        evidence.note(problem)
    if problems:
        fail(f"event_occured naming only declared events with their declared arguments, "
             f"at most {per_second} a second", f"{len(problems)} problem(s): {_summary(problems)}")


# ------------------------------------------------------------ review: SER-003


@pytest.mark.certkit_rule("SER-003")
def test_ser_003_line_framing(rule_instance: Instance, serial: SerialLink,
                              evidence: EvidenceLog) -> None:
    limits = rule_instance.rule.limits
    uplinks = _review_window(serial)
    bad = [u for u in uplinks if u.problem]
    evidence.note(f"reviewed {len(uplinks)} lines over {serial.now() - serial.opened_at:.1f} s")
    for uplink in bad[:50]:
        evidence.note(f"{_when(serial, uplink)} `{uplink.text}`: {uplink.problem}")
    if bad:
        first = bad[0]
        fail(f"CR-terminated lines of printable ASCII, at most {limits['line-bytes'].value:g} "
             f"bytes and {limits['parameters'].value:g} parameters, each a known command "
             "with well-formed parameters",
             f"{len(bad)} of {len(uplinks)} lines malformed, first at {_when(serial, first)}: "
             f"`{first.text[:60]}`: {first.problem}")
