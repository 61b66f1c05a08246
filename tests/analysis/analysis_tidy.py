"""A small fixed tidy table, written out by hand, for the table and statistics tests."""

from __future__ import annotations

import pandas as pd

from analysis.collect import TIDY_COLUMNS, normalise

# (loss, setting, seed, benchmark, metric, value); accuracy/tar in fractions.
ROWS = [
    ("arcface", "m=0.5", 0, "lfw", "accuracy", 0.9900),
    ("arcface", "m=0.5", 1, "lfw", "accuracy", 0.9910),
    ("arcface", "m=0.5", 0, "ijbc", "tar_at_far_1e-04", 0.9500),
    ("arcface", "m=0.5", 1, "ijbc", "tar_at_far_1e-04", 0.9520),
    ("cosface", "m=0.35", 0, "lfw", "accuracy", 0.9880),
    ("cosface", "m=0.35", 1, "lfw", "accuracy", 0.9890),
    ("cosface", "m=0.35", 0, "ijbc", "tar_at_far_1e-04", 0.9600),
    ("cosface", "m=0.35", 1, "ijbc", "tar_at_far_1e-04", 0.9620),
    ("interface", "variant=dd", 0, "lfw", "accuracy", 0.9920),
    ("interface", "variant=dd", 1, "lfw", "accuracy", 0.9930),
    ("interface", "variant=dd", 0, "ijbc", "tar_at_far_1e-04", 0.9550),
    # interface seed 1 has no ijbc score: a missing seed, mean over one seed, no sd
    ("softmax", "default", 0, "lfw", "accuracy", 0.9700),
    # softmax has no ijbc score at all: a missing cell
]


def fixed_table() -> pd.DataFrame:
    """The tidy table of :data:`ROWS` (dataset casia, backbone iresnet50, status ok)."""
    records = []
    for loss, setting, seed, bench, metric, value in ROWS:
        records.append(
            {
                "run_id": f"casia__iresnet50__{loss}__{setting}__s{seed}",
                "dataset": "casia",
                "backbone": "iresnet50",
                "loss": loss,
                "setting": setting,
                "seed": seed,
                "benchmark": bench,
                "metric": metric,
                "value": value,
                "n": 6000,
                "kind": "verification" if bench == "lfw" else "ijb",
                "status": "ok",
            }
        )
    return normalise(pd.DataFrame(records, columns=TIDY_COLUMNS))
