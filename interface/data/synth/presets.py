"""SynthFace suite sizes. Every count of every preset lives here.

``smoke``: seconds to generate; for tests and the smallest workflow.
``default``: what the embedded CPU reproduction trains and evaluates on. Sized so generation
takes about a minute on 2 idle cores (~12k images at ~8 ms of CPU each) and a tiny CNN at 32x32 sees
each training image several times in ~20 s of training.
Calibration of ``default`` (seed 0; ArcFace s=64 m=0.5, ``tiny`` backbone at 32x32, 5 epochs,
batch 128, lr 0.4 per 512, i.e. config.yaml's recipe): synth_lfw 85.4 %, synth_cfp_fp 78.4 %,
synth_agedb_30 70.6 %, synth_calfw 63.6 %, synth_cplfw 63.4 % accuracy; IJB TAR@FAR=1e-2 0.38;
identification rank-1 0.18 (softmax, measured with look-alike spread 0.2, reached 94.6 / 87.4 / 83.0 / 71.4 / 76.4 % on the packs).
No pack saturates or sits at chance, and the pose and age packs
are harder than synth_lfw, as for the real sets.
``large``: closer to the real benchmarks' sizes (6,000 pairs per pack, like LFW); for GPUs.
"""

from __future__ import annotations

from dataclasses import dataclass

from interface.errors import InputError


@dataclass(frozen=True)
class Preset:
    """Counts of one SynthFace suite.

    train_ids: training identities; train_images: (min, max) images per training identity.
    eval_ids: identities of the evaluation pool shared by the pair packs, IJB and identification
    probes (disjoint from training by construction); lookalike_share: fraction of the pool drawn
    as a near copy (``identity.sample_lookalike``) of an earlier pool identity.
    pairs_per_fold: pairs per fold in each of the 10 folds of every pack (even: half positive).
    ijb_ids / ijb_templates / ijb_media / ijb_images: IJB identities and per-level (min, max)
    counts (templates per identity, media per template, images per media); ijb_impostor_ratio:
    impostor template pairs per genuine pair.
    probe_ids / probe_images: identification probe identities and images each (>= 2);
    distractors: distractor images (one identity each); noise_share: fraction of probe and
    distractor images listed in the noise files (at least one each). folds: folds per pack.
    contact_rows: identities (rows) on the contact sheet.
    """

    name: str
    train_ids: int
    train_images: tuple[int, int]
    eval_ids: int
    lookalike_share: float
    pairs_per_fold: int
    ijb_ids: int
    ijb_templates: tuple[int, int]
    ijb_media: tuple[int, int]
    ijb_images: tuple[int, int]
    ijb_impostor_ratio: int
    probe_ids: int
    probe_images: int
    distractors: int
    noise_share: float = 0.01
    folds: int = 10
    contact_rows: int = 8

    def __post_init__(self) -> None:
        checks = (
            (
                "pairs_per_fold",
                self.pairs_per_fold >= 2 and self.pairs_per_fold % 2 == 0,
                "an even integer >= 2",
            ),
            ("eval_ids", self.eval_ids >= 2, ">= 2 (negatives need two identities)"),
            ("ijb_ids", self.ijb_ids >= 2, ">= 2 (impostor pairs need two identities)"),
            ("probe_images", self.probe_images >= 2, ">= 2 (a gallery image and a probe)"),
            ("probe_ids", 1 <= self.probe_ids <= self.eval_ids, "between 1 and eval_ids"),
            ("ijb_ids", self.ijb_ids <= self.eval_ids, "<= eval_ids"),
            (
                "train_ids",
                self.train_ids >= 1 and 1 <= self.train_images[0] <= self.train_images[1],
                ">= 1 with 1 <= min <= max images",
            ),
            ("distractors", self.distractors >= 1, ">= 1"),
            ("lookalike_share", 0.0 <= self.lookalike_share <= 1.0, "in [0, 1]"),
            ("noise_share", 0.0 <= self.noise_share < 1.0, "in [0, 1)"),
            (
                "ijb_templates",
                2 <= self.ijb_templates[0] <= self.ijb_templates[1],
                "(min, max), 2 <= min <= max",
            ),
            ("ijb_media", 1 <= self.ijb_media[0] <= self.ijb_media[1], "(min, max), 1 <= min <= max"),
            ("ijb_images", 1 <= self.ijb_images[0] <= self.ijb_images[1], "(min, max), 1 <= min <= max"),
        )
        for key, ok, expected in checks:
            if not ok:
                raise InputError(
                    f"SynthFace preset {self.name!r}: {key}={getattr(self, key)!r}, expected {expected}"
                )


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("smoke", train_ids=30, train_images=(4, 6), eval_ids=30, lookalike_share=0.5, pairs_per_fold=4,
               ijb_ids=4, ijb_templates=(2, 2), ijb_media=(1, 2), ijb_images=(1, 2), ijb_impostor_ratio=3,
               probe_ids=4, probe_images=3, distractors=20, contact_rows=3),
        Preset("default", train_ids=400, train_images=(10, 18), eval_ids=300, lookalike_share=0.5,
               pairs_per_fold=50, ijb_ids=40, ijb_templates=(2, 3), ijb_media=(1, 3), ijb_images=(1, 3),
               ijb_impostor_ratio=20, probe_ids=40, probe_images=5, distractors=800),
        Preset("large", train_ids=5000, train_images=(20, 40), eval_ids=3000, lookalike_share=0.5,
               pairs_per_fold=600, ijb_ids=500, ijb_templates=(2, 4), ijb_media=(1, 4), ijb_images=(1, 4),
               ijb_impostor_ratio=100, probe_ids=300, probe_images=8, distractors=20000),
    )
}  # fmt: skip


def get_preset(name: str) -> Preset:
    """The preset called ``name``; unknown names raise :class:`InputError` listing the known ones."""
    if name not in PRESETS:
        raise InputError(f"--preset {name!r}: unknown SynthFace preset; expected one of {', '.join(PRESETS)}")
    return PRESETS[name]
