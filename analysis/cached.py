"""Pair cosines and IJB ROC curves recomputed from the evaluator's embedding cache.

``python -m interface evaluate --cache DIR`` keeps ``DIR/<benchmark>.npz`` per run with the raw
embeddings ``E0`` (originals), ``E1`` (mirrored) and, for verification packs, ``issame``. From
them this module derives, with the evaluator's own functions (no second copy of its protocol):

- verification: the cosine of every pair after the evaluator's flip fusion
  (``verification.fuse_flip``, ``verification.pair_distances``; unit vectors, so
  cos = 1 - d / 2 with d the squared L2 distance);
- IJB-style sets: the template-pair scores of ``ijb.score`` (with the benchmark's options) and
  their ROC (``roc.roc_curve``, scikit-learn semantics).

The results have the shape of a score JSON's ``extra`` (``pos_cos``/``neg_cos``, ``roc``), so the
figures read either source.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
MAX_ROC_POINTS = 400


def _thin(fpr: np.ndarray, tpr: np.ndarray) -> tuple[list[float], list[float]]:
    """At most MAX_ROC_POINTS points, log-spaced in FAR, always keeping both ends."""
    if fpr.size <= MAX_ROC_POINTS:
        return fpr.tolist(), tpr.tolist()
    keep = np.unique(
        np.r_[0, np.searchsorted(fpr, np.logspace(-7, 0, MAX_ROC_POINTS)).clip(0, fpr.size - 1), fpr.size - 1]
    )
    return fpr[keep].tolist(), tpr[keep].tolist()


def verification_extra(arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """``pos_cos``/``neg_cos`` lists from cached E0, E1, issame."""
    from interface.evaluation.verification import fuse_flip, pair_distances

    emb, _ = fuse_flip(arrays["E0"], arrays["E1"])
    dist, same = pair_distances(emb, arrays["issame"])
    cos = 1.0 - dist.astype(np.float64) / 2.0
    return {"pos_cos": cos[same].tolist(), "neg_cos": cos[~same].tolist()}


def ijb_extra(arrays: dict[str, np.ndarray], folder: Path, options: dict[str, Any]) -> dict[str, Any]:
    """``roc`` = {"far", "tar"} of the template pairs, from cached E0, E1 and the set's meta files."""
    from interface.data.ijb import read_ijb
    from interface.evaluation import ijb, roc

    meta = read_ijb(folder)
    mode = ijb.ImageFeatureMode(**{k: options[k] for k in ("flip", "norm", "detector") if k in options})
    res = ijb.score(
        arrays["E0"],
        arrays["E1"],
        meta.face_scores,
        meta.template_ids,
        meta.media_ids,
        meta.pairs,
        meta.labels,
        mode=mode,
    )
    fpr, tpr, _ = roc.roc_curve(res["scores"], meta.labels)
    far, tar = _thin(fpr, tpr)
    return {"roc": {"far": far, "tar": tar}}


def _resolve(path: str, data_dir: Path | None) -> Path:
    """A benchmark path from the resolved config: as given (relative to the working folder) if it
    exists, else re-rooted at ``data_dir`` after the first component named like it (the workflow
    writes ``results/data/<dataset>/...`` and ``--data-dir`` names that ``results/data``)."""
    p = Path(path)
    if p.exists() or data_dir is None:
        return p
    parts = p.parts
    for k, part in enumerate(parts):
        if part == data_dir.name and (data_dir.joinpath(*parts[k + 1 :])).exists():
            return data_dir.joinpath(*parts[k + 1 :])
    return p


def cached_extras(
    cache_dir: Path | None, config: dict[str, Any], run_datasets: dict[str, str], data_dir: Path | None
) -> dict[tuple[str, str], dict[str, Any]]:
    """``{(run_id, benchmark): extra}`` recomputed from ``cache_dir/<run_id>/<benchmark>.npz``.

    ``config["benchmarks"]`` (the workflow's resolved config) gives each benchmark's kind, path and
    options; ``run_datasets`` maps run ids to their dataset. Unusable entries are skipped with a
    log line (the figures are then drawn without them).
    """
    out: dict[tuple[str, str], dict[str, Any]] = {}
    specs = config.get("benchmarks") if isinstance(config.get("benchmarks"), dict) else {}
    if cache_dir is None or not cache_dir.is_dir() or not specs:
        return out
    for run_id, dataset in sorted(run_datasets.items()):
        for spec in specs.get(dataset) or []:
            if not isinstance(spec, dict) or spec.get("kind") not in ("verification", "ijb"):
                continue
            path = cache_dir / run_id / f"{spec.get('benchmark')}.npz"
            if not path.is_file():
                continue
            try:
                with np.load(path, allow_pickle=False) as npz:
                    arrays = {k: npz[k] for k in npz.files}
                if spec["kind"] == "verification":
                    extra = verification_extra(arrays)
                else:
                    extra = ijb_extra(
                        arrays, _resolve(str(spec.get("path", "")), data_dir), spec.get("options") or {}
                    )
            except (OSError, ValueError, KeyError) as exc:  # InputError is a ValueError
                log.warning("cached embeddings %s not used: %s", path, exc)
                continue
            out[(run_id, str(spec["benchmark"]))] = extra
    return out
