"""The data benchmark writes its JSON with the side-by-side rates (no timing assertions)."""

from __future__ import annotations

import json
import statistics

from interface.bench.data import run


def test_bench_quick(tmp_path):
    result = run(tmp_path / "data.json", quick=True)
    saved = json.loads((tmp_path / "data.json").read_text())
    assert saved["summary"] == result["summary"]
    s = result["summary"]
    assert s["recordio_images_per_s_per_worker"] > 0 and s["pillow_decode_images_per_s"] > 0
    assert len(result["ratios_cpu"]["item"]) == result["repetitions"] == 3
    assert s["ratio"] == statistics.median(result["ratios_cpu"]["item"])
    cpu = result["rates_images_per_s"]["cpu"]
    assert result["ratios_cpu"]["read"][0] == cpu["read"][0] / cpu["bare"][0]
