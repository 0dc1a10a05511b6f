"""Debian's Chromium driven by Playwright, for the tests that look at what certkit draws,
and the folder their screenshots go to (the test artifacts)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from tests.support.paths import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("CERTKIT_TEST_ARTIFACTS", ROOT / "reports" / "test-artifacts"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
LAUNCH_MS = 60_000


@contextmanager
def chromium_page(width: int, height: int, timeout_ms: float = 30_000) -> Iterator[Page]:
    """A page of a Chromium of its own, `width` x `height` pixels, waiting at most
    `timeout_ms` for anything unless told otherwise; the browser closed after. ARTIFACTS
    exists by then, for screenshots."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             timeout=LAUNCH_MS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(timeout_ms)
            yield page
        finally:
            browser.close()
