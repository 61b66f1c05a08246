"""SynthFace at the protocol sizes: the default preset's plans (no rendering) reach them, pairs are
distinct and built from reused renders, and a preset that cannot reach them stops with one line
naming the key and its minimum."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from interface.data.synth import get_preset
from interface.data.synth.identification import plan_identification
from interface.data.synth.ijbset import plan_ijb
from interface.data.synth.packs import PACKS, POOLS, pack_pairs_per_fold, plan_pack, plan_variants
from interface.data.synth.pools import build_pools
from interface.errors import InputError
from interface.evaluation.identification import distractor_ladder
from interface.evaluation.resolution import rate_resolution

DEFAULT = get_preset("default")


@pytest.fixture(scope="module")
def pools():
    return build_pools(DEFAULT, 0)


def test_default_packs_are_protocol_sized_distinct_and_reuse_renders(pools):
    variants = plan_variants(DEFAULT.eval_ids, DEFAULT.pack_variants, 0)
    assert len(variants) == len(POOLS) * DEFAULT.eval_ids * DEFAULT.pack_variants
    for k, spec in enumerate(PACKS):
        per_fold = pack_pairs_per_fold(spec, DEFAULT.pairs_per_fold, DEFAULT.pairs_per_fold_cfp_fp)
        assert per_fold == (700 if spec.name == "synth_cfp_fp" else 600)
        plan = plan_pack(k, spec, DEFAULT.eval_ids, pools.nearest, DEFAULT.pack_variants, per_fold, 10, 0)
        assert len(plan) == 10 * per_fold
        same = np.array([p.issame for p in plan]).reshape(10, per_fold)
        assert (same[:, : per_fold // 2]).all() and not same[:, per_fold // 2 :].any()
        images = [(p.image_first, p.image_second) for p in plan]
        assert len({tuple(sorted(x)) for x in images}) == len(plan)  # no comparison twice
        assert all(a != b for a, b in images)  # never an image against itself
        assert len({i for x in images for i in x}) < 2 * len(plan) / 3  # renders are reused
        for p in plan:  # each image shows the identity the pair names
            assert variants[p.image_first][0] == p.first and variants[p.image_second][0] == p.second
            assert (p.first == p.second) == p.issame
        if spec.name == "synth_agedb_30":
            gaps = [
                abs(variants[p.image_first][1].age_delta - variants[p.image_second][1].age_delta)
                for p in plan
            ]
            assert min(gaps) >= 25.0 and max(gaps) <= 35.0


def test_default_ijb_resolves_far_1e4_with_media_disjoint_genuine_pairs(pools):
    plan = plan_ijb(DEFAULT, pools.eval, 0)
    labels = np.array([label for *_, label in plan.pairs])
    n_imp = int((labels == 0).sum())
    assert n_imp == DEFAULT.ijb_impostor_pairs == 1_000_000
    assert rate_resolution(1e-4, n_imp)[1] and not rate_resolution(1e-5, n_imp)[1]
    assert len(plan.renders) < len(plan.template_identity)  # far fewer renders than templates
    media = {}
    for tid, mid, ident, _ in plan.rows:
        media.setdefault(tid, set()).add(mid)
        assert plan.template_identity[tid] == ident
    pairs = np.array(plan.pairs)
    assert np.unique(pairs[:, 0] * 10**6 + pairs[:, 1]).size == len(pairs)  # no template pair twice
    owner = np.zeros(pairs[:, :2].max() + 1, dtype=np.int64)
    owner[list(plan.template_identity)] = list(plan.template_identity.values())
    assert ((owner[pairs[:, 0]] == owner[pairs[:, 1]]) == (pairs[:, 2] == 1)).all()
    for a, b, _ in pairs[pairs[:, 2] == 1]:  # genuine pairs never share a media (nor an image)
        assert not media[a] & media[b]


def test_default_identification_reads_rank1_on_300_probes(pools):
    plan = plan_identification(DEFAULT, pools, 0)
    clean = len(plan.probe_jobs) - len(plan.probe_noises)
    assert clean >= 300
    assert distractor_ladder(len(plan.distractor_jobs)) == [10, 100, 1000]


@pytest.mark.parametrize(
    "change,match",
    [
        (
            {"eval_ids": 150, "probe_ids": 100},
            r"eval_ids=150, expected >= 200: synth_lfw needs 3000 distinct positive pairs",
        ),
        ({"ijb_ids": 100}, r"ijb_ids=100, expected >= 142 for ijb_impostor_pairs=1000000"),
        ({"probe_ids": 50}, r"probe_ids=50, expected >= 300 clean probe images"),
        ({"distractors": 500}, r"distractors=500, expected >= 1000"),
        ({"pairs_per_fold": 500}, r"pairs_per_fold=500, expected >= 600"),
        ({"ijb_impostor_pairs": 900_000}, r"ijb_impostor_pairs=900000, expected >= 1000000"),
        ({"ijb_media": (1, 3)}, r"ijb_media=\(1, 3\), expected \(min, max\) with min >= 2"),
    ],
)
def test_preset_that_cannot_reach_the_protocol_names_key_and_minimum(change, match):
    with pytest.raises(InputError, match=match) as info:
        dataclasses.replace(DEFAULT, **change)
    assert "\n" not in str(info.value)


def test_small_presets_need_not_reach_the_protocol():
    smoke = get_preset("smoke")
    assert not smoke.protocol
    with pytest.raises(InputError, match="eval_ids=3, expected >= 20"):
        dataclasses.replace(smoke, eval_ids=3, probe_ids=3, ijb_ids=3)


def test_cheaper_shading_keeps_landmarks_and_the_32px_face():
    import torch
    import torch.nn.functional as F

    from interface.data.synth.identity import sample_identity
    from interface.data.synth.nuisance import TRAIN, sample_nuisance
    from interface.data.synth.render import render_face

    def at32(img):
        x = torch.from_numpy(img.copy()).permute(2, 0, 1)[None].float()
        return F.interpolate(x, size=(32, 32), mode="bilinear", antialias=True)[0]

    diffs, others = [], []
    for i in range(6):
        vec = sample_identity(np.random.default_rng(i))
        nz = sample_nuisance(np.random.default_rng(50 + i), TRAIN)
        full, lm_full = render_face(vec, nz)
        half, lm_half = render_face(vec, nz, shade_scale=0.5)
        np.testing.assert_array_equal(render_face(vec, nz, shade_scale=1.0)[0], full)  # 1.0 is the default
        np.testing.assert_array_equal(lm_half, lm_full)
        assert half.shape == full.shape
        diffs.append(float((at32(full) - at32(half)).abs().mean()))
        other = render_face(sample_identity(np.random.default_rng(100 + i)), nz)[0]
        others.append(float((at32(full) - at32(other)).abs().mean()))
    # at the model's 32 px the cheaper render is a small fraction of another person's difference
    assert max(diffs) < 3.0 and max(diffs) < 0.25 * min(others)
