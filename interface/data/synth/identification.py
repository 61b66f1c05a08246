"""SynthFace's identification set (MegaFace-style): probes, distractors and noise lists.

``probe/``: a RecordIO folder of identities with several images each (FaceScrub's role; the
evaluator puts one image of an identity in the gallery and searches with the others).
``distractors/``: a RecordIO folder of one image per distractor identity (labels unused; each its
own class). Like ArcFace's MegaFace clean-up lists (formats-and-protocols.md §5.3), a few images
are deliberately wrong and listed: ``probe_noises.txt`` holds probe images that show someone else
(mislabelled), ``distractor_noises.txt`` distractor images that show a probe identity. Each file
has one 0-based image index per line (``RecordDataset(folder).read(i)``), after '#' comments.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from interface.atomic import atomic_open
from interface.data.records import write_record_dataset
from interface.data.synth import seeding
from interface.data.synth.jobs import Job
from interface.data.synth.nuisance import TRAIN, sample_nuisance
from interface.data.synth.pools import Pools
from interface.data.synth.presets import Preset


@dataclass(frozen=True)
class IdentificationPlan:
    """Probe jobs with labels, distractor jobs, and the indices listed in the two noise files."""

    probe_jobs: list[Job]
    probe_labels: list[int]
    distractor_jobs: list[Job]
    probe_noises: list[int]
    distractor_noises: list[int]


def plan_identification(preset: Preset, pools: Pools, seed: int) -> IdentificationPlan:
    """Probe identities are eval-pool indices 0..probe_ids-1; distractors come from their own pool."""
    n_probe = preset.probe_ids * preset.probe_images
    rng = seeding.rng_for(seed, seeding.ROLE_IDENT, 1 << 30)
    probe_noises = sorted(
        int(i) for i in rng.choice(n_probe, size=max(1, round(preset.noise_share * n_probe)), replace=False)
    )
    distractor_noises = sorted(
        int(i)
        for i in rng.choice(
            preset.distractors, size=max(1, round(preset.noise_share * preset.distractors)), replace=False
        )
    )
    noisy_probes, noisy_distractors = set(probe_noises), set(distractor_noises)
    probe_jobs, labels = [], []
    for k in range(n_probe):
        ident = k // preset.probe_images
        r = seeding.rng_for(seed, seeding.ROLE_IDENT, 0, k)
        nz = sample_nuisance(r, TRAIN)
        # A noisy probe shows a random distractor-pool person under this identity's label.
        vec = (
            pools.distractors[int(r.integers(preset.distractors))] if k in noisy_probes else pools.eval[ident]
        )
        probe_jobs.append(Job(vec, nz))
        labels.append(ident)
    distractor_jobs = []
    for k in range(preset.distractors):
        r = seeding.rng_for(seed, seeding.ROLE_IDENT, 1, k)
        nz = sample_nuisance(r, TRAIN)
        # A noisy distractor shows one of the probe identities.
        vec = (
            pools.eval[int(r.integers(preset.probe_ids))] if k in noisy_distractors else pools.distractors[k]
        )
        distractor_jobs.append(Job(vec, nz))
    return IdentificationPlan(probe_jobs, labels, distractor_jobs, probe_noises, distractor_noises)


def _write_noises(path: Path, what: str, indices: list[int]) -> None:
    with atomic_open(path, "w", encoding="ascii", newline="\n") as handle:
        handle.write(
            f"# SynthFace {what}\n# one 0-based image index per line: RecordDataset(folder).read(index)\n"
        )
        handle.writelines(f"{i}\n" for i in indices)


def write_identification(root: Path, plan: IdentificationPlan, probe_jpegs: list[bytes],
                         distractor_jpegs: list[bytes], generator: dict) -> dict:  # fmt: skip
    """Write ``root/{probe/, distractors/, probe_noises.txt, distractor_noises.txt}``; return counts."""
    write_record_dataset(root / "probe", probe_jpegs, plan.probe_labels, generator=generator)
    write_record_dataset(
        root / "distractors", distractor_jpegs, list(range(len(distractor_jpegs))), generator=generator
    )
    _write_noises(
        root / "probe_noises.txt", "probe images showing another person (mislabelled)", plan.probe_noises
    )
    _write_noises(
        root / "distractor_noises.txt", "distractor images showing a probe identity", plan.distractor_noises
    )
    return {
        "probe_identities": len(set(plan.probe_labels)),
        "probe_images": len(probe_jpegs),
        "distractors": len(distractor_jpegs),
        "probe_noises": len(plan.probe_noises),
        "distractor_noises": len(plan.distractor_noises),
    }
