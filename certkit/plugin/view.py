"""The run as people see it: the progress display in place of pytest's terminal reporting,
each instance's span for the timeline, the verdict table at the end.

A pytest plugin object the certkit plugin registers for a run (`RunView(run, progress)`);
`progress` is None with `certkit run -v` (pytest's own reporting, `--certkit-progress
pytest`): the spans and the timeline are made either way.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from certkit.plugin.collect import INSTANCE
from certkit.report import terminal
from certkit.report.progress import Progress, operator_line
from certkit.report.timeline import Span, write_timeline

if TYPE_CHECKING:
    from certkit.plan import Instance
    from certkit.plugin.run import CertkitRun


class RunView:
    def __init__(self, run: CertkitRun, progress: Progress | None) -> None:
        self.run = run
        self.progress = progress
        self.by_node: dict[str, Instance] = {}  # by node id
        self.starts: dict[str, float] = {}
        self.spans: list[Span] = []

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.progress is None:
            return
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:  # no dots, no closing line of pytest's own counts
            session.config.pluginmanager.unregister(reporter)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        instances = []
        for item in session.items:
            instance = item.stash.get(INSTANCE, None)
            if instance is not None:
                self.by_node[item.nodeid] = instance
                instances.append(instance)
        if self.progress is not None and not self.run.refused:
            self.progress.begin(instances)

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        instance = self.by_node.get(nodeid)
        if instance is None:
            return
        self.starts[nodeid] = time.monotonic()
        if self.progress is not None:
            self.progress.started_instance(instance)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        instance = self.by_node.get(nodeid)
        result = self.run.record.results.get(instance.id) if instance is not None else None
        if instance is None or result is None or nodeid not in self.starts:
            return
        end = time.monotonic()
        shown = self.run.judged(instance, result.outcome, result.message)
        t0 = self.run.evidence.t0
        self.spans.append(Span(instance.id, self.starts[nodeid] - t0, end - t0, shown,
                               result.message))
        if self.progress is not None:
            self.progress.finished_instance(instance.id, shown, result.message,
                                            end - self.starts[nodeid])

    @pytest.hookimpl(trylast=True)  # after the certkit plugin wrote the verdict
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        run = self.run
        if run.refused:
            if self.progress is not None:
                self.progress.end()
            return
        model = run.profile.device.model if run.profile else run.lint.path.stem
        results = getattr(session.config.option, "allure_report_dir", None)
        try:  # attached to the Allure results too, as the run's global attachments
            write_timeline(run.out, f"certkit run of {model}", run.evidence.since(0), self.spans,
                           Path(results) if results else None)
        except OSError as exc:
            operator_line(f"certkit: the timeline could not be written to {run.out}: "
                          f"{exc.strerror}", problem=True)
        if self.progress is not None:
            self.progress.verdict(terminal.summary_lines(run.record, run.lint))

    def pytest_unconfigure(self) -> None:
        if self.progress is not None:
            self.progress.close()
