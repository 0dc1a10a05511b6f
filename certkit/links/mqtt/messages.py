"""What the broker delivers to certkit's controller, kept in order with waits on it.

Every message is kept with its arrival time (monotonic), topic, payload, QoS
and retain flag. `MessageLog.wait_for` blocks until a message after a mark
matches, or a deadline passes; it wakes on each arrival, never polls, so a
set-and-echo through the link costs what paho costs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from certkit.links.mqtt.homie import render


@dataclass(frozen=True)
class Message:
    """One message the broker delivered to certkit."""

    t: float  # monotonic
    topic: str
    payload: bytes
    qos: int
    retain: bool

    def describe(self) -> str:
        return f"{self.topic} qos={self.qos} retain={int(self.retain)} {render(self.payload)}"


class MessageLog:
    """Append-only and thread-safe; `wait_for` blocks until a matching message or the deadline."""

    def __init__(self) -> None:
        self._items: list[Message] = []
        self._latest: dict[str, Message] = {}
        self._added = threading.Condition()

    def add(self, message: Message) -> None:
        with self._added:
            self._items.append(message)
            self._latest[message.topic] = message
            self._added.notify_all()

    def mark(self) -> int:
        with self._added:
            return len(self._items)

    def since(self, mark: int) -> list[Message]:
        with self._added:
            return self._items[mark:]

    def latest(self, topic: str) -> Message | None:
        with self._added:
            return self._latest.get(topic)

    def wait_for(self, match: Callable[[Message], bool], deadline: float,
                 mark: int = 0) -> Message | None:
        with self._added:
            seen = mark
            while True:
                while seen < len(self._items):
                    if match(self._items[seen]):
                        return self._items[seen]
                    seen += 1
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._added.wait(remaining)
