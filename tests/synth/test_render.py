"""SynthFace rendering: ray-casting, exact landmarks of loose crops, alignment, nuisances, CLI."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from interface.data.align import align_face, estimate_similarity, warp_affine
from interface.data.synth import seeding
from interface.data.synth.identity import DIM, INDEX, sample_identity, sample_lookalike
from interface.data.synth.nuisance import TRAIN, Nuisance, sample_nuisance
from interface.data.synth.render import TEMPLATE, _cast, render_face

CLEAN = Nuisance(bg=(0.6, 0.6, 0.6))  # frontal, no alignment error, blur, noise or occlusion


def _identities(n: int, seed: int = 3) -> list[np.ndarray]:
    return [sample_identity(seeding.rng_for(seed, seeding.ROLE_TRAIN_ID, i)) for i in range(n)]


def _placement(scale: float, angle_deg: float, tx: float, ty: float) -> np.ndarray:
    a = np.radians(angle_deg)
    return np.array([[scale * np.cos(a), scale * np.sin(a), tx], [-scale * np.sin(a), scale * np.cos(a), ty]])


def test_cast_matches_analytic_sphere_depth():
    # Unrotated sphere of radius 10 centred at the origin: depth of the front surface is sqrt(r^2 - u^2 - v^2).
    u = np.array([0.0, 3.0, -6.0, 9.9, 10.5])
    v = np.array([0.0, 4.0, 2.0, 0.0, 0.0])
    hit, t, (px, py, pz) = _cast(u, v, np.eye(3), np.zeros(3), np.array([10.0, 10.0, 10.0]))
    inside = u**2 + v**2 < 100.0
    assert (hit == inside).all()
    np.testing.assert_allclose(t[inside], np.sqrt(100.0 - u[inside] ** 2 - v[inside] ** 2), rtol=1e-12)
    np.testing.assert_allclose(px[inside], u[inside], atol=1e-12)
    # Turned 90 degrees about the vertical axis, an ellipsoid shows its depth axis as width.
    yaw = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])
    hit, _, _ = _cast(np.array([7.0, 9.0]), np.zeros(2), yaw, np.zeros(3), np.array([3.0, 10.0, 8.0]))
    assert hit.tolist() == [True, False]


def test_loose_crop_landmarks_are_the_placed_aligned_landmarks():
    for vec in _identities(3):
        nz = dataclasses.replace(CLEAN, yaw=25.0, pitch=-5.0, roll=3.0, scale=1.05, shift_x=1.5)
        aligned, lm = render_face(vec, nz)
        placement = _placement(0.9, 12.0, 30.0, 14.0)
        loose, lm_loose = render_face(vec, nz, (150, 170), placement)
        assert loose.shape == (150, 170, 3) and aligned.shape == (112, 112, 3)
        expected = np.column_stack([lm, np.ones(5)]) @ placement.T  # independent float64 composition
        np.testing.assert_allclose(lm_loose, expected, atol=1e-9)
        # Warping the loose crop back by the inverse placement reproduces the aligned render.
        inv = np.linalg.inv(np.vstack([placement, [0, 0, 1]]))[:2]
        back = warp_affine(loose, inv, 112).astype(np.float64)
        inner = np.s_[8:104, 8:104]
        err = np.abs(back[inner] - aligned[inner]).mean()
        other = render_face(_identities(1, seed=99)[0], nz)[0].astype(np.float64)
        assert err < 4.0 and err < 0.2 * np.abs(other[inner] - aligned[inner]).mean()


def test_standard_alignment_of_loose_crop_recovers_frontal_face():
    for vec in _identities(4, seed=5):
        aligned, lm = render_face(vec, CLEAN)
        # A frontal face without alignment error sits on the ArcFace template (within a few pixels).
        assert np.abs(lm - TEMPLATE).max() < 7.0
        placement = _placement(1.2, -15.0, 10.0, 30.0)
        loose, lm_loose = render_face(vec, CLEAN, (180, 180), placement)
        inner = np.s_[16:100, 16:100]
        # Exact: the similarity estimated from the loose landmarks onto the render's own landmarks.
        exact = warp_affine(loose, estimate_similarity(lm_loose, lm), 112).astype(np.float64)
        assert np.abs(exact[inner] - aligned[inner]).mean() < 4.0
        # Standard insightface alignment onto the template lands close to the direct render
        # (the template is the population mean, so an individual face is off by a small similarity).
        realigned = align_face(loose, lm_loose).astype(np.float64)
        err = np.abs(realigned[inner] - aligned[inner]).mean()
        other = render_face(_identities(1, seed=77)[0], CLEAN)[0].astype(np.float64)
        assert err < 0.6 * np.abs(other[inner] - aligned[inner]).mean(), err


def test_pose_moves_landmarks_like_a_head_turn():
    vec = _identities(1)[0]
    _, lm0 = render_face(vec, CLEAN)
    _, lm60 = render_face(vec, dataclasses.replace(CLEAN, yaw=60.0))
    eye_gap = lambda lm: np.linalg.norm(lm[1] - lm[0])  # noqa: E731
    # Foreshortening: the projected eye distance shrinks roughly like cos(yaw) at 60 deg.
    ratio = eye_gap(lm60) / eye_gap(lm0)
    assert 0.3 < ratio < 0.8
    # The nose tip leaves the eye midline towards the turned side.
    assert abs(lm60[2, 0] - lm60[:2, 0].mean()) > 3.0 * abs(lm0[2, 0] - lm0[:2, 0].mean()) + 2.0


def test_nuisances_change_pixels_and_are_reproducible():
    vec = _identities(1)[0]
    base = render_face(vec, CLEAN)[0].astype(np.float64)
    for fields in (
        {"yaw": 70.0},
        {"age_delta": 30.0},
        {"occlusion": "sunglasses"},
        {"light_az": 70.0, "light": 1.2},
    ):
        changed = render_face(vec, dataclasses.replace(CLEAN, **fields))[0].astype(np.float64)
        assert np.abs(changed - base).mean() > 1.0, fields
    blurred = render_face(vec, dataclasses.replace(CLEAN, blur=1.5))[0].astype(np.float64)
    assert np.abs(np.diff(blurred, axis=1)).mean() < 0.8 * np.abs(np.diff(base, axis=1)).mean()
    noisy = dataclasses.replace(CLEAN, noise=8.0, noise_seed=11)
    a, b = render_face(vec, noisy)[0], render_face(vec, noisy)[0]
    assert np.array_equal(a, b)
    assert 6.0 < np.std(a.astype(np.float64) - base) < 10.0


def test_sample_nuisance_override_keeps_other_draws():
    a = sample_nuisance(np.random.default_rng(4), TRAIN)
    b = sample_nuisance(np.random.default_rng(4), TRAIN, yaw=80.0, age_delta=-20.0)
    assert b.yaw == 80.0 and b.age_delta == -20.0
    assert dataclasses.replace(b, yaw=a.yaw, age_delta=a.age_delta) == a


def test_identity_vectors_and_lookalikes():
    rng = np.random.default_rng(0)
    vecs = np.stack([sample_identity(rng) for _ in range(200)])
    assert vecs.shape == (200, DIM) and vecs.min() >= 0.0 and vecs.max() <= 1.0
    assert 0.1 < (vecs[:, INDEX["glasses"]] > 0).mean() < 0.35
    base = vecs[0]
    twin = sample_lookalike(base, rng)
    assert twin[INDEX["glasses"]] == base[INDEX["glasses"]] and not np.array_equal(twin, base)
    assert np.abs(twin - base).mean() < np.abs(vecs[1:] - base).mean(1).min() + 0.1


def test_cli_bad_input_is_one_line_error(tmp_path, capsys):
    from interface.data.synth.cli import main

    assert main(["--out", str(tmp_path / "x"), "--preset", "smoke", "--seed", "-3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --seed -3") and err.count("\n") == 1
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "x"), "--preset", "huge"])
    assert not (tmp_path / "x").exists()
