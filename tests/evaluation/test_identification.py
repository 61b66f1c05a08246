"""MegaFace-style identification (formats-and-protocols.md §5.1, §5.3): constructed embeddings with
known rank-1, a brute-force gallery ranking, and the truncated-impostor verification read-out."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_curve as sk_roc_curve

from interface.errors import InputError
from interface.evaluation import identification as I
from tests.evaluation.embeddings import clustered_probes, unit


def test_constructed_known_rank1():
    # 3 identities x 2 images on orthogonal axes; one distractor sits right next to image 0 of
    # identity 0, so probe (j = image 0, gallery i = image 1) is beaten: 5 of 6 ordered pairs hit
    probes = unit(
        [
            [1, 0.05, 0, 0],
            [1, -0.05, 0, 0],
            [0, 1, 0.02, 0],
            [0, 1, -0.02, 0],
            [0, 0, 1, 0.01],
            [0, 0, 1, -0.01],
        ]
    )
    labels = np.array([7, 7, 3, 3, 5, 5])
    distractors = unit([[1, 0.06, 0, 0], [0, 0, 0, 1], [-1, 0, 0, 0]])
    res = I.evaluate(probes, labels, distractors, ladder=[3])
    assert res["rank1"] == pytest.approx(5 / 6)
    assert res["rank5"] == 1.0 and res["n_probe_pairs"] == 6 and res["n_genuine"] == 3
    # without the close distractor (a gallery of the 1 far distractor first in the permutation
    # or not) everything is rank 1; use a ladder size that includes only far distractors
    res = I.evaluate(probes, labels, distractors[1:], ladder=[1, 2])
    assert res["cmc"][1][1] == 1.0 and res["cmc"][2][1] == 1.0


def _brute_force(probes, labels, distractors, ladder, seed):
    """Rank every (i, j) pair against an explicit gallery of distractor subset + image i."""
    order = np.random.default_rng(seed).permutation(len(distractors))
    out = {}
    for n in ladder:
        gallery_d = distractors[order[:n]]
        hits = {1: 0, 5: 0, 10: 0}
        total = 0
        for j in range(len(probes)):
            for i in range(len(probes)):
                if i == j or labels[i] != labels[j]:
                    continue
                gallery = np.vstack([gallery_d, probes[i : i + 1]])
                sims = gallery @ probes[j]
                rank = 1 + np.sum(sims[:-1] > sims[-1])
                total += 1
                for r in hits:
                    hits[r] += rank <= r
        out[n] = {r: h / total for r, h in hits.items()}
    return out


def test_equals_brute_force_gallery_ranking():
    rng = np.random.default_rng(0)
    n_id, per, m, dim = 12, 4, 700, 8
    probes, labels, distractors = clustered_probes(rng, n_id, per, m, dim, spread=0.9)
    ladder = I.distractor_ladder(m)
    assert ladder == [10, 100, 700]
    res = I.evaluate(probes, labels, distractors, seed=3, chunk=64)
    want = _brute_force(probes, labels, distractors, ladder, seed=3)
    assert res["cmc"] == want
    assert res["cmc"][10][1] > res["cmc"][700][1]  # more distractors, harder


def test_verification_tar_with_truncated_impostors_equals_full_roc():
    rng = np.random.default_rng(1)
    n_id, per, m, dim = 20, 3, 2000, 8
    probes, labels, distractors = clustered_probes(rng, n_id, per, m, dim, spread=0.7)
    fars = (1e-5, 1e-4, 1e-3)
    res = I.evaluate(probes, labels, distractors, ladder=[m], fars=fars, chunk=300)
    # full list: every unordered genuine pair and every probe-distractor impostor (120,000 > kept)
    g = probes @ probes.T
    iu = np.triu_indices(len(probes), 1)
    gen = g[iu][labels[iu[0]] == labels[iu[1]]]
    imp = (probes @ distractors.T).ravel()
    assert res["n_impostor"] == imp.size and res["n_genuine"] == gen.size == n_id * 3
    fpr, tpr, _ = sk_roc_curve(np.r_[np.ones(gen.size), np.zeros(imp.size)], np.r_[gen, imp])
    for far in fars:
        assert res["tar_at_far"][far] == np.flipud(tpr)[np.argmin(np.abs(np.flipud(fpr) - far))]


def test_singletons_ignored_and_bad_input(tmp_path):
    probes = unit(np.eye(4))
    with pytest.raises(InputError, match="two or more images"):
        I.evaluate(probes, np.arange(4), probes)
    with pytest.raises(InputError, match="labels"):
        I.evaluate(probes, np.arange(3), probes)
    with pytest.raises(InputError, match="NaN"):
        I.evaluate(np.full((4, 4), np.nan), np.zeros(4), probes)
    with pytest.raises(InputError, match="ladder"):
        I.evaluate(probes, np.zeros(4), probes, ladder=[5])
    with pytest.raises(InputError, match="do not match"):
        I.evaluate(probes, np.zeros(4), probes[:, :3])


def test_noise_list(tmp_path):
    f = tmp_path / "probe_noises.txt"
    f.write_text("# noisy probes\n3\n\n1  # mislabelled\n3\n")
    np.testing.assert_array_equal(I.read_noise_list(f, 5), [1, 3])
    f.write_text("2\nabc\n")
    with pytest.raises(InputError, match="probe_noises.txt:2"):
        I.read_noise_list(f, 5)
    f.write_text("9\n")
    with pytest.raises(InputError, match=r"outside \[0, 5\)"):
        I.read_noise_list(f, 5)
