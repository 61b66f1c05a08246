"""The evaluation benchmark runs in quick mode and writes its JSON (figures are not asserted)."""

from __future__ import annotations

import json

from interface.bench.evaluation import run


def test_quick_bench_writes_ratios(tmp_path):
    out = tmp_path / "bench" / "evaluation.json"
    result = run(out, quick=True)
    saved = json.loads(out.read_text())
    assert saved["summary"] == result["summary"]
    for part in (saved["verification"], *saved["extraction"].values()):
        assert part["speedup"] > 0
        assert all(v > 0 for k, v in part.items() if k.endswith("_per_s"))


def test_quick_ijb_bench_writes_throughput_and_memory(tmp_path):
    from interface.bench.ijb import QUICK
    from interface.bench.ijb import run as run_ijb

    out = tmp_path / "bench" / "ijb.json"
    result = run_ijb(out, quick=True)
    saved = json.loads(out.read_text())
    assert saved["summary"] == result["summary"] and saved["summary"]["pairs"] == QUICK["pairs"]
    assert saved["scoring"]["pairs_per_s"] > 0 and saved["readout"]["pairs_per_s"] > 0
    # the bounds the code states: scoring holds two chunk gathers beyond its output, the ROC at
    # most 5 arrays of N 8-byte numbers beyond the scores
    n_mib = QUICK["pairs"] * 8 / 2**20
    assert saved["scoring"]["working_mib"] < 3 * saved["chunk_pairs"] * QUICK["dim"] * 8 / 2**20
    assert saved["readout"]["working_mib"] < 5 * n_mib
    assert set(saved["metrics"]["tar_at_far"]) == {"1e-06", "1e-05", "1e-04", "1e-03", "1e-02", "1e-01"}
