"""The pure parts: line grammar, values, results, framing, samples and traffic analysis."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certkit.links.serial import analysis, protocol
from certkit.links.serial.framing import CUT_BYTES, Framer, describe
from certkit.links.serial.module import judge
from certkit.links.serial.protocol import LineError, Token, parse_line
from certkit.links.serial.samples import invalid_samples, valid_value
from certkit.profile.values import other_valid_value, same_value

# ------------------------------------------------------------------ grammar


@pytest.mark.parametrize("line", [
    b"model acme.kettle.k1",
    b"mcu_version 0142",
    b"get_down",
    b"net",
    b"result 2 1 0 true 2 2 0 55.5 1 1 0 \"Acme Labs\"",
    b"result 2 9 -4003",
    b"properties_changed 2 1 false 2 3 70",
    b"event_occured 2 1 2 99.5",
    b"event_occured 2 1",
    b"error \"heater fault\" -5001",
])
def test_well_formed_lines_parse(line: bytes) -> None:
    parsed = parse_line(line)
    assert parsed.text == line.decode()


@pytest.mark.parametrize("line, column, words", [
    (b"get_d\x00own", 6, "0x00 (NUL) is not printable"),
    ("temp\u00e9rature".encode(), 5, "0xc3 is not printable"),
    (b"get_down  x", 10, "two spaces"),
    (b" get_down", 1, "starts with a space"),
    (b"get_down ", 9, "ends with a space"),
    (b"flush", 1, "unknown command `flush`"),
    (b'error "open', 7, "not closed"),
    (b'error "a"b -5001', 10, "right after a closing double quote"),
    (b"properties_changed 2 1 abc", 24, "`abc` is not a value"),
    (b"properties_changed 2 x true", 22, "`x` is not an integer"),
    (b"mcu_version 142", 13, "not 4 digits"),
    (b'error "x" -4001', 11, "outside -9999..-5000"),
])
def test_malformed_lines_name_the_column(line: bytes, column: int, words: str) -> None:
    with pytest.raises(LineError) as caught:
        parse_line(line)
    assert caught.value.column == column
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"column {column}: ")


def test_limits_of_a_line() -> None:
    with pytest.raises(LineError, match="513 bytes long, limit 512"):
        parse_line(b"properties_changed " + b"1" * 494)
    many = b"properties_changed" + b" 2 1 true" * 22  # 66 parameters
    with pytest.raises(LineError, match="66 parameters, limit 64"):
        parse_line(many)
    with pytest.raises(LineError, match="takes no parameters"):
        parse_line(b"get_down now")
    with pytest.raises(LineError, match="triplets"):
        parse_line(b"properties_changed 2 1")


# ------------------------------------------------------------------- values


def test_values_decode_per_format(kettle) -> None:
    on, temperature, target = (kettle.property(2, p) for p in (1, 2, 3))
    assert protocol.decode_value(Token("true", 1, "bool"), on) is True
    assert protocol.decode_value(Token("55", 1, "int"), temperature) == 55.0
    assert protocol.decode_value(Token("70", 1, "int"), target) == 70
    with pytest.raises(LineError, match="`70.5` is not a uint8 value"):
        protocol.decode_value(Token("70.5", 9, "float"), target)
    with pytest.raises(LineError, match="not a bool value"):
        protocol.decode_value(Token("1", 1, "int"), on)


@pytest.mark.parametrize("value, fmt, text", [
    (True, "bool", "true"), (70, "uint8", "70"), (55.0, "float", "55.0"),
    (0.1, "float", "0.1"), (-40, "int16", "-40"), ("Acme Labs", "string", '"Acme Labs"'),
    (1e-7, "float", "0.0"),
])
def test_values_encode_as_section_5_writes_them(value, fmt, text) -> None:
    assert protocol.encode_value(value, fmt) == text


def test_strings_with_quotes_cannot_be_sent() -> None:
    with pytest.raises(ValueError):
        protocol.encode_value('say "hi"')


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.booleans(), st.integers(-2**31, 2**31 - 1),
                 st.floats(-1e6, 1e6, allow_nan=False).map(lambda f: round(f, 3)),
                 st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E,
                                       blacklist_characters='"'), max_size=40)))
def test_values_survive_the_wire(value) -> None:
    fmt = {bool: "bool", int: "int32", float: "float", str: "string"}[type(value)]
    wire = protocol.encode_value(value, fmt)
    token = parse_line(f"properties_changed 2 1 {wire}".encode()).params[2]
    prop = type("P", (), {"format": fmt, "label": "x"})()
    assert same_value(fmt, protocol.decode_value(token, prop), value)


# ------------------------------------------------------------------ results


def test_get_result_entries_carry_values_only_with_code_0() -> None:
    line = parse_line(b"result 2 1 0 true 2 9 -4003 2 2 0 55.5")
    entries = protocol.read_result(line, "get")
    assert [(e.key, e.code, e.value.text if e.value else None) for e in entries] == [
        ("2.1", 0, "true"), ("2.9", -4003, None), ("2.2", 0, "55.5")]


def test_set_and_action_results() -> None:
    assert [e.key for e in protocol.read_result(parse_line(b"result 2 1 0 2 3 -4005"), "set")] \
        == ["2.1", "2.3"]
    entry, = protocol.read_result(parse_line(b"result 2 1 0 4 1"), "action")
    assert entry.outputs[0][0] == 4 and entry.outputs[0][1].text == "1"
    with pytest.raises(LineError, match="code 0 but no value"):
        protocol.read_result(parse_line(b"result 2 1 0"), "get")


def test_reports_are_chunked_within_the_line_limits() -> None:
    items = [(2, piid, '"' + "x" * 30 + '"') for piid in range(1, 40)]
    lines = protocol.chunk_reports(items)
    assert len(lines) > 1
    for line in lines:
        parse_line(line.encode())  # within 512 bytes and 64 parameters


def test_downlinks() -> None:
    assert protocol.get_properties([(2, 1), (2, 2)]) == "get_properties 2 1 2 2"
    assert protocol.set_properties([(2, 3, "70")]) == "set_properties 2 3 70"
    assert protocol.action(2, 1, [(3, "90")]) == "action 2 1 3 90"
    assert protocol.net_change("cloud") == "MIIO_net_change cloud"


# ------------------------------------------------------------------ framing


def test_framer_splits_on_cr_across_chunks() -> None:
    framer = Framer()
    assert framer.feed(b"get_d", 1.0) == []
    first, second = framer.feed(b"own\rnet\rmod", 1.1)
    assert (first.content, first.ending, second.content) == (b"get_down", "CR", b"net")
    assert framer.pending == 3


def test_framer_reports_lf_and_crlf() -> None:
    frames = Framer().feed(b"get_down\nnet\r\n", 1.0)
    assert [(f.content, f.ending, f.after_cr) for f in frames] == [
        (b"get_down", "LF", False), (b"net", "CR", False), (b"", "LF", True)]
    assert "ends with LF (0x0a) at column 9" in judge(frames[0]).problem
    assert judge(frames[0]).line.command == "get_down"  # still understood, and answered
    assert "right after CR" in judge(frames[2]).problem


def test_framer_hands_out_lines_that_never_end() -> None:
    framer = Framer()
    framer.feed(b"get_do", 1.0)
    assert framer.flush_stale(1.2) is None
    stale = framer.flush_stale(1.6)
    assert (stale.content, stale.ending) == (b"get_do", "none")
    assert "no line end" in judge(stale).problem
    for i in range(12):  # a babbling MCU: bytes every 0.3 s, never a line end
        framer.feed(b"x", 2.0 + 0.3 * i)
        aged = framer.flush_stale(2.0 + 0.3 * i)
        if aged:
            break
    assert aged is not None and aged.length == 5  # handed out once 1 s old


def test_framer_bounds_a_flood_without_line_ends() -> None:
    framer = Framer()
    frames = framer.feed(b"7" * (CUT_BYTES * 3 + 10), 1.0)
    assert len(frames) == 3 and all(f.truncated and f.length == CUT_BYTES for f in frames)
    assert "first 1024 shown" in describe(frames[0])
    assert "is 4096 bytes" not in (judge(frames[0]).problem or "")
    assert "4096 bytes with no line end" in judge(frames[0]).problem


def test_evidence_shows_every_byte() -> None:
    frame, = Framer().feed(b"a\x00\xc3\\b\r", 1.0)
    assert describe(frame) == "a\\x00\\xc3\\x5cb"


# ------------------------------------------------------------------ samples


def test_samples(kettle) -> None:
    on, target, status = (kettle.property(2, p) for p in (1, 3, 4))
    assert other_valid_value(on, False) is True
    assert other_valid_value(target, 100) != 100 and target.check_value(
        other_valid_value(target, 100)) is None
    assert valid_value(status) == 0
    texts = [s.text for s in invalid_samples(target)]
    assert texts == ["101", "39", "true"]
    for sample in invalid_samples(target) + invalid_samples(on) + invalid_samples(status):
        token = parse_line(f"properties_changed 2 1 {sample.text}".encode()).params[2]
        prop = {"101": target, "39": target}.get(sample.text, None)
        if prop:
            assert prop.check_value(protocol.decode_value(token, prop))


# ----------------------------------------------------------------- analysis


def test_poll_stats_count_the_window_edges_as_gaps() -> None:
    stats = analysis.poll_stats([10.1, 10.3, 10.5, 10.7], 10.0, 12.0)
    assert stats.count == 4
    assert stats.median_ms == pytest.approx(200)
    assert stats.max_gap_ms == pytest.approx(1300)  # from the last poll to the window's end
    assert analysis.poll_stats([], 0, 3).median_ms is None


def _lines(*texts: tuple[float, str]):
    return [(t, parse_line(text.encode())) for t, text in texts]


def test_report_problems(kettle) -> None:
    found = analysis.reports(_lines((1.0, "properties_changed 2 1 true 1 1 \"x\" 2 9 1"),
                                    (1.1, "properties_changed 2 2 200.0")))
    problems = analysis.report_problems(kettle, found)
    assert len(problems) == 3
    assert "no notify access" in problems[0]
    assert "does not declare" in problems[1]
    assert "outside the value-range" in problems[2]


def test_self_reports_are_rate_limited_but_excused_after_sets(kettle) -> None:
    found = analysis.reports(_lines(*[(1.0 + 0.1 * i, f"properties_changed 2 2 {50 + i}.0")
                                      for i in range(5)]))
    labels = {"2.2": "kettle.temperature"}
    bursts = analysis.self_report_bursts(found, [], 1000, labels)
    assert bursts and "kettle.temperature" in bursts[0] and "closest 100 ms" in bursts[0]
    excused = [analysis.Excuse(0.9, 2.0)]
    assert analysis.self_report_bursts(found, excused, 1000, labels) == []
    spaced = analysis.reports(_lines((1.0, "properties_changed 2 2 50.0"),
                                     (1.995, "properties_changed 2 2 50.5")))
    assert analysis.self_report_bursts(spaced, [], 1000, labels) == []  # within tolerance


def test_a_report_of_a_value_just_set_is_excused_however_the_firmware_prints_it() -> None:
    # The set sent 40.5; firmware printing %.2f reports 40.50: the same value (variant
    # serial:fixed-decimals). Reports of another value are still counted.
    found = analysis.reports(_lines((1.0, "properties_changed 2 7 40.50"),
                                    (1.05, "properties_changed 2 7 41.00")))
    excuse = analysis.Excuse(0.9, 2.0, "2.7", "40.5")
    assert [excuse.covers(r) for r in found] == [True, False]
    assert analysis.same_wire_value("true", "true")
    assert not analysis.same_wire_value("true", "false")
    assert not analysis.same_wire_value('"40.5"', "40.5")  # a string is not the number


def test_event_checks(kettle) -> None:
    lines = _lines((1.0, "event_occured 2 1 2 99.5"), (1.1, "event_occured 2 7"),
                   (1.2, "event_occured 2 1"), (1.3, "event_occured 2 1 2 500.0"))
    problems = analysis.event_problems(kettle, lines)
    assert len(problems) == 3
    assert "does not declare" in problems[0]
    assert "arguments none, declared [2]" in problems[1]
    assert "outside the value-range" in problems[2]
    assert analysis.event_bursts([1.0, 1.2, 1.4], 3) == []
    assert analysis.event_bursts([1.0, 1.2, 1.4, 1.6], 3) == ["4 events within 600 ms"]


def test_the_protocol_docstring_holds() -> None:
    import doctest

    assert doctest.testmod(protocol).failed == 0
