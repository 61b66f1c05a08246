"""The loss benchmark's pieces on tiny sizes (the full run is a command, not a test)."""

from __future__ import annotations

import pytest

from interface.bench import losses as bench


def test_cases_cover_every_loss_and_the_official_variants():
    labels = bench.cases()
    assert "arcface" in labels and "interface" not in labels
    for v in ("cc", "dc", "dd"):
        assert f"interface-{v}" in labels and f"official-{v}" in labels


@pytest.mark.parametrize("label", bench.cases())
def test_every_case_runs_a_step(label):
    bench.make_step(label, batch=4, classes=11, dim=6)()


def test_timing_is_interleaved_minimum():
    seconds = bench.time_cases(["arcface", "official-cc"], {"batch": 4, "classes": 11, "dim": 6, "rounds": 2})
    assert set(seconds) == {"arcface", "official-cc"} and all(0 < t < 5 for t in seconds.values())


def test_peak_memory_counts_the_allocator_exactly():
    sizes = {"batch": 16, "classes": 300, "dim": 8}
    peak = bench.peak_memory("normface", sizes)
    # at least the (B, C) float32 cosine matrix and the (C, D) normalised weights are live at once
    assert peak >= 4 * (16 * 300 + 300 * 8)
    assert bench.peak_memory("normface", sizes) == peak  # repeatable
    assert bench.peak_memory("official-dd", sizes) > peak


def test_summary_ratios_and_goals():
    seconds = {"arcface": 1.0, "interface-cc": 1.05, "interface-dc": 1.3, "interface-dd": 1.4}
    seconds |= {"official-cc": 1.25, "official-dc": 1.6, "official-dd": 1.65}
    memory = {"arcface": 100, "interface-cc": 110, "interface-dc": 130, "interface-dd": 150}
    memory |= {"official-cc": 200, "official-dc": 200, "official-dd": 200}
    summary = bench.summarise(seconds, memory)
    assert summary["cc_vs_arcface"] == 1.05 and summary["interface_cc_time_vs_official"] == 0.84
    assert summary["interface_dd_extra_memory_vs_official"] == 0.5
    assert summary["goals"] == {
        "cc_vs_arcface": True,
        "dc_vs_arcface": True,
        "dd_vs_arcface": False,
        "extra_memory_vs_official": True,
    }
