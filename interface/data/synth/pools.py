"""The identity pools of one SynthFace suite: training, evaluation and distractors.

Each pool draws from its own seeded role (``seeding``), so training identities are disjoint from
every evaluation identity by construction: no evaluation image shows a person seen in training,
as for MS1MV2 against LFW/CFP/AgeDB after insightface's overlap removal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from interface.data.synth import seeding
from interface.data.synth.identity import DIM, nearest_other, sample_identity, sample_lookalike
from interface.data.synth.presets import Preset


@dataclass(frozen=True)
class Pools:
    """Identity vectors ``(N, DIM)`` float64 per pool; ``lookalike_of[i]`` = pool index copied, or -1.

    ``nearest[i]``: index of eval identity i's nearest other eval identity (look-alike negatives).
    """

    train: np.ndarray
    eval: np.ndarray
    distractors: np.ndarray
    lookalike_of: np.ndarray
    nearest: np.ndarray


def build_pools(preset: Preset, seed: int) -> Pools:
    """Draw the three pools of ``preset`` for ``seed`` (deterministic, order-independent per identity)."""
    train = np.stack(
        [sample_identity(seeding.rng_for(seed, seeding.ROLE_TRAIN_ID, i)) for i in range(preset.train_ids)]
    )
    evals = np.empty((preset.eval_ids, DIM))
    source = np.full(preset.eval_ids, -1, dtype=np.int64)
    for i in range(preset.eval_ids):
        rng = seeding.rng_for(seed, seeding.ROLE_EVAL_ID, i)
        if i > 0 and rng.random() < preset.lookalike_share:
            source[i] = int(rng.integers(i))
            evals[i] = sample_lookalike(evals[source[i]], rng)
        else:
            evals[i] = sample_identity(rng)
    distractors = np.stack(
        [
            sample_identity(seeding.rng_for(seed, seeding.ROLE_DISTRACTOR_ID, i))
            for i in range(preset.distractors)
        ]
    )
    return Pools(train, evals, distractors, source, nearest_other(evals))


def identity_hash(vec: np.ndarray) -> str:
    """Short stable fingerprint of an identity vector (first 12 hex digits of SHA-1 of float64 bytes)."""
    return hashlib.sha1(np.asarray(vec, dtype="<f8").tobytes()).hexdigest()[:12]
