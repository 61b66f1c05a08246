"""The head benchmark's pieces in one process on tiny sizes (the full run is a command, not a test)."""

from __future__ import annotations

import pytest

from interface.bench import heads as bench


@pytest.mark.parametrize("mode", list(bench.MODES))
def test_every_mode_measures_a_step(mode):
    classes, dim = 50, 6
    result = bench.measure(mode, classes, dim, batch=4, rounds=1)
    assert result["step_s"] > 0 and result["peak_step_bytes"] > 0
    # one process holds every row: weight, its gradient and the momentum buffer, float32
    assert result["state_bytes"] == 3 * classes * dim * 4


def test_the_benchmark_is_registered():
    from interface.bench.cli import BENCHMARKS

    assert BENCHMARKS["heads"] == "interface.bench.heads"
