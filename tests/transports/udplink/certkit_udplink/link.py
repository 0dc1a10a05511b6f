"""`UdpLink`: certkit as a controller of a certkit UDP device.

Every datagram sent and received is in the run's evidence; every wait takes a deadline. A
reader thread files each answer under the `id` it repeats and keeps the device's reports
with the moment they came. What the DUT does (not answering, answering late, going away:
loopback's "port unreachable") is the rules' to judge; only certkit's own socket failing is
a bench fault.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from certkit.evidence import EvidenceLog
from certkit.links.base import Link
from certkit_udplink.protocol import DatagramError, decode, encode, shown

RECV_POLL_S = 0.1  # how often the reader looks whether the link is closing


@dataclass
class Exchange:
    """One request and its answer (None when none came before the deadline)."""

    request: dict[str, Any]
    sent_at: float
    reply: dict[str, Any] | None = None
    replied_at: float | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def status(self) -> str:
        return "replied" if self.reply is not None else "timeout"

    @property
    def elapsed_ms(self) -> float:
        return ((self.replied_at or 0.0) - self.sent_at) * 1000 if self.reply else float("inf")


@dataclass(frozen=True)
class Received:
    t: float
    message: dict[str, Any]


class UdpLink(Link):
    transport = "udp"

    def __init__(self, evidence: EvidenceLog, address: tuple[str, int] | None,
                 emulator: Any = None, who: str = "") -> None:
        """`address` of the device, or `emulator` to start and reach; `who` names a second
        controller in the evidence ("client 2")."""
        super().__init__(evidence)
        self.address = address
        self.emulator = emulator
        self.who = who
        self.hello: dict[str, Any] | None = None  # the device's answer to our hello
        self._ids = itertools.count(1)
        self._pending: dict[int, Exchange] = {}
        self._received: list[Received] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._sock: socket.socket | None = None
        self._reader: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    def open(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        super().open(timeout)
        # Saying hello subscribes to the device's reports; a DUT that does not answer is
        # the rules' to judge (INT-002 asks again), not the link's.
        self.hello = self.request({"op": "hello"}, max(deadline - time.monotonic(), 0.5)).reply

    def _open(self, timeout: float) -> None:
        if self.emulator is not None:
            self.emulator.start(timeout)
            self.address = self.emulator.address
        if self.address is None:
            raise ValueError("a UDP link needs the device's address")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1" if self.address[0].startswith("127.") else "0.0.0.0", 0))
        sock.connect(self.address)
        sock.settimeout(RECV_POLL_S)
        self._sock = sock
        self._reader = threading.Thread(target=self._read, name=f"udp reader {self.who}",
                                        daemon=True)
        self._reader.start()
        self.evidence.note(f"udp{self._tag()}: controller {sock.getsockname()[0]}:"
                           f"{sock.getsockname()[1]} -> device {self.address[0]}:"
                           f"{self.address[1]}")

    def _close(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        self._closing.set()
        if self._reader is not None:
            self._reader.join(max(min(deadline - time.monotonic(), 2 * RECV_POLL_S), 0.05))
        if self._sock is not None:
            self._sock.close()
        if self.emulator is not None:
            self.emulator.stop(max(deadline - time.monotonic(), 0.1))

    # ------------------------------------------------------------ sending

    def request(self, message: dict[str, Any], timeout: float) -> Exchange:
        """Send `message` with a fresh id and wait up to `timeout` for its answer."""
        self.require_open()
        message = {**message, "id": next(self._ids)}
        exchange = Exchange(message, time.monotonic())
        with self._lock:
            self._pending[message["id"]] = exchange
        exchange.sent_at = self.send(encode(message))
        exchange.done.wait(timeout)
        with self._lock:
            self._pending.pop(message["id"], None)
        if exchange.reply is None:
            self.evidence.note(f"udp{self._tag()}: no answer to id {message['id']} within "
                               f"{timeout * 1000:.0f} ms")
        return exchange

    def send(self, data: bytes) -> float:
        """Send one datagram as it is (a malformed one too): when it left."""
        self.require_open()
        assert self._sock is not None
        at = time.monotonic()
        self.record("->", f"{self._tag(True)}{shown(data)}", at)
        try:
            self._sock.send(data)
        except ConnectionRefusedError:  # the device's port is closed: the DUT's doing
            self.evidence.note(f"udp{self._tag()}: the device's port is unreachable")
        except OSError as exc:
            self.bench_fault("socket", f"certkit's UDP socket could not send: {exc}")
        return at

    # ------------------------------------------------------------ receiving

    def received(self, since: float = 0.0,
                 accept: Callable[[dict[str, Any]], bool] = lambda m: True) -> list[Received]:
        with self._lock:
            return [r for r in self._received if r.t >= since and accept(r.message)]

    def reports(self, since: float, siid: int, piid: int) -> list[Received]:
        return self.received(since, lambda m: m.get("op") == "report"
                             and (m.get("siid"), m.get("piid")) == (siid, piid))

    def _read(self) -> None:
        assert self._sock is not None
        while not self._closing.is_set():
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            except ConnectionRefusedError:
                continue  # an earlier datagram found the device's port closed
            except OSError as exc:
                if not self._closing.is_set():
                    self.bench_fault("socket", f"certkit's UDP socket failed: {exc}")
                return
            at = time.monotonic()
            self.record("<-", f"{self._tag(True)}{shown(data)}", at)
            try:
                message = decode(data)
            except DatagramError as exc:
                self.evidence.note(f"udp{self._tag()}: the device sent no datagram of the "
                                   f"protocol ({exc})")
                continue
            with self._lock:
                self._received.append(Received(at, message))
                key = message.get("id")
                exchange = self._pending.get(key) if isinstance(key, int) else None
            if exchange is not None and message.get("op") != "report":
                exchange.reply, exchange.replied_at = message, at
                exchange.done.set()

    def _tag(self, brackets: bool = False) -> str:
        if not self.who:
            return ""
        return f"[{self.who}] " if brackets else f" {self.who}"
