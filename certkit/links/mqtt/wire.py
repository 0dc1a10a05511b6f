"""Reading the DUT's MQTT stream as it passes through the endpoint (pure, no I/O).

The endpoint hands every chunk the DUT sends to an `MqttReader`, which cuts
it into packets and decodes the few the rules need: CONNECT (protocol, will,
keep-alive), PUBLISH (topic, QoS, retain flag, payload), SUBSCRIBE and
DISCONNECT. This is how certkit knows what the DUT itself sent, whatever the
broker later does with it: the QoS a message was published with (MQT-009),
every topic including `$`-topics that a `#` subscription never sees (MQT-010),
the will it registered (MQT-004) and when its session started.

MQTT 3.1, 3.1.1 and 5 are read (5 adds properties, which are skipped).
Credentials in a CONNECT are noted as present, never kept.

    >>> reader = MqttReader()
    >>> [p.kind for p in reader.feed(connect_bytes + publish_bytes)]
    ['CONNECT', 'PUBLISH']
"""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = {1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC", 6: "PUBREL",
         7: "PUBCOMP", 8: "SUBSCRIBE", 9: "SUBACK", 10: "UNSUBSCRIBE", 11: "UNSUBACK",
         12: "PINGREQ", 13: "PINGRESP", 14: "DISCONNECT", 15: "AUTH"}
MAX_PACKET = 268_435_455  # the largest remaining length MQTT can encode


class MalformedStream(ValueError):
    """The bytes are not MQTT; the reader stops decoding that stream."""


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass(frozen=True)
class Connect:
    protocol_level: int  # 3 (3.1), 4 (3.1.1) or 5
    client_id: str
    clean: bool
    keepalive_s: int
    will: Will | None
    has_username: bool
    has_password: bool


@dataclass(frozen=True)
class Publish:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    dup: bool = False


@dataclass(frozen=True)
class Packet:
    kind: str
    flags: int
    body: bytes = field(repr=False)
    connect: Connect | None = None
    publish: Publish | None = None
    topics: tuple[str, ...] = ()  # SUBSCRIBE
    return_code: int | None = None  # CONNACK


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise MalformedStream("a field runs past the end of its packet")
        chunk = self.data[self.at:self.at + n]
        self.at += n
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        high, low = self.take(2)
        return high << 8 | low

    def binary(self) -> bytes:
        return self.take(self.u16())

    def text(self) -> str:
        try:
            return self.binary().decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedStream("a string field is not UTF-8") from None

    def varint(self) -> int:
        value, shift = 0, 0
        for _ in range(4):
            b = self.byte()
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
        raise MalformedStream("a variable byte integer is longer than 4 bytes")

    def skip_properties(self) -> None:
        self.take(self.varint())

    def rest(self) -> bytes:
        return self.take(len(self.data) - self.at)


def decode_connect(body: bytes) -> Connect:
    cur = _Cursor(body)
    name = cur.text()
    if name not in ("MQTT", "MQIsdp"):
        raise MalformedStream(f"CONNECT names protocol {name!r}")
    level, flags, keepalive = cur.byte(), cur.byte(), cur.u16()
    if level == 5:
        cur.skip_properties()
    client_id = cur.text()
    will = None
    if flags & 0x04:
        if level == 5:
            cur.skip_properties()
        topic = cur.text()
        will = Will(topic, cur.binary(), (flags >> 3) & 0x03, bool(flags & 0x20))
    return Connect(level, client_id, bool(flags & 0x02), keepalive, will,
                   bool(flags & 0x80), bool(flags & 0x40))


def decode_publish(flags: int, body: bytes, level: int) -> Publish:
    cur = _Cursor(body)
    qos = (flags >> 1) & 0x03
    if qos == 3:
        raise MalformedStream("PUBLISH with QoS 3")
    topic = cur.text()
    if qos:
        cur.u16()  # packet identifier
    if level == 5:
        cur.skip_properties()
    return Publish(topic, cur.rest(), qos, bool(flags & 0x01), bool(flags & 0x08))


