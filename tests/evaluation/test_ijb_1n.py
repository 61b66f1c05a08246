"""IJB 1:N open-set identification against a literal, slow transliteration of the protocol.

The reference loops over probes and gallery templates: it sorts each probe's gallery by score
(the mate first among equal scores), reads the mate's position, takes the k-th largest top score
of the non-mated probes as the FPIR threshold (k = ceil(f * n_nonmated)) and counts mated probes
at rank 1 above it; TPIRs are averaged over the two galleries, CMC counts pooled. Features are
drawn from a small set of exactly representable unit vectors (entries 0 or +-1/2, four non-zero
of eight), so every dot product is exact in any summation order and scores tie often.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from interface.errors import InputError
from interface.evaluation import ijb_1n


def _exact_units(rng, n, pool_size=12, dim=8):
    """``n`` unit rows drawn (with repeats) from ``pool_size`` vectors with four +-1/2 entries."""
    pool = []
    for _ in range(pool_size):
        v = np.zeros(dim)
        idx = rng.choice(dim, size=4, replace=False)
        v[idx] = rng.choice([-0.5, 0.5], size=4)
        pool.append(v)
    return np.array(pool)[rng.integers(pool_size, size=n)]


def _slow(probes, probe_subjects, galleries, fpirs, ranks):
    tpirs, hits_at, mated_total = {f: [] for f in fpirs}, {r: 0 for r in ranks}, 0
    rank1 = [None] * len(probes)
    for feats, subjects in galleries.values():
        mate_rank, mate_score, nonmated_top = {}, {}, []
        for i, p in enumerate(probes):
            scores = [sum(float(a) * float(b) for a, b in zip(p, g)) for g in feats]
            if probe_subjects[i] in list(subjects):
                j = list(subjects).index(probe_subjects[i])
                order = sorted(range(len(feats)), key=lambda c: (-scores[c], c != j))
                mate_rank[i] = order.index(j) + 1
                mate_score[i] = scores[j]
                rank1[i] = mate_rank[i] == 1
            else:
                nonmated_top.append(max(scores))
        tops = sorted(nonmated_top, reverse=True)
        for f in fpirs:
            tau = tops[math.ceil(f * len(tops)) - 1]
            good = [i for i in mate_rank if mate_rank[i] == 1 and mate_score[i] > tau]
            tpirs[f].append(len(good) / len(mate_rank))
        for r in ranks:
            hits_at[r] += sum(1 for i in mate_rank if mate_rank[i] <= r)
        mated_total += len(mate_rank)
    return (
        {f: sum(v) / len(v) for f, v in tpirs.items()},
        {r: hits_at[r] / mated_total for r in ranks},
        rank1,
    )


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_matches_slow_transliteration_with_ties(seed):
    rng = np.random.default_rng(seed)
    n_sub = 14
    subjects = rng.permutation(100 + np.arange(n_sub))
    g1, g2 = subjects[: n_sub // 2], subjects[n_sub // 2 :]
    probe_subjects = rng.choice(subjects, size=60)
    galleries = {
        "G1": (_exact_units(rng, g1.size), g1),
        "G2": (_exact_units(rng, g2.size), g2),
    }
    if seed == 3:  # a gallery template duplicated under another subject: the mate ties with it
        galleries["G1"][0][1] = galleries["G1"][0][0]
    probes = _exact_units(rng, probe_subjects.size)
    fpirs, ranks = (0.01, 0.1, 0.25, 0.5), (1, 2, 5)
    got = ijb_1n.evaluate(probes, probe_subjects, galleries, fpirs=fpirs, ranks=ranks)
    tpir, cmc, rank1 = _slow(probes, probe_subjects, galleries, fpirs, ranks)
    assert got["tpir_at_fpir"] == pytest.approx(tpir, abs=0)
    assert got["cmc"] == pytest.approx(cmc, abs=0)
    assert got["rank1_hits"].tolist() == rank1
    assert got["n_nonmated_min"] == min(
        int(np.sum(~np.isin(probe_subjects, s))) for _, s in galleries.values()
    )


def test_matches_slow_transliteration_continuous_blocks(monkeypatch):
    """Random (untied) features, probes scored in several blocks."""
    monkeypatch.setattr(ijb_1n, "BLOCK_PROBES", 7)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(80, 6))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    subjects = np.arange(20)
    galleries = {"S1": (x[:10], subjects[:10]), "S2": (x[10:20], subjects[10:])}
    probe_subjects = rng.choice(subjects, size=60)
    probes = x[20:] + 0.8 * np.concatenate([x[:20]])[probe_subjects]
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    got = ijb_1n.evaluate(probes, probe_subjects, galleries)
    tpir, cmc, rank1 = _slow(probes, probe_subjects, galleries, ijb_1n.FPIRS, ijb_1n.CMC_RANKS)
    assert got["tpir_at_fpir"] == pytest.approx(tpir)
    assert got["cmc"] == pytest.approx(cmc)
    assert got["rank1_hits"].tolist() == rank1
    assert 0 < got["cmc"][1] < 1  # not a degenerate case


def test_threshold_keeps_realised_fpir_below_target():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(230, 5))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    galleries = {"G1": (x[:15], np.arange(15)), "G2": (x[15:30], np.arange(15, 30))}
    res = ijb_1n.evaluate(x[30:], rng.integers(30, size=200), galleries, fpirs=(0.01, 0.1, 0.3))
    for g in res["per_gallery"].values():
        for f, realised in g["fpir_realised"].items():
            assert realised < f
            assert realised >= f - 1.0 / g["n_nonmated"] - 1e-12  # k-1 of n above: the closest below f


def test_bad_protocol_inputs():
    x = np.eye(4)
    with pytest.raises(InputError, match="no gallery"):
        ijb_1n.evaluate(
            x, np.array([0, 1, 2, 9]), {"G1": (x[:2], np.array([0, 1])), "G2": (x[2:3], np.array([2]))}
        )
    with pytest.raises(InputError, match="no non-mated probe"):
        ijb_1n.evaluate(
            x[:2], np.array([0, 1]), {"G1": (x[:2], np.array([0, 1])), "G2": (x[2:3], np.array([2]))}
        )
    with pytest.raises(InputError, match="more than one template"):
        ijb_1n.evaluate(
            x, np.array([0, 0, 2, 2]), {"G1": (x[:2], np.array([0, 0])), "G2": (x[2:3], np.array([2]))}
        )
    with pytest.raises(InputError, match="also in another gallery"):
        ijb_1n.evaluate(
            x, np.array([0, 1, 2, 2]), {"G1": (x[:2], np.array([0, 2])), "G2": (x[2:3], np.array([2]))}
        )


def test_exact_pool_is_exact():
    """The test's premise: pool dot products are exact, so BLAS and loops see the same ties."""
    pool = _exact_units(np.random.default_rng(0), 30)
    for a, b in itertools.product(pool[:6], pool[:6]):
        assert (a @ b) * 4 == round((a @ b) * 4)


