"""Fixtures of the analysis tests: a hand-written results tree, collected once per module."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from analysis_fakes import DROPPED, FAILED, write_results  # noqa: E402

from analysis import collect, report  # noqa: E402


@pytest.fixture(scope="session")
def results_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """runs/, scores/, data/, bench/, config.json with one failed run and one missing score file."""
    return write_results(tmp_path_factory.mktemp("results"), failed=(FAILED,), drop_scores=(DROPPED,))


@pytest.fixture(scope="session")
def built(results_tree: Path) -> Path:
    """collect + report on the results tree, through the two command lines (as the workflow calls them)."""
    tidy = results_tree / "tables" / "scores.csv"
    assert (
        collect.main(
            [
                "--scores",
                str(results_tree / "scores"),
                "--runs",
                str(results_tree / "runs"),
                "--out",
                str(tidy),
            ]
        )
        == 0
    )
    assert (
        report.main(
            [
                "--scores",
                str(tidy),
                "--runs",
                str(results_tree / "runs"),
                "--data-dir",
                str(results_tree / "data"),
                "--bench",
                str(results_tree / "bench"),
                "--score-jsons",
                str(results_tree / "scores"),
                "--config",
                str(results_tree / "config.json"),
                "--out",
                str(results_tree / "report"),
            ]
        )
        == 0
    )
    return results_tree / "report"
