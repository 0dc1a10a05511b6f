"""One asyncio loop on a background thread, and calls into it with deadlines.

Every link built on asyncio libraries uses it: BLE (bleak and bumble: the
stack, the emulator, bleak's scanners and clients live on one loop, because
bumble objects belong to the loop that created them) and MQTT (the endpoint,
one task per DUT connection, TLS by the loop's own machinery). certkit's rules
are synchronous pytest code: a rule calls into the loop with
`run(coro, timeout)`: the coroutine runs on the loop, the caller waits at most
`timeout` seconds, and a coroutine that overruns is cancelled, so no call from
a rule can hang.

    loop = LoopThread("certkit-ble")
    loop.start()
    value = loop.run(client.read_gatt_char(char), timeout=5)
    loop.stop(timeout=2)

Callbacks that the libraries fire on the loop (advertisements, notifications,
disconnections) must only hand data over to the rule's thread (a
`queue.Queue`, a `threading.Event`): never call `run` from the loop thread,
which would wait for itself. `run` refuses that with a `RuntimeError` instead
of deadlocking. `bounded` gives a blocking call with no timeout of its own
(paho's loop_stop joins forever) a deadline.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopStopped(RuntimeError):
    """The loop is not running (never started, or stopped)."""


class LoopThread:
    def __init__(self, name: str) -> None:
        self.name = name
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._started = threading.Event()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._started.set)
        try:
            self.loop.run_forever()
            # Whatever is still pending gets its cancellation delivered before the end.
            pending = asyncio.all_tasks(self.loop)
            for task in pending:
                task.cancel()
            if pending:
                self.loop.run_until_complete(asyncio.wait(pending, timeout=0.5))
        finally:
            self._started.set()

    def start(self, timeout: float = 5.0) -> None:
        self._thread.start()
        if not self._started.wait(timeout):
            raise LoopStopped(f"{self.name}: the loop did not start within {timeout:.1f} s")

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and self.loop.is_running()

    @property
    def on_loop_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """The coroutine's result, or TimeoutError (after cancelling it) past `timeout`."""
        if self.on_loop_thread:
            coro.close()
            raise RuntimeError(f"{self.name}: run() called from the loop's own thread "
                               "would wait for itself; await the coroutine instead")
        if not self.running:
            coro.close()
            raise LoopStopped(f"{self.name}: the loop is not running")
        # A bare lock rather than run_coroutine_threadsafe's chained futures: a GATT
        # read is about a millisecond, so the hand-over between threads must be cheap.
        done = threading.Lock()
        done.acquire()
        tasks: list[asyncio.Task[T]] = []

        def start() -> None:
            task = self.loop.create_task(coro)
            task.add_done_callback(lambda _: done.release())
            tasks.append(task)

        self.loop.call_soon_threadsafe(start)
        if not done.acquire(timeout=max(timeout, 0.0)):
            def cancel() -> None:
                if tasks:
                    tasks[0].cancel()
                else:
                    coro.close()  # never started
            try:
                self.loop.call_soon_threadsafe(cancel)
            except RuntimeError:
                pass
            raise TimeoutError(f"{self.name}: no result within {timeout:.3g} s")
        task = tasks[0]
        if task.cancelled():
            raise TimeoutError("the operation was cancelled (the loop is shutting down)")
        return task.result()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start a coroutine on the loop without waiting for it."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        self.loop.call_soon_threadsafe(fn, *args)

    def stop(self, timeout: float) -> bool:
        """Cancel what is left on the loop and end the thread within `timeout`.

        Returns True when the thread ended; a loop stuck in a blocking call is
        left behind as a daemon thread rather than hanging the caller.
        """
        if not self._thread.is_alive():
            if not self.loop.is_running() and not self.loop.is_closed():
                self.loop.close()  # never started, or ended by itself after a stuck stop
            return True
        if self.on_loop_thread:
            raise RuntimeError(f"{self.name}: stop() called from the loop's own thread")

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=max(timeout / 3, 0.05))

        try:
            self.run(cancel_all(), timeout / 2)
        except (TimeoutError, RuntimeError):
            pass
        try:
            self.loop.call_soon_threadsafe(self.loop.stop)
        except RuntimeError:  # already closed
            pass
        self._thread.join(max(timeout / 2, 0.05))
        if self._thread.is_alive():
            return False
        self.loop.close()
        return True


async def within(awaitable: Awaitable[T], timeout: float, what: str) -> T:
    """`await` with a deadline whose TimeoutError names what was being waited for."""
    try:
        return await asyncio.wait_for(awaitable, max(timeout, 0.0))
    except TimeoutError:
        raise TimeoutError(f"{what}: no result within {timeout:.3g} s") from None


def bounded(fn: Callable[[], Any], timeout: float, name: str) -> bool:
    """Runs a blocking call that has no timeout of its own (paho's loop_stop joins
    forever) in a helper thread; True when it finished within `timeout`."""
    done = threading.Thread(target=fn, name=name, daemon=True)
    done.start()
    done.join(max(timeout, 0.0))
    return not done.is_alive()