def decode_subscribe(body: bytes, level: int) -> tuple[str, ...]:
    cur = _Cursor(body)
    cur.u16()
    if level == 5:
        cur.skip_properties()
    topics = []
    while cur.at < len(body):
        topics.append(cur.text())
        cur.byte()  # requested QoS / options
    return tuple(topics)


class MqttReader:
    """Cuts one direction of an MQTT connection into decoded packets.

    `feed` takes chunks as they arrive (a packet may span chunks) and returns
    the packets completed so far. Once a stream proves malformed, `broken`
    says why and nothing more is decoded: the bytes still flow, certkit only
    stops reading them.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.level = 4
        self.broken: str | None = None

    def feed(self, data: bytes) -> list[Packet]:
        if self.broken:
            return []
        self._buffer += data
        packets: list[Packet] = []
        try:
            while (packet := self._next()) is not None:
                packets.append(packet)
        except MalformedStream as exc:
            self.broken = str(exc)
            self._buffer.clear()
        return packets

    def _next(self) -> Packet | None:
        buf = self._buffer
        if len(buf) < 2:
            return None
        length, shift, at = 0, 0, 1
        while True:
            if at >= len(buf):
                return None
            b = buf[at]
            length |= (b & 0x7F) << shift
            at += 1
            if not b & 0x80:
                break
            shift += 7
            if at > 4:
                raise MalformedStream("a remaining length is longer than 4 bytes")
        if len(buf) < at + length:
            return None
        kind_code, flags = buf[0] >> 4, buf[0] & 0x0F
        body = bytes(buf[at:at + length])
        del buf[:at + length]
        kind = KINDS.get(kind_code)
        if kind is None:
            raise MalformedStream(f"packet type {kind_code} does not exist")
        if kind == "CONNECT":
            connect = decode_connect(body)
            self.level = connect.protocol_level
            return Packet(kind, flags, body, connect=connect)
        if kind == "PUBLISH":
            return Packet(kind, flags, body, publish=decode_publish(flags, body, self.level))
        if kind == "SUBSCRIBE":
            return Packet(kind, flags, body, topics=decode_subscribe(body, self.level))
        if kind == "CONNACK":
            return Packet(kind, flags, body, return_code=body[1] if len(body) >= 2 else None)
        return Packet(kind, flags, body)


# ---------------------------------------------------------------- encoding (tests, probes)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(s: str | bytes) -> bytes:
    raw = s.encode("utf-8") if isinstance(s, str) else s
    return len(raw).to_bytes(2, "big") + raw


def encode_connect(client_id: str, *, level: int = 4, keepalive_s: int = 30,
                   will: Will | None = None, username: str | None = None,
                   password: bytes | None = None, clean: bool = True) -> bytes:
    flags = (0x02 if clean else 0) | (0x80 if username is not None else 0) \
        | (0x40 if password is not None else 0)
    payload = _str(client_id)
    if will is not None:
        flags |= 0x04 | (will.qos << 3) | (0x20 if will.retain else 0)
        payload += (b"\x00" if level == 5 else b"") + _str(will.topic) + _str(will.payload)
    if username is not None:
        payload += _str(username)
    if password is not None:
        payload += _str(password)
    header = _str("MQTT") + bytes([level, flags]) + keepalive_s.to_bytes(2, "big")
    if level == 5:
        header += b"\x00"
    body = header + payload
    return bytes([0x10]) + _varint(len(body)) + body


def encode_publish(topic: str, payload: bytes, *, qos: int = 0, retain: bool = False,
                   packet_id: int = 1, level: int = 4) -> bytes:
    body = _str(topic) + (packet_id.to_bytes(2, "big") if qos else b"")
    body += (b"\x00" if level == 5 else b"") + payload
    return bytes([0x30 | qos << 1 | (1 if retain else 0)]) + _varint(len(body)) + body
