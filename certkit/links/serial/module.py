"""The module link: certkit in the connectivity module's seat on the MCU's UART.

The MCU speaks first and the module answers every line (ECS-1 section 5).
`SerialLink` does that on a background reader thread, so the MCU is served
on time whatever a rule is doing:

- `get_down` gets the next queued downlink, or `down none`;
- announcements, reports, results and `error` lines get `ok`, `net` gets
  the simulated network state (`cloud` unless a rule changes `net_state`),
  a line that breaks the grammar gets `error`.

Rules talk to the MCU through `request`: it queues a downlink, waits (with
a deadline) until the MCU polls for it, then waits (with another) for the
line that answers it, and hands back an `Exchange` with the timing. Late
answers are never matched to a later request.

Every line in both directions goes to the run's evidence log as it happens,
so it lands on the rule instance that was running; the link also keeps its
own timestamped history (`uplinks`, `downlinks`) for rules that judge
traffic over a window (SER-002, SER-003, SER-009, SER-010).

    link = SerialLink(evidence, "/dev/ttyUSB0", baudrate=115200)
    link.open(timeout=10)
    exchange = link.request(protocol.get_properties([(2, 1)]), timeout=1.0)
    exchange.status, exchange.elapsed_ms   # ('replied', 23.4)
    link.close(timeout=5)
"""

from __future__ import annotations

import bisect
import contextlib
import os
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, NoReturn

import serial

from certkit.checks import LabError
from certkit.evidence import EvidenceLog
from certkit.lab.lease import lease_from_environment
from certkit.links.base import Link
from certkit.links.serial import protocol
from certkit.links.serial.framing import Frame, Framer, describe
from certkit.links.serial.protocol import Line, LineError
from certkit.links.serial.reset import ResetMethod

if TYPE_CHECKING:
    from certkit_emulators.serial import SerialEmulator

READ_TIMEOUT_S = 0.05   # how long the reader blocks before looking at its stop flag
WRITE_TIMEOUT_S = 1.0
NETWORK_SCHEMES = ("rfc2217", "socket")  # pyserial URLs of ports on the network
# A network port whose peer stops answering fails within idle + interval * probes seconds
# (well inside SILENT_AFTER_S, so a dead link is a bench fault before the MCU is judged silent).
KEEPALIVE_IDLE_S = 1
KEEPALIVE_INTERVAL_S = 1
KEEPALIVE_PROBES = 3
NETWORK_OPEN_TRIES = 2
NETWORK_RETRY_S = 1.0
_UNCONFIRMED = "option 'control'"  # pyserial's RFC 2217 client waited for SET-CONTROL
# A conformant MCU polls at least every 1000 ms (SER-002); the extra half
# second covers an MCU that is busy sending its own reports when we queue.
DELIVERY_TIMEOUT_S = 1.5
# Until its first poll after power-on or a reset, an MCU may take the whole boot
# limit (ECS-1 section 10, 2000 ms; a profile can only shorten it) to start talking:
# a request queued meanwhile waits for that poll, with the same extra half second.
BOOT_ALLOWANCE_S = 2.0 + 0.5
# After this long without a complete line the MCU is taken for silent:
# requests fail at once instead of each waiting out its deadline, which
# keeps a run against a dead (or babbling) device short.
SILENT_AFTER_S = 5.0
ITEMISED_PER_S = 500    # lines itemised in the evidence per second; a flood beyond is counted
HISTORY_MAX = 100_000   # uplinks kept for review; the oldest half goes when full

_GET_DOWN = protocol.parse_line(b"get_down")

Status = Literal["queued", "sent", "replied", "not-delivered", "no-reply", "silent"]


class Uplink(NamedTuple):
    """One line from the MCU, as framed, parsed and judged against section 5."""

    t: float              # monotonic time its last byte arrived
    frame: Frame
    line: Line | None     # the parsed line, when it is well formed (even if LF-ended)
    problem: str | None   # why it breaks section 5 framing, None when it does not

    @property
    def command(self) -> str | None:
        return self.line.command if self.line else None

    @property
    def text(self) -> str:
        return describe(self.frame)


