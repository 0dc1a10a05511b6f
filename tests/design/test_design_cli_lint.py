"""`certkit lint` on the command line (`python -m certkit lint`), as a user runs it.

Exit codes: 0 no mandatory finding, 1 mandatory findings, 2 a profile that
cannot be read or a usage error. Text lines are
`<path>:<line>:<column>: error|warning: <RULE-ID> <message>`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.design.conftest import EXAMPLES, Kettle

LINE = re.compile(r"^(?P<path>.+):(?P<line>\d+):(?P<column>\d+): (?P<severity>error|warning): "
                  r"(?P<rule>[A-Z]{3}-\d{3}) "
                  r"(?P<message>\S.*)$")


def _broken(kettle: Kettle) -> Kettle:
    """Two mandatory findings: DSN-001 (model) and DSN-012 (timing)."""
    return kettle.edit("  model: acme.kettle.k1\n", "  model: Acme.Kettle.K1\n") \
                 .edit("timing: {reply-ms: 500}", "timing: {reply-ms: 2000}")


def test_examples_exit_0(run_lint) -> None:
    assert len(EXAMPLES) == 5
    done = run_lint(*EXAMPLES)
    assert done.code == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""


def test_examples_in_json_are_an_empty_list(run_lint) -> None:
    done = run_lint("--format=json", *EXAMPLES)
    assert done.code == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_text_format(kettle, run_lint, tmp_path: Path) -> None:
    source = _broken(kettle)
    path = source.write(tmp_path, "broken.yaml")
    done = run_lint(path)
    assert done.code == 1, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2, done.stdout
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    got = {(m["path"], int(m["line"]), int(m["column"]), m["rule"]) for m in parsed}
    assert got == {
        (str(path), *source.where("  model: Acme.Kettle.K1", "Acme"), "DSN-001"),
        (str(path), *source.where("timing: {reply-ms: 2000}", "2000"), "DSN-012"),
    }
    assert "Acme.Kettle.K1" in lines[0] and "2000" in lines[1]  # sorted by line
    assert {m["severity"] for m in parsed} == {"error"}  # mandatory rules


def test_json_format(kettle, run_lint, tmp_path: Path) -> None:
    source = _broken(kettle)
    path = source.write(tmp_path, "broken.yaml")
    done = run_lint("--format", "json", path)
    assert done.code == 1, done.stderr
    findings = json.loads(done.stdout)
    assert isinstance(findings, list) and len(findings) == 2
    for finding in findings:
        assert set(finding) == {"path", "line", "column", "rule", "level", "message", "standard"}
        assert finding["path"] == str(path) and finding["standard"] == "ECS-1.0"
        assert isinstance(finding["line"], int) and isinstance(finding["column"], int)
        assert finding["level"] == "M"
    model = next(f for f in findings if f["rule"] == "DSN-001")
    assert (model["line"], model["column"]) == source.where("  model: Acme.Kettle.K1", "Acme")
    assert "Acme.Kettle.K1" in model["message"]


def test_only_a_recommended_rule_exits_0(kettle, run_lint, tmp_path: Path) -> None:
    source = kettle.with_services(f"  - siid: {s}\n    name: extra{s}\n" for s in range(3, 18))
    path = source.write(tmp_path, "many-services.yaml")
    done = run_lint("--format", "json", path)
    assert done.code == 0, done.stdout + done.stderr
    findings = json.loads(done.stdout)
    assert [(f["rule"], f["level"]) for f in findings] == [("DSN-010", "R")]
    text = run_lint(path)
    assert text.code == 0 and LINE.match(text.stdout)["severity"] == "warning", text.stdout


def test_several_files_in_one_call(kettle, run_lint, tmp_path: Path) -> None:
    broken = _broken(kettle).write(tmp_path, "broken.yaml")
    parse_error = kettle.edit("  hardware: B\n", "  hardware: B: C\n").write(tmp_path, "bad.yaml")
    done = run_lint(EXAMPLES[0], broken, parse_error, EXAMPLES[1])
    assert done.code == 1, done.stderr
    paths = [LINE.match(line)["path"] for line in done.stdout.splitlines()]
    assert paths == [str(broken), str(broken), str(parse_error)]  # in argument order


def test_unreadable_file_among_others_exits_2_and_lints_the_rest(kettle, run_lint,
                                                                   tmp_path: Path) -> None:
    broken = _broken(kettle).write(tmp_path, "broken.yaml")
    missing = tmp_path / "missing.yaml"
    done = run_lint(missing, broken)
    assert done.code == 2
    assert str(missing) in done.stderr and "no such file" in done.stderr
    assert len(done.stdout.splitlines()) == 2  # the readable profile was linted


def test_missing_file_exits_2(run_lint, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    done = run_lint(missing)
    assert done.code == 2
    assert str(missing) in done.stderr and "no such file" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_directory_exits_2(run_lint, tmp_path: Path) -> None:
    done = run_lint(tmp_path)
    assert done.code == 2
    assert "directory" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("data", [
    b"certkit: 1\nstandard: \xff\xfe\n",
    "certkit: 1\n".encode("utf-16"),
], ids=["invalid-bytes", "utf-16"])
def test_non_utf8_exits_2(data: bytes, run_lint, tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    path.write_bytes(data)
    done = run_lint(path)
    assert done.code == 2
    assert "UTF-8" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("args", [
    ["--bogus"],
    ["--format", "xml"],
    [],
], ids=["unknown-option", "bad-format", "no-profile"])
def test_usage_errors_exit_2(args, run_lint) -> None:
    done = run_lint(*args, *(EXAMPLES[:1] if args else []))
    assert done.code == 2
    assert "usage" in done.stderr and "Traceback" not in done.stderr


def test_profile_with_a_control_character_keeps_one_line_per_finding(run_lint,
                                                                     tmp_path: Path) -> None:
    path = tmp_path / "ctl.yaml"
    path.write_text("certkit: 1\nstandard: ECS\x1b[31m-1.0\n", encoding="utf-8")
    done = run_lint(path)
    assert done.code == 1, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and LINE.match(lines[0]), done.stdout
    assert LINE.match(lines[0])["rule"] == "PRF-001"


def test_deeply_nested_file_is_a_finding_not_a_crash(run_lint, tmp_path: Path) -> None:
    """A hostile profile (200 000 nested lists) must not crash, recurse or
    segfault the linter."""
    depth = 200_000
    path = tmp_path / "deep.yaml"
    path.write_text("certkit: " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    done = run_lint(path)
    assert done.code == 1, (done.code, done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    assert LINE.match(done.stdout.splitlines()[0])["rule"] == "PRF-001"
