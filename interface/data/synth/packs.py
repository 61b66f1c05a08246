"""The five SynthFace verification packs, mirroring LFW, CFP-FP, AgeDB-30, CALFW and CPLFW.

Each pack has 10 contiguous folds of ``pairs_per_fold`` pairs (``pairs_per_fold_cfp_fp`` for
synth_cfp_fp, as CFP-FP's 7,000 pairs against LFW's 6,000); inside a fold the first half are
positive (same identity) and the second half negative, the layout of lfw.bin
(formats-and-protocols.md §2.1), so every fold holds equal positives and negatives.

Rendered once, compared many times: every evaluation identity is rendered ``pack_variants`` times
under each nuisance pool below, and a pair is two such variants (never the same image twice). A
pack's pairs are distinct: no (identity, variant) comparison appears twice in one pack, so the
6,000 comparisons are 6,000 different image pairs drawn from a few thousand renders.
What makes each pack hard is what makes its real counterpart hard:

- ``synth_lfw``: mild pose, age and quality variation on both sides; random negatives.
- ``synth_cfp_fp``: a frontal image against a profile image (|yaw| 60-88 deg), like CFP-FP.
- ``synth_agedb_30``: a 25-35 year age gap inside every pair (young against old pool), like AgeDB-30.
- ``synth_calfw``: 15-30 year age gap and look-alike negatives (the nearest identity in
  parameter space), like Cross-Age LFW's same-gender, same-race negatives.
- ``synth_cplfw``: near-frontal against half-profile/profile plus look-alike negatives, like
  Cross-Pose LFW.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from interface.data.synth import nuisance as nu
from interface.data.synth import seeding
from interface.data.synth.nuisance import Nuisance, NuisanceProfile, sample_nuisance

#: Nuisance pools of the pack renders, in render order. Age pools fix the age drift range so a
#: pair's gap follows from the pools: OLD - YOUNG in [25, 35] years, OLD - YOUNGER in [15, 30].
POOLS: dict[str, NuisanceProfile] = {
    "mild": nu.MILD,
    "frontal": nu.FRONTAL,
    "profile": nu.PROFILE,
    "half_profile": nu.HALF_PROFILE,
    "young": dataclasses.replace(nu.AGED, age=(-17.5, -12.5)),
    "younger": dataclasses.replace(nu.AGED, age=(-12.5, -2.5)),
    "old": dataclasses.replace(nu.AGED, age=(12.5, 17.5)),
}


@dataclass(frozen=True)
class PackSpec:
    """One pack: file stem, the pools of its two images, look-alike negatives, and whether the
    two sides are put in random order (age packs: younger image first or second)."""

    name: str
    pools: tuple[str, str]
    lookalike_negatives: bool
    random_order: bool = False


PACKS: tuple[PackSpec, ...] = (
    PackSpec("synth_lfw", ("mild", "mild"), False),
    PackSpec("synth_cfp_fp", ("frontal", "profile"), False),
    PackSpec("synth_agedb_30", ("young", "old"), False, random_order=True),
    PackSpec("synth_calfw", ("younger", "old"), True, random_order=True),
    PackSpec("synth_cplfw", ("mild", "half_profile"), True),
)


@dataclass(frozen=True)
class Pair:
    """One pair: evaluation-pool identities, the render index of each image, and the label."""

    first: int
    second: int
    image_first: int
    image_second: int
    issame: bool


def pack_pairs_per_fold(spec: PackSpec, pairs_per_fold: int, pairs_per_fold_cfp_fp: int) -> int:
    """Pairs per fold of pack ``spec`` (CFP-FP has its own count)."""
    return pairs_per_fold_cfp_fp if spec.name == "synth_cfp_fp" else pairs_per_fold


def distinct_positives(spec: PackSpec, n_eval: int, variants: int) -> int:
    """How many different positive pairs ``n_eval`` identities with ``variants`` renders per pool allow."""
    per_identity = variants * (variants - 1) // 2 if spec.pools[0] == spec.pools[1] else variants * variants
    return n_eval * per_identity


def distinct_negatives(spec: PackSpec, n_eval: int, variants: int) -> int:
    """How many different negative pairs the pack's negative rule allows."""
    partners = 1 if spec.lookalike_negatives else n_eval - 1
    return n_eval * partners * variants * variants


def plan_variants(n_eval: int, variants: int, seed: int) -> list[tuple[int, Nuisance]]:
    """(eval identity, nuisance) of every pack render: pool by pool, identity by identity, variant
    by variant; render ``k`` of pool ``p``, identity ``i`` is item ``(p * n_eval + i) * variants + k``."""
    out = []
    for p, profile in enumerate(POOLS.values()):
        for ident in range(n_eval):
            for k in range(variants):
                out.append(
                    (
                        ident,
                        sample_nuisance(
                            seeding.rng_for(seed, seeding.ROLE_PACK, 1 << 20, p, ident, k), profile
                        ),
                    )
                )
    return out


def plan_pack(pack_index: int, spec: PackSpec, n_eval: int, nearest: np.ndarray, variants: int,
              pairs_per_fold: int, folds: int, seed: int) -> list[Pair]:  # fmt: skip
    """The ``folds * pairs_per_fold`` distinct pairs of one pack, in file (fold) order.

    Positives are drawn without replacement from all same-identity variant combinations, negatives
    by rejection of repeats; ``nearest``: look-alike of each eval identity. Image indices refer to
    :func:`plan_variants`. One stream per pack: ``rng_for(seed, ROLE_PACK, pack_index)``.
    """
    pool_index = {name: p for p, name in enumerate(POOLS)}
    pa, pb = (pool_index[name] for name in spec.pools)

    def image(pool: int, ident: int, k: int) -> int:
        return (pool * n_eval + ident) * variants + k

    rng = seeding.rng_for(seed, seeding.ROLE_PACK, pack_index)
    half = pairs_per_fold // 2
    n_pos = folds * half
    ka, kb = np.meshgrid(np.arange(variants), np.arange(variants), indexing="ij")
    combos = np.column_stack([ka.ravel(), kb.ravel()])
    if pa == pb:  # the same pool on both sides: unordered pairs of two different renders
        combos = combos[combos[:, 0] < combos[:, 1]]
    chosen = rng.choice(n_eval * len(combos), size=n_pos, replace=False)
    positives = [(int(c // len(combos)), int(c // len(combos))) + tuple(int(x) for x in combos[c % len(combos)])
                 for c in chosen]  # fmt: skip
    negatives: list[tuple[int, int, int, int]] = []
    seen: set[tuple[int, int]] = set()  # render pairs, unordered: (a, b) and (b, a) are one comparison
    while len(negatives) < n_pos:
        first = int(rng.integers(n_eval))
        if spec.lookalike_negatives:
            second = int(nearest[first])
        else:
            second = (first + 1 + int(rng.integers(n_eval - 1))) % n_eval
        item = (first, second, int(rng.integers(variants)), int(rng.integers(variants)))
        key = tuple(sorted((image(pa, first, item[2]), image(pb, second, item[3]))))
        if key not in seen:
            seen.add(key)
            negatives.append(item)
    pairs = []
    for fold in range(folds):
        for issame, block in ((True, positives), (False, negatives)):
            for a, b, ka_, kb_ in block[fold * half : (fold + 1) * half]:
                ia, ib = image(pa, a, ka_), image(pb, b, kb_)
                if spec.random_order and rng.random() < 0.5:
                    a, b, ia, ib = b, a, ib, ia
                pairs.append(Pair(a, b, ia, ib, issame))
    return pairs
