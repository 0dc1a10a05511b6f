"""The report reviewers read: summary.md, and the Allure HTML report in a real Chromium."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest

from tests.support.chromium import ARTIFACTS, chromium_page
from tests.support.cli import certkit
from tests.support.paths import KETTLE


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory) -> Path:
    """A run with device failures: the kettle with a bad model id and a unit on a bool."""
    folder = tmp_path_factory.mktemp("report")
    profile = folder / "kettle.yaml"
    profile.write_text(KETTLE.read_text("utf-8")
                       .replace("model: acme.kettle.k1", "model: Acme.Kettle.K1")
                       .replace("name: on, format: bool,", "name: on, format: bool, unit: none,"))
    out = folder / "out"
    certkit("run", profile, "--rules", "DSN-*", "--out", out)
    result = certkit("report", out)
    assert result.code == 0, result.stderr
    return out


def test_summary_names_verdict_failures_and_evidence(failing_run):
    summary = (failing_run / "summary.md").read_text("utf-8")
    assert summary.startswith("# certkit: NOT CERTIFIED")
    assert "## Device failures (block certification)" in summary
    assert "`DSN-001` Model identifier is well formed | M |" in summary
    assert "does not match" in summary and "a 'bool' property has no unit" in summary
    assert "Only rules matching `DSN-*` were checked." in summary


def test_report_without_the_generator_says_how_to_install_it(failing_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(failing_run, copy, ignore=shutil.ignore_patterns("allure-report"))
    result = certkit("report", copy, env={"CERTKIT_ALLURE": str(tmp_path / "no-allure")})
    assert result.code == 2
    assert "npm install allure@3" in result.stderr and "is not an executable" in result.stderr
    assert (copy / "summary.md").exists()  # the summary does not need the generator
    missing = certkit("report", tmp_path / "nothing")
    assert missing.code == 2 and "no verdict.json" in missing.stderr


@pytest.fixture
def served(failing_run):
    handler = functools.partial(_QuietHandler, directory=str(failing_run / "allure-report"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()
    thread.join(timeout=5)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_html_report_in_chromium(served):
    with chromium_page(1400, 1000) as page:
        page.goto(served)
        assert "NOT CERTIFIED" in page.title()
        # The tree a reviewer walks: rule family, transport, rule.
        page.get_by_text("DSN Design standard").first.wait_for()
        page.get_by_text("profile", exact=True).first.wait_for()
        page.get_by_text("DSN-001 Model identifier is well formed").first.wait_for()
        page.get_by_text("DSN-006 Units are from the allowed list").first.wait_for()
        page.screenshot(path=ARTIFACTS / "allure-overview.png", full_page=True)

        page.get_by_text("DSN-001 Model identifier is well formed").last.click()  # the test
        page.get_by_text("Device failures: values and behaviour").first.wait_for()
        body = page.inner_text("body")
        assert "Failed" in body and "Critical" in body
        assert "does not match" in body
        assert "ECS-1.0 section 4" in body  # link to the standard's section
        page.get_by_text("Attachments").first.click()
        page.get_by_text("evidence").first.click()
        page.get_by_text("DSN-001: fail.").first.wait_for()  # the evidence itself
        page.screenshot(path=ARTIFACTS / "allure-dsn-001.png", full_page=True)
    assert (ARTIFACTS / "allure-dsn-001.png").stat().st_size > 10_000
