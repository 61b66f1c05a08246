"""SynthFace's TinyFace-style set: native low-resolution faces in the TinyFace release layout.

``tinyface/Testing_Set/{Probe, Gallery_Match, Gallery_Distractor}/`` and the two ``.mat`` lists
(``interface.data.tinyface``). Probe and gallery-match images are named ``<id>_<k>.jpg`` (identity
``id`` = 1 + the eval-pool offset, ``k`` numbering the identity's images across both folders, so
names never repeat), distractors ``<k>.jpg``. TinyFace's faces are tiny (about 20 x 16 pixels on
average): each image here is rendered directly at a side of ``tinyface_side`` pixels (min, max)
with mild pose and age nuisance and a loose, detector-like placement, so it is low-resolution at the
source (not a downsampled 112 px render); the evaluator upsamples it to the model's input size.
Probe identities are the last ``tinyface_ids`` of the evaluation pool; distractors are drawn from
the distractor pool (cycled when more images than pool identities are asked).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from interface.data.synth import seeding
from interface.data.synth.jobs import Job
from interface.data.synth.nuisance import MILD, sample_nuisance
from interface.data.synth.pools import Pools
from interface.data.synth.presets import Preset
from interface.data.synth.render import ALIGNED, similarity
from interface.data.tinyface import DISTRACTOR, MAT_FILES, MATCH, PROBE, SPLIT

# A fixed .mat description (scipy writes the creation time there; the suite must be byte-identical).
MAT_DESCRIPTION = b"MATLAB 5.0 MAT-file, written by SynthFace"


@dataclass(frozen=True)
class TinyFacePlan:
    """One render per listed image; names and identities per folder (``interface.data.tinyface``)."""

    jobs: dict[str, list[Job]]
    names: dict[str, list[str]]
    ids: dict[str, list[int]]


def _low_res_job(vec: np.ndarray, rng: np.random.Generator, preset: Preset) -> Job:
    """A face rendered at ``side`` x ``side`` pixels, placed like a loose detector crop."""
    side = int(rng.integers(preset.tinyface_side[0], preset.tinyface_side[1] + 1))
    scale = side / ALIGNED * float(rng.uniform(0.85, 1.05))
    place = similarity(scale, float(rng.normal(0.0, 5.0)), 0.0, 0.0)
    centre = side / 2.0 + rng.normal(0.0, 0.04 * side, size=2)
    place[:, 2] = centre - place[:, :2] @ np.array([ALIGNED / 2.0, ALIGNED / 2.0])
    # the resolution is this set's difficulty: IJB's harsher media on top left the default run's
    # 32 px models at 9-10 % rank-1, where no two methods differ (presets.py, calibration table)
    return Job(vec, sample_nuisance(rng, MILD), (side, side), place)


def plan_tinyface(preset: Preset, pools: Pools, seed: int) -> TinyFacePlan:
    """Per identity ``tinyface_matches`` (min, max) gallery matches then ``tinyface_probes`` probes."""
    jobs: dict[str, list[Job]] = {PROBE: [], MATCH: [], DISTRACTOR: []}
    names: dict[str, list[str]] = {PROBE: [], MATCH: [], DISTRACTOR: []}
    ids: dict[str, list[int]] = {PROBE: [], MATCH: []}
    first = preset.eval_ids - preset.tinyface_ids
    for k in range(preset.tinyface_ids):
        rng = seeding.rng_for(seed, seeding.ROLE_TINYFACE, 0, k)
        n_match = int(rng.integers(preset.tinyface_matches[0], preset.tinyface_matches[1] + 1))
        for j in range(n_match + preset.tinyface_probes):
            folder = MATCH if j < n_match else PROBE
            jobs[folder].append(_low_res_job(pools.eval[first + k], rng, preset))
            names[folder].append(f"{k + 1}_{j + 1}.jpg")
            ids[folder].append(k + 1)
    for k in range(preset.tinyface_distractors):
        rng = seeding.rng_for(seed, seeding.ROLE_TINYFACE, 1, k)
        jobs[DISTRACTOR].append(_low_res_job(pools.distractors[k % len(pools.distractors)], rng, preset))
        names[DISTRACTOR].append(f"{k + 1}.jpg")
    return TinyFacePlan(jobs, names, ids)


def mat_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A MATLAB v5 file of ``arrays`` (scipy.io.savemat) with a fixed header description."""
    import scipy.io

    buf = io.BytesIO()
    scipy.io.savemat(buf, arrays)
    data = bytearray(buf.getvalue())
    data[:116] = MAT_DESCRIPTION.ljust(116, b" ")  # the v5 header's 116-byte text field
    return bytes(data)


def name_cells(names: list[str]) -> np.ndarray:
    """``names`` as an (N, 1) MATLAB cell array of strings (the release's ``*_set`` layout)."""
    cells = np.empty((len(names), 1), dtype=object)
    for k, name in enumerate(names):
        cells[k, 0] = np.array([name])
    return cells


def write_tinyface(root: Path, plan: TinyFacePlan, jpegs: dict[str, list[bytes]]) -> dict:
    """Write ``root/Testing_Set/...`` from ``plan`` and the JPEG of each job; return counts.

    Plain writes, like the IJB crops: ``root`` lies in the suite's hidden staging folder."""
    split = root / SPLIT
    for folder, names in plan.names.items():
        (split / folder).mkdir(parents=True, exist_ok=True)
        for name, jpeg in zip(names, jpegs[folder]):
            (split / folder / name).write_bytes(jpeg)
    for folder, (mat_name, names_key, ids_key) in MAT_FILES.items():
        ids = np.asarray(plan.ids[folder], dtype=np.float64)[:, None]  # MATLAB's default double
        (split / mat_name).write_bytes(mat_bytes({names_key: name_cells(plan.names[folder]), ids_key: ids}))
    return {
        "identities": len(set(plan.ids[PROBE])),
        "probes": len(plan.names[PROBE]),
        "gallery_matches": len(plan.names[MATCH]),
        "distractors": len(plan.names[DISTRACTOR]),
    }
