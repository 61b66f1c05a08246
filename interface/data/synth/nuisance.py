"""Per-image nuisances of SynthFace and the distributions they are drawn from.

A :class:`Nuisance` is everything about one photo that is not the person: head pose, residual
alignment error, lighting, expression, age drift, blur, sensor noise, occlusion, background and
JPEG quality. A :class:`NuisanceProfile` is a distribution over them; the training set and each
verification pack use their own profile, which is what makes e.g. ``synth_cfp_fp`` (frontal
against profile) harder than ``synth_lfw`` (mild), mirroring the real benchmarks.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

OCCLUSIONS = ("none", "sunglasses", "mask", "patch")


@dataclass(frozen=True)
class Nuisance:
    """One image's nuisances. Angles in degrees, pixel quantities in 112x112 canonical pixels.

    yaw: head turn, -90 (profile to image-left) .. +90; 0 = frontal. pitch: nod, degrees, + = down.
    roll, scale, shift_x, shift_y: residual in-plane alignment error (degrees, ratio ~1, pixels).
    light_az, light_el: light direction (degrees); light: diffuse strength 0..1.2; ambient 0.2..0.8 (drawn 0.35..0.55).
    smile: -0.3 (frown) .. 1; mouth_open: 0..1; squint: 0..1.
    age_delta: years added to the identity's base age (may be negative).
    blur: Gaussian sigma in pixels (0 = none); noise: Gaussian sigma in grey levels (0..255 scale).
    occlusion: one of OCCLUSIONS; occ_x, occ_y, occ_size: patch centre and size in [0, 1] units;
    occ_color: RGB in [0, 1]. bg: background RGB in [0, 1]; bg_grad: vertical gradient -0.3..0.3.
    tint: RGB white-balance gains ~1. jpeg: JPEG quality 1..100. noise_seed: seed of the noise pattern.
    """

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    scale: float = 1.0
    shift_x: float = 0.0
    shift_y: float = 0.0
    light_az: float = 0.0
    light_el: float = 20.0
    light: float = 0.7
    ambient: float = 0.45
    smile: float = 0.0
    mouth_open: float = 0.0
    squint: float = 0.0
    age_delta: float = 0.0
    blur: float = 0.0
    noise: float = 0.0
    occlusion: str = "none"
    occ_x: float = 0.5
    occ_y: float = 0.5
    occ_size: float = 0.3
    occ_color: tuple[float, float, float] = (0.2, 0.2, 0.2)
    bg: tuple[float, float, float] = (0.5, 0.5, 0.5)
    bg_grad: float = 0.0
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    jpeg: int = 90
    noise_seed: int = 0


@dataclass(frozen=True)
class NuisanceProfile:
    """A distribution over :class:`Nuisance`. Ranges are (low, high), drawn uniformly unless noted.

    ``yaw``: |yaw| range in degrees (sign random); ``p_wide_yaw``/``wide_yaw``: probability and
    |yaw| range of an extra wide-pose mode (for training sets that are mostly frontal).
    ``age``: age_delta range in years. ``p_blur``, ``p_noise``, ``p_occlusion``: probabilities.
    ``align``: scale of the alignment error (1 = the default: roll sd 4 deg, scale sd 4 %, shift sd 2 px).
    """

    yaw: tuple[float, float] = (0.0, 30.0)
    p_wide_yaw: float = 0.0
    wide_yaw: tuple[float, float] = (40.0, 85.0)
    pitch: tuple[float, float] = (-12.0, 12.0)
    age: tuple[float, float] = (-6.0, 6.0)
    light: tuple[float, float] = (0.45, 0.9)
    p_blur: float = 0.2
    blur: tuple[float, float] = (0.4, 1.4)
    p_noise: float = 0.25
    noise: tuple[float, float] = (2.0, 8.0)
    p_occlusion: float = 0.06
    jpeg: tuple[int, int] = (55, 95)
    align: float = 1.0


def sample_nuisance(rng: np.random.Generator, profile: NuisanceProfile, **fixed: float | str) -> Nuisance:
    """Draw one :class:`Nuisance` from ``profile``; keyword ``fixed`` values override the draw.

    The number and order of draws is the same whatever ``fixed`` holds, so overriding one field
    never changes the others (useful for matched contact-sheet columns and media in IJB).
    """
    u = rng.random(24)
    n = rng.normal(size=6)
    p = profile

    def span(lo_hi: tuple[float, float], x: float) -> float:
        return float(lo_hi[0] + (lo_hi[1] - lo_hi[0]) * x)

    yaw_abs = span(p.wide_yaw, u[1]) if u[0] < p.p_wide_yaw else span(p.yaw, u[1])
    occlusion = OCCLUSIONS[1 + int(u[14] * 3) % 3] if u[13] < p.p_occlusion else "none"
    smile = float(np.clip(span((-0.3, 1.0), u[6]), -0.3, 1.0))
    bg = tuple(float(x) for x in 0.3 + 0.5 * rng.random(3))
    occ_color = tuple(float(x) for x in 0.1 + 0.8 * rng.random(3))
    tint = tuple(float(x) for x in 1.0 + 0.03 * rng.normal(size=3))
    values = dict(
        yaw=yaw_abs * (1.0 if u[2] < 0.5 else -1.0),
        pitch=span(p.pitch, u[3]),
        roll=4.0 * p.align * float(n[0]),
        scale=float(np.exp(0.04 * p.align * n[1])),
        shift_x=2.0 * p.align * float(n[2]),
        shift_y=2.0 * p.align * float(n[3]),
        light_az=span((-55.0, 55.0), u[4]),
        light_el=span((-10.0, 50.0), u[5]),
        light=span(p.light, u[7]),
        ambient=span((0.35, 0.55), u[8]),
        smile=smile,
        mouth_open=max(0.0, span((-0.6, 1.0), u[9])),
        squint=max(0.0, span((-0.5, 1.0), u[10])),
        age_delta=span(p.age, u[11]),
        blur=span(p.blur, u[15]) if u[12] < p.p_blur else 0.0,
        noise=span(p.noise, u[17]) if u[16] < p.p_noise else 0.0,
        occlusion=occlusion,
        occ_x=float(u[18]),
        occ_y=float(u[19]),
        occ_size=span((0.25, 0.45), u[20]),
        occ_color=occ_color,
        bg=bg,
        bg_grad=span((-0.3, 0.3), u[21]),
        tint=tint,
        jpeg=int(round(span(p.jpeg, u[22]))),
        noise_seed=int(u[23] * 2**31),
    )
    values.update(fixed)
    return Nuisance(**values)


def with_fields(nuisance: Nuisance, **fields: float | str) -> Nuisance:
    """A copy of ``nuisance`` with ``fields`` replaced (e.g. a media's shared lighting)."""
    return dataclasses.replace(nuisance, **fields)


# Training set: mostly near-frontal with a wide-pose tail and a broad age spread, like web-crawled
# celebrity sets (MS1M, CASIA-WebFace).
TRAIN = NuisanceProfile(yaw=(0.0, 35.0), p_wide_yaw=0.2, wide_yaw=(35.0, 85.0), age=(-12.0, 12.0))
# synth_lfw: mild pose and age, some blur/noise; LFW's "in the wild" but near-frontal.
MILD = NuisanceProfile(yaw=(0.0, 30.0), age=(-5.0, 5.0))
# Frontal and profile halves of synth_cfp_fp / synth_cplfw pairs.
FRONTAL = NuisanceProfile(yaw=(0.0, 12.0), age=(-5.0, 5.0))
PROFILE = NuisanceProfile(yaw=(60.0, 88.0), age=(-5.0, 5.0))
HALF_PROFILE = NuisanceProfile(yaw=(35.0, 75.0), age=(-5.0, 5.0))
# Age packs: packs.py narrows the age drift per pool (young, younger, old); pose stays mild.
AGED = NuisanceProfile(yaw=(0.0, 25.0), age=(0.0, 0.0))
# IJB-style unconstrained media: full pose range, harsher quality.
WILD = NuisanceProfile(yaw=(0.0, 40.0), p_wide_yaw=0.3, wide_yaw=(40.0, 85.0), age=(-10.0, 10.0),
                       p_blur=0.4, p_noise=0.4, p_occlusion=0.15, jpeg=(40, 95))  # fmt: skip
