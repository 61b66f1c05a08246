"""TinyFace CMC against a literal transliteration: each probe sorts the whole gallery (matches,
then distractors labelled -100) by score, mates first among equal scores, and a hit at rank k is a
same-identity image among the first k. Features come from a small pool of exactly representable
unit vectors, so scores are exact and tie often (duplicated features)."""

from __future__ import annotations

import numpy as np
import pytest

from interface.errors import InputError
from interface.evaluation import tinyface


def _exact_units(rng, n, pool_size=10, dim=8):
    pool = np.zeros((pool_size, dim))
    for v in pool:
        idx = rng.choice(dim, size=4, replace=False)
        v[idx] = rng.choice([-0.5, 0.5], size=4)
    return pool[rng.integers(pool_size, size=n)]


def _slow(probes, probe_labels, matches, match_labels, distractors, ranks):
    gallery = list(matches) + list(distractors)
    labels = list(match_labels) + [-100] * len(distractors)
    hits = {r: 0 for r in ranks}
    rank1 = []
    for p, lab in zip(probes, probe_labels):
        scores = [sum(float(a) * float(b) for a, b in zip(p, g)) for g in gallery]
        order = sorted(range(len(gallery)), key=lambda c: (-scores[c], labels[c] != lab))
        first = next(pos for pos, c in enumerate(order) if labels[c] == lab) + 1
        for r in ranks:
            hits[r] += first <= r
        rank1.append(first == 1)
    return {r: h / len(probes) for r, h in hits.items()}, rank1


@pytest.mark.parametrize("seed", range(4))
def test_matches_slow_transliteration_with_ties(seed, monkeypatch):
    monkeypatch.setattr(tinyface, "BLOCK_ELEMENTS", 50 * (seed + 1))  # distractors in several blocks
    rng = np.random.default_rng(seed)
    ids = np.arange(12) * 7 + 1
    match_labels = np.concatenate([ids, rng.choice(ids, size=8)])  # some identities have 2-3 matches
    probe_labels = rng.choice(ids, size=40)
    matches = _exact_units(rng, match_labels.size)
    distractors = _exact_units(rng, 30)
    probes = _exact_units(rng, probe_labels.size)
    ranks = (1, 2, 5, 20)
    got = tinyface.evaluate(probes, probe_labels, matches, match_labels, distractors, cmc_ranks=ranks)
    cmc, rank1 = _slow(probes, probe_labels, matches, match_labels, distractors, ranks)
    assert got["cmc"] == pytest.approx(cmc, abs=0)
    assert got["rank1_hits"].tolist() == rank1
    assert got["n_gallery"] == 50 and got["n_distractors"] == 30


def test_no_distractors_and_continuous_features():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(70, 5))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = np.arange(20)
    probe_labels = rng.choice(labels, size=50)
    probes = x[20:] + x[:20][probe_labels]
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    got = tinyface.evaluate(probes, probe_labels, x[:20], labels, np.zeros((0, 5)))
    cmc, rank1 = _slow(probes, probe_labels, x[:20], labels, [], tinyface.CMC_RANKS)
    assert got["cmc"] == pytest.approx(cmc) and got["rank1_hits"].tolist() == rank1
    assert 0 < cmc[1] < 1


def test_probe_without_match_is_an_error():
    x = np.eye(3)
    with pytest.raises(InputError, match=r"probe 1 \(identity 5\) has no gallery match"):
        tinyface.evaluate(x[:2], np.array([0, 5]), x, np.array([0, 1, 2]), x[:0])
