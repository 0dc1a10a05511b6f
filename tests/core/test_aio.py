"""The loop thread that bridges synchronous rules to asyncio (bleak and bumble, the MQTT
endpoint), and `bounded` for blocking calls: every wait has a deadline."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from certkit.links.aio import LoopStopped, LoopThread, bounded, within


@pytest.fixture
def loop():
    thread = LoopThread("test-loop")
    thread.start()
    yield thread
    thread.stop(2.0)


def test_run_returns_the_result(loop):
    async def answer():
        await asyncio.sleep(0.01)
        return 42

    assert loop.run(answer(), timeout=1) == 42


def test_run_cancels_what_overruns(loop):
    cancelled = []

    async def slow():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    started = time.monotonic()
    with pytest.raises(TimeoutError, match="no result within 0.2 s"):
        loop.run(slow(), timeout=0.2)
    assert time.monotonic() - started < 1.0
    time.sleep(0.05)
    assert cancelled == [True]


def test_a_coroutines_own_timeout_keeps_its_message(loop):
    async def gives_up():
        raise TimeoutError("the peripheral did not answer")

    with pytest.raises(TimeoutError, match="the peripheral did not answer"):
        loop.run(gives_up(), timeout=5)


def test_run_from_the_loop_thread_refuses_instead_of_deadlocking(loop):
    async def nested():
        with pytest.raises(RuntimeError, match="wait for itself"):
            loop.run(asyncio.sleep(0), timeout=1)
        return "refused"

    assert loop.run(nested(), timeout=2) == "refused"


def test_stop_is_bounded_even_when_the_loop_is_stuck():
    stuck = LoopThread("stuck")
    stuck.start()
    stuck.call_soon(time.sleep, 1.0)  # a blocking call on the loop: nothing can cancel it
    started = time.monotonic()
    assert stuck.stop(timeout=0.3) is False
    assert time.monotonic() - started < 1.0
    assert stuck.stop(timeout=3.0) is True  # the loop ends once the blocking call returns


def test_run_after_stop_says_so():
    thread = LoopThread("stopped")
    thread.start()
    thread.stop(1.0)
    with pytest.raises(LoopStopped):
        thread.run(asyncio.sleep(0), timeout=1)


def test_within_names_what_it_waited_for():
    async def scenario():
        with pytest.raises(TimeoutError, match="the advertisement: no result"):
            await within(asyncio.sleep(1), 0.05, "the advertisement")

    asyncio.run(scenario())


def test_bounded_says_whether_a_blocking_call_finished_in_time():
    assert bounded(lambda: None, 2.0, "quick") is True
    release = threading.Event()
    assert bounded(lambda: release.wait(30), 0.1, "stuck") is False  # left behind, not waited
    release.set()
