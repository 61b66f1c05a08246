"""TinyFace closed-set identification, as AdaFace's ``validation_lq`` evaluates it.

Gallery = Gallery_Match (labelled by identity) + Gallery_Distractor (label -100, never a match);
probes = Probe. Scores are inner products of flip-fused unit features (the sum of the original
and mirrored embeddings, L2-normalised: AdaFace's ``pre_norm_vector_add`` fusion). AdaFace's
``DIR_FAR`` at FAR 1.0 is the CMC: probe p hits at rank k when a gallery image of its identity is
among its k highest-scoring gallery images. Here the rank is ``1 + #{gallery images of another
identity (distractors included) scoring strictly above p's best same-identity score}``: ties
count for the probe (AdaFace's order among tied scores is numpy's unstable argsort, i.e.
unspecified), which also makes the result independent of the gallery order. Reported: rank-1,
rank-5 and rank-20 over all probes (the paper reports 1 and 5; the script also computes 20).
"""

from __future__ import annotations

import numpy as np

from interface.errors import InputError
from interface.evaluation.verification import check_finite

CMC_RANKS = (1, 5, 20)
BLOCK_ELEMENTS = 1 << 23  # scores per streamed block (64 MiB of float64)


def feature_matrix(x: np.ndarray, what: str, dim: int | None = None, min_rows: int = 0) -> np.ndarray:
    """``x`` as a finite float64 (N, D) matrix (D = ``dim`` when given, N >= ``min_rows``), else a
    one-line InputError naming ``what``."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or (dim is not None and x.shape[1] != dim) or x.shape[0] < min_rows:
        raise InputError(
            f"{what}: expected an (N, {dim or 'D'}) matrix with N >= {min_rows}, got shape {x.shape}"
        )
    check_finite(x, what)
    return x


def ranks(
    probes: np.ndarray,
    probe_labels: np.ndarray,
    matches: np.ndarray,
    match_labels: np.ndarray,
    distractors: np.ndarray,
) -> np.ndarray:
    """(P,) int64 rank of each probe's best same-identity gallery match (module docstring).

    Args:
        probes: (P, D) unit probe features; probe_labels: (P,) identities, each present in
            ``match_labels``. matches: (M, D) unit gallery-match features, match_labels (M,).
        distractors: (K, D) unit distractor features (K may be 0).
    """
    probes = feature_matrix(probes, "TinyFace probes")
    d = probes.shape[1]
    matches = feature_matrix(matches, "TinyFace gallery matches", d)
    distractors = feature_matrix(distractors, "TinyFace distractors", d)
    probe_labels, match_labels = np.asarray(probe_labels), np.asarray(match_labels)
    if probe_labels.shape != (probes.shape[0],) or match_labels.shape != (matches.shape[0],):
        raise InputError("TinyFace: labels do not match the probe / gallery-match counts")
    same = probe_labels[:, None] == match_labels[None, :]
    if not same.any(axis=1).all():
        k = int(np.flatnonzero(~same.any(axis=1))[0])
        raise InputError(f"TinyFace: probe {k} (identity {probe_labels[k]}) has no gallery match")
    match_sims = probes @ matches.T
    best = np.where(same, match_sims, -np.inf).max(axis=1)
    above = (np.where(same, -np.inf, match_sims) > best[:, None]).sum(axis=1)
    step = max(1, BLOCK_ELEMENTS // max(1, probes.shape[0]))
    for lo in range(0, distractors.shape[0], step):
        above += (probes @ distractors[lo : lo + step].T > best[:, None]).sum(axis=1)
    return 1 + above.astype(np.int64)


def evaluate(
    probes: np.ndarray,
    probe_labels: np.ndarray,
    matches: np.ndarray,
    match_labels: np.ndarray,
    distractors: np.ndarray,
    cmc_ranks=CMC_RANKS,
) -> dict:
    """CMC at ``cmc_ranks`` over all probes: ``{"cmc": {r: rate}, "rank1_hits": (P,) bool,
    "n_probes", "n_gallery", "n_distractors"}``."""
    rank = ranks(probes, probe_labels, matches, match_labels, distractors)
    return {
        "cmc": {r: float(np.mean(rank <= r)) for r in cmc_ranks},
        "rank1_hits": rank == 1,
        "n_probes": int(rank.size),
        "n_gallery": int(np.asarray(matches).shape[0] + np.asarray(distractors).shape[0]),
        "n_distractors": int(np.asarray(distractors).shape[0]),
    }
