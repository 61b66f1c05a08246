"""Five-point face alignment to the standard ArcFace 112x112 template (formats-and-protocols.md §4.2).

A similarity transform (uniform scale, rotation, translation; no shear, no reflection) is fitted
by least squares (Umeyama 1991, "Least-squares estimation of transformation parameters between
two point patterns", IEEE TPAMI 13(4)) from the detected landmarks to the template, and the image
is warped with bilinear interpolation and a constant 0 border, as insightface does with OpenCV's
``warpAffine``; here Pillow does the warp (no OpenCV).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from interface.errors import InputError

# (x, y) in the 112x112 output: image-left eye, image-right eye, nose tip, left/right mouth corner.
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)


def template_for(size: int) -> np.ndarray:
    """The 5-point template for a ``size`` x ``size`` output (pixels).

    Sizes divisible by 112 scale the template by size/112; sizes divisible by 128 scale by
    size/128 and shift x by 8*size/128 (insightface ``estimate_norm``); other sizes scale by size/112.
    """
    if size % 112 != 0 and size % 128 == 0:
        t = ARCFACE_TEMPLATE * (size / 128.0)
        t[:, 0] += 8.0 * size / 128.0
        return t
    return ARCFACE_TEMPLATE * (size / 112.0)


def estimate_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity ``dst ~ s R src + t`` (Umeyama, det R = +1); returns the (2, 3) matrix.

    Args:
        src: (N, 2) source points in pixels, N >= 2, not all equal.
        dst: (N, 2) target points in pixels.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or src.shape[0] < 2:
        raise InputError(
            f"landmarks: shapes {src.shape} and {dst.shape}, expected two equal (N, 2) arrays, N >= 2"
        )
    if not (np.isfinite(src).all() and np.isfinite(dst).all()):
        raise InputError("landmarks: contain NaN or infinite coordinates")
    mu_s, mu_d = src.mean(0), dst.mean(0)
    sc, dc = src - mu_s, dst - mu_d
    var_s = (sc**2).sum() / len(src)
    if var_s <= 1e-12:
        raise InputError("landmarks: all source points coincide; a similarity transform is undefined")
    cov = dc.T @ sc / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.array([1.0, 1.0 if np.linalg.det(u) * np.linalg.det(vt) >= 0 else -1.0])  # forbid reflection
    rot = u @ np.diag(d) @ vt
    scale = float((sig * d).sum() / var_s)
    trans = mu_d - scale * rot @ mu_s
    return np.hstack([scale * rot, trans[:, None]])


def _pillow_affine(matrix: np.ndarray) -> tuple[float, ...]:
    """Pillow AFFINE coefficients (output -> input) for a forward (2, 3) matrix in OpenCV's
    convention (pixel centres at integer coordinates); Pillow puts pixel centres at i + 0.5."""
    a = matrix[:, :2]
    inv = np.linalg.inv(a)
    t_inv = -inv @ matrix[:, 2]
    shift = t_inv + 0.5 - inv @ np.array([0.5, 0.5])
    return (inv[0, 0], inv[0, 1], shift[0], inv[1, 0], inv[1, 1], shift[1])


def warp_affine(img: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Warp uint8 (H, W, 3) ``img`` by the forward (2, 3) ``matrix`` into a size x size image
    (bilinear, border 0; within one pixel of the source edge Pillow repeats the edge pixel)."""
    im = Image.fromarray(np.ascontiguousarray(img), mode="RGB")
    out = im.transform(
        (size, size),
        Image.Transform.AFFINE,
        _pillow_affine(matrix),
        resample=Image.Resampling.BILINEAR,
        fillcolor=0,
    )
    return np.array(out)


def align_face(img: np.ndarray, landmarks: np.ndarray, size: int = 112) -> np.ndarray:
    """Align a loose face crop to ``size`` x ``size`` by its five landmarks (pixels, order as in
    :data:`ARCFACE_TEMPLATE`); returns uint8 (size, size, 3) RGB."""
    arr = np.asarray(img)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise InputError(f"image: dtype {arr.dtype} shape {arr.shape}, expected uint8 (H, W, 3) RGB")
    pts = np.asarray(landmarks, dtype=np.float64)
    if pts.shape != (5, 2):
        raise InputError(f"landmarks: shape {pts.shape}, expected (5, 2) pixel coordinates")
    return warp_affine(arr, estimate_similarity(pts, template_for(int(size))), int(size))
