"""IJB 1:1 benchmark at IJB-C size: pairs scored per second and peak memory, scoring and ROC read-out.

Run with ``python -m interface bench ijb`` (writes ``results/bench/ijb.json``; ``--quick`` for a
small set). Synthetic unit template vectors (identity centre plus noise, so genuine pairs score
higher) stand in for pooled templates; the pair list has IJB-C's counts by default (23,124
templates, 15,658,489 pairs of which 19,557 genuine; formats-and-protocols.md §4.1), int64 as
:func:`interface.data.ijb.read_ijb` returns it.

* scoring: :func:`interface.evaluation.ijb.pair_scores` (float64, chunked), pairs per second;
* read-out: :func:`interface.evaluation.roc.roc_curve` over all scores, the nearest-FAR points at
  the six protocol FARs, AUC and EER, seconds and pairs per second.

Memory per phase: ``peak_extra_mib``, the peak of memory allocated during the phase over what was
held before it (``tracemalloc``, which sees NumPy's arrays), and ``peak_extra_mib`` minus the
phase's returned arrays as ``working_mib``; ``max_rss_mib`` is the process's peak resident size
so far (``resource.getrusage``, inputs included). Times are single wall-clock runs.
"""

from __future__ import annotations

import logging
import resource
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from interface.atomic import write_json

log = logging.getLogger(__name__)

FULL = {"templates": 23_124, "pairs": 15_658_489, "genuine": 19_557, "dim": 512, "identities": 3_531}
QUICK = {"templates": 2_000, "pairs": 200_000, "genuine": 2_000, "dim": 64, "identities": 300}


def synthetic_set(
    sizes: dict[str, int], seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(template ids (T,), unit template vectors (T, D) float64, pairs (K, 2) int64, labels (K,) int64).

    The first ``genuine`` pairs join two templates of one identity; the others are uniform random
    pairs, labelled genuine when their identities happen to agree.
    """
    rng = np.random.default_rng(seed)
    n_t, k, dim = sizes["templates"], sizes["pairs"], sizes["dim"]
    ident = rng.integers(0, sizes["identities"], n_t)
    feats = rng.normal(size=(sizes["identities"], dim))[ident] + 1.5 * rng.normal(size=(n_t, dim))
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    templates = np.arange(n_t, dtype=np.int64) * 7 + 1  # IJB-like sparse ids: the dense lookup table
    by_ident = np.argsort(ident, kind="stable")
    a = rng.integers(0, n_t, sizes["genuine"])
    start = np.searchsorted(ident[by_ident], ident[a], side="left")
    count = np.searchsorted(ident[by_ident], ident[a], side="right") - start
    b = by_ident[start + rng.integers(0, count)]
    rows = np.concatenate([np.stack([a, b], axis=1), rng.integers(0, n_t, size=(k - a.size, 2))])
    labels = (ident[rows[:, 0]] == ident[rows[:, 1]]).astype(np.int64)
    return templates, feats, templates[rows], labels


def _measure(fn: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    """Run ``fn`` once: (its result, {seconds, peak_extra_mib, max_rss_mib})."""
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, {
        "seconds": seconds,
        "peak_extra_mib": (peak - base) / 2**20,
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10,  # Linux: KiB
    }


def run(out_path: Path, quick: bool = False, sizes: dict[str, int] | None = None) -> dict[str, Any]:
    """Benchmark IJB scoring and read-out at ``sizes`` (default FULL or QUICK), write ``out_path``."""
    from interface.evaluation import ijb, roc

    sizes = dict(sizes or (QUICK if quick else FULL))
    templates, feats, pairs, labels = synthetic_set(sizes)
    n = pairs.shape[0]
    inputs_mib = (templates.nbytes + feats.nbytes + pairs.nbytes + labels.nbytes) / 2**20

    scores, scoring = _measure(lambda: ijb.pair_scores(templates, feats, pairs))
    scoring["pairs_per_s"] = n / scoring["seconds"]
    scoring["working_mib"] = scoring["peak_extra_mib"] - scores.nbytes / 2**20

    def read_out() -> dict[str, Any]:
        fpr, tpr, _ = roc.roc_curve(scores, labels)
        return {
            "tar_at_far": roc.read_tar(fpr, tpr, ijb.IJB_FARS),
            "auc": roc.auc(fpr, tpr),
            "eer": roc.eer(fpr, tpr),
            "roc_points": int(fpr.size),
        }

    metrics, readout = _measure(read_out)
    readout["pairs_per_s"] = n / readout["seconds"]
    readout["working_mib"] = readout["peak_extra_mib"]  # what it returns is a few kB
    result = {
        "sizes": sizes,
        "chunk_pairs": ijb.CHUNK_PAIRS,
        "inputs_mib": inputs_mib,
        "scores_mib": scores.nbytes / 2**20,
        "scoring": scoring,
        "readout": readout,
        "metrics": {**metrics, "tar_at_far": {f"{k:.0e}": v for k, v in metrics["tar_at_far"].items()}},
        "distinct_scores": int(np.unique(scores).size),
    }
    result["summary"] = {
        "pairs": n,
        "scoring_pairs_per_s": round(scoring["pairs_per_s"]),
        "scoring_working_mib": round(scoring["working_mib"], 1),
        "readout_s": round(readout["seconds"], 2),
        "readout_working_mib": round(readout["working_mib"], 1),
        "max_rss_mib": round(readout["max_rss_mib"], 1),
    }
    write_json(out_path, result)
    log.info("ijb bench: %s", result["summary"])
    return result
