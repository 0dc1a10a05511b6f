"""PRF-001: the profile is one well-formed, safe YAML 1.2 document.

Every broken input must come back as a PRF-001 finding at the line and
column of the problem, never as an exception; YAML 1.2 scalars (`on`,
`yes`, `0x..`, `0o..`, `0142`) must resolve as YAML 1.2 says.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from certkit.design import lint_text
from tests.design.conftest import EXAMPLES

# --------------------------------------------------------------- the examples


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_profiles_are_clean(path: Path, check) -> None:
    result = lint_text(path.read_text(encoding="utf-8"), path)
    check.clean(result)


# ------------------------------------------------------- not one YAML mapping


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "   \n# c\n"],
                         ids=["empty", "blank-lines", "comment", "spaces-and-comment"])
def test_empty_document(text: str, check) -> None:
    check.only(lint_text(text, Path("p.yaml")), "PRF-001", at=(1, 1), says=["empty"])


@pytest.mark.parametrize("text, kind", [
    ("- certkit: 1\n- standard: ECS-1.0\n", "array"),
    ("just a line of text\n", "string"),
    ("42\n", "integer"),
    ("~\n", "null"),
])
def test_top_level_is_not_a_mapping(text: str, kind: str, check) -> None:
    check.only(lint_text(text, Path("p.yaml")), "PRF-001", at=(1, 1),
               says=["mapping", kind])


def test_top_level_list_of_a_whole_profile(kettle, check) -> None:
    text = "- " + kettle.text.replace("\n", "\n  ")
    check.only(lint_text(text, Path("p.yaml")), "PRF-001", at=(1, 1), says=["mapping"])


# ------------------------------------------------------------------- aliases


def test_alias_is_refused_at_the_alias(kettle, check) -> None:
    source = kettle.edit("  hardware: B\n", "  hardware: &hw B\n") \
                   .edit("  power: mains\n", "  power: *hw\n")
    check.only(source.lint(), "PRF-001", at=source.where("  power: *hw", "*hw"),
               says=["alias", "*hw"])


def test_anchor_without_alias_is_harmless(kettle, check) -> None:
    check.clean(kettle.edit("  hardware: B\n", "  hardware: &hw B\n").lint())


def test_alias_bomb_is_refused_quickly(check) -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    text = "\n".join(lines) + "\n"
    result = lint_text(text, Path("bomb.yaml"))
    check.only(result, "PRF-001", at=(2, 8), says=["alias"])


# ---------------------------------------------------------------------- tags


@pytest.mark.parametrize("tagged", [
    "!!python/object:os.system {}",
    '!!python/object/apply:os.system ["echo pwned"]',
    "!!python/name:os.system",
    "!!python/tuple [1, 2]",
    "!!binary aGVsbG8=",
    "!!timestamp 2001-12-14",
    "!!set {a, b}",
    "!!omap [{a: 1}]",
    "!local B",
    "!<tag:example.com,2024:thing> B",
    "!!bool yes",
])
def test_non_core_tag_is_refused_at_the_tag(tagged: str, kettle, check) -> None:
    source = kettle.edit("  hardware: B\n", f"  hardware: {tagged}\n")
    check.only(source.lint(), "PRF-001", at=source.where(f"  hardware: {tagged}", "!"),
               says=["tag"])


@pytest.mark.parametrize("tagged, value", [
    ("!!str B", "B"),
    ("!!str 42", "42"),
    ("!!str on", "on"),
    ('!!str "B"', "B"),
])
def test_core_str_tag_is_accepted(tagged: str, value: str, kettle, check) -> None:
    result = kettle.edit("  hardware: B\n", f"  hardware: {tagged}\n").lint()
    check.clean(result)
    assert result.profile.device.hardware == value


# ------------------------------------------------------------ duplicate keys


def test_duplicate_key_in_block_mapping(kettle, check) -> None:
    source = kettle.edit("  hardware: B\n", "  hardware: B\n  hardware: C\n")
    check.only(source.lint(), "PRF-001", at=source.where("  hardware: C", "hardware"),
               says=["duplicate", "hardware"])


def test_duplicate_key_in_flow_mapping(kettle, check) -> None:
    old = "{piid: 5, name: keep-warm, format: bool, access: [read, write, notify]}"
    new = "{piid: 5, name: keep-warm, format: bool, piid: 6, access: [read, write, notify]}"
    source = kettle.edit(old, new)
    check.only(source.lint(), "PRF-001", at=source.where(new, "piid: 6"),
               says=["duplicate", "piid"])


def test_duplicate_key_quoted_and_plain(kettle, check) -> None:
    """`on` and "on" are the same key: both are the string on in YAML 1.2."""
    old = 'zh-CN: "艾克米智能水壶"}'
    new = 'zh-CN: "艾克米智能水壶", on: a, "on": b}'
    source = kettle.edit(old, new)
    check.only(source.lint(), "PRF-001", at=source.where(new, '"on"'),
               says=["duplicate", "on"])


def test_duplicate_top_level_key(kettle, check) -> None:
    source = kettle.append("certkit: 1\n")
    line = source.text.count("\n")  # the appended line is the last one
    check.only(source.lint(), "PRF-001", at=(line, 1), says=["duplicate", "certkit"])


# ------------------------------------------------------------ two documents


def test_two_documents(kettle, check) -> None:
    source = kettle.append("---\ncertkit: 1\n")
    line = source.text.count("\n") - 1  # the line of the second `---`
    check.only(source.lint(), "PRF-001", at=(line, 1), says=["document"])


def test_second_empty_document(kettle, check) -> None:
    source = kettle.append("---\n")
    line = source.text.count("\n")
    check.only(source.lint(), "PRF-001", at=(line, 1), says=["document"])


@pytest.mark.parametrize("before, after", [
    ("---\n", ""),
    ("", "...\n"),
    ("---\n", "...\n"),
    ("%YAML 1.2\n---\n", ""),
], ids=["start-marker", "end-marker", "both-markers", "yaml-directive"])
def test_one_document_with_markers_is_fine(before: str, after: str, kettle, check) -> None:
    check.clean(lint_text(before + kettle.text + after, Path("p.yaml")))


# ------------------------------------------------------ tabs, syntax errors


def test_tab_indentation(kettle, check) -> None:
    source = kettle.edit("  hardware: B\n", "\thardware: B\n")
    check.only(source.lint(), "PRF-001", at=source.where("\thardware: B"),
               says=["character"])


def test_mapping_value_not_allowed(kettle, check) -> None:
    source = kettle.edit("  hardware: B\n", "  hardware: B: C\n")
    check.only(source.lint(), "PRF-001", at=source.where("  hardware: B: C", ": C"),
               says=["mapping values"])


def test_bad_indentation(kettle, check) -> None:
    source = kettle.edit("  hardware: B\n", "  hardware: B\n   extra: x\n")
    check.only(source.lint(), "PRF-001", at=source.where("   extra: x", ": x"),
               says=["mapping values"])


def test_complex_key(kettle, check) -> None:
    source = kettle.append("? [a, b]\n: 1\n")
    line = source.text.count("\n") - 1
    check.only(source.lint(), "PRF-001", at=(line, 3), says=["key"])


def test_unclosed_flow_sequence(kettle, check) -> None:
    source = kettle.edit("    services: [2]\n", "    services: [2\n")
    result = source.lint()
    check.only(result, "PRF-001", count=1)
    opened, _ = source.where("    services: [2\n")
    assert opened <= result.findings[0].line <= source.text.count("\n") + 1


def test_unclosed_quoted_string(kettle, check) -> None:
    source = kettle.edit("  hardware: B\n", '  hardware: "B\n')
    result = source.lint()
    check.only(result, "PRF-001", count=1)
    opened, _ = source.where('  hardware: "B')
    assert opened <= result.findings[0].line <= source.text.count("\n") + 1


def test_parse_errors_stop_everything_else(kettle) -> None:
    result = kettle.edit("  hardware: B\n", "  hardware: B: C\n").lint()
    assert result.checked == {"PRF-001"}
    assert result.profile is None and not result.ok
    assert "not checked: the profile failed PRF-001" in result.why_not_checked("DSN-001")


# ----------------------------------------- hostile input: findings, not crashes


def test_control_character_is_reported_where_it_is(kettle, check) -> None:
    """BUG: with libyaml, ReaderError.position is a byte offset into the
    UTF-8 encoding, but yaml12.load_yaml treats it as a character index, so
    after any non-ASCII text (the kettle's zh-CN name) the line and column
    are wrong."""
    source = kettle.edit("  hardware: B\n", "  hardware: B\x07\n")
    check.only(source.lint(), "PRF-001", at=source.where("  hardware: B\x07", "\x07"),
               says=["0007"])


@pytest.mark.parametrize("text, at", [
    ("a: 1\nb: \x07\n", (2, 4)),
    ("a: \u00e9\nb: \x07\n", (2, 4)),
    ("a: \u827e\u514b\nb: x\x1b\n", (2, 5)),
    ("a: \U0001F600 \x7f\n", (1, 6)),
], ids=["ascii", "latin1-before", "cjk-before", "emoji-same-line"])
def test_control_character_position_counts_characters(text: str, at, check) -> None:
    check.only(lint_text(text, Path("p.yaml")), "PRF-001", at=at, count=1)


def test_deep_nesting_is_a_finding_not_a_recursion_error(kettle, check) -> None:
    """A few hundred nested flow collections once made PyYAML's composer
    recurse until RecursionError escaped lint_text."""
    depth = 1000
    source = kettle.edit("  hardware: B\n", f"  hardware: {'[' * depth}{']' * depth}\n")
    result = source.lint()
    assert result.findings and not result.crashed
    assert {f.rule for f in result.findings} <= {"PRF-001", "PRF-002"}
    line, _ = source.where("  hardware: [[[")
    assert result.findings[0].line == line


def test_huge_decimal_integer_is_a_finding_not_a_value_error(kettle, check) -> None:
    """More than 4300 decimal digits once made `int(text, 10)` raise
    ValueError (Python's int max_str_digits) out of lint_text."""
    digits = "1" * 5000
    source = kettle.edit("  hardware: B\n", f"  hardware: {digits}\n")
    result = source.lint()
    assert result.findings and not result.crashed
    assert {f.rule for f in result.findings} <= {"PRF-001", "PRF-002"}
    assert result.findings[0].line == source.where(f"  hardware: {digits}")[0]


def test_lone_surrogate_in_text_is_a_finding() -> None:
    """BUG (minor): lint_text hashes `text.encode()`, which raises
    UnicodeEncodeError on a lone surrogate before anything is parsed."""
    result = lint_text("certkit: 1\nstandard: \ud800\n", Path("p.yaml"))
    assert result.findings and not result.crashed


# ------------------------------------------------------- YAML 1.2 scalars


@pytest.mark.parametrize("word", ["on", "off", "yes", "no", "y", "n", "On", "OFF", "Yes", "NO"])
def test_yaml11_booleans_are_strings(word: str, kettle, check) -> None:
    result = kettle.edit("  hardware: B\n", f"  hardware: {word}\n").lint()
    check.clean(result)
    assert result.profile.device.hardware == word


@pytest.mark.parametrize("word", ["true", "True", "TRUE", "false", "False", "FALSE"])
def test_yaml12_booleans_are_booleans(word: str, kettle, check) -> None:
    source = kettle.edit("  hardware: B\n", f"  hardware: {word}\n")
    check.only(source.lint(), "PRF-002", at=source.where(f"  hardware: {word}", word),
               says=["/device/hardware", "boolean"])


@pytest.mark.parametrize("word", ["~", "null", "Null", "NULL", ""])
def test_yaml12_nulls(word: str, kettle, check) -> None:
    source = kettle.edit("  hardware: B\n", f"  hardware: {word}\n")
    check.only(source.lint(), "PRF-002", says=["/device/hardware", "null"])


@pytest.mark.parametrize("word", ["2001-12-14", "1:20", "1_000", "0b101", "0X1F", "+0x10",
                                  "=", "<<"])
def test_yaml11_only_scalars_are_strings(word: str, kettle, check) -> None:
    """Timestamps, sexagesimals, underscores, binary and upper-case 0X are
    YAML 1.1 only: in YAML 1.2 they are plain strings."""
    result = kettle.edit("  hardware: B\n", f"  hardware: {word}\n").lint()
    check.clean(result)
    assert result.profile.device.hardware == word


def test_the_property_named_on_is_a_string(kettle, check) -> None:
    result = kettle.lint()
    check.clean(result)
    assert result.profile.property(2, 1).name == "on"


def test_a_key_named_on_is_a_string_key(kettle, check) -> None:
    old = 'zh-CN: "艾克米智能水壶"}'
    result = kettle.edit(old, 'zh-CN: "艾克米智能水壶", on: off, yes: no, true: x}').lint()
    check.clean(result)
    assert result.profile.device.name["on"] == "off"
    assert result.profile.device.name["yes"] == "no"
    assert result.profile.device.name["true"] == "x"


def test_an_unknown_top_level_key_on_is_reported_as_on(kettle, check) -> None:
    source = kettle.append("on: 1\n")
    check.only(source.lint(), "PRF-002", at=(source.text.count("\n"), 1),
               says=["/on", "unknown key 'on'"])


@pytest.mark.parametrize("written, value", [
    ("0x0142", 0x0142), ("0xffff", 0xFFFF), ("0xFFFF", 0xFFFF), ("0o777", 0o777),
    ("0142", 142), ("00", 0), ("+17", 17), ("0o0", 0),
])
def test_yaml12_integers(written: str, value: int, kettle, check) -> None:
    """`0x` hex and `0o` octal are integers; `0142` is decimal 142 (not 1.1 octal)."""
    result = kettle.edit("    product-id: 0x0142\n", f"    product-id: {written}\n").lint()
    check.clean(result)
    assert result.profile.transports.ble.product_id == value


def test_hex_company_id_of_the_example(kettle) -> None:
    assert kettle.lint().profile.transports.ble.company_id == 0xFFFF


@pytest.mark.parametrize("written", ["0b11", "0X10", "0o8", "0xG1", "1_0", "-0x10"])
def test_not_yaml12_integers_are_strings(written: str, kettle, check) -> None:
    source = kettle.edit("    product-id: 0x0142\n", f"    product-id: {written}\n")
    check.only(source.lint(), "PRF-002", at=source.where(f"product-id: {written}", written),
               says=["/transports/ble/product-id", "integer", "string"])


def test_mcu_version_unquoted_is_an_integer(kettle, check) -> None:
    source = kettle.edit('  mcu-version: "0142"\n', "  mcu-version: 0142\n")
    check.only(source.lint(), "PRF-002", at=source.where("mcu-version: 0142", "0142"),
               says=["/device/mcu-version", "string", "integer", "quote"])


@pytest.mark.parametrize("written", [".inf", "-.inf", ".Inf", ".NAN", ".nan", "1e39"])
def test_yaml12_special_floats_are_floats(written: str, kettle, check) -> None:
    """They load as floats; a float range with them breaks DSN-005, not the loader."""
    source = kettle.add_property(
        f"{{piid: 6, name: level, format: float, value-range: [0, {written}, 1], "
        "access: [read]}")
    check.only(source.lint(), "DSN-005")
