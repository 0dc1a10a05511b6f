"""Cutting the MCU's byte stream into lines, whatever the MCU sends.

ECS-1 lines end with CR. A harness that only split on CR would go deaf to a
device that ends its lines with LF, and would buffer forever behind a device
that never ends a line at all. The `Framer` therefore accepts CR and LF,
says which one ended each line, cuts lines that grow past a bound, and
hands out a line whose end never came once the MCU has been quiet for a
while. Judging all that is SER-003's business; the framer only reports it.

Pure and clock-free: callers pass the time in, so it is tested without a port.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from certkit.links.serial.protocol import MAX_LINE_BYTES

Ending = Literal["CR", "LF", "none"]

KEEP_BYTES = 2 * MAX_LINE_BYTES  # bytes of an overlong line kept as evidence
CUT_BYTES = 8 * MAX_LINE_BYTES   # an unterminated run this long is cut into a frame
IDLE_S = 0.5                     # a partial line this old, with nothing after it, is handed out


@dataclass(frozen=True)
class Frame:
    content: bytes   # the line without its ending (at most KEEP_BYTES of it)
    ending: Ending
    t: float         # when its last byte arrived
    length: int      # bytes the line really had, `content` may be shorter
    after_cr: bool = False  # an empty LF frame right after CR: the MCU sends CR LF

    @property
    def truncated(self) -> bool:
        return self.length > len(self.content)


class Framer:
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._length = 0
        self._last_t = 0.0
        self._previous_cr = False

    @property
    def pending(self) -> int:
        """Bytes of a line still waiting for its end."""
        return self._length

    def feed(self, data: bytes, t: float) -> list[Frame]:
        frames: list[Frame] = []
        start = 0
        while start < len(data):
            cr, lf = data.find(b"\r", start), data.find(b"\n", start)
            ends = [i for i in (cr, lf) if i >= 0]
            end = min(ends) if ends else len(data)
            self._take(data[start:end], t, frames)
            if end == len(data):
                break
            ending: Ending = "CR" if data[end] == 0x0D else "LF"
            if ending == "LF" and self._previous_cr and self._length == 0:
                frames.append(Frame(b"", "LF", t, 0, after_cr=True))
            else:
                frames.append(self._emit(ending, t))
            self._previous_cr = ending == "CR"
            start = end + 1
        if start < len(data):
            self._previous_cr = False
        self._last_t = t
        return frames

    def _take(self, chunk: bytes, t: float, frames: list[Frame]) -> None:
        while chunk:
            room = CUT_BYTES - self._length
            part, chunk = chunk[:room], chunk[room:]
            keep = KEEP_BYTES - len(self._buffer)
            if keep > 0:
                self._buffer += part[:keep]
            self._length += len(part)
            if self._length >= CUT_BYTES:
                frames.append(self._emit("none", t))

    def _emit(self, ending: Ending, t: float) -> Frame:
        frame = Frame(bytes(self._buffer), ending, t, self._length)
        self._buffer.clear()
        self._length = 0
        return frame

    def flush_idle(self, now: float, idle_s: float = IDLE_S) -> Frame | None:
        """The partial line, once nothing has arrived for `idle_s` after it."""
        if self._length and now - self._last_t >= idle_s:
            self._previous_cr = False
            return self._emit("none", self._last_t)
        return None


def describe(frame: Frame) -> str:
    """The frame as evidence: printable ASCII as is, other bytes as \\xNN, the ending noted."""
    shown = "".join(chr(b) if 0x20 <= b <= 0x7E and b != 0x5C else f"\\x{b:02x}"
                    for b in frame.content)
    notes = []
    if frame.after_cr:
        notes.append("LF after CR")
    elif frame.ending != "CR":
        notes.append("ends with LF" if frame.ending == "LF" else "no line end")
    if frame.truncated:
        notes.append(f"{frame.length} bytes, first {len(frame.content)} shown")
    return shown + (f"  [{'; '.join(notes)}]" if notes else "")
