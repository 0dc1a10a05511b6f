"""The MIoT module serial protocol of ECS-1 section 5, as pure functions.

No I/O here: this module turns the bytes of one line into a `Line` (or a
`LineError` that names the offending byte and its column), decodes and
encodes property values per format, builds downlinks and reads `result`
lines against the request they answer. The module link, the emulator and
the rules share it, so they cannot disagree on the grammar.

    >>> line = parse_line(b'properties_changed 2 1 true 2 2 25.5')
    >>> line.command, [t.text for t in line.params]
    ('properties_changed', ['2', '1', 'true', '2', '2', '25.5'])
    >>> try:
    ...     parse_line(b'get_down  x')
    ... except LineError as exc:
    ...     print(exc)
    column 10: two spaces in a row (parameters are separated by one space)

Columns are 1-based byte positions in the line, the way an engineer counts
them in a logic-analyser capture.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from certkit.profile.model import Property

MAX_LINE_BYTES = 512
MAX_PARAMETERS = 64
ERROR_CODE_RANGE = (-9999, -5000)  # codes of the MCU's own `error` lines
NET_STATES = ("offline", "local", "cloud", "updating", "uap", "unprov")

# MCU -> module commands and the shape of their parameters; see `_check_shape`.
UPLINK_COMMANDS = ("model", "mcu_version", "get_down", "result", "properties_changed",
                   "event_occured", "net", "error")

_MCU_VERSION = re.compile(r"[0-9]{4}")
_NOT_PRINTABLE = re.compile(rb"[^\x20-\x7e]")

Kind = Literal["string", "bool", "int", "float", "word"]


class LineError(ValueError):
    """A line breaks the section 5 grammar; `column` is where (1-based), 0 if nowhere."""

    def __init__(self, reason: str, column: int = 0) -> None:
        super().__init__(f"column {column}: {reason}" if column else reason)
        self.reason = reason
        self.column = column


class Token(NamedTuple):
    """One parameter as it stood on the wire, with its lexical kind."""

    text: str    # as sent, quotes included for strings
    column: int  # 1-based column of its first byte
    kind: Kind

    @property
    def is_value(self) -> bool:
        return self.kind != "word"

    def as_int(self) -> int:
        if self.kind != "int":
            raise LineError(f"`{self.text}` is not an integer", self.column)
        return int(self.text)

    def value(self) -> bool | int | float | str:
        """The token as a Python value; a bare word is not a value."""
        if self.kind == "string":
            return self.text[1:-1]
        if self.kind == "bool":
            return self.text == "true"
        if self.kind == "int":
            return int(self.text)
        if self.kind == "float":
            return float(self.text)
        raise LineError(f"`{self.text}` is not a value (bool, number or quoted string)",
                        self.column)


@dataclass(frozen=True)
class Line:
    command: str
    params: tuple[Token, ...]

    @property
    def text(self) -> str:
        return " ".join([self.command, *(t.text for t in self.params)])


def _kind(text: str) -> Kind:
    if text == "true" or text == "false":
        return "bool"
    body = text[1:] if text[:1] == "-" else text
    if body.isdigit():
        return "int"
    whole, dot, fraction = body.partition(".")
    if dot and whole.isdigit() and fraction.isdigit():
        return "float"
    return "word"


def tokenize(content: bytes) -> list[Token]:
    """Split a line (without its CR) into tokens, checking bytes and spacing."""
    if len(content) > MAX_LINE_BYTES:
        raise LineError(f"line is {len(content)} bytes long, limit {MAX_LINE_BYTES}")
    if not content:
        raise LineError("empty line")
    bad = _NOT_PRINTABLE.search(content)
    if bad is not None:
        byte = content[bad.start()]
        what = {0x0D: "CR", 0x0A: "LF", 0x00: "NUL"}.get(byte, "")
        name = f"0x{byte:02x}" + (f" ({what})" if what else "")
        raise LineError(f"byte {name} is not printable ASCII", bad.start() + 1)
    text = content.decode("ascii")
    if '"' not in text and "  " not in text and text[0] != " " and text[-1] != " ":
        # No strings and single spaces: split, and count columns as we go.
        tokens = []
        column = 1
        for part in text.split(" "):
            tokens.append(Token(part, column, _kind(part)))
            column += len(part) + 1
        return tokens
    tokens = []
    pos = 0
    while True:
        if pos == len(text):
            raise LineError("the line ends with a space", pos)
        if text[pos] == " ":
            raise LineError("two spaces in a row (parameters are separated by one space)"
                            if pos else "the line starts with a space", pos + 1)
        if text[pos] == '"':
            close = text.find('"', pos + 1)
            if close < 0:
                raise LineError("string is not closed by a double quote", pos + 1)
            end = close + 1
            if end < len(text) and text[end] != " ":
                raise LineError("text right after a closing double quote", end + 1)
            tokens.append(Token(text[pos:end], pos + 1, "string"))
        else:
            space = text.find(" ", pos)
            end = len(text) if space < 0 else space
            quote = text.find('"', pos, end)
            if quote >= 0:
                raise LineError("double quote inside a bare parameter", quote + 1)
            tokens.append(Token(text[pos:end], pos + 1, _kind(text[pos:end])))
        if end == len(text):
            return tokens
        pos = end + 1


# MCUs repeat themselves (`get_down` ten times a second): remember recent lines.
@functools.lru_cache(maxsize=512)
def parse_line(content: bytes) -> Line:
    """A well-formed MCU line (section 5), or `LineError` saying where it is not."""
    tokens = tokenize(content)
    head, params = tokens[0], tuple(tokens[1:])
    if head.kind != "word" or head.text not in UPLINK_COMMANDS:
        raise LineError(f"unknown command `{head.text[:40]}`", head.column)
    if len(params) > MAX_PARAMETERS:
        raise LineError(f"{len(params)} parameters, limit {MAX_PARAMETERS}",
                        params[MAX_PARAMETERS].column)
    line = Line(head.text, params)
    _check_shape(line)
    return line


def _expect_count(line: Line, allowed: Iterable[int] | None = None, *, at_least: int = 0,
                  multiple: int = 1, offset: int = 0, what: str) -> None:
    count = len(line.params)
    ok = (count in allowed) if allowed is not None else (
        count >= at_least and (count - offset) % multiple == 0)
    if not ok:
        raise LineError(f"`{line.command}` takes {what}, got {count} parameter(s)")


def _check_shape(line: Line) -> None:
    p = line.params
    if line.command in ("get_down", "net"):
        _expect_count(line, (0,), what="no parameters")
    elif line.command == "model":
        _expect_count(line, (1,), what="one parameter (the model)")
        if p[0].kind == "string":
            raise LineError("the model is written bare, not quoted", p[0].column)
    elif line.command == "mcu_version":
        _expect_count(line, (1,), what="one parameter (4 digits)")
        if not _MCU_VERSION.fullmatch(p[0].text):
            raise LineError(f"`{p[0].text}` is not 4 digits", p[0].column)
    elif line.command == "result":
        _expect_count(line, at_least=3, what="<siid> <iid> <code> ...")
        for token in p[:3]:
            token.as_int()
        _all_values(p[3:])
    elif line.command == "properties_changed":
        _expect_count(line, at_least=3, multiple=3, what="<siid> <piid> <value> triplets")
        for i in range(0, len(p), 3):
            p[i].as_int(), p[i + 1].as_int()
        _all_values(p)
    elif line.command == "event_occured":
        _expect_count(line, at_least=2, multiple=2, what="<siid> <eiid> [<piid> <value> ...]")
        for i in range(0, len(p), 2):
            p[i].as_int()
        _all_values(p)
    elif line.command == "error":
        _expect_count(line, (2,), what='"<message>" <code>')
        if p[0].kind != "string":
            raise LineError("the error message must be a quoted string", p[0].column)
        code = p[1].as_int()
        low, high = ERROR_CODE_RANGE
        if not low <= code <= high:
            raise LineError(f"error code {code} is outside {low}..{high}", p[1].column)


def _all_values(tokens: Iterable[Token]) -> None:
    for token in tokens:
        if not token.is_value:
            raise LineError(f"`{token.text[:40]}` is not a value (bool, number or quoted "
                            "string)", token.column)


# ------------------------------------------------------------------ values


def decode_value(token: Token, prop: Property) -> bool | int | float | str:
    """The token read as a value of `prop`'s format (not yet checked against range or list).

    Raises `LineError` when the token's type does not fit the format: a
    float property accepts an integer token, nothing else is converted.
    """
    fmt = prop.format
    fits = {"bool": ("bool",), "string": ("string",), "float": ("int", "float")}.get(
        fmt, ("int",))
    if token.kind not in fits:
        raise LineError(f"`{token.text[:40]}` is not a {fmt} value for {prop.label}",
                        token.column)
    value = token.value()
    return float(value) if fmt == "float" else value


def encode_value(value: Any, fmt: str | None = None) -> str:
    """A value as section 5 writes it: true/false, decimal numbers, quoted strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and fmt != "float":
        return str(value)
    if isinstance(value, (int, float)):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{value!r} cannot be written on the serial link")
        text = f"{number:.6f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    if isinstance(value, str):
        if any(c in value for c in '"\r\n'):
            raise ValueError(f"string {value!r} holds a double quote, CR or LF")
        return f'"{value}"'
    raise TypeError(f"cannot encode {value!r}")


