"""Link.add_cleanup: what a rule starts on a link's behalf stops when the link closes, each
within a deadline, and a cleanup that fails or hangs is a bench fault, never an exception."""

from __future__ import annotations

import threading

from certkit.evidence import EvidenceLog
from certkit.links.base import Link


class _Recording(Link):
    """The smallest real link: it notes when its own teardown runs."""

    transport = "serial"

    def __init__(self, evidence: EvidenceLog, events: list[str]) -> None:
        super().__init__(evidence)
        self.events = events
        self.close_timeout: float | None = None

    def _open(self, timeout: float) -> None:
        pass

    def _close(self, timeout: float) -> None:
        self.close_timeout = timeout
        self.events.append("link teardown")


def _open_link(events: list[str]) -> _Recording:
    link = _Recording(EvidenceLog(), events)
    link.open(1.0)
    return link


def test_cleanups_run_last_registered_first_before_the_links_own_teardown():
    events: list[str] = []
    link = _open_link(events)
    link.add_cleanup(lambda: events.append("first registered"))
    link.add_cleanup(lambda: events.append("second registered"))
    link.close(2.0)
    link.close(2.0)  # idempotent: nothing runs twice
    assert events == ["second registered", "first registered", "link teardown"]
    assert link.bench_faults_between(0.0, float("inf")) == []


def test_without_cleanups_the_teardown_has_the_whole_close_timeout():
    link = _open_link([])
    link.close(2.0)
    assert link.close_timeout is not None and link.close_timeout > 1.9


def test_a_failing_cleanup_is_a_bench_fault_and_the_rest_still_run():
    events: list[str] = []
    link = _open_link(events)

    def broken() -> None:
        raise OSError("the second client's socket is gone")

    link.add_cleanup(lambda: events.append("earlier cleanup"))
    link.add_cleanup(broken)
    link.close(2.0)  # raises nothing
    assert events == ["earlier cleanup", "link teardown"]
    faults = link.bench_faults_between(0.0, float("inf"))
    assert [f.kind for f in faults] == ["cleanup"]
    assert "OSError: the second client's socket is gone" in faults[0].text
    assert any("BENCH FAULT (serial cleanup)" in item.text for item in link.evidence.since(0))


def test_a_cleanup_that_hangs_is_left_behind_as_a_bench_fault():
    events: list[str] = []
    link = _open_link(events)
    release = threading.Event()
    link.add_cleanup(lambda: release.wait(30))
    link.close(0.4)
    assert events == ["link teardown"]  # the close went on past the stuck cleanup
    faults = link.bench_faults_between(0.0, float("inf"))
    assert len(faults) == 1 and "did not finish within" in faults[0].text
    release.set()