def judge(frame: Frame) -> Uplink:
    """Parse a frame and say what, if anything, is wrong with its framing."""
    problem = None
    line = None
    if frame.after_cr:
        problem = "LF (0x0a) right after CR: lines end with CR alone"
    else:
        try:
            line = protocol.parse_line(frame.content)
        except LineError as exc:
            problem = str(exc)
        if frame.ending == "LF":
            problem = problem or f"line ends with LF (0x0a) at column {frame.length + 1}, not CR"
        elif frame.ending == "none":
            problem = (f"{frame.length} bytes with no line end (CR)"
                       + (f"; {problem}" if problem else ""))
            line = None
    return Uplink(frame.t, frame, line, problem)


@dataclass(eq=False)
class Exchange:
    """A downlink and the line that answered it, with the times that matter."""

    downlink: str
    expect: str | None   # the uplink command that answers it, None if nothing does
    queued_at: float
    status: Status = "queued"
    sent_at: float | None = None
    reply: Uplink | None = None
    # Set when the exchange is over (or the link can no longer serve it): the
    # asking thread sleeps on it, so other lines do not wake it.
    settled: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def reply_line(self) -> Line | None:
        """The line that answered, once replied (a reply is matched by its command, so
        it is always a parsed line)."""
        return self.reply.line if self.status == "replied" and self.reply is not None else None

    @property
    def elapsed_ms(self) -> float | None:
        """From the downlink leaving the module to the answer's last byte."""
        if self.reply is None or self.sent_at is None:
            return None
        return (self.reply.t - self.sent_at) * 1000

    def describe(self) -> str:
        """What happened, for fail messages: `no result within 500 ms of the downlink`."""
        if self.status == "replied" and self.reply is not None:
            return f"`{self.reply.text}` after {self.elapsed_ms:.0f} ms"
        if self.status == "not-delivered":
            return "no get_down poll to deliver the downlink on"
        if self.status == "silent":
            return f"no line from the MCU for over {SILENT_AFTER_S:g} s, so it was not sent"
        if self.status == "no-reply":
            return f"no {self.expect} line"
        return self.status


@dataclass(frozen=True)
class Sent:
    t: float
    downlink: str


def network_scheme(port: str) -> str | None:
    """`rfc2217` or `socket` for a pyserial URL of a port on the network, else None."""
    scheme, sep, _ = port.partition("://")
    return scheme if sep and scheme in NETWORK_SCHEMES else None


def open_port(port: str, baudrate: int) -> serial.SerialBase:
    """Open a device path or any pyserial URL, 8N1, with every wait bounded (LabError if not).

    pyserial's RFC 2217 client refuses `write_timeout` (NotImplementedError); its socket's own
    timeout bounds a write instead. A port on the network also gets TCP keepalive, so a peer
    that vanished without closing the connection (a host down, a cable out) ends in a port
    failure within seconds instead of passing for a silent MCU.
    """
    scheme = network_scheme(port)
    bounds: dict[str, Any] = {"timeout": READ_TIMEOUT_S}
    if scheme != "rfc2217":
        bounds["write_timeout"] = WRITE_TIMEOUT_S
    # ser2net closes a connection that comes while the device is still being closed after
    # its previous client: a port on the network gets a second try a moment later.
    tries = NETWORK_OPEN_TRIES if scheme else 1
    for attempt in range(1, tries + 1):
        try:
            opened = serial.serial_for_url(port, baudrate=baudrate, bytesize=serial.EIGHTBITS,
                                           parity=serial.PARITY_NONE,
                                           stopbits=serial.STOPBITS_ONE, **bounds)
            break
        except (serial.SerialException, ValueError, OSError, NotImplementedError) as exc:
            if (attempt < tries and isinstance(exc, (serial.SerialException, OSError))
                    and _UNCONFIRMED not in str(exc)):
                time.sleep(NETWORK_RETRY_S)
                continue
            _refused(port, scheme, exc)
    if scheme is not None:
        # Both of pyserial's network handlers (and labgrid's fork) keep their socket here.
        connection = getattr(opened, "_socket", None)
        if isinstance(connection, socket.socket):
            _keepalive(connection)
    return opened