# --------------------------------------------------------------- downlinks


def get_properties(props: Iterable[tuple[int, int]]) -> str:
    return "get_properties " + " ".join(f"{s} {p}" for s, p in props)


def set_properties(assignments: Iterable[tuple[int, int, str]]) -> str:
    """`assignments` carry values already encoded, so invalid ones can be sent on purpose."""
    return "set_properties " + " ".join(f"{s} {p} {v}" for s, p, v in assignments)


def action(siid: int, aiid: int, args: Iterable[tuple[int, str]] = ()) -> str:
    return " ".join(["action", str(siid), str(aiid), *(f"{p} {v}" for p, v in args)])


def net_change(state: str) -> str:
    if state not in NET_STATES[:3]:
        raise ValueError(f"MIIO_net_change takes offline, local or cloud, not {state!r}")
    return f"MIIO_net_change {state}"


MCU_VERSION_REQUEST = "MIIO_mcu_version_req"


# ----------------------------------------------------------------- results


@dataclass(frozen=True)
class Entry:
    """One entry of a `result` line: a property (or, for actions, the action) and its code."""

    siid: int
    iid: int
    code: int
    value: Token | None = None                  # get: the value when code is 0
    outputs: tuple[tuple[int, Token], ...] = ()  # action: the out values

    @property
    def key(self) -> str:
        return f"{self.siid}.{self.iid}"


