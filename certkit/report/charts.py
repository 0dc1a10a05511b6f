"""Latency charts, written beside an instance's evidence: evidence/<instance>.svg.

Every rule instance that measured a time in ms gets one, from its `Measurement`s:

- a series (each sample in the order taken, the limit lines, and a histogram) where it
  measured many: INT-005's 50 cycles, a readvertising delay per cycle, propagation per
  transport pair, poll intervals;
- else a bar per figure against its own limit (a reply time, a connect-to-ready delay):
  a histogram of one or two values would say nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from certkit.evidence import Measurement
from certkit.report.record import write_atomically
from certkit.report.svg import Svg, nice_ticks

WIDTH, LEFT, RIGHT = 900, 70, 30
SERIES_TOP, SERIES_H = 92, 250
HIST_TOP, HIST_H = 412, 170
HEIGHT = 632
BINS = 20
ZOOM_BELOW = 0.25  # the highest sample under this share of the lowest limit: zoom in
LIMIT_COLOURS = ("#c62828", "#ef6c00", "#6a1b9a")
SAMPLE, OVER = "#1565c0", "#c62828"


@dataclass(frozen=True)
class Series:
    name: str
    samples: tuple[float, ...]           # in the order taken
    limits: tuple[tuple[str, float], ...]  # (label, ms): drawn as lines
    figures: tuple[tuple[str, float], ...]  # (label, ms): what was measured, e.g. p95
    points: tuple[str, ...] = ()  # what each sample is, when not a cycle ("serial -> ble")


def latency_series(measurements: Sequence[Measurement]) -> Series | None:
    """What to draw for one instance, or None when it measured no latencies worth a chart:
    the ms measurement with the most samples, else its single ms figures of one kind."""
    timed = [m for m in measurements if m.unit == "ms" and math.isfinite(m.value)]
    if not timed:
        return None
    limits = tuple(dict.fromkeys((f"limit of {m.name}: {m.limit}", m.bound) for m in timed
                                 if m.bound is not None))
    with_samples = max(timed, key=lambda m: len(m.samples))
    if len(with_samples.samples) >= 2:
        figures = tuple((f"{m.name} {m.value:g} ms", float(m.value)) for m in timed
                        if not m.samples or m is with_samples)
        return Series(with_samples.name, with_samples.samples, limits, figures)
    # Else one figure per cycle or pair, named alike ("advertising again after disconnect 2",
    # "serial -> mqtt propagation"): three or more make a series.
    stems = {m.name.rstrip("0123456789 ") for m in timed}
    kinds = {stem.split()[-1] for stem in stems}
    if len(timed) < 3 or len(kinds) != 1:
        return None
    limits = tuple(dict.fromkeys((f"limit: {m.limit}", m.bound) for m in timed
                                 if m.bound is not None))
    named = stems.pop() if len(stems) == 1 else kinds.pop()  # "... after disconnect" 1, 2, 3
    return Series(f"{named}, one figure per measurement", tuple(float(m.value)
                  for m in timed), limits, (), tuple(m.name for m in timed))


def latency_chart(title: str, series: Series) -> str:
    samples = series.samples
    highest = max([*samples, *(v for _, v in series.figures), 0.001])
    lowest_limit = min((v for _, v in series.limits), default=None)
    # Samples far below their limits would lie flat along the axis, drift unseen: the scale
    # then fits the samples and the limits are named above it.
    zoomed = lowest_limit is not None and highest < ZOOM_BELOW * lowest_limit
    tallest = highest if zoomed else max([highest, *(v for _, v in series.limits), 1])
    ticks = nice_ticks(tallest * 1.05)
    top = ticks[-1]
    plot_w = WIDTH - LEFT - RIGHT
    over = min((v for _, v in series.limits), default=None)
    drawing = Svg(WIDTH, HEIGHT, title)
    drawing.text(LEFT, 24, title, size=16, bold=True)
    drawing.text(LEFT, 44, f"{series.name}: {len(samples)} samples in the order taken (ms)",
                 size=12, fill="#555")

    def y_of(ms: float) -> float:
        return SERIES_TOP + SERIES_H - ms / top * SERIES_H

    def x_of(index: int) -> float:
        return LEFT + (index + 0.5) / len(samples) * plot_w

    for tick in ticks:
        drawing.line(LEFT, y_of(tick), WIDTH - RIGHT, y_of(tick), stroke="#e0e0e0")
        drawing.text(LEFT - 6, y_of(tick) + 4, f"{tick:g}", size=11, anchor="end")
    drawing.line(LEFT, SERIES_TOP + SERIES_H, WIDTH - RIGHT, SERIES_TOP + SERIES_H)
    drawing.line(LEFT, SERIES_TOP, LEFT, SERIES_TOP + SERIES_H)
    drawing.text(LEFT + plot_w / 2, SERIES_TOP + SERIES_H + 30,
                 "measurement, in the order taken" if series.points else "sample (cycle) number",
                 size=12, anchor="middle")
    step = max(1, len(samples) // 10)
    for index in range(0, len(samples), step):
        drawing.text(x_of(index), SERIES_TOP + SERIES_H + 15, str(index + 1), size=10,
                     anchor="middle")
    drawing.polyline([(x_of(i), y_of(v)) for i, v in enumerate(samples)], stroke="#90caf9")
    for index, value in enumerate(samples):
        colour = OVER if over is not None and value > over else SAMPLE
        drawing.circle(x_of(index), y_of(value), 3.5, colour,
                       tip=f"#{index + 1}: {value:g} ms" + (
                           f" ({series.points[index]})" if series.points else ""))
    if zoomed:
        drawing.text(WIDTH - RIGHT, SERIES_TOP - 8, "above this scale: " + "; ".join(
            label for label, _ in series.limits), size=11, anchor="end", fill=LIMIT_COLOURS[0])
    for n, (label, value) in enumerate(series.limits):
        if value > top:
            continue
        colour = LIMIT_COLOURS[n % len(LIMIT_COLOURS)]
        drawing.line(LEFT, y_of(value), WIDTH - RIGHT, y_of(value), stroke=colour, width=1.5,
                     dash="6 4", tip=label)
        drawing.text(WIDTH - RIGHT - 4, y_of(value) - 4, label, size=11, anchor="end",
                     fill=colour)
    for label, value in series.figures:  # named once in the heading: they may lie close
        drawing.line(LEFT, y_of(value), WIDTH - RIGHT, y_of(value), stroke="#2e7d32",
                     dash="2 3", tip=label)
    if series.figures:
        drawing.text(LEFT, 62, "measured (green dotted): "
                     + "; ".join(label for label, _ in series.figures), size=12,
                     fill="#2e7d32")
    _histogram(drawing, samples, top, series.limits)
    return drawing.render()


def _histogram(drawing: Svg, samples: Sequence[float], top: float,
               limits: Sequence[tuple[str, float]]) -> None:
    plot_w = WIDTH - LEFT - RIGHT
    width = top / BINS
    counts = [0] * BINS
    for value in samples:
        counts[min(int(value / width), BINS - 1)] += 1
    most = max(counts) or 1
    drawing.text(LEFT, HIST_TOP - 12, "histogram (samples per bin of "
                 f"{width:g} ms)", size=12, fill="#555")
    bottom = HIST_TOP + HIST_H
    for tick in nice_ticks(max(most, 4), 4):
        if tick > most:
            break
        if tick != int(tick):  # counts are whole
            continue
        y = bottom - tick / most * HIST_H
        drawing.line(LEFT, y, WIDTH - RIGHT, y, stroke="#eeeeee")
        drawing.text(LEFT - 6, y + 4, f"{tick:g}", size=11, anchor="end")
    for n, count in enumerate(counts):
        x = LEFT + n / BINS * plot_w
        h = count / most * HIST_H
        drawing.rect(x + 1, bottom - h, plot_w / BINS - 2, h, fill=SAMPLE,
                     tip=f"{n * width:g}-{(n + 1) * width:g} ms: {count}")
    for n, (label, value) in enumerate(limits):
        if value > top:
            continue
        x = LEFT + value / top * plot_w
        drawing.line(x, HIST_TOP, x, bottom, stroke=LIMIT_COLOURS[n % len(LIMIT_COLOURS)],
                     width=1.5, dash="6 4", tip=label)
    drawing.line(LEFT, bottom, WIDTH - RIGHT, bottom)
    for tick in nice_ticks(top, 8):
        if tick <= top:
            drawing.text(LEFT + tick / top * plot_w, bottom + 15, f"{tick:g}", size=10,
                         anchor="middle")
    drawing.text(LEFT + plot_w / 2, bottom + 32, "latency (ms)", size=12, anchor="middle")


BAR_TOP, BAR_H, BAR_GAP = 84, 26, 40
BAR_LEFT = 280  # the figures' names stand left of their bars


def figures_chart(title: str, figures: Sequence[Measurement]) -> str:
    """A bar per figure, each on its own scale from 0 to past its limit (the limits differ:
    a 50 ms reply and a 5 s reconnect), the limit a dashed line, a figure over it red."""
    height = BAR_TOP + len(figures) * (BAR_H + BAR_GAP) + 10
    drawing = Svg(WIDTH, height, title)
    drawing.text(LEFT, 24, title, size=16, bold=True)
    drawing.text(LEFT, 44, f"{len(figures)} figure(s) measured (ms), each against its own "
                 "limit (dashed)", size=12, fill="#555")
    plot_w = WIDTH - BAR_LEFT - RIGHT - 190  # room for the value written after the bar
    for n, figure in enumerate(figures):
        y = BAR_TOP + n * (BAR_H + BAR_GAP)
        drawing.text(BAR_LEFT - 10, y + BAR_H / 2 + 4, figure.name, size=12, anchor="end")
        drawing.line(BAR_LEFT, y - 4, BAR_LEFT, y + BAR_H + 4)
        verdict = "ok" if figure.ok else "OUTSIDE the limit"
        if not math.isfinite(figure.value):
            drawing.text(BAR_LEFT + 8, y + BAR_H / 2 + 4, f"not measured (limit: "
                         f"{figure.limit})", size=12, fill=OVER)
            continue
        end = nice_ticks(max(figure.value, figure.bound or 0.0, 0.001) * 1.1, 4)[-1]
        width = figure.value / end * plot_w
        colour = SAMPLE if figure.ok else OVER
        drawing.rect(BAR_LEFT, y, plot_w, BAR_H, fill="#f3f3f3")  # the scale, 0 to `end`
        drawing.rect(BAR_LEFT, y, width, BAR_H, fill=colour,
                     tip=f"{figure.name}: {figure.value:g} ms (limit: {figure.limit}; "
                         f"{verdict})")
        drawing.text(BAR_LEFT + max(width, 0) + 6, y + BAR_H / 2 + 4,
                     f"{figure.value:g} ms, {verdict}", size=12, fill=colour)
        drawing.text(BAR_LEFT, y + BAR_H + 16, "0", size=10, anchor="middle", fill="#555")
        drawing.text(BAR_LEFT + plot_w, y + BAR_H + 16, f"{end:g} ms", size=10,
                     anchor="middle", fill="#555")
        if figure.bound is not None:
            x = BAR_LEFT + figure.bound / end * plot_w
            label = f"limit: {figure.limit}"
            drawing.line(x, y - 6, x, y + BAR_H + 6, stroke=LIMIT_COLOURS[0], width=1.5,
                         dash="6 4", tip=label)
            drawing.text(x, y + BAR_H + 16, label, size=10, anchor="middle",
                         fill=LIMIT_COLOURS[0])
        else:
            drawing.text(BAR_LEFT + plot_w / 2, y + BAR_H + 16, f"limit: {figure.limit}",
                         size=10, anchor="middle", fill=LIMIT_COLOURS[0])
    return drawing.render()


def chart_of(title: str, measurements: Sequence[Measurement]) -> str | None:
    """The instance's latency chart (SVG), or None when it measured no time in ms."""
    series = latency_series(measurements)
    if series is not None:
        return latency_chart(title, series)
    timed = [m for m in measurements if m.unit == "ms"]
    return figures_chart(title, timed) if timed else None


def write_chart(out: Path, evidence_file: Path, title: str,
                measurements: Sequence[Measurement]) -> Path | None:
    """The instance's latency chart beside its evidence (evidence/<instance>.svg), as a path
    relative to the run folder; None when it measured no time in ms."""
    chart = chart_of(title, measurements)
    if chart is None:
        return None
    path = evidence_file.with_suffix(".svg")
    write_atomically(out / path, chart)
    return path
