"""Power read-out against independent computations (scipy, a brute-force power simulation)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from analysis_tidy import fixed_table
from scipy import stats as sps

from analysis.collect import TIDY_COLUMNS, normalise, write_csv
from analysis.power import (
    COLUMNS,
    kendall_tau_b,
    main,
    minimal_detectable_difference,
    one_way_anova,
    paired_power,
    power_table,
)

LOSSES = ["softmax", "arcface", "cosface", "sphereface", "interface"]


def table(n_seeds: int, spread: float = 0.01, noise: float = 0.002, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    recs = []
    for s in range(n_seeds):
        for k, loss in enumerate(LOSSES):
            value = 0.9 + spread * k + rng.normal(0, noise)
            recs.append((f"d__b__{loss}__x__s{s}", loss, "x", s, "lfw", value))
    t = pd.DataFrame(recs, columns=["run_id", "loss", "setting", "seed", "benchmark", "value"])
    t = t.assign(dataset="d", backbone="b", metric="accuracy", status="ok")
    t["kind"] = "verification"
    return normalise(t.reindex(columns=TIDY_COLUMNS))


def test_read_out_against_scipy() -> None:
    t = table(6, spread=0.002, noise=0.002)
    row = power_table(t).iloc[0]
    groups = [t[t["loss"] == loss]["value"].to_numpy() for loss in LOSSES]
    ref = sps.f_oneway(*groups)
    assert row["anova_f"] == pytest.approx(ref.statistic) and row["anova_p"] == pytest.approx(ref.pvalue)
    even = [g[0::2].mean() for g in groups]
    odd = [g[1::2].mean() for g in groups]
    assert row["kendall_tau_halves"] == pytest.approx(sps.kendalltau(even, odd).statistic)
    pooled = math.sqrt(sum(((g - g.mean()) ** 2).sum() for g in groups) / sum(len(g) - 1 for g in groups))
    assert row["seed_sd"] == pytest.approx(pooled)
    assert row["n_seeds"] == 6 and row["n_methods"] == 5 and row["metric"] == "accuracy"


def test_kendall_tau_b_with_ties_against_scipy() -> None:
    rng = np.random.default_rng(3)
    for _ in range(100):
        x, y = rng.integers(0, 4, 7).astype(float), rng.integers(0, 4, 7).astype(float)
        ref = sps.kendalltau(x, y).statistic
        got = kendall_tau_b(x, y)
        assert (math.isnan(ref) and math.isnan(got)) or got == pytest.approx(ref)


def test_anova_degenerate() -> None:
    assert all(math.isnan(v) for v in one_way_anova([np.array([1.0]), np.array([2.0])]))


@pytest.mark.parametrize("n", [3, 5])
def test_mdd_against_brute_force_simulation(n: int) -> None:
    sd = 0.01
    mdd = minimal_detectable_difference(sd, n)
    assert paired_power(mdd, sd, n) == pytest.approx(0.8, abs=1e-6)
    rng = np.random.default_rng(n)
    d = rng.normal(mdd, sd, (40000, n))
    p = sps.ttest_1samp(d, 0.0, axis=1).pvalue
    assert np.mean(p < 0.05) == pytest.approx(0.8, abs=0.012)  # 4 binomial sd of 40,000 draws


def test_mdd_uses_the_paired_difference_sd() -> None:
    # a seed effect shared by every method: differences have almost no spread, so mdd is small
    rng = np.random.default_rng(4)
    t = table(4, noise=0.0001)
    shared = {s: rng.normal(0, 0.02) for s in range(4)}
    t["value"] += t["seed"].map(shared).astype(float)
    row = power_table(t).iloc[0]
    assert row["mdd"] < 0.1 * row["seed_sd"]


def test_claims() -> None:
    strong = power_table(table(6, spread=0.01, noise=0.001)).iloc[0]
    assert strong["carries_claim"] and strong["anova_p"] < 0.01 and strong["kendall_tau_halves"] >= 0.6
    null = power_table(table(6, spread=0.0, noise=0.01, seed=5)).iloc[0]
    assert not null["carries_claim"]


def test_few_seeds_notes() -> None:
    three = power_table(table(3)).iloc[0]
    assert math.isnan(three["kendall_tau_halves"]) and "2 seeds in each half" in three["note"]
    assert not three["carries_claim"] and math.isfinite(three["mdd"])
    one = power_table(table(1)).iloc[0]
    assert "no ANOVA" in one["note"] and not one["carries_claim"] and math.isnan(one["mdd"])
    missing = power_table(fixed_table().drop(columns="value")).iloc[0]
    assert "value" in missing["note"] and not missing["carries_claim"]
    assert list(power_table(fixed_table().iloc[0:0]).columns) == COLUMNS


def test_cli_prints_and_writes(tmp_path: Path, capsys) -> None:
    scores = tmp_path / "scores.csv"
    write_csv(table(4), scores)
    out = tmp_path / "power.csv"
    assert main(["--scores", str(scores), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "lfw" in printed and "kendall_tau_halves" in printed
    back = pd.read_csv(out)
    assert list(back.columns) == COLUMNS and len(back) == 1 and not list(tmp_path.glob(".*.tmp"))
    assert main(["--scores", str(tmp_path / "absent.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "absent.csv" in err and err.count("\n") == 0


def test_mdd_with_two_seeds() -> None:
    # one df: the lower rejection tail underflows in scipy's noncentral t; the solve must still work
    mdd = minimal_detectable_difference(0.01, 2)
    assert math.isfinite(mdd) and paired_power(mdd, 0.01, 2) == pytest.approx(0.8, abs=1e-6)
