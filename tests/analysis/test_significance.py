"""Significance figures: files, sizes, clique logic and heatmap numbers against the statistics."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from analysis.collect import TIDY_COLUMNS, normalise
from analysis.figures.significance import cd_diagram, cliques, heatmap_frames, significance_heatmap
from analysis.metrics import method_label
from analysis.stats import compare, wins

METHODS = [("softmax", ""), ("arcface", "m=0.5"), ("cosface", "m=0.35"), ("sphereface", "m=1.7")]
METHODS += [("interface", f"variant={v},alpha=0.1") for v in ("cc", "dc", "dd")]


def table(n_seeds: int = 4, n_bench: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    recs = []
    for b in range(n_bench):
        for s in range(n_seeds):
            for k, (loss, setting) in enumerate(METHODS):
                value = 0.9 + 0.004 * k + rng.normal(0, 0.002)
                recs.append((f"d__b__{loss}__{setting}__s{s}", loss, setting, s, f"bench{b}", value))
    t = pd.DataFrame(recs, columns=["run_id", "loss", "setting", "seed", "benchmark", "value"])
    t = t.assign(dataset="synthface", backbone="tiny", metric="accuracy", status="ok")
    t["kind"] = "verification"
    return normalise(t.reindex(columns=TIDY_COLUMNS))


def check_files(paths: list[Path], stem: Path) -> None:
    assert paths == [stem.with_suffix(".svg"), stem.with_suffix(".png")]
    width, height = Image.open(paths[1]).size
    assert 300 <= width <= 900 and height > 80
    ET.parse(paths[0])  # well-formed SVG


def test_cd_diagram_files(tmp_path: Path) -> None:
    stem = tmp_path / "cd"
    check_files(cd_diagram(table(), stem), stem)
    svg = stem.with_suffix(".svg").read_text(encoding="utf-8")
    for loss, setting in METHODS:  # every method is labelled (SVG keeps text as text)
        assert method_label(loss, setting) in svg
    assert "CD = " in svg and "Friedman p" in svg


def test_cliques_against_brute_force() -> None:
    rng = np.random.default_rng(1)
    for _ in range(200):
        ranks = np.sort(rng.uniform(1, 8, rng.integers(2, 9)))
        cd = float(rng.uniform(0.2, 4))
        got = cliques(ranks, cd)
        # every run of consecutive methods within cd that no longer run contains
        runs = [(i, j) for i, j in itertools.combinations(range(len(ranks)), 2) if ranks[j] - ranks[i] < cd]
        maximal = [r for r in runs if not any(o != r and o[0] <= r[0] and r[1] <= o[1] for o in runs)]
        assert got == sorted(maximal)


def test_heatmap_numbers_are_corrected_wins_minus_losses(tmp_path: Path) -> None:
    comp = compare(table())
    net, diff = heatmap_frames(comp)[("synthface", "tiny")]
    w = wins(comp).set_index(["method", "baseline"])
    for method in net.index:
        for baseline in net.columns:
            row = w.loc[(method, baseline)]
            assert net.loc[method, baseline] == row["wins"] - row["losses"]
            sel = comp[(comp["method"] == method) & (comp["baseline"] == baseline)]
            assert diff.loc[method, baseline] == pytest.approx(100 * sel["mean_diff"].mean())
    assert list(net.index) == sorted(m for m in set(comp["method"]))
    stem = tmp_path / "heat"
    check_files(significance_heatmap(comp, stem), stem)


@pytest.mark.parametrize("case", ["one_seed", "empty", "no_columns"])
def test_figures_on_unusable_input_say_so(tmp_path: Path, case: str) -> None:
    t = {
        "one_seed": table(n_seeds=1),
        "empty": table().iloc[0:0],
        "no_columns": table().drop(columns="metric"),
    }[case]
    comp = compare(t)
    for fn, arg, name in ((cd_diagram, t, "cd"), (significance_heatmap, comp, "heat")):
        stem = tmp_path / f"{name}_{case}"
        check_files(fn(arg, stem), stem)
    if case != "one_seed":
        assert "No " in (tmp_path / f"cd_{case}.svg").read_text(encoding="utf-8")
    else:
        assert "n/a" in (tmp_path / "heat_one_seed.svg").read_text(encoding="utf-8")
