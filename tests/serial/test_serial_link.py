"""The module link on real ptys: answering, requests and their deadlines, evidence, resets."""

from __future__ import annotations

import os
import select
import socket
import threading
import time
import tty

import pytest
from certkit_emulators.serial import SerialEmulator

from certkit.bench import Bench
from certkit.checks import LabError
from certkit.evidence import EvidenceLog
from certkit.links.serial import module, open_serial
from certkit.links.serial.module import SerialLink
from certkit.links.serial.reset import (
    EmulatorReset,
    LinePulse,
    OperatorPrompt,
    ShellCommand,
    reset_method,
)
from certkit.operator import NoOperator, TerminalOperator


class ScriptedMcu:
    """The master side of a pty, driven by the test: an MCU that does what it is told."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self._buffer = bytearray()

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def answer(self, timeout: float = 2.0) -> str | None:
        """The module's next answer line, or None within `timeout`."""
        deadline = time.monotonic() + timeout
        while b"\r" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.master], [], [], left)[0]:
                return None
            self._buffer += os.read(self.master, 4096)
        line, _, rest = bytes(self._buffer).partition(b"\r")
        self._buffer[:] = rest
        return line.decode()

    def ask(self, line: str) -> str | None:
        self.send(line.encode() + b"\r")
        return self.answer()

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


@pytest.fixture
def mcu():
    scripted = ScriptedMcu()
    yield scripted
    scripted.close()


@pytest.fixture
def link(mcu: ScriptedMcu):
    opened = SerialLink(EvidenceLog(), mcu.port)
    opened.open(5)
    yield opened
    opened.close(5)


def _lines(evidence: EvidenceLog, direction: str) -> list[str]:
    return [item.text for item in evidence.since(0) if item.direction == direction]


def test_the_module_answers_every_line_as_section_5_says(mcu: ScriptedMcu,
                                                         link: SerialLink) -> None:
    assert mcu.ask("model acme.kettle.k1") == "ok"
    assert mcu.ask("mcu_version 0142") == "ok"
    assert mcu.ask("net") == "cloud"
    assert mcu.ask("get_down") == "down none"
    assert mcu.ask('error "overheat" -5001') == "ok"
    assert mcu.ask("properties_changed 2 1 true") == "ok"
    assert mcu.ask("flush") == "error"
    assert mcu.ask("get_d\x00own") == "error"
    link.net_state = "offline"
    assert mcu.ask("net") == "offline"


def test_lf_lines_are_answered_but_judged(mcu: ScriptedMcu, link: SerialLink) -> None:
    mcu.send(b"get_down\n")
    assert mcu.answer() == "down none"
    mcu.send(b"get_down\r\n")
    assert mcu.answer() == "down none"
    assert mcu.answer(0.3) is None  # the stray LF is not answered
    problems = [u.problem for u in link.uplinks()]
    assert "ends with LF" in problems[0] and problems[1] is None and "after CR" in problems[2]


def test_a_request_goes_out_on_the_next_poll_and_its_result_comes_back(
        mcu: ScriptedMcu, link: SerialLink) -> None:
    done: list = []
    asker = threading.Thread(target=lambda: done.append(
        link.request("get_properties 2 1", timeout=1.0)))
    asker.start()
    time.sleep(0.05)
    assert mcu.ask("get_down") == "down get_properties 2 1"
    assert mcu.ask("result 2 1 0 true") == "ok"
    asker.join(2)
    exchange, = done
    assert exchange.status == "replied" and exchange.reply.text == "result 2 1 0 true"
    assert 0 <= exchange.elapsed_ms < 500
    sent, = link.downlinks()
    assert sent.downlink == "get_properties 2 1"
    assert "down get_properties 2 1" in _lines(link.evidence, "->")
    assert "result 2 1 0 true" in _lines(link.evidence, "<-")


def test_a_late_result_is_never_matched_to_the_next_request(mcu: ScriptedMcu,
                                                            link: SerialLink) -> None:
    results: list = []

    def ask(downlink: str) -> None:
        results.append(link.request(downlink, timeout=0.2))

    first = threading.Thread(target=ask, args=("get_properties 2 1",))
    first.start()
    time.sleep(0.05)
    assert mcu.ask("get_down") == "down get_properties 2 1"
    first.join(2)
    assert results[0].status == "no-reply"
    second = threading.Thread(target=ask, args=("get_properties 2 2",))
    second.start()
    time.sleep(0.05)
    assert mcu.ask("result 2 1 0 true") == "ok"  # late: answered, not matched
    assert mcu.ask("get_down") == "down get_properties 2 2"
    assert mcu.ask("result 2 2 0 55.0") == "ok"
    second.join(2)
    assert results[1].status == "replied" and results[1].reply.text == "result 2 2 0 55.0"


