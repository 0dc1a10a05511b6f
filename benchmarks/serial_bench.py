"""Benchmarks of the serial module link. Prints figures and ratios; asserts nothing.

    python -m benchmarks.serial_bench [--exchanges N] [--skip-run]

1. Poll exchanges per second (`get_down` -> `down none`) through certkit's
   `SerialLink`, against a bare pyserial loop serving the same pty, and the
   latency the link adds per exchange. The MCU side is a separate process
   (as real firmware is a separate chip) that sends `get_down` and waits
   for the answer, as fast as it can. Goal: link >= 0.8 of the bare rate.
2. Request round trips per second (`link.request(get_properties)` until
   its `result`), against a bare loop that hands out the same downlink and
   waits for the result, with an MCU that polls back to back. The bare loop
   has its next downlink ready by construction; the link hands each answer
   to the rule's thread, which queues the next downlink, and the MCU's next
   poll may come first and get `down none`. At the 100..250 ms poll interval
   of a real MCU that costs nothing measurable.
3. Wall time of `certkit run PROFILE --emulate serial --rules 'SER-*'`
   (kettle), split into what the standard imposes (observation windows),
   what the device paces (waiting for polls, answers, reports) and the rest
   (harness: pytest, evidence, reports), measured in-process by timing the
   link's waits; plus the wall time of the same run as a subprocess.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import multiprocessing
import os
import select
import tempfile
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

import serial

from certkit.evidence import EvidenceLog
from certkit.links.serial.module import SerialLink
from tests.support.cli import run_certkit
from tests.support.paths import KETTLE

REPEATS = 5


# ------------------------------------------------------------ the MCU side


def _mcu(fd: int, count: int, mode: str, results: multiprocessing.connection.Connection) -> None:
    """A fast MCU on the pty master: `count` exchanges, then reports its elapsed time.

    mode "poll": send get_down, wait for its answer.
    mode "request": poll; when a downlink comes, answer it with a result.
    """
    os.set_blocking(fd, True)
    buffer = bytearray()

    def line() -> bytes:
        while True:
            end = buffer.find(b"\r")
            if end >= 0:
                got = bytes(buffer[:end])
                del buffer[:end + 1]
                return got
            chunk = os.read(fd, 4096)
            if not chunk:
                raise EOFError
            buffer.extend(chunk)

    results.recv()  # the module side is ready
    done = 0
    started = time.perf_counter()
    while done < count:
        os.write(fd, b"get_down\r")
        answer = line()
        if mode == "poll":
            done += 1
        elif answer.startswith(b"down get_properties"):
            os.write(fd, b"result 2 1 0 true\r")
            line()  # ok
            done += 1
    results.send(time.perf_counter() - started)


def _with_mcu(count: int, mode: str, serve: Callable[[str, threading.Event], None]) -> float:
    """Runs `serve(port, stop)` on a thread against a forked MCU; the MCU's rate."""
    master, slave = os.openpty()
    tty.setraw(slave)
    port = os.ttyname(slave)
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("fork").Process(
        target=_mcu, args=(master, count, mode, child), daemon=True)
    process.start()
    stop = threading.Event()
    ready = threading.Event()
    server = threading.Thread(target=serve, args=(port, stop, ready), daemon=True)
    server.start()
    ready.wait(10)
    parent.send("go")
    if not parent.poll(120):
        raise RuntimeError("the MCU process did not finish")
    elapsed = parent.recv()
    stop.set()
    server.join(5)
    process.join(5)
    os.close(master)
    os.close(slave)
    return count / elapsed


# ------------------------------------------------------- module-side loops


def _bare_server(downlink: bytes, port: str, stop: threading.Event,
                 ready: threading.Event) -> None:
    """What one would write with pyserial alone: read, split on CR, answer each
    `get_down` with `downlink` and everything else with `ok`."""
    with serial.Serial(port, 115200, timeout=0.05) as ser:
        ready.set()
        buffer = bytearray()
        while not stop.is_set():
            data = ser.read(ser.in_waiting or 1)
            buffer.extend(data)
            while (end := buffer.find(b"\r")) >= 0:
                line = bytes(buffer[:end])
                del buffer[:end + 1]
                ser.write(downlink if line == b"get_down" else b"ok\r")


# The bare loops: polls answered with nothing to do, and one downlink per poll.
_bare_poll_server = functools.partial(_bare_server, b"down none\r")
_bare_request_server = functools.partial(_bare_server, b"down get_properties 2 1\r")


def _raw_poll_server(port: str, stop: threading.Event, ready: threading.Event) -> None:
    """No pyserial at all: select and os.read on the descriptor, the floor for Python."""
    with serial.Serial(port, 115200, timeout=0.05) as ser:
        fd = ser.fileno()
        ready.set()
        buffer = bytearray()
        while not stop.is_set():
            if not select.select([fd], [], [], 0.05)[0]:
                continue
            buffer.extend(os.read(fd, 4096))
            while (end := buffer.find(b"\r")) >= 0:
                line = bytes(buffer[:end])
                del buffer[:end + 1]
                os.write(fd, b"down none\r" if line == b"get_down" else b"ok\r")


