"""The report in a real browser: headless Chromium (Debian's package) driven by Playwright's Python API.

Loads index.html from disk (file://), checks for console errors and that every <img> decoded, and
saves a screenshot (under the report folder and, for a person to look at, $ANALYSIS_SCREENSHOT_DIR).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


def test_report_in_headless_chromium(built: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")
    index = built / "index.html"
    errors: list[str] = []
    with sync_api.sync_playwright() as pw, tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            page = context.new_page()
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(index.as_uri(), wait_until="load")
            n_images = page.evaluate("document.images.length")
            broken = page.evaluate(
                "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
            )
            title = page.title()
            shot = built / "screenshot.png"
            page.screenshot(path=str(shot), full_page=False)
            page.locator("#main").screenshot(path=str(built / "screenshot_main.png"))
        finally:
            context.close()
    assert errors == []
    assert n_images >= 20 and broken == []
    assert title == "InterFace harness report"
    assert shot.stat().st_size > 10_000
    keep = os.environ.get("ANALYSIS_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for name in ("screenshot.png", "screenshot_main.png"):
            shutil.copyfile(built / name, Path(keep) / name)
