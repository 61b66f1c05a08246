"""A small fixed tidy table, written out by hand, for the table and statistics tests."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.collect import TIDY_COLUMNS, normalise

METRIC = {"lfw": "accuracy", "ijbc": "tar_at_far_1e-04"}
KIND = {"lfw": "verification", "ijbc": "ijb"}

# (loss, setting) -> {benchmark: values of seeds 0, 1, ...}; accuracy/tar in fractions.
SCORES = {
    ("arcface", "m=0.5"): {"lfw": (0.9900, 0.9910), "ijbc": (0.9500, 0.9520)},
    ("cosface", "m=0.35"): {"lfw": (0.9880, 0.9890), "ijbc": (0.9600, 0.9620)},
    # interface seed 1 has no ijbc score: a missing seed, mean over one seed, no sd
    ("interface", "variant=dd"): {"lfw": (0.9920, 0.9930), "ijbc": (0.9550,)},
    # softmax has no ijbc score at all: a missing cell
    ("softmax", "default"): {"lfw": (0.9700,)},
}


def tidy_record(
    dataset: str,
    backbone: str,
    loss: str,
    setting: str,
    seed: int,
    benchmark: str,
    metric: str,
    value: float,
    kind: str,
) -> dict[str, Any]:
    """One tidy row of a finished run: its run id, ``n`` = 6000 items, status ok."""
    return {
        "run_id": f"{dataset}__{backbone}__{loss}__{setting}__s{seed}",
        "dataset": dataset,
        "backbone": backbone,
        "loss": loss,
        "setting": setting,
        "seed": seed,
        "benchmark": benchmark,
        "metric": metric,
        "value": value,
        "n": 6000,
        "kind": kind,
        "status": "ok",
    }


def fixed_table() -> pd.DataFrame:
    """The tidy table of :data:`SCORES` (dataset casia, backbone iresnet50, status ok)."""
    records = [
        tidy_record("casia", "iresnet50", loss, setting, seed, bench, METRIC[bench], value, KIND[bench])
        for (loss, setting), scores in SCORES.items()
        for bench, values in scores.items()
        for seed, value in enumerate(values)
    ]
    return normalise(pd.DataFrame(records, columns=TIDY_COLUMNS))
