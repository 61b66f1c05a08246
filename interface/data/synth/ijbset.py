"""SynthFace's IJB-style template set: loose crops, five exact landmarks, templates and pairs.

Layout as insightface's IJB testsuite (formats-and-protocols.md §4.1) with prefix ``synth``:
``loose_crop/<k>.jpg``, ``meta/synth_face_tid_mid.txt`` ("name template_id media_id"),
``meta/synth_template_pair_label.txt`` ("template_1 template_2 label", 1 = genuine),
``meta/synth_name_5pts_score.txt`` ("name x1 y1 ... x5 y5 face_score"). A loose crop is the
aligned render mapped by a known similarity (``placement``) into a larger canvas, so its landmarks
are exact and aligning them to the ArcFace template recovers the aligned face.

A template is several media of one identity; a media (a photo session or video) shares
background, lighting, age, occlusion and quality; its images differ in pose and expression.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from interface.atomic import atomic_open, write_bytes
from interface.data.synth import seeding
from interface.data.synth.jobs import Job
from interface.data.synth.nuisance import WILD, Nuisance, sample_nuisance, with_fields
from interface.data.synth.presets import Preset
from interface.data.synth.render import ALIGNED

PREFIX = "synth"


@dataclass(frozen=True)
class IJBPlan:
    """Images (template id, media id, eval identity, job) in file order and template pairs (t1, t2, label)."""

    images: list[tuple[int, int, int, Job]]
    pairs: list[tuple[int, int, int]]
    template_identity: dict[int, int]


def _placement(rng: np.random.Generator, side: int) -> np.ndarray:
    """Similarity from the aligned 112x112 frame into a ``side``-pixel loose crop (face near the centre)."""
    scale = float(rng.uniform(0.75, 1.1))
    angle = np.radians(float(rng.normal(0.0, 8.0)))
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    lin = np.array([[c, s], [-s, c]])
    target = side / 2.0 + rng.normal(0.0, 5.0, size=2)
    return np.column_stack([lin, target - lin @ np.array([ALIGNED / 2.0, ALIGNED / 2.0])])


def _media_image(base: Nuisance, rng: np.random.Generator) -> Nuisance:
    """An image of a media: the media's scene and quality, its own pose and expression."""
    own = sample_nuisance(rng, WILD)
    yaw = float(np.clip(base.yaw + rng.normal(0.0, 6.0), -88.0, 88.0))
    return with_fields(base, yaw=yaw, pitch=own.pitch, smile=own.smile, mouth_open=own.mouth_open,
                       squint=own.squint, roll=own.roll, noise_seed=own.noise_seed)  # fmt: skip


def face_score(nz: Nuisance) -> float:
    """A detector-like confidence in [0.3, 0.999]: lower for wide yaw, blur and occlusion."""
    score = (
        0.995 - 0.25 * (abs(nz.yaw) / 90.0) ** 2 - 0.04 * nz.blur - (0.08 if nz.occlusion != "none" else 0.0)
    )
    return float(np.clip(score, 0.3, 0.999))


def plan_ijb(preset: Preset, eval_vecs: np.ndarray, seed: int) -> IJBPlan:
    """Templates, media, images and pairs of the IJB-style set; identities are eval-pool indices 0..ijb_ids-1."""
    images: list[tuple[int, int, int, Job]] = []
    template_identity: dict[int, int] = {}
    tid = mid = 0
    for ident in range(preset.ijb_ids):
        rng = seeding.rng_for(seed, seeding.ROLE_IJB, ident)
        for _ in range(int(rng.integers(preset.ijb_templates[0], preset.ijb_templates[1] + 1))):
            tid += 1
            template_identity[tid] = ident
            for _ in range(int(rng.integers(preset.ijb_media[0], preset.ijb_media[1] + 1))):
                mid += 1
                base = sample_nuisance(rng, WILD)
                for _ in range(int(rng.integers(preset.ijb_images[0], preset.ijb_images[1] + 1))):
                    nz = _media_image(base, rng)
                    side = int(rng.integers(128, 177))
                    job = Job(eval_vecs[ident], nz, (side, side), _placement(rng, side))
                    images.append((tid, mid, ident, job))
    ids = sorted(template_identity)
    genuine = [
        (a, b, 1) for a, b in itertools.combinations(ids, 2) if template_identity[a] == template_identity[b]
    ]
    rng = seeding.rng_for(seed, seeding.ROLE_IJB, 1 << 30)
    impostor: set[tuple[int, int]] = set()
    possible = len(ids) * (len(ids) - 1) // 2 - len(genuine)
    want = min(possible, preset.ijb_impostor_ratio * len(genuine))
    while len(impostor) < want:
        a, b = sorted(int(x) for x in rng.choice(ids, size=2, replace=False))
        if template_identity[a] != template_identity[b]:
            impostor.add((a, b))
    pairs = sorted(genuine + [(a, b, 0) for a, b in impostor])
    return IJBPlan(images, pairs, template_identity)


def write_ijb(root: Path, plan: IJBPlan, results: list[tuple[bytes, np.ndarray]]) -> dict:
    """Write the IJB-style folder ``root`` from ``plan`` and the rendered (JPEG, landmarks); return counts."""
    crops, meta = root / "loose_crop", root / "meta"
    crops.mkdir(parents=True, exist_ok=True)
    meta.mkdir(parents=True, exist_ok=True)
    tid_lines, lmk_lines = [], []
    for k, ((tid, mid, _, job), (jpeg, lm)) in enumerate(zip(plan.images, results), start=1):
        name = f"{k}.jpg"
        write_bytes(crops / name, jpeg)
        tid_lines.append(f"{name} {tid} {mid}\n")
        coords = " ".join(f"{c:.3f}" for c in lm.ravel())
        lmk_lines.append(f"{name} {coords} {face_score(job.nz):.3f}\n")
    for suffix, lines in (
        ("face_tid_mid", tid_lines),
        ("name_5pts_score", lmk_lines),
        ("template_pair_label", [f"{a} {b} {label}\n" for a, b, label in plan.pairs]),
    ):
        with atomic_open(meta / f"{PREFIX}_{suffix}.txt", "w", encoding="ascii", newline="\n") as handle:
            handle.writelines(lines)
    return {
        "images": len(plan.images),
        "templates": len(plan.template_identity),
        "media": len({mid for _, mid, _, _ in plan.images}),
        "genuine_pairs": sum(1 for p in plan.pairs if p[2] == 1),
        "impostor_pairs": sum(1 for p in plan.pairs if p[2] == 0),
    }
