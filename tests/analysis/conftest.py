"""Fixtures of the analysis tests: a hand-written results tree, collected once per module."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fakes import run_id, write_results  # noqa: E402

FAILED = run_id("softmax", "", 2)
DROPPED = (run_id("arcface", "m=0.5", 1), "synth_ijb")


@pytest.fixture(scope="module")
def results_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """runs/, scores/, data/, bench/, config.json with one failed run and one missing score file."""
    return write_results(tmp_path_factory.mktemp("results"), failed=(FAILED,), drop_scores=(DROPPED,))
