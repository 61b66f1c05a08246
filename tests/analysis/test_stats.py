"""Statistics on constructed data: intervals, paired tests, fold pairing, wins counting."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis.collect import FOLD_METRIC, TIDY_COLUMNS, normalise
from analysis.stats import compare, paired_test, summarize, t_interval, wins


def test_t_interval_matches_closed_form() -> None:
    x = np.array([0.91, 0.93, 0.92, 0.95])
    mean, sd, low, high = t_interval(x)
    n = 4
    ref_sd = math.sqrt(sum((v - x.mean()) ** 2 for v in x) / (n - 1))
    half = 3.182446305284263 * ref_sd / math.sqrt(n)  # t_{0.975, 3}
    assert mean == pytest.approx(x.mean()) and sd == pytest.approx(ref_sd)
    assert (low, high) == pytest.approx((x.mean() - half, x.mean() + half), rel=1e-12)
    m1, s1, l1, h1 = t_interval(np.array([0.5]))
    assert m1 == 0.5 and all(math.isnan(v) for v in (s1, l1, h1))


def test_paired_test_against_scipy_ttest_rel() -> None:
    a = np.array([0.95, 0.96, 0.94, 0.97, 0.955])
    b = np.array([0.94, 0.94, 0.945, 0.95, 0.94])
    res = paired_test(a - b)
    ref = sps.ttest_rel(a, b)
    d = a - b
    assert res["t"] == pytest.approx(ref.statistic) and res["p_value"] == pytest.approx(ref.pvalue)
    assert res["effect_size_dz"] == pytest.approx(d.mean() / d.std(ddof=1))
    assert res["n_pairs"] == 5 and res["mean_diff"] == pytest.approx(d.mean())


def test_paired_test_degenerate_cases() -> None:
    assert math.isnan(paired_test(np.array([0.01]))["p_value"])  # one pair
    assert math.isnan(paired_test(np.array([0.01, 0.01, 0.01]))["p_value"])  # zero spread
    zero = paired_test(np.zeros(3))
    assert (zero["t"], zero["p_value"], zero["effect_size_dz"]) == (0.0, 1.0, 0.0)


def make(rows) -> pd.DataFrame:
    recs = []
    for loss, seed, bench, metric, value, fold in rows:
        kind = "verification" if metric in ("accuracy", FOLD_METRIC) else "ijb"
        recs.append(
            {
                "run_id": f"d__b__{loss}__x__s{seed}",
                "dataset": "d",
                "backbone": "b",
                "loss": loss,
                "setting": "x",
                "seed": seed,
                "benchmark": bench,
                "metric": metric,
                "value": value,
                "n": 10,
                "evaluator": json.dumps({"kind": kind}),
                "fold": fold,
                "status": "ok",
            }
        )
    return normalise(pd.DataFrame(recs, columns=TIDY_COLUMNS))


def constructed() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(5):
        noise = rng.normal(0, 0.002)
        # bench A: interface clearly better; bench B: identical within noise; bench C: clearly worse
        rows += [
            ("arcface", seed, "A", "tar_at_far_1e-04", 0.80 + noise, None),
            ("interface", seed, "A", "tar_at_far_1e-04", 0.85 + noise + rng.normal(0, 0.002), None),
            ("arcface", seed, "B", "tar_at_far_1e-04", 0.70 + rng.normal(0, 0.01), None),
            ("interface", seed, "B", "tar_at_far_1e-04", 0.70 + rng.normal(0, 0.01), None),
            ("arcface", seed, "C", "tar_at_far_1e-04", 0.90 + noise, None),
            ("interface", seed, "C", "tar_at_far_1e-04", 0.80 + noise + rng.normal(0, 0.002), None),
        ]
    rows += [
        ("arcface", 0, "D", "tar_at_far_1e-04", 0.5, None),
        ("interface", 0, "D", "tar_at_far_1e-04", 0.9, None),
    ]
    return make(rows)


def test_compare_verdicts_and_wins() -> None:
    comp = compare(constructed()).set_index("benchmark")
    assert comp.loc["A", "verdict"] == "win" and comp.loc["A", "p_value"] < 1e-4
    assert comp.loc["B", "verdict"] == "tie"
    assert comp.loc["C", "verdict"] == "loss"
    assert comp.loc["D", "verdict"] == "n/a"  # one seed: a big difference is still not a supported win
    assert comp.loc["A", "mean_diff"] == pytest.approx(0.05, abs=0.003)
    w = wins(compare(constructed())).set_index("baseline")
    counts = ["wins", "losses", "ties", "untestable", "n_benchmarks"]
    assert w.loc["arcface (x)", counts].tolist() == [1, 1, 1, 1, 4]
    assert w.loc["every baseline", counts].tolist() == [1, 1, 1, 1, 4]  # one baseline: the same counts


def test_wins_against_every_baseline_needs_every_win() -> None:
    base = constructed()
    # a second baseline that InterFace beats on C (where it loses to arcface) and ties on A
    other = base[base["loss"] == "arcface"].copy()
    other["loss"] = "cosface"
    other["run_id"] = other["run_id"].str.replace("arcface", "cosface")
    other.loc[other["benchmark"] == "C", "value"] -= 0.2
    other.loc[other["benchmark"] == "A", "value"] += 0.05
    comp = compare(pd.concat([base, other], ignore_index=True))
    verdicts = comp.set_index(["benchmark", "baseline"])["verdict"]
    assert verdicts[("C", "cosface (x)")] == "win" and verdicts[("C", "arcface (x)")] == "loss"
    w = wins(comp).set_index("baseline").loc["every baseline"]
    # A: win vs arcface only -> not a win overall; C: a loss to arcface -> a loss overall
    assert (w["wins"], w["losses"], w["n_benchmarks"]) == (0, 1, 4)


def test_fold_pairing_when_folds_present() -> None:
    rows = []
    for seed in range(2):
        for loss, base in (("arcface", 0.95), ("interface", 0.96)):
            rows.append((loss, seed, "lfw", "accuracy", base, None))
            rows += [
                (loss, seed, "lfw", FOLD_METRIC, base + 0.001 * ((k * 3 + seed + len(loss)) % 5), k)
                for k in range(10)
            ]
    table = make(rows)
    comp = compare(table).iloc[0]
    assert comp["pairing"] == "seed x fold" and comp["n_pairs"] == 20
    a = table[(table["loss"] == "interface") & (table["metric"] == FOLD_METRIC)].sort_values(["seed", "fold"])
    b = table[(table["loss"] == "arcface") & (table["metric"] == FOLD_METRIC)].sort_values(["seed", "fold"])
    ref = sps.ttest_rel(a["value"].to_numpy(), b["value"].to_numpy())
    assert comp["p_value"] == pytest.approx(ref.pvalue)
    # without folds the same comparison pairs over the two seeds only
    no_folds = compare(table[table["metric"] != FOLD_METRIC]).iloc[0]
    assert no_folds["pairing"] == "seed" and no_folds["n_pairs"] == 2


def test_summarize_ignores_failed_rows_and_folds() -> None:
    table = make(
        [
            ("arcface", 0, "A", "tar_at_far_1e-04", 0.5, None),
            ("arcface", 1, "A", "tar_at_far_1e-04", 0.7, None),
            ("arcface", 0, "A", FOLD_METRIC, 0.1, 3),
        ]
    )
    bad = table.iloc[[0]].copy()
    bad["status"], bad["value"] = "bad score file: x", float("nan")
    s = summarize(pd.concat([table, bad], ignore_index=True))
    assert len(s) == 1 and s.iloc[0]["mean"] == pytest.approx(0.6) and s.iloc[0]["n_seeds"] == 2
    assert s.iloc[0]["std"] == pytest.approx(math.sqrt(0.02))
