"""Summary table and paragraph on constructed tables with known winners."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from analysis_tidy import fixed_table

from analysis.collect import TIDY_COLUMNS, normalise
from analysis.power import power_table
from analysis.stats import compare
from analysis.summary import COLUMNS, summary_paragraph, summary_table, variant_of

# (loss, setting, offset): interface dd alpha=0.2 is far ahead, cc ties, cosface is the best fixed margin
METHODS = [
    ("softmax", "", 0.030),  # best overall baseline, but not a fixed-margin one
    ("arcface", "m=0.5", 0.0),
    ("cosface", "m=0.35", 0.005),
    ("interface", "variant=dd,alpha=0.1", 0.006),
    ("interface", "variant=dd,alpha=0.2", 0.030),
    ("interface", "variant=cc", 0.005),
]


def table(n_seeds: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    recs = []
    for b in ("lfw", "cfp"):
        for s in range(n_seeds):
            shared = rng.normal(0, 0.002)
            for loss, setting, off in METHODS:
                value = 0.9 + off + shared + rng.normal(0, 0.0005)
                recs.append((f"d__b__{loss}__{setting}__s{s}", loss, setting, s, b, value))
    t = pd.DataFrame(recs, columns=["run_id", "loss", "setting", "seed", "benchmark", "value"])
    t = t.assign(dataset="d", backbone="b", metric="accuracy", status="ok")
    t["kind"] = "verification"
    return normalise(t.reindex(columns=TIDY_COLUMNS))


def test_variant_of() -> None:
    assert variant_of("variant=dc,alpha=0.1") == "dc" and variant_of("alpha=0.1") == "dd"


def test_best_setting_against_best_fixed_margin_baseline() -> None:
    t = table()
    comp = compare(t)
    s = summary_table(t, comp)
    assert list(s.columns) == COLUMNS and len(s) == 4  # 2 benchmarks x 2 variants
    dd = s[(s["variant"] == "dd") & (s["benchmark"] == "lfw")].iloc[0]
    assert dd["setting"] == "variant=dd,alpha=0.2" and dd["baseline"] == "cosface (m=0.35)"
    ref = comp[(comp["benchmark"] == "lfw") & (comp["method"] == "interface (variant=dd,alpha=0.2)")]
    ref = ref[ref["baseline"] == "cosface (m=0.35)"].iloc[0]
    for col in ("mean_diff", "ci_low", "ci_high", "p_holm"):
        assert dd[col] == pytest.approx(ref[col])
    assert dd["verdict"] == "win" and dd["mean_diff"] == pytest.approx(0.025, abs=0.002)
    cc = s[(s["variant"] == "cc") & (s["benchmark"] == "lfw")].iloc[0]
    assert cc["verdict"] == "tie"
    text = summary_paragraph(s, power_table(t))
    assert "InterFace dd wins on 2 of 2 benchmarks" in text and "InterFace cc wins on 0 of 2" in text
    assert "+2.5" in text and "nan" not in text.lower() and "<" not in text.replace("p < 0.01", "")


def test_other_baseline_only_when_no_fixed_margin() -> None:
    t = table()
    t = t[~t["loss"].isin(["arcface", "cosface"])]
    s = summary_table(t, compare(t))
    assert set(s["baseline"]) == {"softmax"} and s["note"].str.contains("no fixed-margin").all()


@pytest.mark.parametrize("case", ["one_seed", "missing_column", "empty"])
def test_bad_input_paragraph_says_so(case: str) -> None:
    t = {
        "one_seed": table(1),
        "missing_column": table().drop(columns="seed"),
        "empty": fixed_table().iloc[0:0],
    }[case]
    comp = compare(t)
    s = summary_table(t, comp)
    assert s["verdict"].notna().all() and s["variant"].notna().all()
    text = summary_paragraph(s, power_table(t))
    assert "nan" not in text.lower() and text.strip()
    if case == "one_seed":
        assert set(s["verdict"]) == {"n/a"} and "no statistics" in text
    if case == "missing_column":
        assert "seed" in text
