"""The five SynthFace verification packs, mirroring LFW, CFP-FP, AgeDB-30, CALFW and CPLFW.

Each pack has 10 contiguous folds of ``pairs_per_fold`` pairs; inside a fold the first half are
positive (same identity) and the second half negative, the layout of lfw.bin
(formats-and-protocols.md §2.1), so every fold holds equal positives and negatives.
What makes each pack hard is what makes its real counterpart hard:

- ``synth_lfw``: mild pose, age and quality variation; random negatives.
- ``synth_cfp_fp``: a frontal image against a profile image (|yaw| 60-88 deg), like CFP-FP.
- ``synth_agedb_30``: a 25-35 year age gap inside every pair, like AgeDB-30.
- ``synth_calfw``: 15-30 year age gap and look-alike negatives (the nearest identity in
  parameter space), like Cross-Age LFW's same-gender, same-race negatives.
- ``synth_cplfw``: near-frontal against half-profile/profile plus look-alike negatives, like
  Cross-Pose LFW.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from interface.data.synth import nuisance as nu
from interface.data.synth import seeding
from interface.data.synth.nuisance import Nuisance, sample_nuisance

PairSampler = Callable[[np.random.Generator], tuple[Nuisance, Nuisance]]


def _independent(a: nu.NuisanceProfile, b: nu.NuisanceProfile) -> PairSampler:
    return lambda rng: (sample_nuisance(rng, a), sample_nuisance(rng, b))


def _age_gap(lo: float, hi: float) -> PairSampler:
    """Both images from ``AGED``; the pair's ages differ by U(lo, hi) years, younger image first or second at random."""

    def draw(rng: np.random.Generator) -> tuple[Nuisance, Nuisance]:
        gap = float(rng.uniform(lo, hi))
        centre = float(rng.uniform(-5.0, 5.0))
        sign = 1.0 if rng.random() < 0.5 else -1.0
        first = sample_nuisance(rng, nu.AGED, age_delta=centre - sign * gap / 2.0)
        second = sample_nuisance(rng, nu.AGED, age_delta=centre + sign * gap / 2.0)
        return first, second

    return draw


@dataclass(frozen=True)
class PackSpec:
    """One pack: file stem, pair-nuisance sampler, and whether negatives are look-alikes."""

    name: str
    pair_nuisances: PairSampler
    lookalike_negatives: bool


PACKS: tuple[PackSpec, ...] = (
    PackSpec("synth_lfw", _independent(nu.MILD, nu.MILD), False),
    PackSpec("synth_cfp_fp", _independent(nu.FRONTAL, nu.PROFILE), False),
    PackSpec("synth_agedb_30", _age_gap(25.0, 35.0), False),
    PackSpec("synth_calfw", _age_gap(15.0, 30.0), True),
    PackSpec("synth_cplfw", _independent(nu.MILD, nu.HALF_PROFILE), True),
)


@dataclass(frozen=True)
class Pair:
    """One pair: evaluation-pool identity indices and nuisances of both images, and the label."""

    first: int
    second: int
    nz_first: Nuisance
    nz_second: Nuisance
    issame: bool


def plan_pack(pack_index: int, spec: PackSpec, n_eval: int, nearest: np.ndarray, pairs_per_fold: int,
              folds: int, seed: int) -> list[Pair]:  # fmt: skip
    """The ``folds * pairs_per_fold`` pairs of one pack, in file (fold) order.

    Pair ``p`` uses its own stream ``rng_for(seed, ROLE_PACK, pack_index, p)``; within each fold the
    first ``pairs_per_fold // 2`` pairs are positive. ``nearest``: look-alike of each eval identity.
    """
    half = pairs_per_fold // 2
    pairs = []
    for p in range(folds * pairs_per_fold):
        rng = seeding.rng_for(seed, seeding.ROLE_PACK, pack_index, p)
        positive = (p % pairs_per_fold) < half
        first = int(rng.integers(n_eval))
        if positive:
            second = first
        elif spec.lookalike_negatives:
            second = int(nearest[first])
        else:
            second = (first + 1 + int(rng.integers(n_eval - 1))) % n_eval
        nz_a, nz_b = spec.pair_nuisances(rng)
        pairs.append(Pair(first, second, nz_a, nz_b, positive))
    return pairs
