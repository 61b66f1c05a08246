"""Similarity estimation and warping, against an independent linear least-squares fit and a
float64 bilinear sampler written here in OpenCV's pixel convention."""

from __future__ import annotations

import numpy as np
import pytest

from interface.data.align import ARCFACE_TEMPLATE, align_face, estimate_similarity, template_for, warp_affine
from interface.errors import InputError


def _similarity(scale, angle, tx, ty):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[scale * c, -scale * s, tx], [scale * s, scale * c, ty]])


def _apply(m, pts):
    return pts @ m[:, :2].T + m[:, 2]


def test_recovers_known_similarity():
    rng = np.random.default_rng(0)
    for _ in range(20):
        m = _similarity(rng.uniform(0.3, 3), rng.uniform(-np.pi, np.pi), *rng.uniform(-50, 50, 2))
        src = rng.uniform(0, 200, (5, 2))
        np.testing.assert_allclose(estimate_similarity(src, _apply(m, src)), m, atol=1e-9)


def test_noisy_fit_equals_linear_least_squares():
    # x' = a x - b y + tx, y' = b x + a y + ty is linear in (a, b, tx, ty) and spans exactly the
    # reflection-free similarities, so its least-squares solution is the optimum Umeyama finds.
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 100, (5, 2))
    dst = _apply(_similarity(1.3, 0.4, 5, -7), src) + rng.normal(0, 2.0, (5, 2))
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src, dst):
        rows += [[x, -y, 1, 0], [y, x, 0, 1]]
        rhs += [u, v]
    a, b, tx, ty = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0]
    np.testing.assert_allclose(estimate_similarity(src, dst), [[a, -b, tx], [b, a, ty]], atol=1e-9)


def test_mirrored_points_give_no_reflection():
    rng = np.random.default_rng(2)
    src = rng.uniform(0, 100, (5, 2))
    dst = src * np.array([-1.0, 1.0])
    m = estimate_similarity(src, dst)
    assert np.linalg.det(m[:, :2]) > 0


def test_templates():
    assert np.allclose(template_for(112), ARCFACE_TEMPLATE)
    assert np.allclose(template_for(224), ARCFACE_TEMPLATE * 2)
    t128 = template_for(128)
    assert np.allclose(t128[:, 0], ARCFACE_TEMPLATE[:, 0] + 8) and np.allclose(
        t128[:, 1], ARCFACE_TEMPLATE[:, 1]
    )


def _reference_warp(img, m, size):
    """OpenCV warpAffine semantics: dst(x, y) = bilinear src(M^-1 (x, y)), integer pixel centres.
    Returns the float64 image and a mask of pixels whose four neighbours lie inside the source."""
    inv = np.linalg.inv(m[:, :2])
    t = -inv @ m[:, 2]
    h, w = img.shape[:2]
    out = np.zeros((size, size, 3))
    mask = np.zeros((size, size), bool)
    for y in range(size):
        for x in range(size):
            u, v = inv @ [x, y] + t
            x0, y0 = int(np.floor(u)), int(np.floor(v))
            if x0 >= 0 and x0 + 1 < w and y0 >= 0 and y0 + 1 < h:
                fx, fy = u - x0, v - y0
                p = img[y0 : y0 + 2, x0 : x0 + 2].astype(np.float64)
                out[y, x] = (1 - fy) * ((1 - fx) * p[0, 0] + fx * p[0, 1]) + fy * (
                    (1 - fx) * p[1, 0] + fx * p[1, 1]
                )
                mask[y, x] = True
    return out, mask


def test_warp_matches_opencv_convention():
    yy, xx = np.mgrid[0:60, 0:80]
    img = np.stack([xx * 3, yy * 4, (xx * yy) % 256], -1).astype(np.uint8)
    m = _similarity(0.8, 0.3, 10.0, -4.0)
    got = warp_affine(img, m, 48)
    ref, mask = _reference_warp(img, m, 48)
    assert mask.sum() > 500
    assert np.abs(got[mask].astype(float) - ref[mask]).max() <= 1.01


def test_align_face_maps_landmarks_onto_template():
    # Place a bright dot at each template point, move the face by a known similarity, align back.
    m = _similarity(1.6, -0.35, 30.0, 55.0)
    src_pts = _apply(m, ARCFACE_TEMPLATE)
    img = np.zeros((260, 260, 3), np.uint8)
    for x, y in src_pts:
        img[int(round(y)) - 3 : int(round(y)) + 4, int(round(x)) - 3 : int(round(x)) + 4] = 255
    out = align_face(img, src_pts)
    assert out.shape == (112, 112, 3) and out.dtype == np.uint8
    for x, y in ARCFACE_TEMPLATE:
        assert out[int(round(y)), int(round(x))].min() > 200


def test_bad_landmarks():
    img = np.zeros((10, 10, 3), np.uint8)
    with pytest.raises(InputError, match=r"landmarks: shape \(4, 2\)"):
        align_face(img, np.zeros((4, 2)))
    with pytest.raises(InputError, match="coincide"):
        align_face(img, np.ones((5, 2)))
    with pytest.raises(InputError, match="uint8"):
        align_face(img.astype(np.float32), np.zeros((5, 2)))
