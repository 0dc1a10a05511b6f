"""What the endpoint saw of the DUT: its sessions, its publishes, the bench incidents.

`DutLog` is the endpoint's observer. It keeps, with monotonic timestamps,

- one `Session` per DUT connection: TLS or not, which certificate it got,
  the CONNECT (client id, will, keep-alive), the broker's CONNACK, and how
  it ended (closed by the DUT, by the broker, or cut by certkit);
- every PUBLISH the DUT sent, as sent (topic, QoS, retain flag, payload);
- incidents: refused TLS handshakes, plaintext attempts, an unreachable
  broker, streams that are not MQTT;

and writes each into the run's evidence as it happens. Rules read it
through `wait`, which blocks (with a deadline) until a condition on the log
holds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from certkit.evidence import EvidenceLog
from certkit.links.mqtt.endpoint import DutConnection
from certkit.links.mqtt.homie import render
from certkit.links.mqtt.wire import Connect, Packet, Publish

T = TypeVar("T")
# Incidents that mean the bench, not the DUT, is in trouble.
BENCH_INCIDENTS = frozenset({"upstream", "loop", "unserved-protocol"})


@dataclass
class Session:
    number: int
    peer: str
    tls: bool
    certificate: str
    opened: float
    connect: Connect | None = None
    connect_t: float | None = None
    connack_code: int | None = None
    connack_t: float | None = None
    closed_t: float | None = None
    close_reason: str | None = None

    @property
    def established(self) -> bool:
        """The broker accepted the DUT's CONNECT: an MQTT session exists."""
        return self.connack_code == 0

    @property
    def live(self) -> bool:
        return self.closed_t is None


@dataclass(frozen=True)
class DutPublish:
    t: float
    session: int
    publish: Publish


@dataclass(frozen=True)
class Incident:
    t: float
    kind: str
    text: str


def describe_connect(connect: Connect) -> str:
    will = (f"will {connect.will.topic} = {render(connect.will.payload)} qos={connect.will.qos} "
            f"retain={int(connect.will.retain)}" if connect.will else "no will")
    level = connect.protocol_level
    version = {3: "3.1", 4: "3.1.1", 5: "5"}.get(level, str(level))
    username = "given" if connect.has_username else "none"
    password = "given" if connect.has_password else "none"
    return (f"CONNECT client-id={connect.client_id!r} MQTT {version} "
            f"keepalive={connect.keepalive_s}s clean={int(connect.clean)} {will}; "
            f"username {username}, password {password}")


def describe_publish(publish: Publish) -> str:
    return (f"PUBLISH {publish.topic} qos={publish.qos} retain={int(publish.retain)} "
            f"{render(publish.payload)}")


class DutLog:
    def __init__(self, evidence: EvidenceLog) -> None:
        self.evidence = evidence
        self.sessions: dict[int, Session] = {}
        self.publishes: list[DutPublish] = []
        self.incidents: list[Incident] = []
        self._changed = threading.Condition()
        # Told of every incident of a BENCH_INCIDENTS kind (the link logs a bench fault).
        self.on_bench_incident: Callable[[Incident], object] | None = None

    # ------------------------------------------------------------ observer (loop thread)

    def connection_opened(self, conn: DutConnection) -> None:
        with self._changed:
            self.sessions[conn.number] = Session(conn.number, conn.peer, conn.tls, conn.certificate,
                                                 conn.opened)
            self._changed.notify_all()
        cert = f", {conn.certificate} certificate" if conn.tls else ""
        self.evidence.record("bench", "", f"endpoint: DUT connection {conn} opened{cert}")

    def packet(self, conn: DutConnection, packet: Packet, from_dut: bool) -> None:
        now = time.monotonic()
        with self._changed:
            session = self.sessions.get(conn.number)
            if packet.publish is not None and from_dut:
                self.publishes.append(DutPublish(now, conn.number, packet.publish))
            elif packet.connect is not None and session is not None:
                session.connect, session.connect_t = packet.connect, now
            elif packet.kind == "CONNACK" and session is not None:
                session.connack_code, session.connack_t = packet.return_code, now
            self._changed.notify_all()
        if packet.publish is not None:
            self.evidence.record("mqtt", "<-", f"dut {describe_publish(packet.publish)}")
        elif packet.connect is not None:
            self.evidence.record("mqtt", "<-", f"dut {describe_connect(packet.connect)}")
        elif packet.kind == "CONNACK":
            self.evidence.record("mqtt", "->", f"dut CONNACK return code {packet.return_code} "
                                               f"(from the broker)")
        elif packet.kind in ("SUBSCRIBE", "DISCONNECT", "UNSUBSCRIBE"):
            topics = f" {', '.join(packet.topics)}" if packet.topics else ""
            self.evidence.record("mqtt", "<-", f"dut {packet.kind}{topics}")

    def connection_closed(self, conn: DutConnection, reason: str) -> None:
        with self._changed:
            session = self.sessions.get(conn.number)
            if session is not None:
                session.closed_t, session.close_reason = time.monotonic(), reason
            self._changed.notify_all()
        self.evidence.record("bench", "", f"endpoint: DUT connection #{conn.number} {reason}")

    def incident(self, kind: str, text: str) -> None:
        incident = Incident(time.monotonic(), kind, text)
        with self._changed:
            self.incidents.append(incident)
            self._changed.notify_all()
        self.evidence.record("bench", "", f"endpoint: {text}")
        if kind in BENCH_INCIDENTS and self.on_bench_incident is not None:
            self.on_bench_incident(incident)

    # ------------------------------------------------------------ queries (any thread)

    def wait(self, condition: Callable[[], T | None], deadline: float) -> T | None:
        """`condition()`'s first truthy value (evaluated under the log's lock), or None
        once the deadline passes."""
        with self._changed:
            while True:
                result = condition()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)

    def live_session(self) -> Session | None:
        """The newest established session that is still open."""
        with self._changed:  # re-entrant: also called from conditions inside `wait`
            return next((s for s in reversed(self.sessions.values()) if s.established and s.live),
                        None)

    def sessions_after(self, t: float) -> list[Session]:
        with self._changed:
            return [s for s in self.sessions.values() if s.opened >= t]

    def publishes_since(self, t: float) -> list[DutPublish]:
        with self._changed:
            return [p for p in self.publishes if p.t >= t]

    def incidents_since(self, t: float, kinds: frozenset[str] | None = None) -> list[Incident]:
        with self._changed:
            return [i for i in self.incidents if i.t >= t and (kinds is None or i.kind in kinds)]
