"""IJB-B / IJB-C 1:N open-set identification over the two disjoint galleries (G1/G2, or S1/S2).

The protocol files (``interface.data.ijb_1n``) list two galleries with one template per subject
and the mixed-media probe templates; every probe subject is in exactly one gallery. Each gallery
is searched on its own with all probes, as the IJB papers (and leondgarse/Keras_insightface's
``IJB_evals.py`` two-gallery evaluation) do: for gallery g a probe whose subject is in g is
*mated*, every other probe is *non-mated*. Per gallery, on unit template vectors and cosine
scores ``s``:

* rank of a mated probe = 1 + #{gallery templates of other subjects scoring strictly above the
  mate} (ties count for the mate, as in ``identification.py``); a hit at rank r means rank <= r;
* FPIR threshold: the non-mated probes' top scores ``t`` sorted descending, ``k = ceil(f * n_nm)``
  (insightface ``ijb_1n.py``'s count, taken over the non-mated searches as in NIST's definition),
  threshold ``tau_f`` = the k-th largest; at most k - 1 non-mated searches score above it, so the
  realised FPIR (``t > tau_f``) is below f;
* TPIR at FPIR f = fraction of mated probes whose mate is at rank 1 **and** scores strictly above
  ``tau_f``.

Reported: TPIR at FPIR 0.01 and 0.1 as the mean of the two galleries' TPIRs, and CMC ranks 1, 5,
10 pooled over the two galleries (each probe counted once, in the gallery that holds its mate:
hits in G1 + hits in G2 over all probes). A TPIR at FPIR f is resolved iff ``f * n_nm >= 100``
for both galleries (``resolution.py``). insightface's own ``ijb_1n.py`` instead searches the
union G1 + G2 (every probe mated, threshold from all non-mate scores); that closed-set variant is
not what the papers tabulate as TPIR at FPIR; :func:`evaluate_union` computes it (the kind's
``galleries: union`` option) for comparison with that script's printout.

Template vectors come from the 1:1 pipeline (``ijb.image_features`` with its F2/N1/D1 modes, then
``ijb.pool_templates``: media mean, template sum, L2), restricted to each list's templates.
"""

from __future__ import annotations

import math

import numpy as np

from interface.errors import InputError
from interface.evaluation.tinyface import feature_matrix

FPIRS = (0.01, 0.1)
CMC_RANKS = (1, 5, 10)
BLOCK_PROBES = 4096  # probes scored per block (memory ~ BLOCK_PROBES * gallery * 8 bytes)


def search_gallery(
    probes: np.ndarray,
    probe_subjects: np.ndarray,
    gallery: np.ndarray,
    gallery_subjects: np.ndarray,
    keep_negatives: int = 0,
) -> dict:
    """Search one gallery with every probe.

    Args:
        probes: (P, D) unit probe template vectors; probe_subjects: (P,) integer subjects.
        gallery: (G, D) unit gallery template vectors, one per subject; gallery_subjects: (G,).
        keep_negatives: also return the highest ``keep_negatives`` non-mate scores over all
            probe-gallery pairs (the union variant's threshold), streamed block by block.

    Returns:
        dict with ``mated`` ((P,) bool: subject in this gallery), ``rank`` ((P,) int64 rank of the
        mate, 0 for non-mated probes), ``mate_score`` ((P,) float64, NaN for non-mated),
        ``top_score`` ((P,) float64, highest score over the gallery) and ``negatives`` (the kept
        non-mate scores, descending).
    """
    order = np.argsort(gallery_subjects, kind="stable")
    sorted_subjects = gallery_subjects[order]
    pos = np.clip(np.searchsorted(sorted_subjects, probe_subjects), 0, max(sorted_subjects.size - 1, 0))
    mated = sorted_subjects[pos] == probe_subjects
    mate_col = np.where(mated, order[pos], -1)
    n = probes.shape[0]
    rank = np.zeros(n, dtype=np.int64)
    mate_score = np.full(n, np.nan)
    top_score = np.empty(n)
    negatives = np.empty(0)
    for lo in range(0, n, BLOCK_PROBES):
        hi = min(n, lo + BLOCK_PROBES)
        sims = probes[lo:hi] @ gallery.T
        top_score[lo:hi] = sims.max(axis=1)
        rows = np.flatnonzero(mated[lo:hi])
        s_m = sims[rows, mate_col[lo:hi][rows]]
        mate_score[lo + rows] = s_m
        rank[lo + rows] = 1 + (sims[rows] > s_m[:, None]).sum(axis=1)
        if keep_negatives:
            sims[rows, mate_col[lo:hi][rows]] = -np.inf  # the mate is not a negative
            both = np.concatenate([negatives, sims[np.isfinite(sims)]])
            negatives = (
                np.partition(both, both.size - keep_negatives)[-keep_negatives:]
                if both.size > keep_negatives
                else both
            )
    return {"mated": mated, "rank": rank, "mate_score": mate_score, "top_score": top_score,
            "negatives": np.sort(negatives)[::-1]}  # fmt: skip


