"""A tidy table the size of the default experiment (config.yaml): 26 methods x 3 seeds x 7 benchmarks.

The methods are the default matrix's (every registered loss at its default, InterFace per
variant, the margin sweeps); values are a fixed per-method effect plus seeded noise, so the report
built from it has the default report's shape (rows, columns, figure panels) without training.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from analysis_tidy import tidy_record

from analysis.collect import TIDY_COLUMNS, normalise

DATASET, BACKBONE = "synthface", "tiny"
DEFAULTS = [
    "softmax", "normface", "sphereface", "cosface", "arcface", "combined",
    "curricularface", "magface", "adaface", "elasticface",
]  # fmt: skip
METHODS = [
    *[(loss, "default") for loss in DEFAULTS],
    *[("interface", f"variant={v}") for v in ("cc", "dc", "dd")],
    *[("arcface", f"m={m}") for m in (0.3, 0.4, 0.6)],
    *[("cosface", f"m={m}") for m in (0.25, 0.45)],
    *[("interface", f"variant={v},alpha={a}") for v in ("cc", "dc", "dd") for a in (0.05, 0.2)],
    *[("interface", f"variant=dd,m={m}") for m in (0.4, 0.6)],
]
SEEDS = [0, 1, 2]
BENCHMARKS = {
    **{
        b: "verification"
        for b in ("synth_lfw", "synth_cfp_fp", "synth_agedb_30", "synth_calfw", "synth_cplfw")
    },
    "synth_ijb": "ijb",
    "synth_identification": "identification",
}
METRICS = {
    "verification": [("accuracy", 0.0), ("accuracy_std", None), ("eer", None)],
    "ijb": [("tar_at_far_1e-04", -0.25), ("tar_at_far_1e-03", -0.15), ("tar_at_far_1e-02", -0.05)],
    "identification": [("rank1", -0.1), ("rank5", -0.03)],
}


def matrix_table(seeds: list[int] = SEEDS, noise: float = 0.004) -> pd.DataFrame:
    """The tidy table (normalised like ``read_tidy``'s) of :data:`METHODS` x ``seeds`` x :data:`BENCHMARKS`."""
    rng = np.random.default_rng(12)
    effect = {m: 0.02 * np.sin(3.0 * i) for i, m in enumerate(METHODS)}
    records = []
    for (loss, setting), seed in ((m, s) for m in METHODS for s in seeds):
        for b_i, (bench, kind) in enumerate(BENCHMARKS.items()):
            base = 0.9 - 0.02 * b_i + effect[(loss, setting)] + noise * rng.standard_normal()
            for metric, offset in METRICS[kind]:
                if metric == "accuracy_std":
                    value = 0.01
                elif metric == "eer":
                    value = 1.0 - base
                else:
                    value = min(1.0, base + offset)
                timing = {"wall_time_s": 40.0 + seed, "images_per_s": 900.0}
                resolved = metric != "tar_at_far_1e-04"
                row = tidy_record(DATASET, BACKBONE, loss, setting, seed, bench, metric, value, kind)
                records.append({**row, **timing, "resolved": resolved})
    return normalise(pd.DataFrame(records, columns=TIDY_COLUMNS))