def _link_poll_server(port: str, stop: threading.Event, ready: threading.Event) -> None:
    link = SerialLink(EvidenceLog(), port)
    link.open(5)
    ready.set()
    stop.wait()
    link.close(5)


def _link_request_server(port: str, stop: threading.Event, ready: threading.Event) -> None:
    link = SerialLink(EvidenceLog(), port)
    link.open(5)
    ready.set()
    while not stop.is_set():
        link.request("get_properties 2 1", 1.0, delivery_timeout=0.2)
    link.close(5)


def _best_interleaved(count: int, mode: str, *servers: Callable) -> list[float]:
    """Each server's best rate, the tries taken in turns so that load hits all alike."""
    best = [0.0] * len(servers)
    for _ in range(REPEATS):
        for i, server in enumerate(servers):
            best[i] = max(best[i], _with_mcu(count, mode, server))
    return best


def exchange_rates(count: int) -> None:
    print(f"1. poll exchanges (get_down -> down none), {count} per try, best of {REPEATS}")
    bare, link, raw = _best_interleaved(count, "poll", _bare_poll_server, _link_poll_server,
                                        _raw_poll_server)
    _print_rates(bare, link)
    print(f"   (for reference: select + os.read without pyserial {raw:.0f} /s, "
          f"link/raw {link / raw:.2f})")
    print(f"2. request round trips (get_properties -> result), {count // 2} per try")
    bare, link = _best_interleaved(count // 2, "request", _bare_request_server,
                                   _link_request_server)
    _print_rates(bare, link)


def _print_rates(bare: float, link: float) -> None:
    added_us = (1 / link - 1 / bare) * 1e6
    print(f"   bare pyserial loop   {bare:9.0f} /s   ({1e6 / bare:6.1f} us each)")
    print(f"   certkit SerialLink   {link:9.0f} /s   ({1e6 / link:6.1f} us each)")
    print(f"   ratio link/bare      {link / bare:9.2f}     (goal >= 0.80)")
    shown = f"{added_us:9.1f} us per exchange" if added_us > 0 else \
        "     none measurable (the link answers first and keeps its books after)"
    print(f"   latency added        {shown}")


# ------------------------------------------------------------ the whole run


class _WaitClock:
    """Wraps SerialLink's waits to add up where a run's time goes."""

    def __init__(self) -> None:
        self.window = self.polls = self.answers = self.watching = 0.0
        self.exchanges = 0

    def install(self) -> None:
        original_request, original_pause = SerialLink.request, SerialLink.pause
        original_wait_for = SerialLink.wait_for
        clock = self

        def request(link, downlink, timeout, **kwargs):
            started = time.monotonic()
            exchange = original_request(link, downlink, timeout, **kwargs)
            ended = time.monotonic()
            clock.exchanges += 1
            sent = exchange.sent_at or ended
            clock.polls += sent - started
            clock.answers += ended - sent
            return exchange

        def pause(link, seconds):
            started = time.monotonic()
            original_pause(link, seconds)
            clock.window += time.monotonic() - started

        def wait_for(link, match, since, until):
            started = time.monotonic()
            found = original_wait_for(link, match, since, until)
            clock.watching += time.monotonic() - started
            return found

        SerialLink.request, SerialLink.pause = request, pause
        SerialLink.wait_for = wait_for


def run_split() -> None:
    from certkit.cli import main as certkit_main

    print("3. certkit run profiles/acme.kettle.k1.yaml --emulate serial --rules 'SER-*'")
    with tempfile.TemporaryDirectory() as out:
        run = run_certkit(KETTLE, Path(out), "--emulate", "serial", "--rules", "SER-*")
    print(f"   subprocess wall time  {run.seconds:6.2f} s  (exit {run.code}; includes interpreter "
          "start)")
    clock = _WaitClock()
    clock.install()
    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()):
        started = time.monotonic()
        code = certkit_main(["run", str(KETTLE), "--emulate", "serial", "--rules", "SER-*",
                             "--out", out])
        total = time.monotonic() - started
    device = clock.polls + clock.answers + clock.watching
    rest = total - clock.window - device
    print(f"   in-process run        {total:6.2f} s  (exit {code}, {clock.exchanges} exchanges)")
    print(f"   standard's windows    {clock.window:6.2f} s  (SER-002's 3 s poll window; review "
          "minimum)")
    print(f"   device-paced waits    {device:6.2f} s  (polls {clock.polls:.2f}, answers "
          f"{clock.answers:.2f}, boot/reports {clock.watching:.2f})")
    print(f"   the rest (harness)    {rest:6.2f} s  ({rest / total:.0%}: pytest start-up and "
          "plugins, lint, evidence and report files, emulator start/stop)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=5000)
    parser.add_argument("--skip-run", action="store_true", help="skip the certkit run split")
    args = parser.parse_args()
    exchange_rates(args.exchanges)
    if not args.skip_run:
        run_split()


if __name__ == "__main__":
    main()
