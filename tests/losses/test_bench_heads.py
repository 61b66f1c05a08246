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


def test_a_subset_of_modes_runs_and_the_ratio_is_given_only_with_both_modes(tmp_path):
    """At 1 M classes the replicated head does not fit the machine: a run without it still writes
    its table, and the model-parallel / replicated ratio appears only where both were measured."""
    import json

    sizes = {"world": 2, "batch_per_rank": 4, "classes": [40], "dim": 6, "rounds": 1}
    without = bench.run(tmp_path / "a.json", sizes={**sizes, "modes": ["model_parallel", "partial_fc_0.1"]})
    assert set(without["table"]["40"]) == {"model_parallel", "partial_fc_0.1"} and without["summary"] == {}
    both = bench.run(tmp_path / "b.json", sizes=sizes)
    assert set(both["table"]["40"]) == set(bench.MODES)
    assert list(both["summary"]) == ["model_parallel_time_vs_replicated@40"]
    assert json.loads((tmp_path / "a.json").read_text())["table"] == without["table"]
