"""The live estimate when a run takes longer than its plan said: it says so, never
"0:00 left" while a rule instance still runs, nor a negative time."""

from __future__ import annotations

import io
import re

from certkit.design import lint_file
from certkit.plan import make_plan
from certkit.report.progress import Progress, clock, typical_s
from tests.support.paths import KETTLE


def _progress(patterns: tuple[str, ...]) -> tuple[Progress, list]:
    instances = make_plan(lint_file(KETTLE).profile, patterns).instances
    progress = Progress("live", io.StringIO(), width=lambda: 200)
    progress.begin(instances)
    return progress, instances


def _back(progress: Progress, seconds: float) -> None:
    """As if the run and the instance running now had started `seconds` earlier (the
    display reads the monotonic clock: no test waits for minutes to pass)."""
    progress.started -= seconds
    progress.current_since -= seconds


def test_the_last_instance_past_its_estimate_says_so():
    progress, instances = _progress(("SER-001",))
    try:
        (ser_001,) = instances
        planned = typical_s(ser_001.rule)
        progress.started_instance(ser_001)
        assert re.fullmatch(r"\[0/1\] 0:00 elapsed, ~0:0[1-9] left \| SER-001 \(serial\) 0 s",
                            progress.status())
        _back(progress, planned + 75)
        assert progress.left_s() == 0.0 and progress.over_s() > 75
        status = progress.status()
        assert re.fullmatch(r"\[0/1\] \d:\d\d elapsed, 1:1[56] over the plan's estimate \| "
                            r"SER-001 \(serial\) \d+ s", status), status
        assert "left" not in status and "-" not in status.split("|")[0]
        progress.finished_instance(ser_001.id, "pass", "", planned + 75)
        assert progress.over_s() == 0.0 and "~0:00 left" in progress.status()
    finally:
        progress.end()


def test_an_instance_past_its_estimate_with_others_to_come():
    """While instances remain, what is left is theirs: the one running now adds nothing
    once past its own estimate, and the estimate shown stays positive."""
    progress, instances = _progress(("SER-00[12]",))
    try:
        first, second = instances
        progress.started_instance(first)
        _back(progress, typical_s(first.rule) + 30)
        assert progress.over_s() > 30
        assert progress.left_s() == typical_s(second.rule)
        assert "over the plan's estimate" not in progress.status()
        planned = clock(typical_s(first.rule) + typical_s(second.rule))
        assert re.search(rf"elapsed, ~0:0[1-9] left, past the plan's {planned} \| SER-001",
                         progress.status())
    finally:
        progress.end()
