"""The broker endpoint the DUT connects to: a TCP pass-through that certkit owns.

ECS-1 section 10 asks the harness to provide the endpoint, so that it can

- cut the DUT's connection without an MQTT DISCONNECT (MQT-004, MQT-008):
  `cut()` aborts both sockets, the broker sees a dropped client and
  publishes its will, the DUT sees a dead link and must reconnect;
- present TLS certificates of its choice (SEC-003): with an `Offer` the
  endpoint terminates TLS itself and `present("untrusted")` switches the
  certificate new connections get;
- see exactly what the DUT sends: every chunk goes through an `MqttReader`
  and the decoded packets go to the observer (the link's wire log);
- tell a DUT protocol the broker cannot serve (an MQTT 5 CONNECT in front of
  amqtt) from a DUT fault: it is reported as a bench incident (`UNSERVED`)
  before the broker's refusal reaches the DUT.

Behind it is any broker (`Upstream`): the embedded one or an external one,
plain or over TLS. Bytes are forwarded untouched, in both directions, with
back-pressure: a slow side pauses reading on the other.

It runs on a `LoopThread`; the public methods are synchronous and bounded.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any, Protocol

from certkit.checks import LabError
from certkit.links.aio import LoopThread
from certkit.links.mqtt.tls import Offer
from certkit.links.mqtt.wire import MqttReader, Packet

FIRST_BYTES_TIMEOUT_S = 10.0   # a client that sends nothing is dropped
HANDSHAKE_TIMEOUT_S = 5.0
UPSTREAM_TIMEOUT_S = 5.0
TLS_RECORD = 0x16              # first byte of a TLS ClientHello
MQTT_CONNECT = 0x10
PROTOCOL_NAMES = {3: "3.1", 4: "3.1.1", 5: "5"}
UNSERVED = "unserved-protocol"  # the incident kind: a bench fault, see dutlog.BENCH_INCIDENTS


@dataclass(frozen=True)
class Upstream:
    """The broker behind the endpoint."""

    host: str
    port: int
    ssl: ssl.SSLContext | None = None
    name: str = ""                          # e.g. "embedded amqtt 0.12.1"
    protocols: tuple[int, ...] | None = None  # MQTT protocol levels it serves; None: unknown

    def __str__(self) -> str:
        return f"{'mqtts' if self.ssl else 'mqtt'}://{self.host}:{self.port}"

    def refuses(self, level: int) -> str | None:
        """Why this broker cannot serve a CONNECT of that protocol level; None if it can."""
        if self.protocols is None or level in self.protocols:
            return None
        served = " and ".join(PROTOCOL_NAMES.get(p, str(p)) for p in self.protocols)
        return (f"the DUT's CONNECT asks for MQTT {PROTOCOL_NAMES.get(level, level)} (protocol "
                f"level {level}), which the {self.name or 'broker'} behind the endpoint cannot "
                f"serve (MQTT {served} only): a limit of the bench, not a fault of the DUT; "
                f"run with --mqtt-broker embedded:mosquitto or a broker that serves it")


class Observer(Protocol):
    """What the endpoint reports (called on the loop thread: keep it quick)."""

    def connection_opened(self, conn: DutConnection) -> None: ...

    def packet(self, conn: DutConnection, packet: Packet, from_dut: bool) -> None: ...

    def connection_closed(self, conn: DutConnection, reason: str) -> None: ...

    def incident(self, kind: str, text: str) -> None: ...


class _Side(asyncio.Protocol):
    """One socket of a DUT connection: what it receives goes to the other one."""

    def __init__(self, conn: DutConnection, name: str) -> None:
        self.conn, self.name = conn, name
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self.name == "dut":
            transport.pause_reading()  # type: ignore[attr-defined]  # until the broker side is up

    def data_received(self, data: bytes) -> None:
        self.conn.received(self.name, data)

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.conn.lost(self.name, exc)

    def pause_writing(self) -> None:
        self.conn.peer_of(self.name).pause()

    def resume_writing(self) -> None:
        self.conn.peer_of(self.name).resume()

    def pause(self) -> None:
        if self.transport and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.transport and not self.transport.is_closing() and self.conn.started:
            self.transport.resume_reading()


class DutConnection:
    """One DUT connection through the endpoint, and its broker-side twin."""

    def __init__(self, endpoint: Endpoint, number: int, peer: str, tls: bool,
                 certificate: str) -> None:
        self.endpoint = endpoint
        self.number, self.peer, self.tls, self.certificate = number, peer, tls, certificate
        self.opened = time.monotonic()
        self.dut = _Side(self, "dut")
        self.broker = _Side(self, "broker")
        self.from_dut = MqttReader()
        self.from_broker: MqttReader | None = MqttReader()  # until the CONNACK
        self.started = False
        self.close_reason: str | None = None

    def __str__(self) -> str:
        return f"#{self.number} from {self.peer}" + (" (TLS)" if self.tls else "")

    def peer_of(self, name: str) -> _Side:
        return self.broker if name == "dut" else self.dut

    def start(self) -> None:
        self.started = True
        self.dut.resume()

    def received(self, name: str, data: bytes) -> None:
        # Logged before it is passed on: the broker may deliver a DUT packet to certkit at
        # once, and a rule must never find it there before it is in the DUT's log.
        try:
            if name == "dut":
                self._observe_dut(data)
            elif self.from_broker is not None:
                # Only the broker's first packet (CONNACK) matters: stop reading after it.
                packets = self.from_broker.feed(data)
                if packets:
                    self.from_broker = None
                    self.endpoint.observer.packet(self, packets[0], False)
        finally:
            other = self.peer_of(name).transport
            if other is not None and not other.is_closing():
                other.write(data)

    def _observe_dut(self, data: bytes) -> None:
        observer = self.endpoint.observer
        for packet in self.from_dut.feed(data):
            if packet.connect is not None:
                why = self.endpoint.upstream.refuses(packet.connect.protocol_level)
                if why:
                    observer.incident(UNSERVED, f"connection {self}: {why}")
            observer.packet(self, packet, True)
        if self.from_dut.broken:
            observer.incident("malformed", f"DUT connection {self}: not MQTT any more "
                                           f"({self.from_dut.broken}); bytes still pass")
            self.from_dut = MqttReader()
            self.from_dut.broken = "reported"

    def lost(self, name: str, exc: Exception | None) -> None:
        if self.close_reason is None:
            who = "the DUT" if name == "dut" else "the broker"
            self.close_reason = f"closed by {who}" + (f" ({exc})" if exc else "")
            self.endpoint.forget(self)
        other = self.peer_of(name).transport
        if other is not None and not other.is_closing():
            other.close()  # flushes what is pending (a DISCONNECT, say) first

    def cut(self) -> None:
        """Drop both sockets at once: no DISCONNECT reaches the broker."""
        if self.close_reason is None:
            self.close_reason = "cut by certkit"
            self.endpoint.forget(self)
        for side in (self.dut, self.broker):
            if side.transport is not None:
                side.transport.abort()


class Endpoint:
    def __init__(self, loop: LoopThread, host: str, port: int, upstream: Upstream,
                 observer: Observer, offer: Offer | None = None) -> None:
        self.loop = loop
        self.host, self.port = host, port
        self.upstream = upstream
        self.observer = observer
        self.offer = offer
        self.presenting = "trusted"
        self._contexts = ({"trusted": offer.trusted.server_context(),
                           "untrusted": offer.untrusted.server_context()} if offer else {})
        self._connections: dict[int, DutConnection] = {}
        self._numbers = itertools.count(1)
        self._listener: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        scheme = "mqtts" if self.offer else "mqtt"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    # ------------------------------------------------------------ lifecycle

    def start(self, timeout: float) -> None:
        """Listen; LabError when the address cannot be bound."""
        try:
            family = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)[0][0]
            listener = socket.create_server((self.host, self.port), family=family, backlog=64)
        except OSError as exc:
            raise LabError(f"the MQTT endpoint cannot listen on {self.host}:{self.port}: "
                           f"{exc.strerror or exc}") from None
        listener.setblocking(False)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self.loop.run(self._begin(), timeout)

    async def _begin(self) -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._loop_exception)
        self._accepting = loop.create_task(self._accept())

    def stop(self, timeout: float) -> None:
        if self._listener is None:
            return
        try:
            self.loop.run(self._end(), timeout)
        except (TimeoutError, RuntimeError):
            pass
        self._listener.close()
        self._listener = None

    async def _end(self) -> None:
        if self._accepting:
            self._accepting.cancel()
        for task in list(self._tasks):
            task.cancel()
        for conn in list(self._connections.values()):
            conn.cut()

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        # asyncio reports failed TLS handshakes here too; they are evidence, not noise.
        error = context.get("exception")
        self.observer.incident("loop", f"{context.get('message')}: {error!r}" if error
                               else str(context.get("message")))

    # ------------------------------------------------------------ controls

    def present(self, which: str) -> None:
        """Which certificate new TLS connections get: `trusted` or `untrusted`."""
        if which not in ("trusted", "untrusted"):
            raise ValueError(which)
        self.presenting = which

    def cut(self, timeout: float) -> int:
        """Aborts every DUT connection now; how many there were."""
        async def _cut() -> int:
            connections = list(self._connections.values())
            for conn in connections:
                conn.cut()
            return len(connections)
        return self.loop.run(_cut(), timeout)

    @property
    def connections(self) -> int:
        return len(self._connections)

    def forget(self, conn: DutConnection) -> None:
        if self._connections.pop(conn.number, None) is not None:
            self.observer.connection_closed(conn, conn.close_reason or "closed")

    # ------------------------------------------------------------ connections

    async def _accept(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._listener is not None
        while True:
            sock, address = await loop.sock_accept(self._listener)
            task = loop.create_task(self._serve(sock, f"{address[0]}:{address[1]}"))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _first_byte(self, sock: socket.socket) -> bytes:
        loop = asyncio.get_running_loop()
        readable: asyncio.Future[None] = loop.create_future()

        def ready() -> None:
            if not readable.done():
                readable.set_result(None)

        loop.add_reader(sock.fileno(), ready)
        try:
            await asyncio.wait_for(readable, FIRST_BYTES_TIMEOUT_S)
        finally:
            loop.remove_reader(sock.fileno())
        return sock.recv(1, socket.MSG_PEEK)

    async def _serve(self, sock: socket.socket, peer: str) -> None:
        number = next(self._numbers)
        # asyncio sets TCP_NODELAY only when proto is IPPROTO_TCP, and accepted sockets
        # have proto 0: without this every QoS 1 exchange waits ~40 ms on delayed ACKs.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            first = await self._first_byte(sock)
        except (TimeoutError, OSError) as exc:
            self.observer.incident("silent", f"connection #{number} from {peer} sent nothing "
                                             f"({type(exc).__name__}); dropped")
            sock.close()
            return
        if not first:
            sock.close()
            return
        tls = first[0] == TLS_RECORD
        if self.offer is not None and not tls:
            what = "a plain MQTT CONNECT" if first[0] == MQTT_CONNECT else f"byte 0x{first[0]:02x}"
            self.observer.incident("plaintext", f"connection #{number} from {peer} began with "
                                                f"{what}, not TLS; refused (TLS is required)")
            sock.close()
            return
        if self.offer is None and tls:
            self.observer.incident("unexpected-tls", f"connection #{number} from {peer} began a "
                                                     "TLS handshake, but the profile says tls: "
                                                     "none; refused")
            sock.close()
            return
        await self._pipe(DutConnection(self, number, peer, tls, self.presenting), sock)

    async def _pipe(self, conn: DutConnection, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        context = self._contexts.get(conn.certificate) if conn.tls else None
        try:
            await loop.connect_accepted_socket(
                lambda: conn.dut, sock, ssl=context,
                ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S if conn.tls else None)
        except asyncio.CancelledError:
            sock.close()
            raise
        except Exception as exc:  # noqa: BLE001 - a refused handshake is the DUT's answer
            self.observer.incident("tls-refused" if conn.tls else "accept-failed",
                                   f"connection {conn}: TLS handshake with the {conn.certificate} "
                                   f"certificate failed: {_reason(exc)}")
            sock.close()
            return
        self._connections[conn.number] = conn
        self.observer.connection_opened(conn)
        up = self.upstream
        try:
            await asyncio.wait_for(loop.create_connection(
                lambda: conn.broker, up.host, up.port, ssl=up.ssl,
                server_hostname=up.host if up.ssl else None), UPSTREAM_TIMEOUT_S)
        except asyncio.CancelledError:
            conn.cut()
            raise
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            self.observer.incident("upstream", f"connection {conn}: cannot reach the broker at "
                                               f"{up}: {_reason(exc)}")
            conn.close_reason = f"the broker at {up} was unreachable"
            conn.cut()
            self.forget(conn)
            return
        if conn.broker.transport is not None:
            raw = conn.broker.transport.get_extra_info("socket")
            if raw is not None:
                raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.start()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
