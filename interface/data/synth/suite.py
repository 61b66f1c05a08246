"""Generate the whole SynthFace suite as one InsightFace-style dataset folder.

``generate_suite(out, preset, seed)`` writes ``out/{train.rec, train.idx, property,
synth_lfw.bin, synth_cfp_fp.bin, synth_agedb_30.bin, synth_calfw.bin, synth_cplfw.bin, ijb/,
ijb_1n/, identification/, tinyface/, contact_sheet.png, synthface.json, manifest.json}``. Every item
has its own random stream (``seeding``), all images are planned first and rendered in one
parallel pass, so the same preset and seed give byte-identical files for any worker count.

The folder is assembled under a hidden sibling and moved into place at the end, so an
interrupted run never leaves a half-written suite under ``out``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np

from interface.atomic import pid_alive, write_json
from interface.data.bins import write_bin
from interface.data.manifest import write_manifest
from interface.data.records import write_record_dataset
from interface.data.synth import seeding
from interface.data.synth.contact import write_contact_sheet
from interface.data.synth.identification import plan_identification, write_identification
from interface.data.synth.ijb1n import plan_ijb_1n, write_ijb_1n
from interface.data.synth.ijbset import plan_ijb, write_ijb
from interface.data.synth.jobs import Job, default_workers, run_jobs
from interface.data.synth.nuisance import TRAIN, sample_nuisance
from interface.data.synth.packs import PACKS, pack_pairs_per_fold, plan_pack, plan_variants
from interface.data.synth.pools import Pools, build_pools, identity_hash
from interface.data.synth.presets import Preset, get_preset
from interface.data.synth.tinyface import plan_tinyface, write_tinyface
from interface.errors import InputError

log = logging.getLogger(__name__)

GENERATOR_VERSION = "3"
INFO = "synthface.json"


def plan_train(preset: Preset, pools: Pools, seed: int) -> tuple[list[Job], list[int]]:
    """Training images grouped by identity (labels 0..train_ids-1 in order), drawn from ``TRAIN``."""
    jobs, labels = [], []
    lo, hi = preset.train_images
    for ident in range(preset.train_ids):
        count = int(seeding.rng_for(seed, seeding.ROLE_TRAIN_IMG, ident, 1 << 30).integers(lo, hi + 1))
        for k in range(count):
            nz = sample_nuisance(seeding.rng_for(seed, seeding.ROLE_TRAIN_IMG, ident, k), TRAIN)
            jobs.append(Job(pools.train[ident], nz))
            labels.append(ident)
    return jobs, labels


def _install(tmp: Path, out: Path) -> None:
    """Move the finished suite from ``tmp`` to ``out``, replacing only the entries the suite writes."""
    out.mkdir(parents=True, exist_ok=True)
    for entry in sorted(tmp.iterdir()):
        target = out / entry.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(entry, target)
    tmp.rmdir()


def _remove_stale_partials(out: Path) -> None:
    """Delete the half-written folders of killed runs (``.NAME.partial-<pid>`` whose pid is gone):
    a killed ``large`` suite would otherwise leave gigabytes behind for good."""
    for stale in out.parent.glob(f".{out.name}.partial-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not pid_alive(int(pid)):
            log.info("removing %s left by a killed run", stale)
            shutil.rmtree(stale, ignore_errors=True)


def generate_suite(
    out: str | os.PathLike[str], preset: str | Preset, seed: int, workers: int | None = None
) -> Path:
    """Write the SynthFace suite for ``preset`` (name or :class:`Preset`) and ``seed`` (int >= 0) to ``out``.

    workers: rendering processes (None = the CPUs available, at most 8); never changes the output.
    Returns ``out`` as a Path.
    """
    preset = get_preset(preset) if isinstance(preset, str) else preset
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"--seed {seed!r}: expected a non-negative integer")
    seed = int(seed)
    out = Path(out)
    workers = default_workers() if workers is None else max(1, int(workers))
    start = time.perf_counter()
    pools = build_pools(preset, seed)
    train_jobs, train_labels = plan_train(preset, pools, seed)
    pack_sizes = [
        pack_pairs_per_fold(spec, preset.pairs_per_fold, preset.pairs_per_fold_cfp_fp) for spec in PACKS
    ]
    pack_plans = [
        plan_pack(k, spec, preset.eval_ids, pools.nearest, preset.pack_variants, size, preset.folds, seed)
        for k, (spec, size) in enumerate(zip(PACKS, pack_sizes))
    ]
    variants = plan_variants(preset.eval_ids, preset.pack_variants, seed)
    pack_jobs = [Job(pools.eval[ident], nz) for ident, nz in variants]
    ijb_plan = plan_ijb(preset, pools.eval, seed)
    ident_plan = plan_identification(preset, pools, seed)
    ijb_1n_plan = plan_ijb_1n(preset, pools.eval, seed, ijb_plan)
    tiny_plan = plan_tinyface(preset, pools, seed)
    tiny_folders = list(tiny_plan.jobs)
    evaluation = (pack_jobs, ijb_plan.renders, ident_plan.probe_jobs, ident_plan.distractor_jobs,
                  ijb_1n_plan.new_renders())  # fmt: skip
    # every evaluation render on the preset's (cheaper) shading grid; training at full resolution,
    # and so are the TinyFace renders, whose few pixels are the point (and cost little)
    shaded = [
        [dataclasses.replace(job, shade_scale=preset.eval_shade_scale) for job in group]
        for group in evaluation
    ]
    groups = [train_jobs, *shaded, *(tiny_plan.jobs[folder] for folder in tiny_folders)]
    all_jobs = [job for group in groups for job in group]
    log.info(
        "SynthFace %s seed %d: rendering %d images on %d process(es)",
        preset.name,
        seed,
        len(all_jobs),
        workers,
    )
    results = run_jobs(all_jobs, workers, desc=f"synth {preset.name}")
    render_s = time.perf_counter() - start
    parts, offset = [], 0
    for group in groups:
        parts.append(results[offset : offset + len(group)])
        offset += len(group)
    train_res, pack_res, ijb_res, probe_res, distractor_res, ijb_1n_res = parts[:6]
    tiny_jpegs = {folder: [jpeg for jpeg, _ in res] for folder, res in zip(tiny_folders, parts[6:])}

    generator = {"name": "synthface", "version": GENERATOR_VERSION, "preset": preset.name, "seed": seed}
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    _remove_stale_partials(out)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        write_record_dataset(tmp, [jpeg for jpeg, _ in train_res], train_labels, num_classes=preset.train_ids,
                             generator=generator)  # fmt: skip
        pack_info = {}
        for spec, plan, size in zip(PACKS, pack_plans, pack_sizes):
            jpegs = [pack_res[i][0] for pair in plan for i in (pair.image_first, pair.image_second)]
            write_bin(tmp / f"{spec.name}.bin", jpegs, [pair.issame for pair in plan])
            pack_info[spec.name] = {
                "pairs": len(plan),
                "folds": preset.folds,
                "pairs_per_fold": size,
                "pools": list(spec.pools),
                "renders": [[pair.image_first, pair.image_second] for pair in plan],
                "lookalike_negatives": spec.lookalike_negatives,
                "identities": [[pair.first, pair.second] for pair in plan],
            }
        ijb_info = write_ijb(tmp / "ijb", ijb_plan, ijb_res)
        ijb_info["template_identity"] = {str(t): i for t, i in ijb_plan.template_identity.items()}
        ijb_1n_info = write_ijb_1n(tmp / "ijb_1n", ijb_1n_plan, ijb_res, ijb_1n_res)
        tiny_info = write_tinyface(tmp / "tinyface", tiny_plan, tiny_jpegs)
        ident_info = write_identification(tmp / "identification", ident_plan, [j for j, _ in probe_res],
                                          [j for j, _ in distractor_res], generator)  # fmt: skip
        write_contact_sheet(tmp / "contact_sheet.png", pools.eval[: preset.contact_rows], seed)
        info = {
            **generator,
            "preset_counts": dataclasses.asdict(preset),
            "images_rendered": len(all_jobs),
            "train": {"identities": preset.train_ids, "images": len(train_jobs)},
            "packs": pack_info,
            "ijb": ijb_info,
            "identification": ident_info,
            "ijb_1n": ijb_1n_info,
            "tinyface": tiny_info,
            "identity_hashes": {
                "train": [identity_hash(v) for v in pools.train],
                "eval": [identity_hash(v) for v in pools.eval],
                "distractors": [identity_hash(v) for v in pools.distractors],
            },
            "eval_lookalike_of": pools.lookalike_of.tolist(),
        }
        write_json(tmp / INFO, info)
        write_manifest(tmp, classes=preset.train_ids, images=len(train_jobs), generator=generator)
        _install(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    total_s = time.perf_counter() - start
    log.info("SynthFace: %d images in %.1f s (render %.1f s, %.0f images/s)", len(all_jobs), total_s, render_s,
             len(all_jobs) / max(total_s, 1e-9))  # fmt: skip
    return out