def _refused(port: str, scheme: str | None, exc: Exception) -> NoReturn:
    said = f"{type(exc).__name__}: {exc}" if isinstance(exc, NotImplementedError) else exc
    hint = ""
    if scheme == "rfc2217" and _UNCONFIRMED in str(exc):
        # ser2net does not confirm SET-CONTROL the way pyserial waits for.
        hint = (" (the server did not confirm the port's control lines: ser2net does "
                "not; add ?ign_set_control to the URL, as labgrid does)")
    raise LabError(f"cannot open serial port {port}: {said}{hint}") from None


def _keepalive(connection: socket.socket) -> None:
    with contextlib.suppress(OSError, AttributeError):  # options Linux has, others may not
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, KEEPALIVE_IDLE_S)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, KEEPALIVE_INTERVAL_S)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, KEEPALIVE_PROBES)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT,
                              KEEPALIVE_INTERVAL_S * KEEPALIVE_PROBES * 1000)


class SerialLink(Link):
    transport = "serial"

    def __init__(self, evidence: EvidenceLog, port: str, *, baudrate: int = 115200,
                 reset: ResetMethod | None = None,
                 emulator: SerialEmulator | None = None) -> None:
        super().__init__(evidence)
        self.port = port
        self.baudrate = baudrate
        self.reset_method = reset
        self.emulator = emulator  # owned: started on open, stopped on close
        self.net_state = "cloud"  # what `net` is answered with
        self.bench_facts: dict[str, str] = {}  # the labgrid place the port is on, if any
        self._serial: serial.SerialBase | None = None
        self._fd: int | None = None  # the port's descriptor, when it is a posix tty
        self._reader: threading.Thread | None = None
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._request_lock = threading.Lock()
        self._framer = Framer()
        self._queue: list[Exchange] = []
        self._in_flight: Exchange | None = None
        self._history: list[Uplink] = []
        self._times: list[float] = []  # uplink times, for bisecting the history
        self._trimmed = 0  # uplinks dropped from the front of the history so far
        self._sent: list[Sent] = []
        self._failure: str | None = None
        self._flood = [0, 0, 0]  # second, lines itemised in it, lines counted beyond
        self.opened_at = 0.0
        self.last_line_at = 0.0  # when the MCU last ended a line (CR or LF)
        self._booting_since: float | None = None  # power-on or reset, until the first poll

    # ------------------------------------------------------------ lifecycle

    def _open(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        try:
            if self.emulator is not None:
                self.emulator.start(timeout, power_on=False)
                self.port = self.emulator.port
            self._serial = open_port(self.port, self.baudrate)
            if type(self._serial) is serial.Serial and os.name == "posix":
                self._fd = self._serial.fileno()
            lease = lease_from_environment()
            if lease is not None and lease.serial_port == self.port:
                # The port of the labgrid place this run holds: the record names the place.
                self.bench_facts = lease.facts()
                self.evidence.note(f"serial: labgrid place {lease.place} (exporters "
                                   f"{', '.join(lease.exporters)}), held by {lease.holder}")
            self.opened_at = self.last_line_at = self._booting_since = time.monotonic()
            self.evidence.note(f"serial: opened {self.port} at {self.baudrate} 8N1"
                               + (" (reference emulator)" if self.emulator else "")
                               + (" over the network" if network_scheme(self.port) else ""))
            self._reader = threading.Thread(target=self._run, name="certkit-serial-module",
                                            daemon=True)
            self._reader.start()
            if self.emulator is not None:
                self.emulator.power_on()
        except BaseException:
            self._shutdown(max(0.5, deadline - time.monotonic()))
            raise

    def _close(self, timeout: float) -> None:
        self._shutdown(timeout)

    def _shutdown(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        self._stop.set()
        if self._serial is not None and hasattr(self._serial, "cancel_read"):
            # Best effort: the reader's own read times out within READ_TIMEOUT_S anyway.
            with contextlib.suppress(Exception):
                self._serial.cancel_read()
        if self._reader is not None:
            self._reader.join(max(0.0, (deadline - time.monotonic()) / 2))
        self._note_flood()
        if self._serial is not None:
            # A vanished adapter cannot be closed cleanly; there is nothing left to do.
            with contextlib.suppress(Exception):
                self._serial.close()
        if self.emulator is not None:
            self.emulator.stop(max(0.1, deadline - time.monotonic()))
        self._settle_all()

    # --------------------------------------------------- the module's side

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                data = self._read_some()
                now = time.monotonic()
                if data:
                    for frame in self._framer.feed(data, now):
                        self._serve(frame)
                stale = self._framer.flush_stale(now)
                if stale is not None:
                    self._serve(stale)
        except Exception as exc:  # noqa: BLE001 - a port that fails is reported, never raised here
            if not self._stop.is_set():
                self._failure = f"{type(exc).__name__}: {exc}"
                self.evidence.note(f"serial: port failed: {self._failure}")
                # The port (adapter, pty, remote port) went away or broke: the bench's side.
                # A DUT that stops talking leaves the port readable and is never this.
                self.bench_fault("port-failed", f"serial port {self.port} failed: "
                                                f"{self._failure}")
        finally:
            self._settle_all()

    def _settle_all(self) -> None:
        """Wake every waiting request: the reader is gone, they must look for themselves."""
        with self._changed:
            for exchange in [*self._queue, self._in_flight]:
                if exchange is not None:
                    exchange.settled.set()
            self._changed.notify_all()

    def _read_some(self) -> bytes:
        """Whatever the MCU has sent, waiting at most READ_TIMEOUT_S for the first byte."""
        if self._fd is not None:
            # A posix port is a file descriptor: one select and one read fetch a
            # whole line, where pyserial's read(1) + read(in_waiting) take two rounds.
            ready, _, _ = select.select([self._fd], [], [], READ_TIMEOUT_S)
            if not ready:
                return b""
            try:
                data = os.read(self._fd, 4096)
            except BlockingIOError:
                return b""
            if not data:
                raise serial.SerialException("the port returned end of file (device gone?)")
            return data
        port = self._port
        data = port.read(1)
        if data:
            # Every port serial_for_url opens has it; the stubs leave it off SerialBase.
            waiting = port.in_waiting  # type: ignore[attr-defined]
            if waiting:
                data += port.read(waiting)
        return data

    @property
    def _port(self) -> serial.SerialBase:
        """The open port (the reader runs only while there is one)."""
        if self._serial is None:
            raise LabError(f"serial port {self.port} is not open")
        return self._serial

    def _serve(self, frame: Frame) -> None:
        """Answer first, then keep the evidence: the MCU is not kept waiting for our books."""
        if frame.content == b"get_down" and frame.ending == "CR":
            uplink = Uplink(frame.t, frame, _GET_DOWN, None)  # the hot path, parsed once
        else:
            uplink = judge(frame)
        if frame.ending != "none":
            self.last_line_at = uplink.t
        with self._changed:
            answer = self._answer(uplink)
            if answer is not None:
                written = self._write(answer)
                exchange = self._in_flight
                if exchange is not None and exchange.status == "queued":
                    exchange.sent_at = time.monotonic()
                    exchange.status = "sent"
                    self._sent.append(Sent(exchange.sent_at, exchange.downlink))
                    if exchange.expect is None:
                        self._in_flight = None
                        exchange.settled.set()
                if not written:
                    answer = None
            self._remember(uplink)
        if self._count_for_evidence(uplink.t):
            self.record("<-", uplink.text, uplink.t)
            if answer is not None:
                self.record("->", answer)
        with self._changed:
            self._changed.notify_all()

    def _answer(self, uplink: Uplink) -> str | None:
        """Section 5's answer to a line (called with the lock held)."""
        if uplink.frame.ending == "none" or uplink.frame.after_cr or not uplink.frame.length:
            return None  # no complete line, nothing to answer
        line = uplink.line
        if line is None:
            return "error"
        if line.command == "get_down":
            self._booting_since = None
            if self._queue and self._in_flight is None:
                self._in_flight = self._queue.pop(0)
                return f"down {self._in_flight.downlink}"
            return "down none"
        if line.command == "net":
            return self.net_state
        exchange = self._in_flight
        if exchange is not None and exchange.status == "sent" and exchange.expect == line.command:
            exchange.reply = uplink
            exchange.status = "replied"
            self._in_flight = None
            exchange.settled.set()
        return "ok"

    def _write(self, text: str) -> bool:
        data = text.encode("ascii") + b"\r"
        if self._fd is not None:
            # Straight to the (non-blocking) descriptor; pyserial's write, with its
            # timeout, only for what the driver could not take at once.
            try:
                data = data[os.write(self._fd, data):]
            except BlockingIOError:
                pass
            if not data:
                return True
        try:
            self._port.write(data)
        except serial.SerialTimeoutException:
            self.evidence.note(f"serial: could not write `{text}` within {WRITE_TIMEOUT_S:g} s "
                               "(the MCU is not reading)")
            return False
        return True

    def _remember(self, uplink: Uplink) -> None:
        if len(self._history) >= HISTORY_MAX:
            half = HISTORY_MAX // 2
            del self._history[:half], self._times[:half]
            self._trimmed += half
            self.evidence.note(f"serial: history full, the oldest {half} lines are no longer "
                               "reviewed")
        self._history.append(uplink)
        self._times.append(uplink.t)

    def _count_for_evidence(self, t: float) -> bool:
        """Itemise at most ITEMISED_PER_S lines a second; count a flood beyond that."""
        second = int(t)
        if second != self._flood[0]:
            self._note_flood()
            self._flood = [second, 0, 0]
        if self._flood[1] < ITEMISED_PER_S:
            self._flood[1] += 1
            return True
        self._flood[2] += 1
        return False

    def _note_flood(self) -> None:
        if self._flood[2]:
            self.evidence.note(f"serial: flood: {self._flood[2]} more lines (and their answers) "
                               f"in one second, beyond {ITEMISED_PER_S} itemised")
            self._flood[2] = 0

    # ---------------------------------------------------------- rules' side

    def request(self, downlink: str, timeout: float, *, expect: str | None = "result",
                delivery_timeout: float = DELIVERY_TIMEOUT_S) -> Exchange:
        """Queue `downlink`, wait until it is delivered, then for its `expect` line.

        `timeout` runs from the moment the downlink leaves the module. Never
        raises for the device's sake: the exchange's status says what
        happened (a port that failed is a `LabError`).
        """
        self.require_open()
        with self._request_lock:
            exchange = Exchange(downlink, expect, time.monotonic())
            with self._changed:
                self._check_port()
                quiet = exchange.queued_at - self.last_line_at
                if quiet > SILENT_AFTER_S:
                    exchange.status = "silent"
                    self.evidence.note(f"serial: not sending `{downlink}`: no line from the "
                                       f"MCU for {quiet:.1f} s")
                    return exchange
                self._queue.append(exchange)
            # Usually the one wake-up is the answer, well before the delivery deadline.
            self._settle(exchange, exchange.queued_at + delivery_timeout)
            with self._changed:
                booting = self._booting_since if exchange.status == "queued" else None
            if booting is not None and booting + BOOT_ALLOWANCE_S > time.monotonic():
                self.evidence.note("serial: the MCU has not polled since it was powered on or "
                                   "reset; waiting for its first poll up to the boot limit")
                self._settle(exchange, booting + BOOT_ALLOWANCE_S)
            with self._changed:
                if exchange.status == "queued":
                    if exchange in self._queue:
                        self._queue.remove(exchange)
                    if self._in_flight is exchange:
                        self._in_flight = None
                    exchange.status = "not-delivered"
                    self._check_port()
                    return exchange
                if (exchange.status != "sent" or exchange.expect is None
                        or exchange.sent_at is None):  # sent_at is set with "sent"
                    return exchange
            self._settle(exchange, exchange.sent_at + timeout)
            with self._changed:
                if exchange.status == "sent":
                    self._in_flight = None  # a late answer is never matched to a later request
                    exchange.status = "no-reply"
                    self._check_port()
            return exchange

    def _settle(self, exchange: Exchange, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left > 0 and not self._stop.is_set() and self._reader_alive():
            exchange.settled.wait(left)

    def _wait(self, deadline: float) -> bool:
        """Wait for news until `deadline` (lock held); False once it has passed."""
        left = deadline - time.monotonic()
        if left <= 0 or self._stop.is_set() or not self._reader_alive():
            return False
        self._changed.wait(left)
        return True

    def _reader_alive(self) -> bool:
        return self._reader is not None and self._reader.is_alive()

    def _check_port(self) -> None:
        if self._failure is not None:
            raise LabError(f"serial port {self.port} failed: {self._failure}")
        if self.state == "open" and not self._reader_alive() and not self._stop.is_set():
            raise LabError(f"serial port {self.port}: the module's reader stopped")

    def bench_problem(self, thorough: bool = False) -> str | None:
        if self._failure is not None:
            return f"serial port {self.port} failed: {self._failure}"
        if not self._reader_alive() and not self._stop.is_set():
            return f"serial port {self.port}: the module's reader stopped"
        return None

    def wait_for(self, match: Callable[[Uplink], bool], since: float,
                 until: float) -> Uplink | None:
        """The first uplink at or after `since` that `match`es, waiting until `until`."""
        self.require_open()
        with self._changed:
            seen = self._trimmed + bisect.bisect_left(self._times, since)  # absolute position
            while True:
                for uplink in self._history[max(0, seen - self._trimmed):]:
                    if uplink.t >= since and match(uplink):
                        return uplink
                seen = self._trimmed + len(self._history)
                if not self._wait(until):
                    self._check_port()
                    return None

    def pause(self, seconds: float) -> None:
        """Sleep while the reader serves the MCU (a window a rule observes)."""
        self._stop.wait(max(0.0, seconds))
        with self._changed:
            self._check_port()

    def uplinks(self, since: float = 0.0, until: float = float("inf"),
                command: str | None = None) -> list[Uplink]:
        with self._changed:
            start = bisect.bisect_left(self._times, since)
            end = bisect.bisect_right(self._times, until)
            chosen = self._history[start:end]
        return [u for u in chosen if command is None or u.command == command]

    def downlinks(self, since: float = 0.0) -> list[Sent]:
        """The downlinks delivered (not `down none`), with when they left."""
        with self._changed:
            return [s for s in self._sent if s.t >= since]

    @property
    def pending(self) -> int:
        with self._changed:
            return len(self._queue) + (self._in_flight is not None)

    def reset_device(self, timeout: float) -> tuple[float, float]:
        """Reset the DUT with the bench's method: (when it began, when it was done).

        Raises `LabError` when the bench has no reset method.
        """
        self.require_open()
        if self.reset_method is None:
            raise LabError("the bench has no reset method: give --reset dtr, rts, "
                           "cmd:<shell command> or prompt (emulators reset themselves "
                           "unless --reset none)")
        self.evidence.note(f"serial: resetting the DUT ({self.reset_method})")
        began = time.monotonic()
        self.reset_method.reset(self._serial, timeout)
        done = time.monotonic()
        with self._changed:
            self._booting_since = done
        self.evidence.note(f"serial: reset done after {(done - began) * 1000:.0f} ms")
        return began, done

    @staticmethod
    def now() -> float:
        return time.monotonic()
