"""Render one SynthFace image: an identity vector plus a :class:`Nuisance` -> uint8 RGB pixels.

The head is a small scene of ellipsoids (skull, nose, ears, neck, hair volume, long hair) seen by
an orthographic camera after a yaw/pitch rotation, ray-cast per pixel with numpy. Eyes, brows,
mouth, marks, beard, glasses and wrinkles are decals on the skull surface, so they foreshorten
and disappear naturally as the head turns. Lambertian shading uses the per-pixel surface normal.

Images are aligned like insightface's 112x112 crops: the projected eye centre and mouth centre
are mapped onto those of the ArcFace five-point template (formats-and-protocols.md §4.2) by a
similarity, and the nuisance's roll/scale/shift then adds residual alignment error. A further
``placement`` similarity produces loose crops (IJB-style) whose five landmarks are exact.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageFilter

from interface.data.synth.identity import INDEX
from interface.data.synth.nuisance import Nuisance

# ArcFace 112x112 five-point template (x, y): eyes, nose tip, mouth corners (formats §4.2).
TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]
)
ALIGNED = 112
_BASE_AGE = (18.0, 68.0)  # identity "age" field 0..1 maps to this range of years

# Object ids in the per-pixel z-buffer.
_BG, _HEAD, _NOSE, _EAR_L, _EAR_R, _NECK, _CAP, _CURTAIN = range(8)


def _rotation(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """Local->camera rotation: yaw about the vertical axis, then pitch about the horizontal one."""
    y, p = np.radians(yaw_deg), np.radians(pitch_deg)
    ry = np.array([[np.cos(y), 0.0, np.sin(y)], [0.0, 1.0, 0.0], [-np.sin(y), 0.0, np.cos(y)]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(p), -np.sin(p)], [0.0, np.sin(p), np.cos(p)]])
    return rx @ ry


def similarity(scale: float, angle_deg: float, tx: float, ty: float) -> np.ndarray:
    """2x3 matrix of x -> scale * Rot(angle) x + (tx, ty); angle in degrees, counter-clockwise on screen."""
    a = np.radians(angle_deg)
    c, s = scale * np.cos(a), scale * np.sin(a)
    return np.array([[c, s, tx], [-s, c, ty]])


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """2x3 affine ``outer o inner``."""
    return np.vstack([outer, [0.0, 0.0, 1.0]])[:2] @ np.vstack([inner, [0.0, 0.0, 1.0]])


def invert(m: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine."""
    return np.linalg.inv(np.vstack([m, [0.0, 0.0, 1.0]]))[:2]


def apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine to ``(N, 2)`` points."""
    return pts @ m[:, :2].T + m[:, 2]


def _two_point_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The similarity mapping the two points ``src`` (2, 2) exactly onto ``dst`` (2, 2)."""
    s = complex(*(src[1] - src[0]))
    d = complex(*(dst[1] - dst[0]))
    z = d / s  # scale * e^{i angle}
    t = complex(*dst[0]) - z * complex(*src[0])
    return np.array([[z.real, -z.imag, t.real], [z.imag, z.real, t.imag]])


