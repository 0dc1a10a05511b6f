"""The reference certkit UDP device: a socket on loopback serving the profile's properties
from the run's one device state (`certkit_emulators.session`), so a set through serial shows
here and a set here shows on serial.

Faults (`--fault udp:NAME`), each named after what it breaks:
- `slow-get`: every get is answered 250 ms after the profile's reply-ms (UDP-001 fails);
- `dies-on-garbage`: a datagram that is no JSON stops the device: it answers nothing
  more (SEC-002 fails).
"""

from __future__ import annotations

import socket
import threading
from typing import Any, ClassVar

from certkit_emulators import Emulator, Fault
from certkit_emulators.state import DeviceState

from certkit.profile.model import Profile, Property
from certkit_udplink.protocol import (
    CODES,
    UNKNOWN_OPERATION,
    DatagramError,
    decode,
    encode,
)

SOURCE = "udp"
SLOW_BY_S = 0.25
POLL_S = 0.1
Address = tuple[str, int]


class UdpEmulator(Emulator):
    transport = "udp"
    FAULTS: ClassVar[dict[str, Fault]] = {f.name: f for f in (
        Fault("slow-get", "UDP-001", "answers every get 250 ms after the profile's reply-ms"),
        Fault("dies-on-garbage", "SEC-002",
              "stops answering anything after a datagram that is no JSON"),
    )}

    def __init__(self, profile: Profile, faults: frozenset[str] = frozenset(),
                 variants: frozenset[str] = frozenset(),
                 state: DeviceState | None = None) -> None:
        super().__init__(profile, faults, variants)
        self.state = state or DeviceState(profile)
        self.address: Address | None = None
        self._controllers: list[Address] = []  # those that said hello, to report to
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._timers: list[threading.Timer] = []
        self._unsubscribe: Any = None

    # ------------------------------------------------------------ lifecycle

    def start(self, timeout: float) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(POLL_S)
        self._sock = sock
        self.address = sock.getsockname()
        self._unsubscribe = self.state.subscribe(self._changed)
        self._thread = threading.Thread(target=self._serve, name="udp emulator", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        self._stopping.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
        for timer in self._timers:
            timer.cancel()
        if self._thread is not None:
            self._thread.join(max(min(timeout, 2 * POLL_S), 0.05))
        if self._sock is not None:
            self._sock.close()

    def reset(self, timeout: float) -> None:
        self.state.reset(SOURCE)

    # ------------------------------------------------------------ serving

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stopping.is_set():
            try:
                data, sender = self._sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                message = decode(data)
            except DatagramError:
                if self.has("dies-on-garbage"):
                    return  # hangs: its socket stays, no more answers
                continue  # not a datagram of the protocol: ignored
            answer = self._answer(message, sender)
            if answer is None:
                continue
            if message.get("op") == "get" and self.has("slow-get"):
                delay = self.profile.limit_ms("reply-ms") / 1000 + SLOW_BY_S
                timer = threading.Timer(delay, self._send, (answer, sender))
                timer.daemon = True
                self._timers = [t for t in self._timers if t.is_alive()] + [timer]
                timer.start()
            else:
                self._send(answer, sender)

    def _answer(self, message: dict[str, Any], sender: Address) -> dict[str, Any] | None:
        key = message.get("id")
        if not isinstance(key, int) or isinstance(key, bool):
            return None
        op = message.get("op")
        if op == "hello":
            if sender not in self._controllers:
                self._controllers.append(sender)
            who = self.state.identity
            return {"op": "hello", "id": key, "model": who.model, "firmware": who.firmware,
                    "mcu-version": who.mcu_version, "serial-number": who.serial_number}
        if op not in ("get", "set"):
            return _error(key, UNKNOWN_OPERATION)
        prop = self._property(message)
        if prop is None:
            return _error(key, CODES["no-such-property"])
        if op == "get":
            if not prop.readable:
                return _error(key, CODES["not-readable"])
            return {"op": "value", "id": key, "siid": prop.siid, "piid": prop.piid,
                    "value": self.state.value(prop)}
        if not prop.writable:
            return _error(key, CODES["not-writable"])
        value: Any = message.get("value")
        if prop.check_value(value) is not None:
            return _error(key, CODES["bad-value"])
        value = float(value) if prop.format == "float" else value
        if self.state.write(prop, value, SOURCE):
            self._report(prop, value, skip=sender)
        return {"op": "result", "id": key, "code": 0}

    def _property(self, message: dict[str, Any]) -> Property | None:
        siid, piid = message.get("siid"), message.get("piid")
        if not (isinstance(siid, int) and isinstance(piid, int)) or \
                isinstance(siid, bool) or isinstance(piid, bool):
            return None
        found: Property | None = self.state.props.get((siid, piid))
        return found

    # ------------------------------------------------------------ reporting

    def _changed(self, prop: Property, value: Any, source: str) -> None:
        """A change through another face or the device itself (under the state's lock: a
        datagram is sent without waiting)."""
        if source != SOURCE and prop.notifies:
            self._report(prop, value)

    def _report(self, prop: Property, value: Any, skip: Address | None = None) -> None:
        if not prop.notifies:
            return
        report = {"op": "report", "siid": prop.siid, "piid": prop.piid, "value": value}
        for controller in list(self._controllers):
            if controller != skip:
                self._send(report, controller)

    def _send(self, message: dict[str, Any], to: Address) -> None:
        if self._sock is None or self._stopping.is_set():
            return
        try:
            self._sock.sendto(encode(message), to)
        except OSError:  # a controller gone (loopback port unreachable), or stopping
            pass


def _error(key: int, code: int) -> dict[str, Any]:
    return {"op": "error", "id": key, "code": code}


def serve(profile: Profile, faults: frozenset[str], until: threading.Event,
          announce: Any = print) -> None:
    """`certkit emulate udp PROFILE`: serve until `until` is set."""
    emulator = UdpEmulator(profile, faults)
    emulator.start(1.0)
    assert emulator.address is not None
    announce(f"certkit UDP device {profile.device.model} on {emulator.address[0]}:"
             f"{emulator.address[1]}")
    try:
        while not until.wait(0.5):
            pass
    finally:
        emulator.stop(1.0)