def read_result(line: Line, kind: Literal["get", "set", "action"]) -> list[Entry]:
    """The entries of a `result` line, read as the answer to a request of `kind`.

    A get entry is `<siid> <piid> <code>` followed by a value when the code is
    0; a set entry has no value; an action result is one entry followed by
    `<piid> <value>` pairs. Raises `LineError` when the line cannot be read so.
    """
    if line.command != "result":
        raise LineError(f"expected a `result` line, got `{line.command}`")
    p = line.params
    if kind == "action":
        if (len(p) - 3) % 2:
            raise LineError("action result outputs must be <piid> <value> pairs",
                            p[-1].column)
        outputs = tuple((p[i].as_int(), p[i + 1]) for i in range(3, len(p), 2))
        return [Entry(p[0].as_int(), p[1].as_int(), p[2].as_int(), outputs=outputs)]
    entries: list[Entry] = []
    i = 0
    while i < len(p):
        if i + 3 > len(p):
            raise LineError(f"entry {len(entries) + 1} is cut short: "
                            "<siid> <piid> <code> expected", p[i].column)
        siid, iid, code = p[i].as_int(), p[i + 1].as_int(), p[i + 2].as_int()
        i += 3
        value = None
        if kind == "get" and code == 0:
            if i >= len(p):
                raise LineError(f"entry {len(entries) + 1} ({siid}.{iid}) has code 0 "
                                "but no value")
            value = p[i]
            i += 1
        entries.append(Entry(siid, iid, code, value))
    return entries


def chunk_reports(items: list[tuple[int, int, str]], max_items: int = MAX_PARAMETERS // 3
                  ) -> list[str]:
    """`properties_changed` lines for (siid, piid, encoded value) items, each within limits."""
    lines: list[str] = []
    current: list[str] = []
    for siid, piid, value in items:
        part = f"{siid} {piid} {value}"
        candidate = " ".join(["properties_changed", *current, part])
        if current and (len(current) >= max_items or len(candidate) > MAX_LINE_BYTES):
            lines.append(" ".join(["properties_changed", *current]))
            current = []
        current.append(part)
    if current:
        lines.append(" ".join(["properties_changed", *current]))
    return lines
