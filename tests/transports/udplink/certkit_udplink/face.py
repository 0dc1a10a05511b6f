"""certkit UDP's interop face: set, read and wait through get/set datagrams and reports; the
identity from the device's hello; a second controller (another socket); an operation of a
future version (INT-004); malformed datagrams (SEC-002)."""

from __future__ import annotations

import functools
import math
import random
import time
from typing import Any

from certkit.checks import fail
from certkit.profile.model import Profile, Property
from certkit.transports.interop import MALFORMED, InteropFace, MalformedInput
from certkit_udplink.link import UdpLink
from certkit_udplink.protocol import MAX_DATAGRAM, encode

UNKNOWN_OPERATION = {"op": "subscribe-all", "since": 0}  # an operation of a later version
IDENTITY = ("model", "firmware", "mcu-version")
SECOND_OPEN_S = 2.0
SECOND_CLOSE_S = 1.0


def value_of(prop: Property, reply: dict[str, Any] | None) -> Any:
    """The value a `value` answer carries for `prop`, None when it carries none valid."""
    if not reply or reply.get("op") != "value" or \
            (reply.get("siid"), reply.get("piid")) != (prop.siid, prop.piid):
        return None
    value = reply.get("value")
    return None if prop.check_value(value) is not None else value


class UdpFace(InteropFace):
    link: UdpLink

    def set(self, prop: Property, value: Any, timeout: float) -> tuple[bool, float]:
        exchange = self.link.request({"op": "set", "siid": prop.siid, "piid": prop.piid,
                                      "value": value}, timeout)
        reply = exchange.reply or {}
        ok = reply.get("op") == "result" and reply.get("code") == 0
        return ok, exchange.elapsed_ms if ok else math.inf

    def read(self, prop: Property, timeout: float) -> Any:
        exchange = self.link.request({"op": "get", "siid": prop.siid, "piid": prop.piid},
                                     timeout)
        return value_of(prop, exchange.reply)

    def reported_at(self, prop: Property, value: Any, since: float) -> float | None:
        return next((r.t for r in self.link.reports(since, prop.siid, prop.piid)
                     if self.same(prop, r.message.get("value"), value)), None)

    def announced_identity(self, profile: Profile, timeout: float) -> dict[str, str]:
        """What the device says in answer to a hello."""
        reply = self.link.request({"op": "hello"}, timeout).reply or {}
        return {what: str(reply[what]) for what in IDENTITY if what in reply}

    def second_controller(self) -> UdpFace:
        """Another controller: a socket of its own that says hello too."""
        second = UdpLink(self.link.evidence, self.link.address, who="client 2")
        second.open(SECOND_OPEN_S)
        self.link.add_cleanup(lambda: second.close(SECOND_CLOSE_S))
        return UdpFace(second)

    def unknown_message(self, reply_s: float, settle_s: float) -> None:
        """An operation the device cannot know: ignored, or refused with `error`."""
        exchange = self.link.request(UNKNOWN_OPERATION, reply_s)
        time.sleep(settle_s)
        if exchange.reply is not None and exchange.reply.get("op") != "error":
            fail(f"the unknown operation `{UNKNOWN_OPERATION['op']}` ignored or refused "
                 "(`error`)", f"`{encode(exchange.reply).decode()}`")

    def malformed_inputs(self, rng: random.Random, profile: Profile,
                         props: list[Property]) -> list[MalformedInput]:
        """Garbage, truncated and oversized datagrams, JSON that is no object, and sets
        whose fields have the wrong type."""
        inputs = []
        for i in range(MALFORMED):
            prop = rng.choice(props)
            set_ = {"op": "set", "id": 10_000 + i, "siid": prop.siid, "piid": prop.piid}
            kind = i % 6
            if kind == 0:
                data = bytes(rng.randrange(256) for _ in range(rng.randint(1, 80)))
            elif kind == 1:
                data = encode({**set_, "value": "9" * rng.randint(MAX_DATAGRAM, 2 * MAX_DATAGRAM)})
            elif kind == 2:
                data = encode({**set_, "value": _wrong_type(prop)})[:-rng.randint(1, 8)]
            elif kind == 3:
                data = encode(rng.choice([[1, 2, 3], "set", 42, None, True]))
            elif kind == 4:
                data = encode({**set_, "value": _wrong_type(prop)})
            else:
                field = rng.choice(["siid", "piid", "id"])
                data = encode({**set_, "value": _wrong_type(prop),
                               field: rng.choice(["2", None, [prop.siid], 1.5, True])})
            inputs.append(MalformedInput(f"{data[:50]!r}{'...' if len(data) > 50 else ''} "
                                         f"({len(data)} bytes)",
                                         functools.partial(self._send, data)))
        return inputs

    def _send(self, data: bytes) -> None:
        self.link.send(data)


def _wrong_type(prop: Property) -> Any:
    """A value of another JSON type than the property's (never valid for it)."""
    return {"bool": 2, "string": 7}.get(prop.format, "7")


def face(link: UdpLink) -> UdpFace:
    return UdpFace(link)
