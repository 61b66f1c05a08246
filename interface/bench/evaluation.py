"""Evaluation benchmark: pairs scored per second and extraction images per second, CPU.

Run with ``python -m interface bench evaluation`` (writes ``results/bench/evaluation.json``).
Every figure comes with a reference measured in the same run, so the ratios are what to read:

* verification (formats-and-protocols.md §3): :func:`interface.evaluation.verification.evaluate`
  (sorted distances + ``searchsorted`` counts) against the literal protocol loop (an element-wise
  ``d < t`` comparison per threshold and fold, as insightface writes it), LFW size (6,000 pairs).
* extraction: :func:`interface.evaluation.embed.extract` (batched, original and flip in one pass)
  against one forward pass per image and view, for the ``tiny`` backbone at 32 px and
  ``mobilefacenet`` at 112 px.

IJB scoring and read-out at IJB-C size have their own benchmark, ``interface.bench.ijb``.

Each case keeps its best of a few repetitions (single timings on a shared CPU swing).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from interface.atomic import write_json

log = logging.getLogger(__name__)

FULL = {
    "pairs": 6000,
    "dim": 512,
    "images": 256,
    "reps": 3,
    "backbones": (("tiny", 32), ("mobilefacenet", 112)),
}
QUICK = {
    "pairs": 600,
    "dim": 128,
    "images": 32,
    "reps": 1,
    "backbones": (("tiny", 32),),
}


def _best_time(fn: Callable[[], object], reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _literal_verification(E: np.ndarray, issame: np.ndarray) -> float:
    """Reference: §3 as written (loops over folds and thresholds, element-wise comparisons)."""
    from interface.evaluation.verification import ACC_THRESHOLDS, VAL_THRESHOLDS, kfold_test_blocks

    d = np.sum((E[0::2] - E[1::2]) ** 2, axis=1)
    accs = []
    for test in kfold_test_blocks(d.size, 10):
        train = np.setdiff1d(np.arange(d.size), test)
        acc = [np.mean((d[train] < t) == issame[train]) for t in ACC_THRESHOLDS]
        accs.append(np.mean((d[test] < ACC_THRESHOLDS[int(np.argmax(acc))]) == issame[test]))
        _ = [np.sum((d[train] < t) & ~issame[train]) for t in VAL_THRESHOLDS]
    return float(np.mean(accs))


def bench_verification(cfg: dict) -> dict:
    from interface.evaluation.verification import evaluate, l2_normalise

    rng = np.random.default_rng(0)
    n = cfg["pairs"]
    E = rng.normal(size=(2 * n, cfg["dim"]))
    issame = rng.random(n) < 0.5
    E[1::2][issame] = E[0::2][issame] + rng.normal(size=(issame.sum(), cfg["dim"]))
    E = l2_normalise(E)
    t_ours = _best_time(lambda: evaluate(E, issame), cfg["reps"])
    t_ref = _best_time(lambda: _literal_verification(E, issame), 1)
    return {
        "pairs": n,
        "pairs_per_s": n / t_ours,
        "reference_pairs_per_s": n / t_ref,
        "speedup": t_ref / t_ours,
    }


def bench_extraction(cfg: dict, threads: int) -> dict:
    from interface.backbones import build_backbone
    from interface.evaluation.embed import extract, to_input

    out = {}
    for name, size in cfg["backbones"]:
        torch.manual_seed(0)
        model = build_backbone(name, embedding_size=512, input_size=size).eval()
        imgs = np.random.default_rng(2).integers(0, 256, size=(cfg["images"], size, size, 3), dtype=np.uint8)

        @torch.inference_mode()
        def one_by_one(model=model, imgs=imgs, size=size) -> None:
            for img in imgs:
                x = to_input(img[None], size, torch.device("cpu"))
                model(x)
                model(torch.flip(x, dims=[3]))

        n = len(imgs)
        t_ours = _best_time(
            lambda model=model, imgs=imgs, size=size: extract(model, imgs, size, 64, "cpu", threads),
            cfg["reps"],
        )
        t_ref = _best_time(one_by_one, 1)
        out[f"{name}@{size}"] = {
            "images": n,
            "images_per_s": n / t_ours,
            "reference_images_per_s": n / t_ref,
            "speedup": t_ref / t_ours,
            "batch_size": 64,
            "threads": threads,
        }
    return out


def run(out_path: Path, quick: bool = False) -> dict:
    """Measure, write ``out_path`` atomically, return the result (with a ``summary``)."""
    cfg = QUICK if quick else FULL
    threads = torch.get_num_threads()
    result = {
        "config": {k: v for k, v in cfg.items() if k != "backbones"}
        | {"backbones": [list(b) for b in cfg["backbones"]]},
        "threads": threads,
        "verification": bench_verification(cfg),
        "extraction": bench_extraction(cfg, threads),
    }
    result["summary"] = {
        "verification_pairs_per_s": round(result["verification"]["pairs_per_s"]),
        "verification_speedup_vs_literal": round(result["verification"]["speedup"], 1),
        **{f"extract_{k}_images_per_s": round(v["images_per_s"], 1) for k, v in result["extraction"].items()},
        **{
            f"extract_{k}_speedup_vs_one_by_one": round(v["speedup"], 2)
            for k, v in result["extraction"].items()
        },
    }
    write_json(out_path, result)
    log.info("evaluation bench: %s", result["summary"])
    return result
