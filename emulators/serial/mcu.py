"""The reference partner MCU, speaking ECS-1 section 5 on a real pty.

`SerialEmulator` opens a pty pair; the harness opens the pty's path with
pyserial exactly as it opens a USB adapter (`emulator.port`). One thread
plays the MCU the way firmware does, one line at a time:

1. boot: `model`, `mcu_version`, `net`, each waiting for the module's answer;
2. loop: send whatever is waiting (results, reports, events) first, else
   poll `get_down` every ~120 ms and act on the downlink it returns; after
   a downlink it polls again 20 ms later, as firmware that expects bursts.

It is conformant by default; faults (see `faults.py`) break one rule each,
and variants (see `variants.py`) make the conformant choices real firmware
makes (slow polls, late replies, batched reports, ...).
Sensor-like properties (read-only, notify, with a value-range) drift one
step every 1.5 s and are reported; an action fires its service's first
event one second later. Writes never block: like a UART with nobody
listening, bytes the pty cannot take are dropped.
"""

from __future__ import annotations

import fcntl
import heapq
import itertools
import os
import random
import select
import sys
import threading
import time
import tty
from collections import deque
from collections.abc import Callable
from decimal import Decimal

from certkit_emulators import Emulator, register
from certkit_emulators.serial import variants as var
from certkit_emulators.serial.device import Crash, DeviceModel
from certkit_emulators.serial.faults import FAULTS
from certkit_emulators.serial.variants import VARIANTS
from certkit_emulators.state import DeviceState

from certkit.links.serial.protocol import LineError, Token, chunk_reports, encode_value, tokenize
from certkit.profile.model import Event, Profile, Property

POLL_S = 0.12
POLL_JITTER_S = 0.01
FOLLOW_UP_POLL_S = 0.02  # after a downlink, poll again soon: downlinks come in bursts
SLOW_POLL_S = 0.4
BOOT_DELAY_S = 0.03
ANSWER_TIMEOUT_S = 0.5   # how long the MCU waits for the module to answer a line
DRIFT_S = 1.5            # a sensor property changes (and is reported) this often
FLOOD_S = 0.1
EVENT_DELAY_S = 1.0
UNDECLARED_EVENT_S = 0.5
EVENT_FLOOD_S = 0.1
GARBAGE_S = 0.4
SILENT_AFTER_S = 2.0
SLOW_REPLY_EXTRA_S = 0.3
TICK_S = 0.05            # the longest the thread blocks before looking at its flags

GARBAGE = (b"get_d\x00own", "temp\u00e9rature".encode(), b"properties_changed 2 2 " + b"7" * 600)


