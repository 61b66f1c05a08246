"""Hand-written results trees for the analysis tests (score JSONs, run folders, data, bench).

Values are fixed by formulas below (no randomness except a seeded generator for ROC/cosine lists),
so the expected table values are known in the tests.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from run_records import write_run_json

from interface.contracts import score_record as sr

DATASET, BACKBONE = "synthface", "tiny"
METHODS = [("arcface", "m=0.5"), ("interface", "variant=dd,alpha=0.1"), ("softmax", "")]
SEEDS = [0, 1, 2]
BENCHES = {"synth_lfw": "verification", "synth_ijb": "ijb"}
N_FOLDS = 10
NEVER_RUN = ("cosface", "m=0.35")


def run_id(loss: str, setting: str, seed: int) -> str:
    return f"{DATASET}__{BACKBONE}__{loss}__{setting or 'default'}__s{seed}"


def accuracy(loss: str, seed: int) -> float:
    """Fixed verification accuracy: interface > arcface > softmax by a margin far above seed noise."""
    base = {"softmax": 0.90, "arcface": 0.95, "interface": 0.96}[loss]
    return base + 0.001 * ((seed * (len(loss) % 4 + 1)) % 5)


def tar(loss: str, seed: int) -> float:
    base = {"softmax": 0.50, "arcface": 0.60, "interface": 0.60}[loss]
    return base + 0.01 * ((seed * 7 + len(loss)) % 3)


def score_doc(rid: str, benchmark: str, kind: str, loss: str, seed: int) -> dict:
    """The score JSON the evaluator would write (built through the score-record contract)."""
    rng = np.random.default_rng([seed, len(loss)])
    plots = sr.Plots()
    if kind == "verification":
        acc = accuracy(loss, seed)
        folds = (acc + 0.004 * rng.standard_normal(N_FOLDS)).tolist()
        rows = [
            ("accuracy", acc, 600),
            ("accuracy_std", float(np.std(folds)), 600),
            ("eer", 1 - acc, 600),
            ("xnorm", 21.5, 600),
        ]
        extra = {"fold_accuracy": folds}  # the verification kind's key
        cosines = np.r_[rng.normal(0.6, 0.1, 50), rng.normal(0.1, 0.1, 50)]
        plots = sr.Plots(pair_histogram=sr.PairHistogram.of(cosines, np.arange(100) < 50))
    else:
        t = tar(loss, seed)
        rows = [("tar_at_far_1e-04", t, 300), ("tar_at_far_1e-02", min(1.0, t + 0.2), 300)]
        far = np.logspace(-5, 0, 30)
        extra = {}
        plots = sr.Plots(roc=sr.RocPoints.thinned(far, np.clip(t + 0.1 * np.log10(far / 1e-4) / 4, 0, 1)))
    spec = sr.EvaluatorSpec("fake-" + kind, "fake-" + kind + "/v1", 1, "analysis_fakes", {"flip": "sum"})
    return sr.ScoreRecord(
        rid, benchmark, kind, spec, [sr.ScoreRow(m, v, n) for m, v, n in rows], plots=plots, extra=extra
    ).to_json()


def record_json(run_id: str, benchmark: str, kind: str, rows: list[dict], items: dict | None = None) -> dict:
    """A minimal score JSON of ``kind`` with the given rows (objects as the record writes them)."""
    spec = sr.EvaluatorSpec("fake-" + kind, "fake-" + kind + "/v1", 1, "analysis_fakes")
    parsed = [sr.ScoreRow.from_json(r, f"rows[{i}]") for i, r in enumerate(rows)]
    return sr.ScoreRecord(run_id, benchmark, kind, spec, parsed, items or {}).to_json()


# the run whose training failed (no run.json, no scores) and the one missing score file
FAILED = run_id("softmax", "", 2)
DROPPED = (run_id("arcface", "m=0.5", 1), "synth_ijb")


def write_results(
    root: Path,
    *,
    failed: tuple[str, ...] = (),
    drop_scores: tuple[tuple[str, str], ...] = (),
    with_heads: bool = True,
) -> Path:
    """Write ``root/{runs,scores,data,bench}``; ``failed`` run ids get no run.json and no scores."""
    import torch

    for loss, setting in METHODS:
        for seed in SEEDS:
            rid = run_id(loss, setting, seed)
            rdir = root / "runs" / rid
            rdir.mkdir(parents=True)
            if rid in failed:
                (rdir / "train.log").write_text("crashed\n")
                continue
            write_run_json(
                rdir,
                backbone=BACKBONE,
                loss=loss,
                seed=seed,
                wall_time_s=10.0 + seed,
                images_per_s=100.0 + 10 * seed,
                tags={"dataset": DATASET, "setting": setting, "run_id": rid},
            )
            (rdir / "train.log").write_text("ok\n")
            (root / "logs" / "train").mkdir(parents=True, exist_ok=True)  # the workflow's per-rule log
            (root / "logs" / "train" / f"{rid}.log").write_text("ok\n")
            lines = []
            for step in range(0, 50, 10):
                rec = {
                    "step": step,
                    "loss": 10.0 / (1 + step),
                    "theta_y_mean": 1.2 - 0.01 * step,
                    "theta_nn_mean": 1.4 + 0.002 * step,
                }
                if loss == "interface":
                    rec["mhat_mean"] = 0.02 + 0.0001 * step
                lines.append(json.dumps(rec))
            (rdir / "metrics.jsonl").write_text("\n".join(lines) + "\n")
            if with_heads:
                angles = np.linspace(0, 2 * math.pi, 7, endpoint=False) + 0.01 * seed
                weight = torch.tensor(np.stack([np.cos(angles), np.sin(angles)], 1), dtype=torch.float32)
                # the trainer's head.pt layout (interface/training/runs.py)
                head = {
                    "loss": loss,
                    "loss_params": {},
                    "num_classes": 7,
                    "embedding_size": 2,
                    "state_dict": {"weight": weight},
                }
                torch.save(head, rdir / "head.pt")
            for bench, kind in BENCHES.items():
                if (rid, bench) in drop_scores:
                    continue
                sdir = root / "scores" / rid
                sdir.mkdir(parents=True, exist_ok=True)
                (sdir / f"{bench}.json").write_text(json.dumps(score_doc(rid, bench, kind, loss, seed)))
    data = root / "data" / DATASET
    data.mkdir(parents=True)
    from PIL import Image

    Image.new("RGB", (64, 32), (120, 80, 40)).save(data / "contact_sheet.png")
    (data / "manifest.json").write_text(json.dumps({"classes": 7, "images": 70, "generator": "synthface 1"}))
    (root / "bench").mkdir()
    (root / "bench" / "losses.json").write_text(
        json.dumps({"interface_vs_arcface_time_ratio": 1.2, "rows": [{"name": "x", "speedup": 2.0}]})
    )
    # the workflow's resolved config: the matrix, every declared run, benchmarks per dataset; the
    # declared NEVER_RUN run has no folder and no score at all
    runs = [
        {
            "run_id": run_id(loss, setting, seed),
            "dataset": DATASET,
            "backbone": BACKBONE,
            "loss": loss,
            "setting": setting,
            "seed": seed,
        }
        for loss, setting in [*METHODS, NEVER_RUN]
        for seed in SEEDS[:1]
    ]
    config = {
        "config": {"seeds": SEEDS},
        "runs": runs,
        "benchmarks": {
            DATASET: [{"benchmark": b, "kind": k} for b, k in BENCHES.items()],
            "unused_dataset": [{"benchmark": "lfw"}],
        },
    }
    (root / "config.json").write_text(json.dumps(config))
    return root