def test_no_poll_means_not_delivered_within_the_deadline(mcu: ScriptedMcu,
                                                        link: SerialLink) -> None:
    assert mcu.ask("get_down") == "down none"  # booted: from now on it must keep polling
    started = time.monotonic()
    exchange = link.request("get_properties 2 1", timeout=1.0, delivery_timeout=0.3)
    assert exchange.status == "not-delivered"
    assert time.monotonic() - started < 1.0
    assert link.pending == 0  # withdrawn: it will not surprise a later rule


def test_before_its_first_poll_an_mcu_has_the_boot_limit(mcu: ScriptedMcu,
                                                         link: SerialLink) -> None:
    """Just powered on (or reset), an MCU may take up to boot-ms (2000 ms) to start
    talking: a request queued meanwhile waits for its first poll (variant slow-boot)."""
    done: list = []
    asker = threading.Thread(target=lambda: done.append(
        link.request("get_properties 2 1", timeout=1.0, delivery_timeout=0.3)))
    asker.start()
    time.sleep(0.3 + 0.5)  # past the ordinary delivery deadline, within the boot limit
    assert mcu.ask("model acme.kettle.k1") == "ok"
    assert mcu.ask("get_down") == "down get_properties 2 1"
    assert mcu.ask("result 2 1 0 true") == "ok"
    asker.join(2)
    assert done[0].status == "replied"
    assert any("waiting for its first poll" in i.text for i in link.evidence.since(0))


def test_a_silent_mcu_fails_requests_at_once(link: SerialLink, monkeypatch) -> None:
    monkeypatch.setattr(module, "SILENT_AFTER_S", 0.1)
    time.sleep(0.2)
    started = time.monotonic()
    exchange = link.request("get_properties 2 1", timeout=1.0)
    assert exchange.status == "silent" and time.monotonic() - started < 0.1
    assert "no line from the MCU" in exchange.describe()


def test_a_vanished_port_is_a_lab_error(mcu: ScriptedMcu, link: SerialLink) -> None:
    mcu.close()  # the adapter is pulled out
    with pytest.raises(LabError, match="failed"):
        for _ in range(20):
            link.request("get_properties 2 1", timeout=0.1, delivery_timeout=0.1)


def test_a_flood_is_counted_and_close_stays_bounded(mcu: ScriptedMcu, monkeypatch) -> None:
    monkeypatch.setattr(module, "ITEMISED_PER_S", 50)
    link = SerialLink(EvidenceLog(), mcu.port)
    link.open(5)
    stop = threading.Event()

    def flood() -> None:
        os.set_blocking(mcu.master, False)
        while not stop.is_set():
            try:
                os.write(mcu.master, b"properties_changed 2 2 55.0\r" * 20)
            except BlockingIOError:
                time.sleep(0.001)
            except OSError:
                return
            while select.select([mcu.master], [], [], 0)[0]:
                try:
                    os.read(mcu.master, 65536)
                except OSError:
                    break

    flooder = threading.Thread(target=flood, daemon=True)
    flooder.start()
    time.sleep(1.5)
    started = time.monotonic()
    link.close(2)
    closing = time.monotonic() - started
    stop.set()
    flooder.join(2)
    assert closing < 2.5, closing
    itemised = _lines(link.evidence, "<-")
    notes = [i.text for i in link.evidence.since(0) if "flood" in i.text]
    assert len(link.uplinks()) > len(itemised)
    assert notes and "beyond 50 itemised" in notes[0]


def test_link_and_emulator_open_and_close_together(kettle) -> None:
    emulator = SerialEmulator(kettle)
    link = SerialLink(EvidenceLog(), "", emulator=emulator, reset=EmulatorReset(emulator))
    link.open(5)
    try:
        exchange = link.request("get_properties 1 2", timeout=1.0)
        assert exchange.reply.text == 'result 1 2 0 "acme.kettle.k1"'
        began, done = link.reset_device(5)
        model = link.wait_for(lambda u: u.command == "model", began, done + 2)
        assert model is not None and model.text == "model acme.kettle.k1"
    finally:
        started = time.monotonic()
        link.close(5)
    assert time.monotonic() - started < 2
    assert not emulator.running


# ------------------------------------------------------------------ resets


def test_reset_methods_from_the_bench(kettle) -> None:
    emulator = SerialEmulator(kettle)
    assert isinstance(reset_method(None, emulator), EmulatorReset)
    assert reset_method(None) is None
    assert reset_method("none", emulator) is None
    assert isinstance(reset_method("dtr"), LinePulse)
    assert isinstance(reset_method("prompt"), OperatorPrompt)
    assert reset_method("cmd:true").command == "true"
    with pytest.raises(LabError):
        reset_method("cmd:")


def test_no_reset_method_is_a_lab_error(link: SerialLink) -> None:
    with pytest.raises(LabError, match="no reset method"):
        link.reset_device(1)


