"""MegaFace-style identification and verification with distractors (formats-and-protocols.md §5).

Protocol (MegaFace Challenge 1 as re-implemented by FaceX-Zoo, §5.1), on unit embeddings and
cosine similarity:

* for every probe identity with M >= 2 images and every image i of it, i joins the distractor
  gallery; each other image j != i of the identity is a probe;
* probe j ranks i at ``1 + #{distractors with similarity to j > s(j, i)}``; a hit at rank N means
  that rank is <= N, i.e. ``s(j, i)`` is >= the N-th highest distractor similarity;
* rank-N rate = hits / all ordered (i, j) pairs (CMC at N = 1, 5, 10);
* results over a ladder of distractor counts (10, 100, ..., all): the gallery of size n is the
  first n distractors of a seeded permutation, so smaller galleries are nested in larger ones;
* verification: genuine pairs = unordered same-identity probe pairs, impostors = every
  probe-distractor pair; TAR at FAR 1e-6 read on the scikit-learn ROC as in §4.6.

Cleaning (MegaFace "R", §5.3): the released 513-d trick only works with Euclidean distance, so here
listed noisy probe images and noisy distractors are dropped before scoring.

Memory stays bounded: distractor similarities are streamed in chunks, keeping only each probe's
10 highest per ladder size and the highest impostor scores the FAR read-out needs.
"""

from __future__ import annotations

import math

import numpy as np

from interface.errors import InputError
from interface.evaluation import roc
from interface.evaluation.verification import check_finite
from interface.textfiles import read_text

CMC_RANKS = (1, 5, 10)
ID_FARS = (1e-6,)
BLOCK_ELEMENTS = 1 << 24  # similarities per streamed block (64 MiB of float32)


def distractor_ladder(n_distractors: int) -> list[int]:
    """Gallery sizes 10, 100, 1000, ... below ``n_distractors``, then ``n_distractors`` itself."""
    ladder = [10**k for k in range(1, 12) if 10**k < n_distractors]
    return ladder + [int(n_distractors)]


