"""Notifications of one characteristic, handed from the loop thread to the rule's thread.

bleak calls the notification callback on the BLE loop; a rule waits on its
own thread. `Subscription` keeps every notification with the monotonic time
it arrived, so a rule can ask for the first one that matches since a moment
(a write, a change it saw) and measure how long it took.

    subscription = ble.subscribe(uuid)
    ble.write(uuid, data)
    got = subscription.wait(1.0, lambda payload: payload == data, since=written_at)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Subscription:
    """Notifications of one characteristic, handed from the loop to the rule's thread."""

    def __init__(self, uuid: str, label: str) -> None:
        self.uuid = uuid
        self.label = label
        self.started = time.monotonic()
        self._items: list[tuple[float, bytes]] = []
        self._changed = threading.Condition()

    def deliver(self, t: float, data: bytes) -> None:
        with self._changed:
            self._items.append((t, data))
            self._changed.notify_all()

    def received(self, since: float = 0.0) -> list[tuple[float, bytes]]:
        with self._changed:
            return [item for item in self._items if item[0] >= since]

    def wait(self, timeout: float, match: Callable[[bytes], bool] = lambda _: True,
             since: float = 0.0) -> tuple[float, bytes] | None:
        """The first notification at or after `since` that matches, waiting up to `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for t, data in self._items:
                    if t >= since and match(data):
                        return t, data
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)
