"""One asyncio loop in a background thread, and calls into it with deadlines.

The endpoint is asyncio (one task per DUT connection, TLS by the loop's own
machinery); the rules are synchronous pytest code and paho runs threads of
its own. `LoopThread` bridges them: `run(coro, timeout)` waits for a
coroutine's result on the loop for at most `timeout` seconds and cancels it
when time is up, so no call from a rule can hang.

    loop = LoopThread("certkit-mqtt")
    loop.start()
    address = loop.run(endpoint.listen(), timeout=5)
    loop.stop(timeout=2)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Callable, Coroutine, TypeVar

T = TypeVar("T")


class LoopThread:
    def __init__(self, name: str) -> None:
        self.name = name
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """The coroutine's result; TimeoutError (after cancelling it) past `timeout`."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout=max(timeout, 0.0))
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"{self.name}: no result within {timeout:.1f} s") from None

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        self.loop.call_soon_threadsafe(fn, *args)

    def stop(self, timeout: float) -> None:
        """Cancels what is left on the loop and ends the thread, within `timeout`."""
        if not self._thread.is_alive():
            return

        async def _cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=max(timeout / 2, 0.05)) if tasks else None

        try:
            self.run(_cancel_all(), timeout / 2)
        except (TimeoutError, RuntimeError):
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout / 2)
        if not self._thread.is_alive():
            self.loop.close()


def bounded(fn: Callable[[], Any], timeout: float, name: str) -> bool:
    """Runs a blocking call that has no timeout of its own (paho's loop_stop joins
    forever) in a helper thread; True when it finished within `timeout`."""
    done = threading.Thread(target=fn, name=name, daemon=True)
    done.start()
    done.join(max(timeout, 0.0))
    return not done.is_alive()
