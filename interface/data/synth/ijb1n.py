"""SynthFace's IJB 1:N set: two disjoint galleries and mixed-media probes, in the IJB layout.

Folder ``ijb_1n/`` holds an IJB-style set (``interface.data.ijb``, prefix ``synth``) plus the 1:N
lists (``interface.data.ijb_1n``): ``meta/synth_1N_gallery_G1.csv``, ``synth_1N_gallery_G2.csv``
and ``synth_1N_probe_mixed.csv`` (header ``TEMPLATE_ID,SUBJECT_ID,FILENAME``, one row per image).

Subjects are the IJB set's identities. A subject's gallery template is every image of its media
in the IJB set (those renders are reused, not rendered again); its probes are new media of the
same subject (own scenes, poses and quality) combined into ``ijb1n_probes`` templates of a few
media each (distinct media subsets), so a probe never shares an image with its gallery template
and no two probes of a subject are the same search. The subjects are split
at random into G1 and G2 halves; every probe is mated in one and non-mated in the other, so the
fewer non-mated probes of a gallery is ``floor(ijb_ids / 2) * ijb1n_probes`` (what the TPIR at
FPIR resolution rule reads). As in IJB-C, the 1:1 pair file lists gallery-probe template pairs
(here all of them; label 1 when the subjects agree).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

from interface.atomic import atomic_open
from interface.data.synth import seeding
from interface.data.synth.ijbset import PREFIX, IJBPlan, _media_image, _placement, write_ijb
from interface.data.synth.jobs import Job
from interface.data.synth.nuisance import WILD, sample_nuisance
from interface.data.synth.presets import Preset

GALLERIES = ("G1", "G2")


@dataclass(frozen=True)
class IJB1NPlan:
    """``ijb``: the IJB-style part; its first ``len(reused)`` renders are the IJB set's renders
    ``reused`` (already rendered there), the rest are new (:meth:`new_renders`).
    ``gallery_of``: subject -> "G1" | "G2"; the gallery and probe template ids."""

    ijb: IJBPlan
    reused: list[int]
    gallery_of: dict[int, str]
    gallery_templates: dict[int, int]  # subject -> gallery template id
    probe_templates: list[int]

    def new_renders(self) -> list[Job]:
        return self.ijb.renders[len(self.reused) :]


def plan_ijb_1n(preset: Preset, eval_vecs: np.ndarray, seed: int, ijb: IJBPlan) -> IJB1NPlan:
    """Galleries from the IJB set ``ijb``'s media, probes from new media (module docstring)."""
    media_of: dict[int, dict[int, list[int]]] = {}
    for _, mid, ident, r in ijb.rows:
        media = media_of.setdefault(ident, {}).setdefault(mid, [])
        if r not in media:
            media.append(r)
    subjects = sorted(media_of)
    order = seeding.rng_for(seed, seeding.ROLE_IJB_1N, 1 << 30).permutation(len(subjects))
    gallery_of = {subjects[k]: GALLERIES[0 if pos < (len(subjects) + 1) // 2 else 1]
                  for pos, k in enumerate(order)}  # fmt: skip
    reused = sorted({r for m in media_of.values() for rs in m.values() for r in rs})
    slot = {r: k for k, r in enumerate(reused)}
    renders: list[Job] = []
    rows: list[tuple[int, int, int, int]] = []
    template_identity: dict[int, int] = {}
    gallery_templates: dict[int, int] = {}
    tid, mid = 0, 0
    for ident in subjects:  # gallery templates first: every image of the subject's IJB media
        tid += 1
        gallery_templates[ident], template_identity[tid] = tid, ident
        for _, renders_of in sorted(media_of[ident].items()):
            mid += 1
            rows += [(tid, mid, ident, slot[r]) for r in renders_of]
    probe_templates: list[int] = []
    lo, hi = preset.ijb1n_template_media
    for ident in subjects:
        rng = seeding.rng_for(seed, seeding.ROLE_IJB_1N, ident)
        media: list[tuple[int, list[int]]] = []
        for _ in range(int(rng.integers(preset.ijb1n_media[0], preset.ijb1n_media[1] + 1))):
            mid += 1
            base = sample_nuisance(rng, WILD)
            first = len(reused) + len(renders)
            for _ in range(int(rng.integers(preset.ijb1n_images[0], preset.ijb1n_images[1] + 1))):
                side = int(rng.integers(128, 177))
                renders.append(
                    Job(eval_vecs[ident], _media_image(base, rng), (side, side), _placement(rng, side))
                )
            media.append((mid, list(range(first, len(reused) + len(renders)))))
        # distinct media subsets, so no two probes of a subject are the same search
        subsets = [c for n in range(lo, min(hi, len(media)) + 1) for c in combinations(range(len(media)), n)]
        for pick in sorted(int(k) for k in rng.choice(len(subsets), size=preset.ijb1n_probes, replace=False)):
            tid += 1
            probe_templates.append(tid)
            template_identity[tid] = ident
            for k in subsets[pick]:
                rows += [(tid, media[k][0], ident, r) for r in media[k][1]]
    pairs = [(g, p, int(template_identity[g] == template_identity[p]))
             for g in sorted(gallery_templates.values()) for p in probe_templates]  # fmt: skip
    plan = IJBPlan([ijb.renders[r] for r in reused] + renders, rows, pairs, template_identity)
    return IJB1NPlan(plan, reused, gallery_of, gallery_templates, probe_templates)


def _write_list(path: Path, plan: IJB1NPlan, templates: list[int]) -> None:
    wanted = set(templates)
    with atomic_open(path, "w", encoding="ascii", newline="\n") as handle:
        handle.write("TEMPLATE_ID,SUBJECT_ID,FILENAME\n")
        handle.writelines(f"{t},{ident},{r + 1}.jpg\n" for t, _, ident, r in plan.ijb.rows if t in wanted)


def write_ijb_1n(root: Path, plan: IJB1NPlan, ijb_results: list, new_results: list) -> dict:
    """Write ``root`` (the IJB-style files, then the 1:N lists); ``ijb_results``: the IJB set's
    (JPEG, landmarks) per render; ``new_results``: those of :meth:`IJB1NPlan.new_renders`."""
    info = write_ijb(root, plan.ijb, [ijb_results[r] for r in plan.reused] + list(new_results))
    for name in GALLERIES:
        members = [t for s, t in plan.gallery_templates.items() if plan.gallery_of[s] == name]
        _write_list(root / "meta" / f"{PREFIX}_1N_gallery_{name}.csv", plan, members)
    _write_list(root / "meta" / f"{PREFIX}_1N_probe_mixed.csv", plan, plan.probe_templates)
    per = {name: sum(1 for g in plan.gallery_of.values() if g == name) for name in GALLERIES}
    info.update(
        {
            "gallery_subjects": per,
            "probe_templates": len(plan.probe_templates),
            "nonmated_probes": {
                name: sum(
                    1 for t in plan.probe_templates if plan.gallery_of[plan.ijb.template_identity[t]] != name
                )  # fmt: skip
                for name in GALLERIES
            },
        }
    )
    return info
