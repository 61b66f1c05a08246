"""The evaluation benchmark runs in quick mode and writes its JSON (figures are not asserted)."""

from __future__ import annotations

import json

from interface.bench.evaluation import run


def test_quick_bench_writes_ratios(tmp_path):
    out = tmp_path / "bench" / "evaluation.json"
    result = run(out, quick=True)
    saved = json.loads(out.read_text())
    assert saved["summary"] == result["summary"]
    for part in (saved["verification"], saved["ijb_scoring"], *saved["extraction"].values()):
        assert part["speedup"] > 0
        assert all(v > 0 for k, v in part.items() if k.endswith("_per_s"))
