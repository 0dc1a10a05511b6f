"""Measurements as data, latency charts, the run's timeline, the one-file Allure report.

One emulated run (`pictured_run`, conftest.py: design, serial, INT-005 on every
transport, security), its `certkit report --single-file`, each looked at in a real
Chromium, with screenshots in the test artifacts.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from itertools import pairwise
from urllib.parse import quote

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from certkit.evidence import EvidenceLog, Measurement
from certkit.links.base import Link
from certkit.report.charts import chart_of, latency_chart, latency_series
from certkit.report.timeline import Span, timeline_svg, trace_events
from tests.support.chromium import ARTIFACTS, chromium_page
from tests.support.results import read_verdict

SVG = "{http://www.w3.org/2000/svg}"


def _result(verdict: dict, rule: str, instance: str = "") -> dict:
    return next(r for r in verdict["rules"] if r["rule"] == rule and r["instance"] == instance)


def test_measurements_are_data_with_their_samples_in_the_order_taken(pictured_run):
    verdict = read_verdict(pictured_run)
    for transport in ("serial", "mqtt", "ble"):
        result = _result(verdict, "INT-005", transport)
        figures = {m["name"]: m for m in result["measurements"]}
        p95 = figures[f"{transport} p95 latency"]
        assert (p95["unit"], p95["limit"], p95["bound"], p95["ok"]) == (
            "ms", "at most 500 ms", 500.0, True)
        samples = p95["samples"]
        assert len(samples) == 50
        # The samples are those the evidence lists, in cycle order; p95 is made from them.
        evidence = (pictured_run / result["evidence"]).read_text("utf-8")
        listed = re.search(rf"{transport} latencies \(ms, in cycle order\): (.*)", evidence)
        shown = [float(x) for x in listed.group(1).split()]  # to 0.1 ms there
        assert len(shown) == 50 and all(abs(a - b) <= 0.051 for a, b in zip(shown, samples))
        ranked = sorted(samples)
        # (the value is rounded to 0.1 ms from the sample as taken, the sample to 0.001 ms)
        assert abs(p95["value"] - ranked[math.ceil(0.95 * 50) - 1]) <= 0.051
        assert abs(figures[f"{transport} max latency"]["value"] - ranked[-1]) <= 0.051
        assert figures[f"{transport} cycles confirmed"] == {
            "name": f"{transport} cycles confirmed", "value": 50, "unit": "count",
            "limit": "all 50", "bound": None, "ok": True, "samples": []}
    reply = _result(verdict, "SER-001")["measurements"]
    assert [m["name"] for m in reply] == ["model after reset", "mcu_version after reset"]
    assert _result(verdict, "DSN-001")["measurements"] == []


def test_measurements_are_allure_parameters_and_attachments(pictured_run):
    verdict = read_verdict(pictured_run)
    samples = _result(verdict, "INT-005", "mqtt")["measurements"][1]["samples"]
    results = [json.loads(path.read_text("utf-8"))
               for path in (pictured_run / "allure-results").glob("*-result.json")]
    result = next(r for r in results if r["name"].startswith("INT-005[mqtt] "))
    parameters = {p["name"]: p["value"].strip("'") for p in result["parameters"]}
    p95 = parameters["mqtt p95 latency"]
    assert re.fullmatch(r"\d+(\.\d)? ms \(limit: at most 500 ms; ok\)", p95), p95
    assert parameters["mqtt cycles confirmed"] == "50 count (limit: all 50; ok)"
    attached = {a["name"]: a for a in result["attachments"]}
    assert attached["latency chart"]["type"] == "image/svg+xml"
    table = (pictured_run / "allure-results" / attached[
        "mqtt p95 latency samples (ms, in the order taken)"]["source"]).read_text("utf-8")
    assert table.splitlines() == ["sample,value"] + [
        f"{n},{value:g}" for n, value in enumerate(samples, 1)]


def test_latency_charts_beside_the_evidence(pictured_run):
    verdict = read_verdict(pictured_run)
    result = _result(verdict, "INT-005", "serial")
    assert result["chart"] == "evidence/INT-005[serial].svg"
    chart = ET.parse(pictured_run / result["chart"]).getroot()
    samples = result["measurements"][1]["samples"]
    dots = [c.find(f"{SVG}title").text for c in chart.iter(f"{SVG}circle")]
    assert dots == [f"#{n}: {value:g} ms" for n, value in enumerate(samples, 1)]
    # The emulator answers in a millisecond or two: the scale fits the samples, the limits
    # are named above it (test_chart_limit_lines draws them on the scale).
    texts = [t.text for t in chart.iter(f"{SVG}text")]
    assert ("above this scale: limit of serial p95 latency: at most 500 ms; limit of serial "
            "max latency: at most 1000 ms") in texts
    bars = [r for r in chart.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert sum(int(b.find(f"{SVG}title").text.rsplit(": ", 1)[1]) for b in bars) == 50
    # Two different figures: a bar each against its limit (test_single_figures_as_bars).
    bars = ET.parse(pictured_run / _result(verdict, "SER-001")["chart"]).getroot()
    assert [r.find(f"{SVG}title").text.split(":")[0] for r in bars.iter(f"{SVG}rect")
            if r.find(f"{SVG}title") is not None] == ["model after reset",
                                                      "mcu_version after reset"]
    assert _result(verdict, "DSN-001")["chart"] is None  # no time measured: no chart
    summary = (pictured_run / "summary.md").read_text("utf-8")
    assert f"[`INT-005[serial]`]({quote('evidence/INT-005[serial].svg')}) serial p95" in summary
    assert "[timeline.svg](timeline.svg)" in summary and "[trace.json](trace.json)" in summary


def test_chart_limit_lines_and_drift():
    """Samples near their limits: both limit lines on the scale, samples over the lower
    limit marked, and the order kept (a device that slows down shows it)."""
    rising = [100.0 + 10 * n for n in range(50)]  # 100 .. 590 ms
    figures = [Measurement("p95 latency", 570.0, "ms", "at most 500 ms", False,
                           tuple(rising), 500.0),
               Measurement("max latency", 590.0, "ms", "at most 1000 ms", True, (), 1000.0)]
    series = latency_series(figures)
    assert series is not None and series.samples == tuple(rising)
    chart = ET.fromstring(latency_chart("drift", series).split("?>", 1)[1])
    limits = [line.find(f"{SVG}title").text for line in chart.iter(f"{SVG}line")
              if line.get("stroke-dasharray") == "6 4"]
    assert limits == ["limit of p95 latency: at most 500 ms",
                      "limit of max latency: at most 1000 ms"] * 2  # cycles, histogram
    dots = list(chart.iter(f"{SVG}circle"))
    heights = [float(c.get("cy")) for c in dots]
    assert heights == sorted(heights, reverse=True)  # rising latency, drawn rising
    over = [c.find(f"{SVG}title").text for c in dots if c.get("fill") == "#c62828"]
    assert over == [f"#{n}: {100 + 10 * (n - 1)} ms" for n in range(42, 51)]


def test_single_figures_as_bars():
    """An instance that measured one or two times (a reply, a reconnect) gets a bar per
    figure on its own scale, with its limit; one over its limit is red, one that could not
    be measured says so; figures of other units are left out."""
    figures = [Measurement("reply time", 42.0, "ms", "at most 500 ms", True, (), 500.0),
               Measurement("cut to new session", 7200.0, "ms", "at most 5000 ms", False, (),
                           5000.0),
               Measurement("cut to will published", math.inf, "ms", "at most 3000 ms", False,
                           (), 3000.0),
               Measurement("advertising data", 25, "bytes", "at most 31 bytes", True, (), 31.0)]
    assert latency_series(figures) is None
    chart = ET.fromstring(chart_of("MQT-008", figures).split("?>", 1)[1])
    bars = {r.find(f"{SVG}title").text: r for r in chart.iter(f"{SVG}rect")
            if r.find(f"{SVG}title") is not None}
    assert list(bars) == ["reply time: 42 ms (limit: at most 500 ms; ok)",
                          ("cut to new session: 7200 ms (limit: at most 5000 ms; OUTSIDE the "
                           "limit)")]
    reply, late = bars.values()
    assert reply.get("fill") == "#1565c0" and late.get("fill") == "#c62828"
    limits = {line.find(f"{SVG}title").text: float(line.get("x1")) for line in
              chart.iter(f"{SVG}line") if line.find(f"{SVG}title") is not None}
    assert list(limits) == ["limit: at most 500 ms", "limit: at most 5000 ms"]
    # Each on its own scale: the bar ends before its limit when within it, past it when not.
    left = float(reply.get("x"))
    assert left + float(reply.get("width")) < limits["limit: at most 500 ms"]
    assert left + float(late.get("width")) > limits["limit: at most 5000 ms"]
    texts = [t.text for t in chart.iter(f"{SVG}text")]
    assert "42 ms, ok" in texts and "7200 ms, OUTSIDE the limit" in texts
    assert "not measured (limit: at most 3000 ms)" in texts and "advertising data" not in texts
    assert chart_of("DSN-001", [figures[-1]]) is None  # no time measured: no chart


def test_a_figure_per_cycle_or_pair_is_a_series():
    """Three or more single figures of one kind (a delay per cycle, per transport pair)
    are drawn in order, named by what they have in common; two kinds are not a series."""
    cycles = [Measurement(f"advertising again after disconnect {n}", 400.0 + n, "ms",
                          "at most 2000 ms", True, (), 2000.0) for n in (1, 2, 3)]
    series = latency_series(cycles)
    assert series.name == "advertising again after disconnect, one figure per measurement"
    assert series.samples == (401.0, 402.0, 403.0)
    assert series.limits == (("limit: at most 2000 ms", 2000.0),)
    pairs = [Measurement(f"{a} -> {b} propagation", 30.0, "ms", "at most 2000 ms", True, (),
                         2000.0) for a, b in (("serial", "mqtt"), ("mqtt", "ble"),
                                              ("ble", "serial"))]
    assert latency_series(pairs).name == "propagation, one figure per measurement"
    assert latency_series(pairs).points == tuple(m.name for m in pairs)
    assert latency_series(cycles[:2] + pairs[:1]) is None


def test_trace_of_the_whole_run(pictured_run):
    trace = json.loads((pictured_run / "trace.json").read_text("utf-8"))
    events = trace["traceEvents"]
    tracks = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    # A track per transport the run used (the kettle's three, not every one installed).
    assert list(tracks.values()) == ["rules", "serial", "mqtt", "ble", "bench", "notes"]
    spans = [e for e in events if e["ph"] == "X"]
    assert [s["name"] for s in spans] == ["DSN-001", "SEC-001", "SER-001", "INT-005[serial]",
                                          "INT-005[mqtt]", "INT-005[ble]"]
    assert {s["args"]["outcome"] for s in spans} == {"pass"}
    assert all(a["ts"] + a["dur"] <= b["ts"] for a, b in pairwise(spans))
    exchanges = [e for e in events if e["ph"] == "i"]
    by_track = {tracks[e["tid"]] for e in exchanges}
    assert {"serial", "mqtt", "ble"} <= by_track
    during = [e for e in exchanges if e["args"]["rule"] == "INT-005[mqtt]"
              and tracks[e["tid"]] == "mqtt"]
    assert any("PUBLISH" in e["args"]["text"] for e in during)


def test_the_timeline_is_attached_to_the_allure_results(pictured_run):
    """The run as a whole is no one test's: its timeline and trace.json are the Allure
    results' global attachments, copies of the run folder's files."""
    results = pictured_run / "allure-results"
    (globals_file,) = results.glob("*-globals.json")
    attached = json.loads(globals_file.read_text("utf-8"))["attachments"]
    assert [(a["name"], a["type"]) for a in attached] == [
        ("timeline of the run", "image/svg+xml"),
        ("trace.json (Chrome trace event format: open it in Perfetto, e.g. vizviewer)",
         "application/json")]
    for attachment, file in zip(attached, ("timeline.svg", "trace.json")):
        assert re.fullmatch(r"[0-9a-f-]{36}-attachment\.(svg|json)", attachment["source"])
        assert (results / attachment["source"]).read_bytes() == (pictured_run / file).read_bytes()


class _BenchLink(Link):
    """A link with nothing behind it: only its bench-fault log is used."""
    transport = "mqtt"

    def _open(self, timeout: float) -> None:
        pass

    def _close(self, timeout: float) -> None:
        pass


def bench_fault_during_a_check() -> tuple[EvidenceLog, list[Span]]:
    """A check's evidence with a bench fault in it, logged as a run logs it (by a link),
    and the check's span."""
    log = EvidenceLog()
    link = _BenchLink(log)
    link.open(1.0)
    link.record("->", "PUBLISH homie/5/k1/kettle/on/set 1", at=log.t0 + 0.2)
    link.bench_fault("broker-exited", "the embedded MQTT broker exited with code -9",
                     at=log.t0 + 0.5)
    return log, [Span("MQT-004", 0.1, 0.9, "error", "bench fault during the check")]


