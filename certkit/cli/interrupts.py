"""Interrupts before a run has somewhere to write its verdict.

From the moment `certkit.cli.main` starts until a run's folder exists,
Ctrl-C and SIGTERM are remembered rather than raised: a run interrupted in
its first half-second still writes a verdict (INCOMPLETE, `complete: false`)
instead of dying in an import with a traceback. A signal the caller ignores
(`certkit run ... &` from a script ignores SIGINT) stays ignored.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

_received: list[int] = []
_previous: dict[int, Any] = {}


def _remember(signum: int, frame: object) -> None:
    _received.append(signum)


def defer() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        current = signal.getsignal(signum)
        if current is signal.SIG_IGN or signum in _previous:
            continue
        _previous[signum] = current
        signal.signal(signum, _remember)


def original(signum: int) -> Any:
    """The handler a deferred signal had before certkit deferred it."""
    return _previous.get(signum, signal.getsignal(signum))


def resume(replace: dict[int, Any] | None = None) -> int | None:
    """Stop deferring: each deferred signal gets its handler back, or the one `replace`
    gives it (so that no moment is left with neither); the first signal received
    meanwhile, if any."""
    for signum, handler in _previous.items():
        signal.signal(signum, (replace or {}).get(signum, handler))
    _previous.clear()
    first = _received[0] if _received else None
    _received.clear()
    return first


def sigint_ignored() -> bool:
    """Whether the caller started certkit with SIGINT ignored (checked after resume())."""
    return signal.getsignal(signal.SIGINT) is signal.SIG_IGN