def _slow_union(probes, probe_subjects, gallery, gallery_subjects, fpirs, ranks):
    """insightface ijb_1n.py's recipe on the union gallery, by loops (mate first among ties)."""
    mate_score, mate_rank, negatives = [], [], []
    for p, subject in zip(probes, probe_subjects):
        scores = [sum(float(a) * float(b) for a, b in zip(p, g)) for g in gallery]
        j = list(gallery_subjects).index(subject)
        order = sorted(range(len(gallery)), key=lambda c: (-scores[c], c != j))
        mate_rank.append(order.index(j) + 1)
        mate_score.append(scores[j])
        negatives += [s for c, s in enumerate(scores) if c != j]
    negatives.sort(reverse=True)
    tpir = {}
    for f in fpirs:
        th = negatives[math.ceil(len(probes) * f) - 1]
        tpir[f] = sum(s > th for s in mate_score) / len(probes)
    cmc = {r: sum(x <= r for x in mate_rank) / len(probes) for r in ranks}
    return tpir, cmc, [x == 1 for x in mate_rank]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_union_variant_matches_slow_transliteration_with_ties(seed, monkeypatch):
    monkeypatch.setattr(ijb_1n, "BLOCK_PROBES", 9)  # negatives merged over several blocks
    rng = np.random.default_rng(seed)
    subjects = rng.permutation(40 + np.arange(15))
    gallery = _exact_units(rng, subjects.size, pool_size=40)
    gallery[1] = gallery[0]  # two subjects look the same: a mate ties with a non-mate
    probe_subjects = rng.choice(subjects, size=50)
    probes = _exact_units(rng, probe_subjects.size)
    mate = [list(subjects).index(s) for s in probe_subjects]
    probes[::2] = gallery[mate[::2]]  # half the probes equal their mate: score 1, ties with look-alikes
    fpirs, ranks = (0.01, 0.1, 0.3), (1, 3, 10)
    got = ijb_1n.evaluate_union(probes, probe_subjects, gallery, subjects, fpirs=fpirs, ranks=ranks)
    tpir, cmc, rank1 = _slow_union(probes, probe_subjects, gallery, subjects, fpirs, ranks)
    assert got["tpir_at_fpir"] == pytest.approx(tpir, abs=0)
    assert got["cmc"] == pytest.approx(cmc, abs=0)
    assert got["rank1_hits"].tolist() == rank1
    with pytest.raises(InputError, match="is in no gallery"):
        ijb_1n.evaluate_union(probes, np.r_[probe_subjects[:-1], 999], gallery, subjects)


def test_identified_items_pool_the_galleries_tpir_and_are_read_at_each_galleries_threshold():
    rng = np.random.default_rng(3)
    dim, n_sub = 8, 40
    centres = rng.normal(size=(n_sub, dim))
    g1, g2 = np.arange(0, 20), np.arange(20, 40)

    def unit(x):
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    galleries = {
        "G1": (unit(centres[g1] + 0.3 * rng.normal(size=(20, dim))), g1),
        "G2": (unit(centres[g2] + 0.3 * rng.normal(size=(20, dim))), g2),
    }
    subjects = np.repeat(np.arange(n_sub), 3)
    probes = unit(centres[subjects] + 0.6 * rng.normal(size=(subjects.size, dim)))
    res = ijb_1n.evaluate(probes, subjects, galleries)
    for f, flags in res["identified_at_fpir"].items():
        expected = np.zeros(subjects.size, dtype=bool)
        for feats, subs in galleries.values():
            mated = np.isin(subjects, subs)
            tops = np.sort([max(p @ g for g in feats) for p in probes[~mated]])[::-1]
            tau = tops[max(1, int(np.ceil(f * tops.size))) - 1]
            for p in np.flatnonzero(mated):
                scores = feats @ probes[p]
                mate = scores[list(subs).index(subjects[p])]
                expected[p] = (scores > mate).sum() == 0 and mate > tau
        assert np.array_equal(flags, expected), f
        # equal mated counts per gallery: the pooled mean is the row's mean over galleries
        assert np.mean(flags) == pytest.approx(res["tpir_at_fpir"][f])
