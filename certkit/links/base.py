"""The link: one connection to the DUT over one transport.

Rules are written against links, never against pyserial, paho or bleak
directly, so a real port, a remote port and an emulator are interchangeable.
A link has an explicit lifecycle (new -> open -> closed), records everything
it sends and receives in the run's evidence log, and every wait it offers
takes a deadline.
"""

from __future__ import annotations

import abc
from typing import ClassVar

from certkit.evidence import EvidenceLog


class LinkStateError(RuntimeError):
    """A link was used outside its lifecycle (a harness bug, so an `error`)."""


class Link(abc.ABC):
    transport: ClassVar[str]

    def __init__(self, evidence: EvidenceLog) -> None:
        self.evidence = evidence
        self.state = "new"

    def open(self, timeout: float) -> None:
        if self.state != "new":
            raise LinkStateError(f"{self.transport} link is {self.state}, cannot open it")
        self._open(timeout)
        self.state = "open"

    def close(self, timeout: float) -> None:
        """Idempotent and bounded by `timeout`: teardown must never hang."""
        if self.state == "open":
            self.state = "closed"
            self._close(timeout)
        self.state = "closed"

    def require_open(self) -> None:
        if self.state != "open":
            raise LinkStateError(f"{self.transport} link is {self.state}, not open")

    def record(self, direction: str, text: str, at: float | None = None) -> None:
        self.evidence.record(self.transport, direction, text, at)

    @abc.abstractmethod
    def _open(self, timeout: float) -> None: ...

    @abc.abstractmethod
    def _close(self, timeout: float) -> None: ...