class Face:
    """Physical parameters of one identity at one age, in canonical pixels (local head frame).

    Local frame: origin at the skull centre, x to the image right, y down, z towards the camera.
    """

    def __init__(self, vec: np.ndarray, age_delta: float) -> None:
        v = {name: float(vec[i]) for name, i in INDEX.items()}
        self.age = float(
            np.clip(_BASE_AGE[0] + (_BASE_AGE[1] - _BASE_AGE[0]) * v["age"] + age_delta, 5.0, 95.0)
        )
        ag = (self.age - 40.0) / 30.0
        self.v = v
        self.a = (30.0 + 8.0 * v["head_w"]) * (1.0 + 0.03 * ag)
        self.b = 44.0 + 8.0 * v["head_h"]
        self.c = 36.0 + 6.0 * v["head_d"]
        self.jaw = 0.5 * v["jaw"] + 0.08 * max(ag, 0.0)
        self.ex = 14.0 + 6.0 * v["eye_dx"]
        self.ey = -9.0 + 6.0 * v["eye_y"]
        self.re = 2.8 + 1.8 * v["eye_size"] - 0.3 * ag
        self.ny = self.ey + 18.0 + 5.0 * v["nose_len"]
        self.nw = 3.2 + 3.0 * v["nose_w"]
        self.no = 5.0 + 7.0 * v["nose_out"]
        self.my = self.ny + 10.0 + 5.0 * v["mouth_y"]
        self.mw = 9.5 + 6.0 * v["mouth_w"]
        self.grey = float(np.clip((self.age - 42.0) / 30.0, 0.0, 0.85))
        self.wrinkle = float(np.clip((self.age - 35.0) / 30.0, 0.0, 1.0))
        tone, warm = v["skin_tone"], v["skin_warm"]
        dark, light = np.array([0.30, 0.19, 0.13]), np.array([0.97, 0.82, 0.72])
        skin = dark + (light - dark) * tone**0.8
        skin = skin * (1.0 + 0.12 * (warm - 0.5) * np.array([1.0, 0.1, -0.9]))
        self.skin = np.clip(skin * (1.0 - 0.08 * max(ag, 0.0)), 0.0, 1.0)
        black, red, blond = (
            np.array([0.05, 0.04, 0.04]),
            np.array([0.55, 0.22, 0.09]),
            np.array([0.85, 0.70, 0.40]),
        )
        hair = blond + (red - blond) * v["hair_red"]
        hair = hair + (black - hair) * v["hair_dark"] ** 0.6
        self.hair = hair + (np.array([0.78, 0.78, 0.78]) - hair) * self.grey
        brown, blue, green = (
            np.array([0.30, 0.17, 0.08]),
            np.array([0.25, 0.45, 0.75]),
            np.array([0.28, 0.50, 0.30]),
        )
        h = v["iris_hue"]
        self.iris = brown if h < 0.5 else (blue if h < 0.78 else green)
        self.brow = self.hair * (1.0 - 0.6 * v["brow_dark"])
        self.lip = np.clip(self.skin * np.array([0.85, 0.55, 0.55]) * (0.8 + 0.3 * v["lip_red"]), 0.0, 1.0)
        self.hairline = -0.42 - 0.45 * v["hairline"]

    def surface_z(self, x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
        """z of the skull's front surface above local (x, y); 0 outside the silhouette."""
        return self.c * np.sqrt(
            np.maximum(0.0, 1.0 - (np.asarray(x) / self.a) ** 2 - (np.asarray(y) / self.b) ** 2)
        )

    def landmarks3d(self, smile: float) -> np.ndarray:
        """Five local 3D landmarks (5, 3): eye centres (image-left first), nose tip, mouth corners."""
        mw = self.mw * (1.0 + 0.12 * smile)
        my = self.my - 2.0 * smile
        pts = np.array(
            [[-self.ex, self.ey], [self.ex, self.ey], [0.0, self.ny], [-mw, my], [mw, my]], dtype=np.float64
        )
        z = self.surface_z(pts[:, 0], pts[:, 1])
        z[2] += self.no
        return np.column_stack([pts, z])


def _cast(U, V, R, centre, semi):
    """Orthographic ray-cast of an axis-aligned ellipsoid (local frame) for camera pixels (U, V).

    Returns (hit mask, camera depth t (larger = nearer), hit point relative to the centre (3 arrays)).
    """
    inv2 = 1.0 / np.square(semi)
    d = R[2]
    ox = U * R[0, 0] + V * R[1, 0] - centre[0]
    oy = U * R[0, 1] + V * R[1, 1] - centre[1]
    oz = U * R[0, 2] + V * R[1, 2] - centre[2]
    qa = float((d * d * inv2).sum())
    qb = 2.0 * (ox * (d[0] * inv2[0]) + oy * (d[1] * inv2[1]) + oz * (d[2] * inv2[2]))
    qc = ox * ox * inv2[0] + oy * oy * inv2[1] + oz * oz * inv2[2] - 1.0
    disc = qb * qb - 4.0 * qa * qc
    hit = disc > 0.0
    t = (-qb + np.sqrt(np.maximum(disc, 0.0))) / (2.0 * qa)
    return hit, t, (ox + t * d[0], oy + t * d[1], oz + t * d[2])


def _soft(dist: np.ndarray, width: float = 0.7) -> np.ndarray:
    """Anti-aliased coverage of a region given a signed distance (negative inside), in local pixels."""
    return np.clip(0.5 - dist / width, 0.0, 1.0)


def _ellipse(dx: np.ndarray, dy: np.ndarray, rx: float, ry: float) -> np.ndarray:
    """Approximate signed distance to an ellipse with semi-axes rx, ry (pixels)."""
    return (np.sqrt((dx / rx) ** 2 + (dy / ry) ** 2) - 1.0) * min(rx, ry)


def _mix(col: np.ndarray, target: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Blend rows of ``col`` (N, 3) towards ``target`` (3,) by weights ``w`` (N,), in place; returns ``col``.

    Decals cover few pixels, so only rows with a non-zero weight are touched.
    """
    idx = np.flatnonzero(w)
    if idx.size:
        col[idx] += (np.asarray(target) - col[idx]) * np.asarray(w, dtype=np.float64)[idx, None]
    return col


def _head_albedo(f: Face, nz: Nuisance, x, y, z) -> np.ndarray:
    """Colour (N, 3) of skull-surface points (local x, y, z), skin plus all facial decals."""
    v = f.v
    n = x.shape[0]
    col = np.tile(f.skin, (n, 1))
    front = z > 0.15 * f.c
    # Freckles and skin texture: a fixed sinusoidal spot pattern, identity-specific frequency.
    if v["freckle"] > 0.5:
        spots = np.sin(x * (0.9 + 0.8 * v["tex_fx"])) * np.sin(y * (0.9 + 0.8 * v["tex_fy"]))
        region = (np.abs(y - f.ny) < 9.0) & front
        col = _mix(col, f.skin * 0.6, (spots > 0.75) * region * (v["freckle"] - 0.5) * 1.2)
    # Wrinkles (age): forehead lines and nasolabial folds.
    if f.wrinkle > 0.0:
        fore = (y > f.ey - 22.0) & (y < f.ey - 9.0) & (np.abs(x) < f.ex + 4) & front
        col = _mix(col, f.skin * 0.55, fore * (np.sin(y * 1.6) > 0.8) * 0.5 * f.wrinkle)
        fold = np.abs(np.abs(x) - (f.nw + 3.0 + 0.35 * (y - f.ny))) < 0.7
        col = _mix(col, f.skin * 0.6, fold * (y > f.ny - 2) * (y < f.my + 2) * front * 0.6 * f.wrinkle)
    # Beard: darkens the lower face towards hair colour.
    if v["beard"] > 0.0:
        region = (y > f.ny + 3.0) & (z > -0.2 * f.c)
        col = _mix(col, f.hair * 0.8, region * (0.35 + 0.55 * v["beard"]))
    # Mole.
    if v["mole_size"] > 0.0:
        mx = (v["mole_x"] - 0.5) * 1.2 * f.a
        my = f.ey + v["mole_y"] * (f.my - f.ey + 4.0)
        r = 1.0 + 1.8 * v["mole_size"]
        e = np.flatnonzero((np.abs(x - mx) < r + 1.0) & (np.abs(y - my) < r + 1.0) & front)
        col[e] = _mix(col[e], np.array([0.22, 0.12, 0.08]), _soft(np.hypot(x[e] - mx, y[e] - my) - r))
    # Eyes (sclera, iris, pupil; squint narrows the opening), brows and glasses, evaluated only in
    # a box around each eye: decals are small and full-face evaluation dominated the render time.
    opening = max(0.25, 0.62 - 0.3 * nz.squint - 0.1 * max(nz.smile, 0.0))
    tilt = (v["brow_tilt"] - 0.5) * 5.0
    brow_y = f.ey - (5.5 + 4.0 * v["brow_y"])
    for side in (-1.0, 1.0):
        e = np.flatnonzero((np.abs(x - side * f.ex) < 3.2 * f.re + 2.0) & (y > brow_y - 8.0)
                           & (y < f.ey + 3.2 * f.re + 2.0) & front)  # fmt: skip
        dx, dy, sub = x[e] - side * f.ex, y[e] - f.ey, col[e]
        sclera = _soft(_ellipse(dx, dy, 1.7 * f.re, f.re * opening * 1.4))
        dist = np.hypot(dx, dy)
        _mix(sub, np.array([0.92, 0.90, 0.88]), sclera)
        _mix(sub, f.iris, sclera * _soft(dist - 0.8 * f.re))
        _mix(sub, np.array([0.03, 0.03, 0.03]), sclera * _soft(dist - 0.32 * f.re))
        by = brow_y - tilt * (side * dx) / (2.2 * f.re)
        band = np.where(np.abs(dx) < 2.3 * f.re, np.abs(y[e] - by) - (0.7 + 1.6 * v["brow_thick"]), 9.0)
        _mix(sub, f.brow, _soft(band))
        if v["glasses"] > 0.0:
            ring = np.abs(np.hypot(dx / 1.25, dy) - 2.3 * f.re) - (0.5 + 0.9 * v["glasses"])
            _mix(sub, np.array([0.08, 0.07, 0.07]), _soft(ring))
        col[e] = sub
    if v["glasses"] > 0.0:
        bridge = (np.abs(x) < f.ex - 2.0 * f.re) & (np.abs(y - f.ey + 1.0) < 0.8)
        _mix(col, np.array([0.08, 0.07, 0.07]), bridge * front * 1.0)
    # Mouth: lips along a curve lifted at the corners by a smile; open mouth shows a dark inside.
    mw = f.mw * (1.0 + 0.12 * nz.smile)
    e = np.flatnonzero((np.abs(x) < mw + 1.0) & (np.abs(y - f.my) < 9.0) & front)
    rel = x[e] / mw
    yc = f.my - 2.0 * nz.smile * rel**2
    shape = np.sqrt(np.maximum(0.0, 1.0 - rel**2))
    half = (1.2 + 2.2 * v["lip_thick"] + 2.5 * nz.mouth_open) * shape
    lips = _soft(np.abs(y[e] - yc) - half) * (np.abs(rel) < 1.0)
    sub = _mix(col[e], f.lip, lips)
    if nz.mouth_open > 0.05:
        inner = _soft(np.abs(y[e] - yc) - 2.2 * nz.mouth_open * shape)
        _mix(sub, np.array([0.15, 0.05, 0.05]), inner * lips)
    col[e] = sub
    # Occlusions attached to the face.
    if nz.occlusion == "sunglasses":
        band = np.maximum(np.abs(y - f.ey) - 1.9 * f.re, np.abs(x) - (f.ex + 2.4 * f.re))
        col = _mix(col, np.array([0.04, 0.04, 0.05]), _soft(band) * (z > 0.0))
    elif nz.occlusion == "mask":
        col = _mix(col, np.asarray(nz.occ_color), _soft(f.ny - 3.0 - y) * (z > -0.3 * f.c))
    return col


def _hair_region(f: Face, qx, qy, qz) -> np.ndarray:
    """Where the skull (normalised coords q on the unit sphere) is covered by hair."""
    v = f.v
    top = qy < f.hairline + 0.28 * qx**2 + 0.1 * (v["hair_part"] - 0.5) * qx
    back = (qz < -0.15) & (qy < -0.15 + 0.9 * v["hair_len"])
    sides = (np.abs(qx) > 0.86) & (qy < -0.3 + 1.1 * v["hair_len"]) & (v["hair_len"] > 0.55)
    return top | back | sides


@functools.lru_cache(maxsize=64)
def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (X, Y), each (height, width) float64, read-only and shared."""
    X, Y = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    X.flags.writeable = False
    Y.flags.writeable = False
    return X, Y


def render_face(
    vec: np.ndarray,
    nz: Nuisance,
    size: tuple[int, int] = (ALIGNED, ALIGNED),
    placement: np.ndarray | None = None,
    shade_scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Render identity ``vec`` under nuisance ``nz``.

    size: output (height, width) in pixels. placement: optional 2x3 similarity from the aligned
    112x112 frame to the output (loose crops); None = the aligned crop itself.
    shade_scale: in (0, 1]; the scene (ray cast, shading, background, occluder) is computed on a
    grid ``shade_scale`` times as fine and resized bilinearly to ``size`` before blur and sensor
    noise are added at full resolution. 0.5 costs about half as much; a model that reads the
    image at a quarter of 112 px or less sees the same face (the landmarks stay exact).
    Returns (uint8 (H, W, 3) RGB, landmarks (5, 2) float64 in output pixel coordinates, pixel
    centres at integers, order: image-left eye, image-right eye, nose tip, left and right mouth corners).
    JPEG encoding (quality ``nz.jpeg``) is left to the caller.
    """
    f = Face(vec, nz.age_delta)
    R = _rotation(nz.yaw, nz.pitch)
    lm_cam = (f.landmarks3d(nz.smile) @ R.T)[:, :2]
    # Align like a detector + similarity: eye centre and mouth centre onto the template's.
    src = np.array([lm_cam[:2].mean(0), lm_cam[3:].mean(0)])
    dst = np.array([TEMPLATE[:2].mean(0), TEMPLATE[3:].mean(0)])
    align = _two_point_similarity(src, dst)
    centre = np.array([ALIGNED / 2.0, ALIGNED / 2.0])
    jitter = similarity(nz.scale, nz.roll, 0.0, 0.0)
    jitter[:, 2] = centre + np.array([nz.shift_x, nz.shift_y]) - jitter[:, :2] @ centre
    to_aligned = compose(jitter, align)
    to_out = to_aligned if placement is None else compose(placement, to_aligned)
    full_h, full_w = size
    height, width = max(1, round(full_h * shade_scale)), max(1, round(full_w * shade_scale))
    X, Y = _grid(height, width)
    # shading-grid pixel centres in output pixels (pixel centres at integers on both grids)
    Xo, Yo = (X + 0.5) * (full_w / width) - 0.5, (Y + 0.5) * (full_h / height) - 0.5
    inv = invert(to_out)
    U = (inv[0, 0] * Xo + inv[0, 1] * Yo + inv[0, 2]).ravel()
    V = (inv[1, 0] * Xo + inv[1, 1] * Yo + inv[1, 2]).ravel()
    img = _shade_scene(f, nz, R, U, V)
    # Background: flat colour with a vertical gradient, behind everything.
    yy = (Yo.ravel() / max(full_h - 1, 1) - 0.5)[:, None]
    bg = np.clip(np.asarray(nz.bg)[None, :] * (1.0 + nz.bg_grad * yy * 2.0), 0.0, 1.0)
    alpha = img[:, 3:4]
    rgb = img[:, :3] * alpha + bg * (1.0 - alpha)
    if nz.occlusion == "patch":
        # A flat object in front of the face, placed in aligned-frame coordinates.
        pix = np.column_stack([Xo.ravel(), Yo.ravel()])
        ax, ay = (pix if placement is None else apply(invert(placement), pix)).T
        half = nz.occ_size * ALIGNED / 2.0
        inside = (np.abs(ax - nz.occ_x * ALIGNED) < half) & (
            np.abs(ay - (0.35 + 0.6 * nz.occ_y) * ALIGNED) < 0.7 * half
        )
        rgb[inside] = np.asarray(nz.occ_color)
    rgb = np.clip(rgb * np.asarray(nz.tint)[None, :], 0.0, 1.0).reshape(height, width, 3)
    out = np.round(rgb * 255.0).astype(np.uint8)
    if (height, width) != (full_h, full_w):
        out = np.asarray(Image.fromarray(out).resize((full_w, full_h), Image.Resampling.BILINEAR))
    # Blur is specified in aligned pixels; a loose crop drawn larger gets a proportionally wider kernel.
    scale_px = 1.0 if placement is None else float(np.sqrt(abs(np.linalg.det(placement[:, :2]))))
    if nz.blur > 0.0:
        out = np.asarray(Image.fromarray(out).filter(ImageFilter.GaussianBlur(radius=nz.blur * scale_px)))
    if nz.noise > 0.0:
        noise = np.random.default_rng(nz.noise_seed).normal(0.0, nz.noise, size=out.shape)
        out = np.clip(np.round(out.astype(np.float64) + noise), 0, 255).astype(np.uint8)
    return out, apply(to_out, lm_cam)


def _shade_scene(f: Face, nz: Nuisance, R: np.ndarray, U: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Ray-cast and shade all head parts for camera pixels (U, V); returns (N, 4) RGB + coverage."""
    v = f.v
    n = U.shape[0]
    objects: list[tuple[int, np.ndarray, np.ndarray]] = []  # (id, centre, semi-axes)
    objects.append((_HEAD, np.zeros(3), np.array([f.a, f.b, f.c])))
    nose_h = 0.55 * (f.ny - f.ey)
    nose_c = np.array([0.0, f.ny - 0.5 * nose_h, float(f.surface_z(0.0, f.ny)) + 0.3 * f.no])
    objects.append((_NOSE, nose_c, np.array([f.nw, nose_h, 0.7 * f.no])))
    ear = np.array([0.16 * f.a, (0.15 + 0.08 * v["ear_size"]) * f.b, 0.22 * f.c])
    objects.append((_EAR_L, np.array([-0.95 * f.a, f.ey + 8.0, -0.12 * f.c]), ear))
    objects.append((_EAR_R, np.array([0.95 * f.a, f.ey + 8.0, -0.12 * f.c]), ear))
    objects.append(
        (_NECK, np.array([0.0, 0.95 * f.b, -0.25 * f.c]), np.array([0.5 * f.a, 0.6 * f.b, 0.5 * f.c]))
    )
    vol = v["hair_vol"]
    cap_semi = np.array([f.a * (1.04 + 0.12 * vol), f.b * (1.03 + 0.08 * vol), f.c * (1.04 + 0.12 * vol)])
    objects.append((_CAP, np.array([0.0, -0.04 * f.b, -0.04 * f.c]), cap_semi))
    if v["hair_len"] > 0.5:
        hl = v["hair_len"]
        objects.append(
            (
                _CURTAIN,
                np.array([0.0, f.b * (0.1 + 0.5 * hl), -0.4 * f.c]),
                np.array([f.a * 1.12, f.b * (0.75 + 0.5 * hl), 0.55 * f.c]),
            )
        )
    depth = np.full(n, -np.inf)
    owner = np.zeros(n, dtype=np.int64)
    hits = {}
    for oid, centre, semi in objects:
        # Only pixels inside the projected bounding circle can hit this ellipsoid.
        cu, cv, _ = R @ centre
        r = float(semi.max())
        sub = np.flatnonzero((np.abs(U - cu) < r) & (np.abs(V - cv) < r))
        hit, t, (px, py, pz) = _cast(U[sub], V[sub], R, centre, semi)
        qx, qy, qz = px / semi[0], py / semi[1], pz / semi[2]
        if oid == _HEAD:
            # Jaw taper: trim the lower skull's sides (chin narrower than cheeks).
            hit &= ~((qy > 0.0) & (np.abs(qx) > 1.0 - f.jaw * qy**2))
        elif oid == _CAP:
            hit &= _hair_region(f, qx, qy, qz)
        better = hit & (t > depth[sub])
        depth[sub[better]] = t[better]
        owner[sub[better]] = oid
        hits[oid] = (sub, px, py, pz, semi)
    L = np.array([np.sin(np.radians(nz.light_az)) * np.cos(np.radians(nz.light_el)), -np.sin(np.radians(nz.light_el)),
                  np.cos(np.radians(nz.light_az)) * np.cos(np.radians(nz.light_el))])  # fmt: skip
    L_local = R.T @ L
    out = np.zeros((n, 4))
    for oid, (sub, px, py, pz, semi) in hits.items():
        sel = np.flatnonzero(owner == oid)
        if sel.size == 0:
            continue
        pos = np.searchsorted(sub, sel)
        x, y, z = px[pos], py[pos], pz[pos]
        nrm = np.column_stack([x / semi[0] ** 2, y / semi[1] ** 2, z / semi[2] ** 2])
        nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
        shade = nz.ambient + nz.light * np.maximum(0.0, nrm @ L_local)
        if oid == _HEAD:
            qx, qy, qz = x / semi[0], y / semi[1], z / semi[2]
            col = _head_albedo(f, nz, x, y, z)
            col = _mix(col, f.hair, _hair_region(f, qx, qy, qz).astype(np.float64))
        elif oid in (_CAP, _CURTAIN):
            col = np.tile(f.hair, (sel.size, 1))
        elif oid == _NOSE:
            col = np.tile(np.clip(f.skin * np.array([1.02, 0.95, 0.93]), 0, 1), (sel.size, 1))
            if nz.occlusion == "mask":
                col[:] = np.asarray(nz.occ_color)
        else:
            col = np.tile(f.skin * (0.9 if oid == _NECK else 0.97), (sel.size, 1))
        out[sel, :3] = col * shade[:, None]
        out[sel, 3] = 1.0
    return out