def test_bench_faults_are_marked_on_the_timeline():
    log, spans = bench_fault_during_a_check()
    events = trace_events(log.since(0), spans)["traceEvents"]
    fault = next(e for e in events if e.get("cat") == "bench-fault")
    assert fault["s"] == "g" and fault["ts"] == 500_000 and fault["args"]["rule"] == "MQT-004"
    assert "broker exited" in fault["args"]["text"]
    drawing = ET.fromstring(timeline_svg("run", log.since(0), spans).split("?>", 1)[1])
    marked = [line.find(f"{SVG}title").text for line in drawing.iter(f"{SVG}line")
              if line.get("stroke") == "#d50000"]
    assert marked == [("0.500 s BENCH FAULT (mqtt broker-exited): the embedded MQTT broker "
                       "exited with code -9")]


def test_pictures_and_the_one_file_report_in_chromium(pictured_run):
    report = pictured_run / "allure-report" / "index.html"
    assert sorted(p.name for p in report.parent.iterdir() if p.suffix in (".js", ".css")) == []
    with chromium_page(920, 620) as page:
        page.goto((pictured_run / "evidence" / "INT-005[serial].svg").as_uri())
        assert page.locator("circle").count() == 50
        page.screenshot(path=ARTIFACTS / "chart-int-005-serial.png")
        page.goto((pictured_run / "evidence" / "SER-001.svg").as_uri())
        assert page.locator("rect > title").count() == 2  # a bar per figure
        page.screenshot(path=ARTIFACTS / "chart-ser-001-figures.png")
        page.set_viewport_size({"width": 1400, "height": 400})
        page.goto((pictured_run / "timeline.svg").as_uri())
        assert page.locator("svg > text", has_text="INT-005[serial]").count() == 1
        page.screenshot(path=ARTIFACTS / "timeline.png")

        page.set_viewport_size({"width": 1400, "height": 1000})
        page.goto(report.as_uri())  # from disk: no server
        first = page.get_by_text("2. DSN Design standard").first
        first.wait_for()
        body = page.inner_text("body")
        families = [body.index(name) for name in ("2. DSN", "3. SER", "6. INT", "7. SEC")]
        assert families == sorted(families), body[:2000]
        page.screenshot(path=ARTIFACTS / "allure-single-file-tree.png", full_page=True)
        _open_tree(page, ["6. INT", "all transports",
                          "INT-005 Set-and-confirm cycles meet the latency bar",
                          "INT-005[serial] Set-and-confirm"])
        page.get_by_text("serial p95 latency").first.wait_for()
        body = page.inner_text("body")
        assert "at most 500 ms" in body and "latency chart" in body
        page.screenshot(path=ARTIFACTS / "allure-int-005-parameters.png", full_page=True)
        page.get_by_text("Attachments").first.click()
        page.get_by_text("latency chart").first.click()
        chart = page.locator("img[alt$='-attachment.svg']").first
        chart.wait_for()
        assert chart.evaluate("img => img.complete && img.naturalWidth") == 900
        page.screenshot(path=ARTIFACTS / "allure-int-005-chart.png", full_page=True)

        # The run's timeline, attached to the report as a whole.
        page.goto(report.as_uri())
        page.get_by_text("Global Attachments").first.click()
        page.get_by_text("timeline of the run").first.click()
        timeline = page.locator("img[alt$='-attachment.svg']").first
        timeline.wait_for()
        assert timeline.evaluate("img => img.complete && img.naturalWidth") == 1400
        assert page.get_by_text("trace.json (Chrome trace event format").count() == 1
        page.screenshot(path=ARTIFACTS / "allure-global-timeline.png", full_page=True)
    for name in ("chart-int-005-serial.png", "chart-ser-001-figures.png", "timeline.png",
                 "allure-int-005-parameters.png", "allure-global-timeline.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000


def _open_tree(page, path: list[str]) -> None:
    """Walk the report's tree down to a test. A group may open some levels below it at
    once (clicking one of those would close it again), so a level is clicked only when
    the next one does not show, and each click waits for the next level to show."""
    for name, below in zip(path, [*path[1:], None]):
        if below is None:
            page.get_by_text(name).first.click()
            return
        shown = page.get_by_text(below).first
        try:
            shown.wait_for(state="visible", timeout=1_500)
            continue
        except PlaywrightTimeout:
            pass
        page.get_by_text(name).first.click()
        shown.wait_for(state="visible")
