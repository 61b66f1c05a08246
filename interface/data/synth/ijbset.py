"""SynthFace's IJB-style template set: loose crops, five exact landmarks, templates and pairs.

Layout as insightface's IJB testsuite (formats-and-protocols.md §4.1) with prefix ``synth``:
``loose_crop/<k>.jpg``, ``meta/synth_face_tid_mid.txt`` ("name template_id media_id"),
``meta/synth_template_pair_label.txt`` ("template_1 template_2 label", 1 = genuine),
``meta/synth_name_5pts_score.txt`` ("name x1 y1 ... x5 y5 face_score"). A loose crop is the
aligned render mapped by a known similarity (``placement``) into a larger canvas, so its landmarks
are exact and aligning them to the ArcFace template recovers the aligned face.

A media (a photo session or video) shares background, lighting, age, occlusion and quality; its
images differ in pose and expression. Each identity has a few rendered media; a template is a
subset of them, so the same rendered image serves several templates (rows of the meta files
repeat image names, as in IJB-C) and a million template pairs cost a thousand renders. Genuine
pairs are the same-identity template pairs that share no media (an image never meets itself);
impostor pairs are a seeded sample of the cross-identity template pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from interface.atomic import atomic_open
from interface.data.synth import seeding
from interface.data.synth.jobs import Job
from interface.data.synth.nuisance import WILD, Nuisance, sample_nuisance, with_fields
from interface.data.synth.presets import Preset
from interface.data.synth.render import ALIGNED
from interface.errors import InputError

PREFIX = "synth"


@dataclass(frozen=True)
class IJBPlan:
    """Renders (one Job per loose crop ``<k+1>.jpg``), meta rows (template id, media id, eval
    identity, render index) in file order, and template pairs (t1, t2, label)."""

    renders: list[Job]
    rows: list[tuple[int, int, int, int]]
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
    """Media, templates, images and pairs of the IJB-style set; identities are eval-pool indices 0..ijb_ids-1.

    ``rows`` lists one row per (template, image), templates in ascending id; the same render
    appears in every template that holds its media.
    """
    renders: list[Job] = []
    rows: list[tuple[int, int, int, int]] = []
    template_identity: dict[int, int] = {}
    template_media: dict[int, frozenset[int]] = {}
    tid = mid = 0
    for ident in range(preset.ijb_ids):
        rng = seeding.rng_for(seed, seeding.ROLE_IJB, ident)
        media: list[tuple[int, list[int]]] = []
        for _ in range(int(rng.integers(preset.ijb_media[0], preset.ijb_media[1] + 1))):
            mid += 1
            base = sample_nuisance(rng, WILD)
            first = len(renders)
            for _ in range(int(rng.integers(preset.ijb_images[0], preset.ijb_images[1] + 1))):
                nz = _media_image(base, rng)
                side = int(rng.integers(128, 177))
                renders.append(Job(eval_vecs[ident], nz, (side, side), _placement(rng, side)))
            media.append((mid, list(range(first, len(renders)))))
        lo, hi = preset.ijb_template_media
        for _ in range(int(rng.integers(preset.ijb_templates[0], preset.ijb_templates[1] + 1))):
            tid += 1
            template_identity[tid] = ident
            picked = sorted(
                int(k) for k in rng.choice(len(media), size=int(rng.integers(lo, hi + 1)), replace=False)
            )
            template_media[tid] = frozenset(media[k][0] for k in picked)
            for k in picked:
                rows += [(tid, media[k][0], ident, r) for r in media[k][1]]
    ids = np.array(sorted(template_identity))
    owner = np.array([template_identity[t] for t in ids])
    a, b = np.triu_indices(ids.size, k=1)
    same = owner[a] == owner[b]
    genuine = [(int(ids[i]), int(ids[j]), 1) for i, j in zip(a[same], b[same])
               if not template_media[int(ids[i])] & template_media[int(ids[j])]]  # fmt: skip
    cross = np.flatnonzero(~same)
    want = cross.size if preset.ijb_impostor_pairs == 0 else preset.ijb_impostor_pairs
    if want > cross.size:
        raise InputError(
            f"SynthFace preset {preset.name!r}: ijb_impostor_pairs={preset.ijb_impostor_pairs} but the "
            f"{ids.size} templates drawn give only {cross.size} cross-identity pairs; raise ijb_ids or ijb_templates"
        )
    rng = seeding.rng_for(seed, seeding.ROLE_IJB, 1 << 30)
    pick = np.sort(rng.choice(cross, size=want, replace=False)) if want < cross.size else cross
    impostor = [(int(x), int(y), 0) for x, y in zip(ids[a[pick]], ids[b[pick]])]
    return IJBPlan(renders, rows, sorted(genuine + impostor), template_identity)


def write_ijb(root: Path, plan: IJBPlan, results: list[tuple[bytes, np.ndarray]]) -> dict:
    """Write the IJB-style folder ``root`` from ``plan`` and the (JPEG, landmarks) of each render; return counts."""
    crops, meta = root / "loose_crop", root / "meta"
    crops.mkdir(parents=True, exist_ok=True)
    meta.mkdir(parents=True, exist_ok=True)
    points = []
    for k, (job, (jpeg, lm)) in enumerate(zip(plan.renders, results), start=1):
        # plain writes: the suite stages its folder under a hidden name and installs it whole
        # (suite.py), and a per-file atomic write costs ~4 ms (fsync, rename, stale scan)
        (crops / f"{k}.jpg").write_bytes(jpeg)
        points.append(" ".join(f"{c:.3f}" for c in lm.ravel()) + f" {face_score(job.nz):.3f}")
    tid_lines = [f"{r + 1}.jpg {tid} {mid}\n" for tid, mid, _, r in plan.rows]
    lmk_lines = [f"{r + 1}.jpg {points[r]}\n" for *_, r in plan.rows]
    for suffix, lines in (
        ("face_tid_mid", tid_lines),
        ("name_5pts_score", lmk_lines),
        ("template_pair_label", [f"{a} {b} {label}\n" for a, b, label in plan.pairs]),
    ):
        with atomic_open(meta / f"{PREFIX}_{suffix}.txt", "w", encoding="ascii", newline="\n") as handle:
            handle.writelines(lines)
    return {
        "images": len(plan.rows),
        "renders": len(plan.renders),
        "templates": len(plan.template_identity),
        "media": len({mid for _, mid, _, _ in plan.rows}),
        "genuine_pairs": sum(1 for p in plan.pairs if p[2] == 1),
        "impostor_pairs": sum(1 for p in plan.pairs if p[2] == 0),
    }