@register
class SerialEmulator(Emulator):
    transport = "serial"
    FAULTS = FAULTS
    VARIANTS = VARIANTS

    def __init__(self, profile: Profile, faults: frozenset[str] = frozenset(),
                 variants: frozenset[str] = frozenset(), *,
                 state: DeviceState | None = None) -> None:
        """`state`: the device state shared with the device's other faces (else its own)."""
        super().__init__(profile, faults, variants)
        self.state = state or DeviceState(profile)
        self.device = DeviceModel(profile, self.faults, self.state)
        self._unsubscribe = self.state.subscribe(self._changed_elsewhere)
        self._master = self._slave = -1
        self._port = ""
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._powered = threading.Event()
        self._reboot = threading.Event()
        self._in_reset = threading.Event()
        self._rx = bytearray()
        self._outbox: deque[bytes] = deque()
        self._timers: list[tuple[float, int, Callable[[], None], float | None]] = []
        self._seq = itertools.count()
        self._next_poll = 0.0
        self._started = 0.0
        self._reported_at: dict[tuple[int, int], float] = {}  # last properties_changed sent
        self._random = random.Random(1)
        self._polls = 0           # slowest-polls: which interval comes next
        self._batch: dict[tuple[int, int], Property] = {}  # batched-reports: waiting to go
        self._reply_delays_s = (var.near_limit_delays_s(profile)
                                if self.uses("replies-near-limit") else {})
        self.dropped = 0          # bytes the pty could not take
        self.error: str | None = None  # why the MCU thread died, if it did

    # ------------------------------------------------------------ lifecycle

    @property
    def port(self) -> str:
        """The pty's path, to open with pyserial like /dev/ttyUSB0."""
        if not self._port:
            raise RuntimeError("the serial emulator is not started")
        return self._port

    def start(self, timeout: float, power_on: bool = True) -> None:
        """Open the pty and start the MCU; with `power_on=False` it waits for `power_on()`.

        The harness opens the port before powering the MCU on, because
        pyserial flushes the input when it opens a port and the boot lines
        would be lost.
        """
        if self._thread is not None:
            return
        self._master, self._slave = os.openpty()
        # Raw, so the line discipline neither echoes nor turns CR into LF.
        tty.setraw(self._slave)
        flags = fcntl.fcntl(self._master, fcntl.F_GETFL)
        fcntl.fcntl(self._master, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self._port = os.ttyname(self._slave)
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._main, name="serial-emulator", daemon=True)
        self._thread.start()
        if power_on:
            self.power_on()

    def power_on(self) -> None:
        self._powered.set()

    def power_off(self) -> None:
        """Cut the MCU's power (a bench's power switch): it falls silent at once and boots
        again at `power_on()`."""
        self._reboot.set()
        self._powered.clear()

    def stop(self, timeout: float) -> None:
        self._stop.set()
        self._unsubscribe()
        if self._thread is not None:
            self._thread.join(timeout)
        for fd in (self._master, self._slave):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = -1

    def reset(self, timeout: float) -> None:
        """Pull the MCU's reset line: returns once it is in reset, before it boots."""
        self._in_reset.clear()
        self._reboot.set()
        self._powered.set()
        if not self._in_reset.wait(timeout):
            raise TimeoutError(f"the serial emulator did not reset within {timeout:g} s")

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ------------------------------------------------------------- the MCU

    def _main(self) -> None:
        try:
            while not self._stop.is_set() and not self._powered.wait(TICK_S):
                self._drain()
            self._reboot.set()
            while not self._stop.is_set():
                self._step()
        except Exception as exc:  # noqa: BLE001 - reported, the emulator just stops
            self.error = f"{type(exc).__name__}: {exc}"
            print(f"serial emulator: stopped: {self.error}", file=sys.stderr)

    def _step(self) -> None:
        if not self._powered.is_set():
            self._drain(TICK_S)  # unpowered: what the module sends goes nowhere
            return
        if self._reboot.is_set():
            self._boot()
            return
        now = time.monotonic()
        if self.has("goes-silent") and now - self._started > SILENT_AFTER_S:
            self._drain(TICK_S)
            return
        self._run_timers(now)
        if self._outbox:
            self._exchange(self._outbox.popleft())
        elif now >= self._next_poll:
            self._poll(now)
        else:
            wake = min([self._next_poll, *(t[0] for t in self._timers[:1])])
            self._drain(min(TICK_S, max(0.0, wake - now)))

    def _boot(self) -> None:
        self._reboot.clear()
        self._in_reset.set()
        self._outbox.clear()
        self.state.reset(DeviceModel.SOURCE)
        self._timers.clear()
        self._reported_at.clear()
        self._batch.clear()
        self._stop.wait(var.boot_delay_s(self.profile) if self.uses("slow-boot") else BOOT_DELAY_S)
        self._drain()
        self._rx.clear()
        model = self.profile.device.model + ("x" if self.has("wrong-model") else "")
        for line in (f"model {model}",
                     f"mcu_version {self.profile.device.mcu_version or '0000'}", "net"):
            if self._reboot.is_set() or self._stop.is_set():
                return
            answer = self._exchange(line.encode())
            if line == "net" and answer == "cloud" and self.uses("boot-sync"):
                self._report([p for p in self.profile.properties() if p.notifies])
        self._schedule_background()
        self._next_poll = time.monotonic()

    def _schedule_background(self) -> None:
        now = time.monotonic()
        sensors = [p for p in self.profile.properties()
                   if p.notifies and not p.writable and p.value_range]
        for i, prop in enumerate(sensors):
            self._every(DRIFT_S, lambda prop=prop: self._report_drift(prop),
                        first=now + DRIFT_S * (1 + i / len(sensors)))
        if self.has("notify-flood"):
            notify = sensors or [p for p in self.profile.properties() if p.notifies]
            if notify:
                self._every(FLOOD_S, lambda: self._report_drift(notify[0], 0.0))
        if self.has("undeclared-events"):
            self._every(UNDECLARED_EVENT_S, self._undeclared_event)
        if self.has("event-flood") and self.profile.events():
            self._every(EVENT_FLOOD_S, lambda: self._fire(self.profile.events()[0]))
        if self.has("garbage"):
            cycle = itertools.cycle(GARBAGE)
            self._every(GARBAGE_S, lambda: self._outbox.append(next(cycle)))

    def _poll(self, now: float) -> None:
        self._next_poll = now + self._poll_interval()
        answer = self._exchange(b"get_down")
        if answer == "down none" and self.uses("net-queries"):
            self._exchange(b"net")
        if answer and answer.startswith("down ") and answer != "down none":
            if not self.uses("slowest-polls"):  # that firmware keeps its own pace
                self._next_poll = now + FOLLOW_UP_POLL_S
            try:
                self._downlink(answer[5:])
            except Crash:
                self._reboot.set()

    def _poll_interval(self) -> float:
        if self.uses("slowest-polls"):
            self._polls += 1
            return var.SLOW_POLL_GAP_S if self._polls % var.SLOW_POLL_GAP_EVERY == 0 \
                else var.SLOW_POLL_S
        interval = SLOW_POLL_S if self.has("slow-polls") else POLL_S
        return interval + self._random.uniform(-POLL_JITTER_S, POLL_JITTER_S)

    def _work(self, kind: str) -> None:
        """replies-near-limit: the firmware takes its time over a downlink."""
        if kind in self._reply_delays_s:
            self._stop.wait(self._reply_delays_s[kind])

    # ----------------------------------------------------------- downlinks

    def _downlink(self, text: str) -> None:
        if self.state.has("crash-on-oversized") and len(text) > 512:
            self.state.reset(DeviceModel.SOURCE)
            raise Crash("an oversized downlink")
        try:
            tokens = tokenize(text.encode("ascii"))
        except (LineError, UnicodeEncodeError):
            self._send_later('error "malformed downlink" -5002')
            return
        method, params = tokens[0].text, tokens[1:]
        handler = {
            "get_properties": self._get, "set_properties": self._set, "action": self._action,
            "MIIO_net_change": self._net_change, "MIIO_mcu_version_req": self._version_request,
        }.get(method)
        if handler is None:
            if self.state.has("crash-on-unknown-method"):
                raise Crash(f"unknown downlink method {method}")
            self._send_later('error "unknown downlink" -5001')
            return
        try:
            handler(params)
        except (LineError, IndexError, ValueError):
            self._send_later('error "malformed downlink" -5002')

    def _get(self, params: list[Token]) -> None:
        if not params or len(params) % 2:
            raise ValueError("get_properties needs siid piid pairs")
        entries = []
        for i in range(0, len(params) - 1, 2):
            siid, piid = params[i].as_int(), params[i + 1].as_int()
            code, value = self.device.get(siid, piid)
            prop = self.device.props.get((siid, piid))
            shown = f" {self._wire(value, prop)}" if code == 0 else ""
            entries.append(f"{siid} {piid} {code}{shown}")
        if self.has("slow-replies"):
            self._stop.wait(self.profile.limit_ms("reply-ms") / 1000 + SLOW_REPLY_EXTRA_S)
        self._work("get")
        self._send_result(entries)

    def _set(self, params: list[Token]) -> None:
        if not params or len(params) % 3:
            raise ValueError("set_properties needs siid piid value triplets")
        entries, changed = [], []
        for i in range(0, len(params) - 2, 3):
            siid, piid = params[i].as_int(), params[i + 1].as_int()
            if self.uses("accepted-then-applied"):
                code, value = self.device.judge_set(siid, piid, params[i + 2])
                if code == 0 and value is not None:
                    code = 1  # accepted: applied later
                    self._apply_later(self.device.props[(siid, piid)], value)
                entries.append(f"{siid} {piid} {code}")
                continue
            code, did_change = self.device.set(siid, piid, params[i + 2])
            entries.append(f"{siid} {piid} {code}")
            if did_change:
                changed.append(self.device.props[(siid, piid)])
        self._work("set")
        reports = [p for p in changed if p.notifies and not self.has("no-notify")]
        if self.uses("report-before-result"):
            self._report(reports)
            self._send_result(entries)
        else:
            self._send_result(entries)
            self._report(reports)

    def _apply_later(self, prop: Property, value: object) -> None:
        """accepted-then-applied: store the value soon, unless a later write came first."""
        accepted = time.monotonic()

        def apply() -> None:
            last = self.state.last_writer(prop)
            if last is not None and last[1] > accepted:
                return  # superseded: a write accepted after this one has been applied
            if self.state.write(prop, value, DeviceModel.SOURCE) and prop.notifies:
                self._report([prop])
        self._after(var.APPLY_AFTER_S, apply)

    def _action(self, params: list[Token]) -> None:
        siid, aiid = params[0].as_int(), params[1].as_int()
        code, outputs, changed = self.device.act(siid, aiid, params[2:])
        outs = "".join(f" {piid} {self._encoded(siid, piid, value)}" for piid, value in outputs)
        self._work("action")
        self._send_later(f"result {siid} {aiid} {code}{outs}")
        if code == 0:
            props = [self.device.props[(siid, piid)] for piid in changed]
            self._report([p for p in props if p.notifies and not self.has("no-notify")])
            event = next((e for e in self.profile.events() if e.siid == siid), None)
            if event is not None:
                self._after(EVENT_DELAY_S, lambda: self._fire(event))

    def _net_change(self, params: list[Token]) -> None:
        if params and params[0].text == "cloud" and not self.has("no-cloud-sync"):
            self._report([p for p in self.profile.properties() if p.notifies])

    def _version_request(self, params: list[Token]) -> None:
        if not self.has("version-request-ignored"):
            self._work("version")
            self._send_later(f"mcu_version {self.profile.device.mcu_version or '0000'}")

    # ------------------------------------------------------------- uplinks

    def _send_result(self, entries: list[str]) -> None:
        if self.has("split-results") and len(entries) > 1:
            for entry in entries:
                self._send_later(f"result {entry}")
        else:
            self._send_later("result " + " ".join(entries))

    def _report(self, props: list[Property]) -> None:
        if self.uses("batched-reports") and props:
            if not self._batch:
                self._after(var.BATCH_S, self._send_batch)
            self._batch.update({(p.siid, p.piid): p for p in props})
            return
        items = [(p.siid, p.piid, self._wire(self.state.value(p), p)) for p in props]
        for line in chunk_reports(items):
            self._send_later(line)

    def _send_batch(self) -> None:
        props, self._batch = list(self._batch.values()), {}
        items = [(p.siid, p.piid, self._wire(self.state.value(p), p)) for p in props]
        for line in chunk_reports(items):
            self._send_later(line)

    def _wire(self, value: object, prop: Property) -> str:
        """A value as this firmware prints it."""
        if prop.format == "float" and self.uses("fixed-decimals"):
            step = Decimal(str(prop.value_range[2])) if prop.value_range else Decimal("0.01")
            decimals = max(2, -step.normalize().as_tuple().exponent)  # never below the step
            return f"{float(value):.{decimals}f}"
        return encode_value(value, prop.format)

    def _report_drift(self, prop: Property, period: float = DRIFT_S) -> None:
        # Judged by when reports leave, not when they are queued: a report held
        # up behind a slow reply must not end up too close to the next one.
        key = (prop.siid, prop.piid)
        if time.monotonic() - self._reported_at.get(key, float("-inf")) < period:
            return
        self.device.drift(prop)
        self._report([prop])

    def _fire(self, event: Event) -> None:
        values = self.state.values()
        args = "".join(f" {piid} {self._encoded(event.siid, piid, values[(event.siid, piid)])}"
                       for piid in event.arguments)
        self._send_later(f"event_occured {event.siid} {event.eiid}{args}")

    def _encoded(self, siid: int, piid: int, value: object) -> str:
        return self._wire(value, self.device.props[(siid, piid)])

    def _undeclared_event(self) -> None:
        siid = next((e.siid for e in self.profile.events()), self.profile.services[-1].siid)
        taken = [e.eiid for e in self.profile.events() if e.siid == siid]
        self._send_later(f"event_occured {siid} {max(taken, default=0) + 1}")

    def _changed_elsewhere(self, prop: Property, value: object, source: str) -> None:
        """A change made through another face is reported here too (called on its thread)."""
        if source in (DeviceModel.SOURCE, "sensor") or not self._powered.is_set():
            return
        if prop.notifies and not self.has("no-notify") and not self._reboot.is_set():
            self._report([prop])

    def _send_later(self, line: str) -> None:
        self._outbox.append(line.encode("ascii"))

    # ---------------------------------------------------------------- timers

    def _after(self, delay: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._seq), action, None))

    def _every(self, period: float, action: Callable[[], None], first: float | None = None
               ) -> None:
        when = first if first is not None else time.monotonic() + period
        heapq.heappush(self._timers, (when, next(self._seq), action, period))

    def _run_timers(self, now: float) -> None:
        while self._timers and self._timers[0][0] <= now:
            when, _, action, period = heapq.heappop(self._timers)
            action()
            if period is not None:
                heapq.heappush(self._timers, (max(when + period, now), next(self._seq),
                                              action, period))

    # ------------------------------------------------------------------ wire

    def _terminator(self) -> bytes:
        if self.has("no-line-end"):
            return b""
        return b"\n" if self.has("lf-line-ends") else b"\r"

    def _exchange(self, line: bytes) -> str | None:
        """Send a line and wait for the module's one-line answer (None on timeout)."""
        self._rx.clear()
        self._write(line + self._terminator())
        if line.startswith(b"properties_changed "):
            now, words = time.monotonic(), line.split()[1:]
            for i in range(0, len(words) - 2, 3):
                self._reported_at[(int(words[i]), int(words[i + 1]))] = now
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while True:
            end = self._rx.find(b"\r")
            if end >= 0:
                answer = bytes(self._rx[:end])
                del self._rx[:end + 1]
                return answer.decode("ascii", "replace")
            left = deadline - time.monotonic()
            if left <= 0 or self._stop.is_set() or self._reboot.is_set():
                return None
            self._read(min(TICK_S, left))

    def _write(self, data: bytes) -> None:
        try:
            written = os.write(self._master, data)
        except BlockingIOError:
            written = 0
        except OSError:
            if not self._stop.is_set():
                raise
            return
        self.dropped += len(data) - written

    def _read(self, timeout: float) -> None:
        try:
            ready, _, _ = select.select([self._master], [], [], timeout)
            if ready:
                self._rx += os.read(self._master, 4096)
        except BlockingIOError:
            pass
        except OSError:
            if not self._stop.is_set():
                raise

    def _drain(self, timeout: float = 0.0) -> None:
        """Read and forget: answers nobody waits for any more."""
        self._read(timeout)
        self._rx.clear()
