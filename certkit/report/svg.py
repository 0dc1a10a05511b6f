"""A few SVG shapes written by hand: enough for certkit's charts, no dependency.

    drawing = Svg(400, 200, "title")
    drawing.line(0, 0, 400, 200, stroke="#c00")
    drawing.text(10, 20, "p95 412 ms")
    Path("chart.svg").write_text(drawing.render())

Every shape may carry a tooltip (`tip`), which browsers show on hover.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape, quoteattr

FONT = "font-family=\"DejaVu Sans, Arial, sans-serif\""


def _attrs(attrs: dict[str, object]) -> str:
    return "".join(f" {key.replace('_', '-')}={quoteattr(_fmt(value))}"
                   for key, value in attrs.items() if value is not None)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


class Svg:
    def __init__(self, width: float, height: float, title: str) -> None:
        self.width, self.height = width, height
        self.parts: list[str] = [f"<title>{escape(title)}</title>",
                                 "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>"]

    def _shape(self, tag: str, tip: str | None, **attrs: object) -> None:
        if tip:
            self.parts.append(f"<{tag}{_attrs(attrs)}><title>{escape(tip)}</title></{tag}>")
        else:
            self.parts.append(f"<{tag}{_attrs(attrs)}/>")

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str = "#444",
             width: float = 1, dash: str | None = None, tip: str | None = None) -> None:
        self._shape("line", tip, x1=x1, y1=y1, x2=x2, y2=y2, stroke=stroke,
                    stroke_width=width, stroke_dasharray=dash)

    def rect(self, x: float, y: float, w: float, h: float, fill: str, tip: str | None = None,
             stroke: str | None = None) -> None:
        self._shape("rect", tip, x=x, y=y, width=max(w, 0.0), height=max(h, 0.0), fill=fill,
                    stroke=stroke)

    def circle(self, x: float, y: float, r: float, fill: str, tip: str | None = None) -> None:
        self._shape("circle", tip, cx=x, cy=y, r=r, fill=fill)

    def polyline(self, points: list[tuple[float, float]], stroke: str, width: float = 1.5) -> None:
        shown = " ".join(f"{_fmt(float(x))},{_fmt(float(y))}" for x, y in points)
        self._shape("polyline", None, points=shown, fill="none", stroke=stroke,
                    stroke_width=width)

    def text(self, x: float, y: float, text: str, size: float = 12, anchor: str = "start",
             fill: str = "#222", bold: bool = False) -> None:
        weight = " font-weight=\"bold\"" if bold else ""
        self.parts.append(f"<text{_attrs({'x': x, 'y': y, 'font-size': size})} {FONT}"
                          f"{_attrs({'text-anchor': anchor, 'fill': fill})}{weight}>"
                          f"{escape(text)}</text>")

    def render(self) -> str:
        return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                f"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{_fmt(self.width)}\" "
                f"height=\"{_fmt(self.height)}\" viewBox=\"0 0 {_fmt(self.width)} "
                f"{_fmt(self.height)}\">\n" + "\n".join(self.parts) + "\n</svg>\n")


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `top`: 0, 200, 400... for top 950."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [step * i for i in range(math.ceil(top / step) + 1)]
