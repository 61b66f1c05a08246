"""Per-item random streams: every identity and every image gets its own seeded Generator.

A stream is ``numpy.random.default_rng(SeedSequence([seed, role, *keys]))``, so an item's content
depends only on (suite seed, role, its keys): not on the order of generation or on how many
processes render. That is what makes SynthFace byte-identical for a preset and seed.
"""

from __future__ import annotations

import numpy as np

# Roles separate the streams of unrelated items that share integer keys.
ROLE_TRAIN_ID = 1  # training identities
ROLE_EVAL_ID = 2  # evaluation identities (packs, IJB, identification probes)
ROLE_DISTRACTOR_ID = 3  # identification distractors (one image each)
ROLE_TRAIN_IMG = 10
ROLE_PACK = 11  # pair construction and pair images, keyed by pack and pair index
ROLE_IJB = 12
ROLE_IDENT = 13
ROLE_CONTACT = 14
ROLE_LOOKALIKE = 15
ROLE_IJB_1N = 16  # IJB 1:N probe media and the gallery split
ROLE_TINYFACE = 17  # low-resolution TinyFace-style images


def rng_for(seed: int, role: int, *keys: int) -> np.random.Generator:
    """The Generator for item ``keys`` of ``role`` in the suite with ``seed`` (all non-negative ints)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(role), *(int(k) for k in keys)]))
