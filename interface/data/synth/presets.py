"""SynthFace suite sizes. Every count of every preset lives here.

``smoke``: seconds to generate; for tests and the smallest workflow.
``default``: what the embedded CPU reproduction trains and evaluates on, at the protocol sizes
(``protocol=True``): five packs of 10 folds x 600 pairs (synth_cfp_fp 10 x 700) drawn from 6
renders per identity and nuisance pool, an IJB-style set of ~1,650 templates built from ~800
loose crops with 10^6 impostor template pairs (FAR 1e-4 read on 100 impostor events), and 400
probe images against a 10 / 100 / 1,000 distractor ladder, an IJB 1:N set whose galleries reuse
the IJB renders and whose 2,100 probe templates (new media, ~1,250 renders) leave 1,050 non-mated
probes per gallery (TPIR at FPIR 0.1 read on 105 events), and a TinyFace-style set of 400
low-resolution probes against ~250 gallery matches and 1,000 distractors (20-32 px renders, a few
per cent of a full render's cost each). About 23k renders (~4.5 ms of CPU each at full size).
The recipe and matrix of config.yaml were chosen on this preset by the calibration runs below
(the workflow on softmax, CosFace, ArcFace and InterFace dd at their defaults, seeds 0-2, ``tiny``
at 32 x 32, batch 128, lr 0.1 per 512; ArcFace minus softmax in points, mean over seeds; "seed sd"
the range over the five packs of the methods' mean seed standard deviation; "ANOVA" how many of
the 8 read-outs (5 packs, IJB TAR at 1e-2 and 1e-3, rank-1) separate the 4 methods at p < 0.01)::

    data                 epochs  s   lfw   cfp_fp agedb calfw cplfw ijb@1e-3 rank1  seed sd    ANOVA
    500 pairs per pack    6      64  +0.5  -1.5   +1.3  +1.5  -1.5  +13.6    +3.3   1.0-1.3    2/8
    500 pairs per pack   12      64  +0.7  -0.4   +2.1  +1.1  -1.6   +3.9    +5.9   0.6-1.5    1/8
    protocol sizes        6      64  -0.5  -2.6   +1.7  +0.6  -2.0   +0.8    +3.1   0.25-0.85  2/8
    protocol sizes       12      64  -0.2  -0.8   +1.2  +0.8  -1.4   +2.2    +5.1   0.21-0.49  3/8
    protocol sizes       12      32  +0.2  +0.4   +1.9  +1.5  +0.3   +4.4   +11.1   0.21-0.44  7/8

Protocol-sized packs cut the seed spread about threefold (the spread of 500-pair packs is mostly
the model x item interaction); 12 epochs instead of 6 raise every method by 2-4 points; s = 64,
the papers' scale for 10k-100k training identities, leaves ArcFace below softmax on the pose packs
with 400 identities, where s = 32 puts it above softmax on all seven benchmarks (seed means).
The matrix then trades settings against seeds (12 epochs, s = 32; "Holm": benchmarks where
ArcFace beats softmax after Holm's correction over the seven, with items; "tau": Kendall tau
between the method orders of the even and the odd seeds)::

    matrix                                             runs  ANOVA p<0.01  tau avg rank  tau >= 0.6  Holm
    12 settings x 4 seeds (margin and alpha sweeps)      48  7/7           0.79          6/7         2/7
    6 settings x 8 seeds (no sweeps)                     48  7/7           0.69          4/7         4/7
    6 settings x 10 seeds (no sweeps)                    60  7/7           0.60          6/7         5/7
    6 x 10 seeds + dd alpha sweep x 4 (config.yaml)      68  7/7           0.69          4/7         5/7

ArcFace against softmax alone, by seeds (Holm over the seven): 4 seeds 2/7, 6 and 8 seeds 4/7,
10 and 12 seeds 5/7. The pair packs' differences (+0.4 to +2.2 points) sit near the item
standard error (0.1-0.2 points, the same 6,000 pairs for every seed), so seeds beyond 10 buy
little: CFP-FP-like and CPLFW-like stay unresolved at 12 (Holm p 0.13).
synth_tinyface was set by scoring the seed-0 and seed-1 softmax and ArcFace models of that run on
variants of it (rank-1 over 400 probes; "wild" is the IJB media's nuisance, "mild" synth_lfw's)::

    side px  nuisance  gallery matches  distractors  rank-1
    14-28    wild      1-2              2000         0.09-0.10  (ANOVA over methods p = 0.07)
    24-32    wild      1-2              2000         0.12
    28-40    mild      1-2              2000         0.21-0.24
    20-32    wild      2-3              1000         0.20-0.21
    20-32    mild      2-3              1000         0.27-0.31  (default)

``large``: more identities and training images at the same protocol sizes; for GPUs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from interface.data.synth.packs import PACKS, distinct_negatives, distinct_positives, pack_pairs_per_fold
from interface.errors import InputError
from interface.evaluation.resolution import MIN_EVENTS

#: Protocol sizes a ``protocol=True`` preset must reach (the real benchmarks' layout,
#: see the module docstring): 10 folds of >= 600 pairs (CFP-FP >= 700), FAR 1e-4 resolved
#: on the IJB-style set, and a rank-1 at the largest distractor gallery read on >= 300 probes.
PROTOCOL_FOLDS = 10
PROTOCOL_PAIRS_PER_FOLD = 600
PROTOCOL_PAIRS_PER_FOLD_CFP_FP = 700
PROTOCOL_IJB_FAR = 1e-4
PROTOCOL_PROBES = 300
PROTOCOL_DISTRACTORS = 1000
PROTOCOL_IJB_1N_FPIR = 0.1  # TPIR at FPIR 0.1 resolved: >= 1000 non-mated probes per gallery


@dataclass(frozen=True)
class Preset:
    """Counts of one SynthFace suite.

    train_ids: training identities; train_images: (min, max) images per training identity.
    eval_ids: identities of the evaluation pool shared by the pair packs, IJB and identification
    probes (disjoint from training by construction); lookalike_share: fraction of the pool drawn
    as a near copy (``identity.sample_lookalike``) of an earlier pool identity.
    pack_variants: renders per eval identity in each pack nuisance pool (``packs.POOLS``); pairs
    combine them. pairs_per_fold: pairs per fold in each of the ``folds`` folds of every pack
    (even: half positive); pairs_per_fold_cfp_fp: the same for synth_cfp_fp.
    ijb_ids: IJB identities; ijb_media / ijb_images / ijb_templates: (min, max) media rendered per
    identity, images per media, templates per identity; ijb_template_media: (min, max) media in a
    template (drawn from its identity's media); ijb_impostor_pairs: impostor template pairs
    sampled from the cross-identity pairs (0 = all of them).
    probe_ids / probe_images: identification probe identities and images each (>= 2);
    distractors: distractor images (one identity each); noise_share: fraction of probe and
    distractor images listed in the noise files (at least one each).
    ijb1n_media / ijb1n_images: (min, max) new probe media per IJB identity and images per media
    of the IJB 1:N set (``ijb1n.py``; galleries reuse the IJB renders); ijb1n_probes: probe
    templates per identity; ijb1n_template_media: (min, max) media in a probe template.
    tinyface_ids: TinyFace-style identities (the last of the eval pool); tinyface_matches: (min,
    max) gallery matches each; tinyface_probes: probes each; tinyface_distractors: distractor
    images; tinyface_side: (min, max) pixel side of the low-resolution renders (``tinyface.py``).
    eval_shade_scale: shading-grid scale of every evaluation render (packs, IJB, identification;
    ``render.render_face``): 0.5 halves their cost and is invisible to a model reading 32 px;
    training images are always shaded at full resolution.
    contact_rows: identities (rows) on the contact sheet. protocol: the preset must reach the
    protocol sizes (``PROTOCOL_*``); a count that cannot stops with the key and its minimum.
    """

    name: str
    train_ids: int
    train_images: tuple[int, int]
    eval_ids: int
    lookalike_share: float
    pack_variants: int
    pairs_per_fold: int
    pairs_per_fold_cfp_fp: int
    ijb_ids: int
    ijb_media: tuple[int, int]
    ijb_images: tuple[int, int]
    ijb_templates: tuple[int, int]
    ijb_template_media: tuple[int, int]
    ijb_impostor_pairs: int
    probe_ids: int
    probe_images: int
    distractors: int
    noise_share: float = 0.01
    ijb1n_media: tuple[int, int] = (2, 2)
    ijb1n_images: tuple[int, int] = (1, 1)
    ijb1n_probes: int = 2
    ijb1n_template_media: tuple[int, int] = (1, 1)
    tinyface_ids: int = 4
    tinyface_matches: tuple[int, int] = (1, 1)
    tinyface_probes: int = 2
    tinyface_distractors: int = 8
    tinyface_side: tuple[int, int] = (14, 28)
    folds: int = 10
    contact_rows: int = 8
    eval_shade_scale: float = 1.0
    protocol: bool = False

    def _fail(self, key: str, expected: str) -> None:
        raise InputError(f"SynthFace preset {self.name!r}: {key}={getattr(self, key)!r}, expected {expected}")

    def __post_init__(self) -> None:
        checks = (
            ("pairs_per_fold", self.pairs_per_fold >= 2 and self.pairs_per_fold % 2 == 0, "an even integer >= 2"),
            ("pairs_per_fold_cfp_fp", self.pairs_per_fold_cfp_fp >= 2 and self.pairs_per_fold_cfp_fp % 2 == 0,
             "an even integer >= 2"),
            ("folds", self.folds >= 2, ">= 2"),
            ("pack_variants", self.pack_variants >= 2, ">= 2 (a positive pair needs two renders)"),
            ("eval_ids", self.eval_ids >= 2, ">= 2 (negatives need two identities)"),
            ("ijb_ids", self.ijb_ids >= 2, ">= 2 (impostor pairs need two identities)"),
            ("probe_images", self.probe_images >= 2, ">= 2 (a gallery image and a probe)"),
            ("probe_ids", 1 <= self.probe_ids <= self.eval_ids, "between 1 and eval_ids"),
            ("ijb_ids", self.ijb_ids <= self.eval_ids, "<= eval_ids"),
            ("train_ids", self.train_ids >= 1 and 1 <= self.train_images[0] <= self.train_images[1],
             ">= 1 with 1 <= min <= max images"),
            ("distractors", self.distractors >= 1, ">= 1"),
            ("lookalike_share", 0.0 <= self.lookalike_share <= 1.0, "in [0, 1]"),
            ("noise_share", 0.0 <= self.noise_share < 1.0, "in [0, 1)"),
            ("ijb_templates", 1 <= self.ijb_templates[0] <= self.ijb_templates[1], "(min, max), 1 <= min <= max"),
            ("ijb_template_media", 1 <= self.ijb_template_media[0] <= self.ijb_template_media[1],
             "(min, max), 1 <= min <= max"),
            ("ijb_media", 2 * self.ijb_template_media[0] <= self.ijb_media[0] <= self.ijb_media[1]
             and self.ijb_template_media[1] <= self.ijb_media[0],
             "(min, max) with min >= 2 x ijb_template_media min (two media-disjoint templates can form a "
             "genuine pair) and min >= ijb_template_media max"),
            ("ijb_images", 1 <= self.ijb_images[0] <= self.ijb_images[1], "(min, max), 1 <= min <= max"),
            ("ijb_impostor_pairs", self.ijb_impostor_pairs >= 0, ">= 0 (0 = every cross-identity pair)"),
            ("eval_shade_scale", 0.0 < self.eval_shade_scale <= 1.0, "in (0, 1]"),
        )  # fmt: skip
        for key, ok, expected in checks:
            if not ok:
                self._fail(key, expected)
        self._check_capacity()
        self._check_1n_and_tinyface()
        if self.protocol:
            self._check_protocol()

    def _check_1n_and_tinyface(self) -> None:
        """Ranges of the IJB 1:N and TinyFace-style counts (``ijb1n.py``, ``tinyface.py``)."""
        checks = (
            ("ijb1n_media", 1 <= self.ijb1n_media[0] <= self.ijb1n_media[1], "(min, max), 1 <= min <= max"),
            ("ijb1n_images", 1 <= self.ijb1n_images[0] <= self.ijb1n_images[1], "(min, max), 1 <= min <= max"),
            ("ijb1n_probes", self.ijb1n_probes >= 1, ">= 1"),
            ("ijb1n_template_media", 1 <= self.ijb1n_template_media[0] <= min(self.ijb1n_template_media[1],
             self.ijb1n_media[0]), "(min, max), 1 <= min <= max and min <= ijb1n_media min"),
            ("ijb1n_probes", self.ijb1n_probes <= sum(math.comb(self.ijb1n_media[0], n) for n in range(
             self.ijb1n_template_media[0], min(self.ijb1n_template_media[1], self.ijb1n_media[0]) + 1)),
             "<= the distinct media subsets of a subject with ijb1n_media min media (raise ijb1n_media)"),
            ("tinyface_ids", 1 <= self.tinyface_ids <= self.eval_ids, "between 1 and eval_ids"),
            ("tinyface_matches", 1 <= self.tinyface_matches[0] <= self.tinyface_matches[1],
             "(min, max), 1 <= min <= max"),
            ("tinyface_probes", self.tinyface_probes >= 1, ">= 1"),
            ("tinyface_distractors", self.tinyface_distractors >= 0, ">= 0"),
            ("tinyface_side", 8 <= self.tinyface_side[0] <= self.tinyface_side[1] <= 112,
             "(min, max) pixels, 8 <= min <= max <= 112"),
        )  # fmt: skip
        for key, ok, expected in checks:
            if not ok:
                self._fail(key, expected)

    def _check_capacity(self) -> None:
        """Enough identities for the distinct pairs and template pairs asked (minimums named)."""
        for spec in PACKS:
            per_fold = pack_pairs_per_fold(spec, self.pairs_per_fold, self.pairs_per_fold_cfp_fp)
            need = self.folds * per_fold // 2
            have = distinct_positives(spec, self.eval_ids, self.pack_variants)
            if have < need:
                per_id = have // self.eval_ids
                self._fail("eval_ids", f">= {math.ceil(need / per_id)}: {spec.name} needs {need} distinct positive "
                           f"pairs and pack_variants={self.pack_variants} gives {per_id} per identity")  # fmt: skip
            if distinct_negatives(spec, self.eval_ids, self.pack_variants) < 2 * need:
                self._fail("pack_variants", f"more renders: {spec.name} needs {need} distinct negative pairs")
        # cross-identity template pairs are fewest when every identity has the minimum templates
        lo = self.ijb_templates[0]
        if self.ijb_ids * (self.ijb_ids - 1) // 2 * lo * lo < self.ijb_impostor_pairs:
            n = self.ijb_ids
            while n * (n - 1) // 2 * lo * lo < self.ijb_impostor_pairs:
                n += 1
            self._fail(
                "ijb_ids",
                f">= {n} for ijb_impostor_pairs={self.ijb_impostor_pairs} with ijb_templates min {lo}",
            )

    def _check_protocol(self) -> None:
        """The protocol sizes (``PROTOCOL_*``) for presets that claim them."""
        ijb_min = math.ceil(MIN_EVENTS / PROTOCOL_IJB_FAR)
        ijb_pairs = (
            self.ijb_impostor_pairs or self.ijb_ids * (self.ijb_ids - 1) // 2 * self.ijb_templates[0] ** 2
        )
        probes = self.probe_ids * self.probe_images - max(
            1, round(self.noise_share * self.probe_ids * self.probe_images)
        )
        for key, value, minimum, why in (
            ("folds", self.folds, PROTOCOL_FOLDS, "folds"),
            ("pairs_per_fold", self.pairs_per_fold, PROTOCOL_PAIRS_PER_FOLD, "pairs per fold"),
            ("pairs_per_fold_cfp_fp", self.pairs_per_fold_cfp_fp, PROTOCOL_PAIRS_PER_FOLD_CFP_FP, "pairs per fold"),
            ("ijb_impostor_pairs", ijb_pairs, ijb_min, f"impostor template pairs (FAR {PROTOCOL_IJB_FAR:g} resolved)"),
            ("probe_ids", probes, PROTOCOL_PROBES, "clean probe images (probe_ids x probe_images)"),
            ("distractors", self.distractors, PROTOCOL_DISTRACTORS, "distractors (ladder 10, 100, 1000)"),
            ("ijb1n_probes", self.ijb_ids // 2 * self.ijb1n_probes, math.ceil(MIN_EVENTS / PROTOCOL_IJB_1N_FPIR),
             f"non-mated probes in the smaller gallery, floor(ijb_ids / 2) x ijb1n_probes "
             f"(TPIR at FPIR {PROTOCOL_IJB_1N_FPIR:g} resolved)"),
            ("tinyface_probes", self.tinyface_ids * self.tinyface_probes, PROTOCOL_PROBES,
             "TinyFace probes (tinyface_ids x tinyface_probes)"),
        ):  # fmt: skip
            if value < minimum:
                self._fail(key, f">= {minimum} {why} for the protocol (protocol=True)")


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("smoke", train_ids=30, train_images=(4, 6), eval_ids=30, lookalike_share=0.5, pack_variants=2,
               pairs_per_fold=4, pairs_per_fold_cfp_fp=4, ijb_ids=4, ijb_media=(2, 2), ijb_images=(1, 2),
               ijb_templates=(2, 3), ijb_template_media=(1, 1), ijb_impostor_pairs=0,
               probe_ids=4, probe_images=3, distractors=20, contact_rows=3, eval_shade_scale=0.5,
               ijb1n_media=(2, 2), ijb1n_images=(1, 1), ijb1n_probes=2, ijb1n_template_media=(1, 1),
               tinyface_ids=4, tinyface_matches=(1, 1), tinyface_probes=2, tinyface_distractors=8),
        Preset("default", train_ids=400, train_images=(10, 18), eval_ids=300, lookalike_share=0.5, pack_variants=6,
               pairs_per_fold=600, pairs_per_fold_cfp_fp=700, ijb_ids=150, ijb_media=(3, 4), ijb_images=(1, 2),
               ijb_templates=(10, 12), ijb_template_media=(1, 2), ijb_impostor_pairs=1_000_000,
               probe_ids=100, probe_images=4, distractors=1000, eval_shade_scale=0.5,
               ijb1n_media=(5, 6), ijb1n_images=(1, 2), ijb1n_probes=14, ijb1n_template_media=(1, 3),
               tinyface_ids=100, tinyface_matches=(2, 3), tinyface_probes=4, tinyface_distractors=1000,
               tinyface_side=(20, 32), protocol=True),
        Preset("large", train_ids=5000, train_images=(20, 40), eval_ids=3000, lookalike_share=0.5, pack_variants=6,
               pairs_per_fold=600, pairs_per_fold_cfp_fp=700, ijb_ids=500, ijb_media=(3, 5), ijb_images=(1, 3),
               ijb_templates=(4, 8), ijb_template_media=(1, 2), ijb_impostor_pairs=1_500_000,
               probe_ids=300, probe_images=8, distractors=20000,
               ijb1n_media=(5, 6), ijb1n_images=(1, 3), ijb1n_probes=16, ijb1n_template_media=(1, 3),
               tinyface_ids=400, tinyface_matches=(1, 2), tinyface_probes=4, tinyface_distractors=20000,
               protocol=True),
    )
}  # fmt: skip


def get_preset(name: str) -> Preset:
    """The preset called ``name``; unknown names raise :class:`InputError` listing the known ones."""
    if name not in PRESETS:
        raise InputError(f"--preset {name!r}: unknown SynthFace preset; expected one of {', '.join(PRESETS)}")
    return PRESETS[name]
