"""SynthFace identities: one identity is a vector of named parameters in [0, 1].

The parameters cover what separates people at a glance (face shape, skin tone, hair colour and
style) and finer cues (eye spacing, size and colour, brows, nose, mouth, marks, skin texture,
base age). Coarse cues are deliberately strong so that identity survives at 32x32 pixels, the
input size of the CPU reproduction; the nuisances (``nuisance.py``) make recognition non-trivial.

Identities are drawn from ``numpy.random.Generator`` instances seeded per identity key
(``seeding.rng_for``), so an identity does not depend on how many were drawn before it or in
which process.
"""

from __future__ import annotations

import numpy as np

# Names of the parameter vector, in order. Every entry lies in [0, 1]; render.py maps each to a
# physical range (pixels of the 112x112 canonical face, colours, years).
FIELDS: tuple[str, ...] = (
    "head_w", "head_h", "head_d", "jaw",
    "skin_tone", "skin_warm",
    "hair_dark", "hair_red", "hairline", "hair_len", "hair_vol", "hair_part",
    "eye_dx", "eye_y", "eye_size", "iris_hue",
    "brow_thick", "brow_y", "brow_tilt", "brow_dark",
    "nose_len", "nose_w", "nose_out",
    "mouth_w", "lip_thick", "lip_red", "mouth_y",
    "mole_x", "mole_y", "mole_size", "beard", "freckle", "tex_fx", "tex_fy",
    "ear_size", "age", "glasses",
)  # fmt: skip
INDEX: dict[str, int] = {name: i for i, name in enumerate(FIELDS)}
DIM = len(FIELDS)

# Look-alike distance weights: coarse cues dominate what a viewer (or a 32x32 CNN) sees, so
# "nearest identity" is measured mostly on them (used for the CALFW/CPLFW-style negatives).
_COARSE = {"skin_tone": 3.0, "skin_warm": 1.5, "hair_dark": 3.0, "hair_red": 2.0, "hairline": 2.0,
           "hair_len": 2.0, "hair_vol": 1.0, "head_w": 1.5, "head_h": 1.5, "glasses": 3.0, "beard": 2.0,
           "age": 1.5}  # fmt: skip
WEIGHTS = np.array([_COARSE.get(name, 1.0) for name in FIELDS], dtype=np.float64)


def sample_identity(rng: np.random.Generator) -> np.ndarray:
    """Draw one identity: float64 ``(DIM,)`` in [0, 1], uniform per field except a few binary-ish traits."""
    vec = rng.random(DIM)
    # Traits most people lack: make them sparse so they are strong cues when present.
    for name, share in (("glasses", 0.8), ("beard", 0.6), ("mole_size", 0.5)):
        i = INDEX[name]
        vec[i] = 0.0 if vec[i] < share else (vec[i] - share) / (1.0 - share)
    return vec


def sample_lookalike(base: np.ndarray, rng: np.random.Generator, spread: float = 0.25) -> np.ndarray:
    """A distinct identity close to ``base``: every field moved by N(0, ``spread``), clipped to [0, 1].

    ``spread`` is in normalised parameter units (fields span [0, 1]); 0.25 keeps the coarse look
    (skin, hair) while changing feature geometry, like relatives or same-ethnicity strangers.
    Binary traits (glasses) are kept, which is what makes these pairs hard.
    """
    vec = np.clip(base + rng.normal(0.0, spread, size=DIM), 0.0, 1.0)
    vec[INDEX["glasses"]] = base[INDEX["glasses"]]
    return vec


def weighted_distances(vecs: np.ndarray) -> np.ndarray:
    """Pairwise look-alike distances ``(N, N)`` (float64), Euclidean after weighting by ``WEIGHTS``."""
    w = np.asarray(vecs, dtype=np.float64) * np.sqrt(WEIGHTS)
    sq = (w * w).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * w @ w.T, 0.0)
    return np.sqrt(d2)


def nearest_other(vecs: np.ndarray) -> np.ndarray:
    """Index of each identity's nearest other identity under :func:`weighted_distances`, ``(N,)`` int64."""
    d = weighted_distances(vecs)
    np.fill_diagonal(d, np.inf)
    return d.argmin(1).astype(np.int64)
