"""The serial link's interop face: certkit, as the module, drives the MCU with downlinks."""

from __future__ import annotations

import functools
import random
import time
from typing import Any

from certkit.checks import expect, fail
from certkit.links.serial.module import SerialLink
from certkit.links.serial.protocol import (
    LineError,
    decode_value,
    encode_value,
    get_properties,
    read_result,
    set_properties,
)
from certkit.profile.model import Profile, Property
from certkit.transports.interop import MALFORMED, InteropFace, MalformedInput

UNKNOWN_METHOD = "certkit_future_method 1 2"  # INT-004's downlink no MCU knows
# What SEC-002's garbled downlinks are made of.
GARBLE = "abcdefghijklmnopqrstuvwxyz_0123456789 .-\"'#$%&()*+,/:;<=>?@[]^{|}~"


class SerialFace(InteropFace):
    link: SerialLink

    def set(self, prop: Property, value: Any, timeout: float) -> tuple[bool, float]:
        downlink = set_properties([(prop.siid, prop.piid, encode_value(value, prop.format))])
        exchange = self.link.request(downlink, timeout)
        line, elapsed_ms = exchange.reply_line, exchange.elapsed_ms
        if line is None or elapsed_ms is None:  # not replied
            return False, float("inf")
        try:
            entries = read_result(line, "set")
        except LineError:
            return False, float("inf")
        ok = len(entries) == 1 and entries[0].code in (0, 1)
        return ok, elapsed_ms

    def read(self, prop: Property, timeout: float) -> Any:
        line = self.link.request(get_properties([(prop.siid, prop.piid)]), timeout).reply_line
        if line is None:  # not replied
            return None
        try:
            entries = read_result(line, "get")
            if len(entries) != 1 or entries[0].code != 0 or entries[0].value is None:
                return None
            return decode_value(entries[0].value, prop)
        except LineError:
            return None

    def reported_at(self, prop: Property, value: Any, since: float) -> float | None:
        """The first `properties_changed` since `since` that carries `value` for `prop`."""
        for uplink in self.link.uplinks(since=since, command="properties_changed"):
            params = uplink.line.params if uplink.line else []
            for i in range(0, len(params) - 2, 3):
                if (params[i].text, params[i + 1].text) != (str(prop.siid), str(prop.piid)):
                    continue
                try:
                    if self.same(prop, decode_value(params[i + 2], prop), value):
                        return uplink.t
                except LineError:
                    pass
        return None

    def announced_identity(self, profile: Profile, timeout: float) -> dict[str, str]:
        """The MCU's `model` and `mcu_version` lines (asked for the version when it has
        not sent one since the link opened)."""
        found: dict[str, str] = {}
        for command, what in (("model", "model"), ("mcu_version", "mcu-version")):
            said = [u.line.params for u in self.link.uplinks(command=command)
                    if u.line and u.line.params]
            if not said and command == "mcu_version":
                self.link.request("MIIO_mcu_version_req", timeout, expect="mcu_version")
                said = [u.line.params for u in self.link.uplinks(command=command)
                        if u.line and u.line.params]
            if said:
                found[what] = said[-1][0].text
        return found

    def unknown_message(self, reply_s: float, settle_s: float) -> None:
        """An unknown downlink method: refused with `error` -9999..-5000 or `result`
        -4003, and no reboot."""
        exchange = self.link.request(UNKNOWN_METHOD, reply_s, expect=None)
        # From the moment the downlink left: a boot announcement before it (the MCU
        # starting up when the link opened) is no reaction to it.
        sent = exchange.sent_at or time.monotonic()
        answer = self.link.wait_for(lambda u: u.line is not None and u.line.command in
                                    ("error", "result"), sent, sent + 1.5 + reply_s)
        rebooted = self.link.wait_for(lambda u: u.command == "model", sent, sent + settle_s)
        if rebooted is not None:
            fail("the MCU to refuse the unknown downlink and keep working",
                 f"it rebooted (`{rebooted.text}` {(rebooted.t - sent) * 1000:.0f} ms later)")
        if answer is None:
            fail("`error` with a code in -9999..-5000 or `result` -4003 to the unknown "
                 f"downlink `{UNKNOWN_METHOD}`", "no answer")
        if answer.command == "error":
            params = answer.line.params if answer.line else []
            code = params[-1].text if params else ""
            expect(code.lstrip("-").isdigit() and -9999 <= int(code) <= -5000,
                   "an error code in -9999..-5000", f"`{answer.text}`")
        else:
            expect(" -4003" in answer.text, "result code -4003", f"`{answer.text}`")

    def malformed_inputs(self, rng: random.Random, profile: Profile,
                         props: list[Property]) -> list[MalformedInput]:
        """Garbled, oversized, unterminated and short downlinks."""
        inputs = []
        for i in range(MALFORMED):
            prop = rng.choice(props)
            kind = i % 5
            if kind == 0:
                text = "".join(rng.choice(GARBLE) for _ in range(rng.randint(1, 60)))
            elif kind == 1:
                text = f"set_properties {prop.siid} {prop.piid} " + "9" * rng.randint(520, 900)
            elif kind == 2:
                text = f"set_properties {prop.siid} {prop.piid} \"{rng.random()}"
            elif kind == 3:
                text = f"get_properties {prop.siid}"
            else:
                text = "set_properties " + " ".join(str(rng.randint(-9, 300)) for _ in range(
                    rng.choice((1, 2, 4, 70))))
            inputs.append(MalformedInput(
                f"down {text[:60]}{'...' if len(text) > 60 else ''} ({len(text)} bytes)",
                functools.partial(self._send, text)))
        return inputs

    def _send(self, downlink: str) -> None:
        self.link.request(downlink, 0.3, expect=None)


def face(link: SerialLink) -> SerialFace:
    return SerialFace(link)
