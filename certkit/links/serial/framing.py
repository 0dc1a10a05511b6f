"""Cutting the MCU's byte stream into lines, whatever the MCU sends.

ECS-1 lines end with CR. A harness that only split on CR would go deaf to a
device that ends its lines with LF, and would buffer forever behind a device
that never ends a line at all. The `Framer` therefore accepts CR and LF,
says which one ended each line, cuts lines that grow past a bound, and
hands out a line whose end never came once the MCU has been quiet for a
while, or once the line has been growing for longer than any line takes to
send (512 bytes take 44 ms at 115200 baud, half a second at 9600). Judging
all that is SER-003's business; the framer only reports it.

Pure and clock-free: callers pass the time in, so it is tested without a port.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

from certkit.links.serial.protocol import MAX_LINE_BYTES

Ending = Literal["CR", "LF", "none"]

KEEP_BYTES = 2 * MAX_LINE_BYTES  # bytes of an overlong line kept as evidence
CUT_BYTES = 8 * MAX_LINE_BYTES   # an unterminated run this long is cut into a frame
_PLAIN = re.compile(rb"[\x20-\x5b\x5d-\x7e]*")  # printable ASCII but the backslash

IDLE_S = 0.5      # a partial line with nothing after it for this long is handed out
MAX_AGE_S = 1.0   # ... and so is one still growing this long after its first byte


class Frame(NamedTuple):
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
        self._first_t = 0.0
        self._previous_cr = False

    @property
    def pending(self) -> int:
        """Bytes of a line still waiting for its end."""
        return self._length

    def feed(self, data: bytes, t: float) -> list[Frame]:
        if (not self._length and data[-1:] == b"\r" and data.count(b"\r") == 1
                and b"\n" not in data and len(data) <= KEEP_BYTES):
            # The common case, one whole CR line in one read: no bookkeeping needed.
            self._previous_cr = True
            self._last_t = t
            return [Frame(data[:-1], "CR", t, len(data) - 1)]
        frames: list[Frame] = []
        start = 0
        has_lf = b"\n" in data
        while start < len(data):
            end = data.find(b"\r", start)
            if has_lf:
                lf = data.find(b"\n", start)
                if lf >= 0 and (end < 0 or lf < end):
                    end = lf
            if end < 0:
                end = len(data)
            if end > start:
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
            if not self._length:
                self._first_t = t
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

    def flush_stale(self, now: float, idle_s: float = IDLE_S,
                    max_age_s: float = MAX_AGE_S) -> Frame | None:
        """The partial line, once idle for `idle_s` or older than `max_age_s`."""
        if self._length and (now - self._last_t >= idle_s or now - self._first_t >= max_age_s):
            self._previous_cr = False
            return self._emit("none", self._last_t)
        return None


def describe(frame: Frame) -> str:
    """The frame as evidence: printable ASCII as is, other bytes as \\xNN, the ending noted."""
    if frame.ending == "CR" and frame.length == len(frame.content) and _PLAIN.fullmatch(
            frame.content):
        return frame.content.decode("ascii")
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