def tpir_at_fpir(search: dict, fpirs=FPIRS) -> dict:
    """TPIR at each FPIR for one searched gallery (module docstring); needs a non-mated probe.

    Returns dict with ``tpir`` ({f: fraction}), ``threshold`` ({f: score}), ``fpir_realised``
    ({f: fraction of non-mated top scores above the threshold}), ``identified`` ({f: (n_mated,)
    bool, the mated probes in probe order that count for the TPIR}), ``n_mated``, ``n_nonmated``.
    """
    mated = search["mated"]
    t = np.sort(search["top_score"][~mated])[::-1]
    if t.size == 0:
        raise InputError("IJB 1:N: a gallery has no non-mated probe; TPIR at FPIR needs probes outside it")
    if not mated.any():
        raise InputError("IJB 1:N: a gallery has no mated probe")
    rank1 = search["rank"][mated] == 1
    s_m = search["mate_score"][mated]
    out: dict = {"tpir": {}, "threshold": {}, "fpir_realised": {}, "identified": {}}
    for f in fpirs:
        k = max(1, math.ceil(f * t.size))
        tau = float(t[min(k, t.size) - 1])
        out["identified"][f] = rank1 & (s_m > tau)
        out["tpir"][f] = float(np.mean(out["identified"][f]))
        out["threshold"][f] = tau
        out["fpir_realised"][f] = float(np.mean(t > tau))
    out["n_mated"], out["n_nonmated"] = int(mated.sum()), int(t.size)
    return out