def _check_unit(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise InputError(f"{what}: expected an (N, D) embedding matrix, got shape {x.shape}")
    check_finite(x, what)
    return x


def _topk_update(best: np.ndarray, sims: np.ndarray, k: int) -> np.ndarray:
    """Merge a (P, c) block of similarities into the running (P, k) descending top-k."""
    both = np.concatenate([best, sims], axis=1)
    if both.shape[1] > k:
        both = np.partition(both, both.shape[1] - k, axis=1)[:, -k:]
    return -np.sort(-both, axis=1)


def evaluate(
    probes: np.ndarray,
    probe_labels: np.ndarray,
    distractors: np.ndarray,
    ladder: list[int] | None = None,
    seed: int = 0,
    fars=ID_FARS,
    chunk: int | None = None,
) -> dict:
    """Rank-N identification over a distractor ladder and TAR@FAR verification.

    Args:
        probes: (P, D) unit (flip-fused, L2-normalised) embeddings of the probe-set images.
        probe_labels: (P,) integer identity per probe image; identities with one image are
            ignored (they form no (i, j) pair).
        distractors: (M, D) unit embeddings of the distractor images (M >= 1).
        ladder: gallery sizes (each in [1, M], ascending); default :func:`distractor_ladder`.
        seed: seed of the permutation that picks the nested distractor subsets.
        fars: target FARs for the verification read-out.
        chunk: distractors scored per block (memory about ``P * chunk * 4`` bytes); default keeps
            a block at ``BLOCK_ELEMENTS`` similarities.

    Returns:
        dict with ``cmc`` ({n: {rank: rate}}), ``rank1`` / ``rank5`` / ``rank10`` at the largest
        gallery, ``rank1_hits`` ((n_probe_pairs,) bool: probe pair hit at rank 1 at the largest
        gallery, pairs ordered by probe j then gallery image i; its mean is ``rank1``),
        ``tar_at_far`` ({far: TAR}), ``n_probe_pairs`` (ordered (i, j)),
        ``n_genuine``, ``n_impostor``, ``n_distractors``, ``ladder``.
    """
    probes = _check_unit(probes, "identification probes")
    distractors = _check_unit(distractors, "identification distractors")
    labels = np.asarray(probe_labels)
    if labels.shape != (probes.shape[0],):
        raise InputError(
            f"identification: {probes.shape[0]} probe embeddings but labels have shape {labels.shape}"
        )
    if distractors.shape[0] < 1 or distractors.shape[1] != probes.shape[1]:
        raise InputError(
            f"identification: distractors of shape {distractors.shape} do not match probes {probes.shape}"
        )
    m = distractors.shape[0]
    ladder = distractor_ladder(m) if ladder is None else sorted(int(n) for n in ladder)
    if not ladder or ladder[0] < 1 or ladder[-1] > m:
        raise InputError(f"identification ladder {ladder}: sizes must lie in [1, {m}] (distractor count)")

    ids, counts = np.unique(labels, return_counts=True)
    keep = np.isin(labels, ids[counts >= 2])
    probes, labels = probes[keep], labels[keep]
    if probes.shape[0] == 0:
        raise InputError("identification: no probe identity has two or more images")
    order = np.random.default_rng(seed).permutation(m)
    chunk = max(1, BLOCK_ELEMENTS // probes.shape[0]) if chunk is None else int(chunk)
    if chunk < 1:
        raise InputError(f"identification chunk={chunk}; expected >= 1")
    k = max(CMC_RANKS)
    n_imp_total = probes.shape[0] * ladder[-1]
    n_keep_imp = max(1000, 4 * math.ceil(max(fars) * n_imp_total) + 4)

    top = np.full((probes.shape[0], 0), -np.inf, dtype=np.float32)
    top_at: dict[int, np.ndarray] = {}
    imp_top = np.empty(0, dtype=np.float32)
    bounds = sorted(set(range(0, ladder[-1], chunk)) | set(ladder) | {0})
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        sims = probes @ distractors[order[lo:hi]].T
        top = _topk_update(top, sims, k)
        flat = sims.ravel()
        if flat.size > n_keep_imp:
            flat = np.partition(flat, flat.size - n_keep_imp)[-n_keep_imp:]
        imp_top = np.concatenate([imp_top, flat])
        if imp_top.size > n_keep_imp:
            imp_top = np.partition(imp_top, imp_top.size - n_keep_imp)[-n_keep_imp:]
        if hi in ladder:
            top_at[hi] = top.copy()

    gallery_sims = probes @ probes.T  # probe-set only: P x P with P ~ thousands
    same = labels[:, None] == labels[None, :]
    np.fill_diagonal(same, False)
    j_idx, i_idx = np.nonzero(same)  # probe j, its gallery image i
    s_ji = gallery_sims[j_idx, i_idx]
    cmc: dict[int, dict[int, float]] = {}
    for n in ladder:
        t = top_at[n]
        if t.shape[1] < k:  # fewer than k distractors: pad with -inf (never beats a probe)
            t = np.pad(t, ((0, 0), (0, k - t.shape[1])), constant_values=-np.inf)
        beaten = (t[j_idx] > s_ji[:, None]).sum(axis=1)  # distractors strictly above, capped at k
        cmc[n] = {r: float(np.mean(beaten < r)) for r in CMC_RANKS}
    hits = beaten < 1  # the ladder is ascending: ``beaten`` is the largest gallery's

    upper = np.triu(same)
    genuine = gallery_sims[upper].astype(np.float32)
    scores = np.concatenate([genuine, imp_top])
    is_gen = np.r_[np.ones(genuine.size, dtype=bool), np.zeros(imp_top.size, dtype=bool)]
    fpr, tpr, _ = roc.roc_curve(scores, is_gen, n_negatives=n_imp_total)
    largest = cmc[ladder[-1]]
    return {
        "cmc": cmc,
        "rank1": largest[1],
        "rank5": largest[5],
        "rank10": largest[10],
        "rank1_hits": hits,
        "tar_at_far": roc.read_tar(fpr, tpr, fars),
        "n_probe_pairs": int(j_idx.size),
        "n_genuine": int(genuine.size),
        "n_impostor": int(n_imp_total),
        "n_distractors": int(ladder[-1]),
        "ladder": ladder,
    }


def read_noise_list(path, n_records: int) -> np.ndarray:
    """Record indices listed in a noise file (one integer per line, '#' comments, blank lines ok).

    Raises InputError naming the file and line for a non-integer or out-of-range index.
    """
    out = []
    for lineno, line in enumerate(read_text(path).split("\n"), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            idx = int(text)
        except ValueError:
            raise InputError(f"{path}:{lineno}: expected a record index, got {text!r}") from None
        if not 0 <= idx < n_records:
            raise InputError(f"{path}:{lineno}: record index {idx} outside [0, {n_records})")
        out.append(idx)
    return np.asarray(sorted(set(out)), dtype=np.int64)
