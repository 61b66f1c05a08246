"""The report in a real browser: headless Chromium (Debian's package) driven by Playwright's Python API.

Loads index.html from disk (file://) at 1,400 px width, checks for console errors and that every
<img> decoded, measures the page with every <details> collapsed, and saves screenshots (under the
report folder and, for a person to look at, $ANALYSIS_SCREENSHOT_DIR).

Two reports: the hand-written results tree (every section, run folders, score JSONs), and one
built from a tidy table the size of the default experiment (26 methods x 3 seeds x 7 benchmarks),
on which the reading order is measured: issue 12 asks for <= 20,000 px and the Summary within the
first 2,000 px.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from analysis_matrix import BENCHMARKS, METHODS, SEEDS, matrix_table

from analysis import collect, report

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
WIDTH = 1400
MAX_HEIGHT, SUMMARY_WITHIN = 20_000, 2_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium context for the module (a fresh profile, 1,400 x 900 viewport)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")
    with sync_api.sync_playwright() as pw, tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=FLAGS,
            viewport={"width": WIDTH, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


def open_report(context: Any, index: Path) -> tuple[Any, list[str]]:
    """A page showing ``index`` and the console errors it raised while loading."""
    errors: list[str] = []
    page = context.new_page()
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(index.as_uri(), wait_until="load")
    return page, errors


def broken_images(page: Any) -> list[str]:
    return page.evaluate(
        "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )


def keep_screenshots(folder: Path, names: tuple[str, ...]) -> None:
    keep = os.environ.get("ANALYSIS_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copyfile(folder / name, Path(keep) / name)


def test_report_in_headless_chromium(built: Path, browser: Any) -> None:
    page, errors = open_report(browser, built / "index.html")
    n_images = page.evaluate("document.images.length")
    broken = broken_images(page)
    title = page.title()
    shot = built / "screenshot.png"
    page.screenshot(path=str(shot), full_page=False)
    page.locator("#main").screenshot(path=str(built / "screenshot_main.png"))
    page.close()
    assert errors == []
    assert n_images >= 12 and broken == []
    assert title == "InterFace harness report"
    assert shot.stat().st_size > 10_000
    keep_screenshots(built, ("screenshot.png", "screenshot_main.png"))


@pytest.fixture(scope="module")
def matrix_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of a default-sized tidy table (no run folders: the figures of runs are absent)."""
    root = tmp_path_factory.mktemp("matrix")
    tidy = root / "tables" / "scores.csv"
    tidy.parent.mkdir()
    table = matrix_table()
    assert table.groupby(["loss", "setting"]).ngroups == len(METHODS) == 26
    assert set(table["seed"]) == set(SEEDS) and set(table["benchmark"]) == set(BENCHMARKS)
    collect.write_csv(table, tidy)
    return report.build_report(tidy, None, None, None, None, root / "report")


def test_default_sized_report_reads_in_order(matrix_report: Path, browser: Any) -> None:
    page, errors = open_report(browser, matrix_report)
    assert page.evaluate("document.querySelectorAll('details[open]').length") == 0
    height = page.evaluate("document.documentElement.scrollHeight")
    width = page.evaluate("document.documentElement.scrollWidth")
    summary_top = page.evaluate(
        "document.getElementById('summary').getBoundingClientRect().top + window.scrollY"
    )
    order = page.evaluate("Array.from(document.querySelectorAll('body > section')).map(s => s.id)")
    n_images = page.evaluate("document.images.length")
    broken = broken_images(page)
    page.screenshot(path=str(matrix_report.parent / "screenshot_matrix.png"), full_page=True)
    page.close()
    assert errors == []
    assert n_images >= 8 and broken == []  # sweeps, significance, geometry and those behind <details>
    assert order == ["summary", "main", "significance", "sweeps", "geometry", "more"]
    assert summary_top <= SUMMARY_WITHIN
    assert height <= MAX_HEIGHT, f"page is {height} px tall at {WIDTH} px width"
    assert width <= WIDTH  # nothing forces a horizontal scroll bar
    keep_screenshots(matrix_report.parent, ("screenshot_matrix.png",))
