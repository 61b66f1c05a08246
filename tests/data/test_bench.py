"""The data benchmark writes its JSON with the side-by-side rates (no timing assertions)."""

from __future__ import annotations

import json

from interface.bench.data import run


def test_bench_quick(tmp_path):
    result = run(tmp_path / "data.json", quick=True)
    saved = json.loads((tmp_path / "data.json").read_text())
    assert saved["summary"] == result["summary"]
    s = result["summary"]
    assert s["recordio_images_per_s_per_worker"] > 0 and s["pillow_decode_images_per_s"] > 0
    assert len(result["ratios"]) == result["repetitions"] == 3
    assert abs(s["ratio"] - sorted(result["ratios"])[1]) < 1e-12