def evaluate(
    probes: np.ndarray,
    probe_subjects: np.ndarray,
    galleries: dict[str, tuple[np.ndarray, np.ndarray]],
    fpirs=FPIRS,
    ranks=CMC_RANKS,
) -> dict:
    """Open-set 1:N over the given galleries (module docstring).

    Args:
        probes: (P, D) unit probe template vectors; probe_subjects: (P,) integer subjects, each in
            exactly one gallery.
        galleries: {name: ((G, D) unit template vectors, (G,) subjects, one template each)}.

    Returns:
        dict with ``tpir_at_fpir`` ({f: mean over galleries}), ``cmc`` ({r: pooled hit rate}),
        ``rank1_hits`` ((P,) bool, probe order), ``identified_at_fpir`` ({f: (P,) bool, probe
        order: identified in its mated gallery at that gallery's threshold for f; its mean is the
        TPIR pooled over probes, equal to ``tpir_at_fpir`` when the galleries hold as many mated
        probes each}), ``per_gallery`` ({name: {"tpir", "threshold",
        "fpir_realised", "cmc", "n_mated", "n_nonmated", "n_templates"}}), ``n_probes``,
        ``n_nonmated_min`` (the fewest non-mated probes of a gallery: what resolution uses).
    """
    probes = feature_matrix(probes, "IJB 1:N probes", min_rows=1)
    probe_subjects = np.asarray(probe_subjects)
    if probe_subjects.shape != (probes.shape[0],):
        raise InputError(f"IJB 1:N: {probes.shape[0]} probes but subjects have shape {probe_subjects.shape}")
    best_rank = np.zeros(probes.shape[0], dtype=np.int64)
    identified = {f: np.zeros(probes.shape[0], dtype=bool) for f in fpirs}
    per_gallery = {}
    for name, (feats, subjects) in galleries.items():
        feats, subjects = feature_matrix(feats, f"IJB 1:N gallery {name}", min_rows=1), np.asarray(subjects)
        if subjects.shape != (feats.shape[0],) or feats.shape[1] != probes.shape[1]:
            raise InputError(f"IJB 1:N gallery {name}: shape {feats.shape} / subjects {subjects.shape} "
                             f"do not match probes {probes.shape}")  # fmt: skip
        if np.unique(subjects).size != subjects.size:
            raise InputError(f"IJB 1:N gallery {name}: a subject has more than one template")
        search = search_gallery(probes, probe_subjects, feats, subjects)
        if np.any((best_rank > 0) & search["mated"]):
            raise InputError(f"IJB 1:N gallery {name}: a probe subject is also in another gallery")
        best_rank[search["mated"]] = search["rank"][search["mated"]]
        res = tpir_at_fpir(search, fpirs)
        for f, flags in res.pop("identified").items():
            identified[f][search["mated"]] = flags
        mated_rank = search["rank"][search["mated"]]
        res["cmc"] = {r: float(np.mean(mated_rank <= r)) for r in ranks}
        res["n_templates"] = int(feats.shape[0])
        per_gallery[name] = res
    if np.any(best_rank == 0):
        k = int(np.flatnonzero(best_rank == 0)[0])
        raise InputError(f"IJB 1:N: probe {k} (subject {probe_subjects[k]}) is in no gallery")
    return {
        "tpir_at_fpir": {f: float(np.mean([g["tpir"][f] for g in per_gallery.values()])) for f in fpirs},
        "cmc": {r: float(np.mean(best_rank <= r)) for r in ranks},
        "rank1_hits": best_rank == 1,
        "identified_at_fpir": identified,
        "per_gallery": per_gallery,
        "n_probes": int(probes.shape[0]),
        "n_nonmated_min": min(g["n_nonmated"] for g in per_gallery.values()),
    }


def evaluate_union(
    probes: np.ndarray,
    probe_subjects: np.ndarray,
    gallery: np.ndarray,
    gallery_subjects: np.ndarray,
    fpirs=FPIRS,
    ranks=CMC_RANKS,
) -> dict:
    """insightface ``ijb_1n.py``'s closed-set variant on the union gallery G1 + G2.

    Every probe is mated (its subject has exactly one template in the union). CMC rank as in
    :func:`search_gallery`. "TPIR at FPIR f": ``k = ceil(f * P)`` over the P probes, threshold =
    the k-th largest of all non-mate probe-gallery scores, value = fraction of probes whose mate
    scores strictly above it (no rank-1 condition). Returns the keys of :func:`evaluate` with
    ``per_gallery`` empty and ``n_nonmated_min`` = P (the threshold is read on ceil(f * P) events).
    """
    probes = feature_matrix(probes, "IJB 1:N probes", min_rows=1)
    gallery = feature_matrix(gallery, "IJB 1:N union gallery", probes.shape[1], min_rows=2)
    probe_subjects, gallery_subjects = np.asarray(probe_subjects), np.asarray(gallery_subjects)
    if np.unique(gallery_subjects).size != gallery_subjects.size:
        raise InputError("IJB 1:N union gallery: a subject has more than one template")
    n = probes.shape[0]
    k = {f: max(1, math.ceil(f * n)) for f in fpirs}
    search = search_gallery(probes, probe_subjects, gallery, gallery_subjects, keep_negatives=max(k.values()))
    if not search["mated"].all():
        i = int(np.flatnonzero(~search["mated"])[0])
        raise InputError(f"IJB 1:N: probe {i} (subject {probe_subjects[i]}) is in no gallery")
    neg = search["negatives"]
    tpir = {f: float(np.mean(search["mate_score"] > neg[min(k[f], neg.size) - 1])) for f in fpirs}
    return {
        "tpir_at_fpir": tpir,
        "cmc": {r: float(np.mean(search["rank"] <= r)) for r in ranks},
        "rank1_hits": search["rank"] == 1,
        "per_gallery": {},
        "n_probes": n,
        "n_nonmated_min": n,
    }
