"""`certkit run` writes summary.md itself; with GITHUB_ACTIONS=true it appends it to the
step summary and annotates fails (errors), recommended fails (warnings) and lab errors.
Device strings land in a summary that renders HTML: they are shown, never rendered."""

from __future__ import annotations

import copy
import io
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from certkit.report.publish import annotations, publish
from tests.support.cli import certkit
from tests.support.paths import KETTLE
from tests.support.results import read_verdict

HOSTILE = '<img src=x onerror="alert(1)"> <script>alert(2)</script> [click](https://evil.example) | `x`'


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)
        self.links += [value for name, value in attrs if name in ("href", "src")]


def _rendered(markdown: str) -> tuple[Tags, str]:
    """The summary as GitHub would turn it into HTML (CommonMark with raw HTML allowed)."""
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    tags = Tags()
    tags.feed(html)
    return tags, html


@pytest.fixture(scope="module")
def mqtt_run(tmp_path_factory) -> tuple[str, Path, Path]:
    """MQT-010 (mandatory) and MQT-009 (recommended) fail, as GitHub Actions runs it."""
    folder = tmp_path_factory.mktemp("gha")
    out, step_summary = folder / "out", folder / "step-summary.md"
    step_summary.write_text("# an earlier step's summary\n", "utf-8")
    result = certkit("run", KETTLE, "--emulate", "mqtt", "--fault", "mqtt:qos0",
                     "--fault", "mqtt:stray-topic", "--rules", "MQT-009", "--rules", "MQT-010",
                     "--out", out, env={"GITHUB_ACTIONS": "true",
                                        "GITHUB_STEP_SUMMARY": str(step_summary)})
    assert result.code == 1, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout, out, step_summary


def test_the_run_writes_summary_md_and_the_step_summary(mqtt_run) -> None:
    _, out, step_summary = mqtt_run
    summary = (out / "summary.md").read_text("utf-8")
    assert summary.startswith("# certkit: NOT CERTIFIED")
    assert "`MQT-010`" in summary.split("## Warnings")[0]
    assert step_summary.read_text("utf-8") == "# an earlier step's summary\n" + summary + "\n"


def test_the_run_annotates_fails_and_warnings(mqtt_run) -> None:
    stdout, _, _ = mqtt_run
    lines = [line for line in stdout.splitlines() if line.startswith("::")]
    profile = KETTLE.relative_to(Path.cwd()) if KETTLE.is_relative_to(Path.cwd()) else KETTLE
    assert len(lines) == 2, stdout[-2000:]
    error = next(line for line in lines if line.startswith("::error "))
    warning = next(line for line in lines if line.startswith("::warning "))
    assert error.startswith(f"::error file={profile},title=certkit MQT-010%3A fail::")
    assert "debug/acme-k1-0001/boot" in error
    assert warning.startswith(f"::warning file={profile},title=certkit MQT-009%3A warning::")


def test_without_github_actions_no_annotations(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = certkit("run", KETTLE, "--serial", "/dev/does-not-exist", "--rules", "SER-001",
                     "--out", out, env={"GITHUB_ACTIONS": "", "GITHUB_STEP_SUMMARY": ""})
    assert result.code == 3
    assert "::" not in result.stdout and "::" not in result.stderr
    summary = (out / "summary.md").read_text("utf-8")
    assert "Could not be checked" in summary and "/dev/does-not-exist" in summary


def test_a_lab_error_is_annotated_as_an_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = certkit("run", KETTLE, "--serial", "/dev/does-not-exist", "--rules", "SER-001",
                     "--out", out, env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": ""})
    assert result.code == 3
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert line.startswith("::error ") and "SER-001%3A error (not checked)" in line
    assert "/dev/does-not-exist" in line


def test_device_strings_are_shown_not_rendered(mqtt_run, tmp_path: Path) -> None:
    _, out, _ = mqtt_run
    document = copy.deepcopy(read_verdict(out))
    document["dut"]["model"] = HOSTILE
    document["dut"]["firmware"] = HOSTILE
    for rule in document["rules"]:
        rule["message"] = f"observed {HOSTILE}\nsecond line"
    document["warnings"] = [f"MQT-009: {HOSTILE}"]
    step_summary = tmp_path / "step.md"
    printed = io.StringIO()
    publish(tmp_path, document, env={"GITHUB_ACTIONS": "true",
                                     "GITHUB_STEP_SUMMARY": str(step_summary)}, stdout=printed)
    summary = (tmp_path / "summary.md").read_text("utf-8")
    assert step_summary.read_text("utf-8") == summary + "\n"
    tags, html = _rendered(summary)
    assert not {"img", "script", "a"} & set(tags.tags), html
    assert tags.links == []
    assert html.count("&lt;script&gt;alert(2)&lt;/script&gt;") >= 4  # model, firmware, rows
    table = html[html.index("<table>"):html.index("</table>")]
    assert table.count("<tr>") == 2  # header and MQT-010's row: no cell boundary injected
    # Annotations: one line each, the message's newline escaped
    lines = printed.getvalue().splitlines()
    assert len(lines) == 2 and all("%0Asecond line" in line for line in lines)


def test_annotation_properties_are_escaped() -> None:
    document = {"profile": {"path": "dev,ices/k:1.yaml"}, "rules": [
        {"rule": "SER-004", "instance": "2.1", "level": "M", "outcome": "fail",
         "title": "t", "message": "50% of\r\nreplies"}]}
    (line,) = annotations(document)
    assert line == ("::error file=dev%2Cices/k%3A1.yaml,title=certkit SER-004[2.1]%3A fail::"
                    "t: 50%25 of%0D%0Areplies")


def test_the_summary_file_is_what_certkit_report_writes(mqtt_run, tmp_path: Path) -> None:
    _, out, _ = mqtt_run
    written = (out / "summary.md").read_text("utf-8")
    (out / "summary.md").unlink()
    result = certkit("report", out, "--summary-only")
    assert result.code == 0, result.stderr
    assert (out / "summary.md").read_text("utf-8") == written
    assert read_verdict(out)["verdict"] == "NOT CERTIFIED"


def test_a_profile_that_fails_lint_is_annotated_on_its_lines(tmp_path: Path) -> None:
    # not certkit/: `python -m certkit` run there would import that folder as certkit
    profile = tmp_path / "devices" / "kettle.yaml"
    profile.parent.mkdir()
    text = KETTLE.read_text("utf-8").replace("  model: acme.kettle.k1\n", "  model: Acme.K1\n")
    profile.write_text(text, "utf-8")
    line = text[:text.index("Acme.K1")].count("\n") + 1
    result = certkit("run", "devices/kettle.yaml", "--emulate", "--out", tmp_path / "out",
                     cwd=tmp_path, env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": ""})
    assert result.code == 2, result.stderr[-2000:]
    annotations = [a for a in result.stdout.splitlines() if a.startswith("::")]
    assert f"::error file=devices/kettle.yaml,line={line},col=10,title=DSN-001::DSN-001 " \
        in "\n".join(annotations), annotations
    assert not any("DSN-001%3A" in a for a in annotations)  # not twice, once per finding
    assert (tmp_path / "out" / "summary.md").is_file()