def test_a_pty_has_no_dtr_line(mcu: ScriptedMcu) -> None:
    link = SerialLink(EvidenceLog(), mcu.port, reset=LinePulse("dtr"))
    link.open(5)
    try:
        with pytest.raises(LabError, match="cannot pulse DTR"):
            link.reset_device(1)
    finally:
        link.close(5)


def test_reset_commands() -> None:
    ShellCommand("true").reset(None, 5)
    with pytest.raises(LabError, match="exited with 3: relay offline"):
        ShellCommand("echo relay offline >&2; exit 3").reset(None, 5)
    started = time.monotonic()
    with pytest.raises(LabError, match="did not finish within 0.3 s"):
        ShellCommand("sleep 5").reset(None, 0.3)
    assert time.monotonic() - started < 2


def test_the_operator_prompt_waits_with_a_timeout() -> None:
    with pytest.raises(LabError, match="needs an operator to power-cycle the DUT, and this "
                                       r"run has none \(--no-operator\)"):
        OperatorPrompt(operator=NoOperator("--no-operator")).reset(None, 1)
    with pytest.raises(LabError, match="cannot be opened"):
        OperatorPrompt(operator=TerminalOperator(terminal="/nonexistent/tty")).reset(None, 1)
    terminal = ScriptedMcu()  # a pty stands in for the operator's terminal
    operator = TerminalOperator(terminal=terminal.port)
    try:
        with pytest.raises(LabError, match="did not power-cycle the DUT: no answer within 0.2 s"):
            OperatorPrompt(timeout_s=0.2, operator=operator).reset(None, 5)
        threading.Timer(0.1, terminal.send, args=(b"\n",)).start()
        OperatorPrompt(timeout_s=2, operator=operator).reset(None, 5)
    finally:
        terminal.close()


# ----------------------------------------------------------------- factory


def test_the_factory_says_what_is_missing(kettle) -> None:
    with pytest.raises(LabError, match="no serial port: give --serial PORT or --emulate serial"):
        open_serial(kettle, Bench(), EvidenceLog())
    with pytest.raises(LabError, match="unknown fault nonsense"):
        open_serial(kettle, Bench(emulate=frozenset({"serial"}),
                                  faults={"serial": frozenset({"nonsense"})}), EvidenceLog())
    emulated = open_serial(kettle, Bench(emulate=frozenset({"serial"})), EvidenceLog())
    assert isinstance(emulated.reset_method, EmulatorReset) and emulated.emulator is not None
    wired = Bench(wiring={"serial": {"port": "socket://127.0.0.1:9", "reset": "rts"}})
    real = open_serial(kettle, wired, EvidenceLog())
    assert real.port == "socket://127.0.0.1:9" and isinstance(real.reset_method, LinePulse)
    with pytest.raises(LabError, match="cannot open serial port socket://127.0.0.1:9"):
        real.open(5)


def test_a_pyserial_url_works_like_a_device_path(kettle) -> None:
    """socket:// goes through pyserial's own reads (no descriptor fast path)."""
    emulator = SerialEmulator(kettle)
    emulator.start(5, power_on=False)
    server = socket.create_server(("127.0.0.1", 0))
    pty = os.open(emulator.port, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(pty)

    def bridge() -> None:  # a serial-to-TCP server, as ser2net would be
        connection, _ = server.accept()
        with connection:
            while True:
                ready, _, _ = select.select([connection, pty], [], [], 5)
                if not ready:
                    return
                try:
                    if connection in ready:
                        data = connection.recv(4096)
                        if not data:
                            return
                        os.write(pty, data)
                    if pty in ready:
                        connection.sendall(os.read(pty, 4096))
                except OSError:
                    return

    relay = threading.Thread(target=bridge, daemon=True)
    relay.start()
    link = SerialLink(EvidenceLog(), f"socket://127.0.0.1:{server.getsockname()[1]}",
                      reset=EmulatorReset(emulator))
    link.open(5)
    try:
        emulator.power_on()
        exchange = link.request("get_properties 1 1", timeout=1.0)
        assert exchange.status == "replied", exchange.describe()
        assert exchange.reply.text == 'result 1 1 0 "Acme Labs"'
    finally:
        link.close(5)
        emulator.stop(5)
        server.close()
        relay.join(6)
        os.close(pty)


def test_a_downlink_nothing_answers_is_over_once_sent(mcu: ScriptedMcu,
                                                       link: SerialLink) -> None:
    done: list = []
    asker = threading.Thread(target=lambda: done.append(
        link.request("MIIO_net_change cloud", timeout=1.0, expect=None)))
    asker.start()
    time.sleep(0.05)
    assert mcu.ask("get_down") == "down MIIO_net_change cloud"
    asker.join(2)
    assert done[0].status == "sent" and link.pending == 0
