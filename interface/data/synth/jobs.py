"""Render many images in parallel; results never depend on the number of processes.

A job is fully specified up front (identity vector, nuisance with its own noise seed, output
size, placement), so the pixels are a pure function of the job and ``map`` keeps job order.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from interface.data.images import encode_jpeg
from interface.data.synth.nuisance import Nuisance
from interface.data.synth.render import ALIGNED, render_face


@dataclass(frozen=True)
class Job:
    """One image to render: identity ``vec``, nuisance ``nz``, output (height, width), placement
    (2x3 or None) and the shading grid's scale (``render.render_face``)."""

    vec: np.ndarray
    nz: Nuisance
    size: tuple[int, int] = (ALIGNED, ALIGNED)
    placement: np.ndarray | None = None
    shade_scale: float = 1.0


def run_job(job: Job) -> tuple[bytes, np.ndarray]:
    """Render and JPEG-encode one job at quality ``job.nz.jpeg``; returns (JPEG bytes, landmarks (5, 2))."""
    img, landmarks = render_face(job.vec, job.nz, job.size, job.placement, job.shade_scale)
    return encode_jpeg(img, job.nz.jpeg), landmarks


def default_workers() -> int:
    """Processes to use: the CPUs this process may run on, at most 8."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        n = os.cpu_count() or 1
    return max(1, min(8, n))


def run_jobs(jobs: Sequence[Job], workers: int, desc: str) -> list[tuple[bytes, np.ndarray]]:
    """Run ``jobs`` on ``workers`` processes (1 = in this process), results in job order."""
    if workers <= 1 or len(jobs) < 64:
        return [run_job(j) for j in tqdm(jobs, desc=desc, leave=False, mininterval=2.0)]
    ctx = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    )
    chunk = max(16, len(jobs) // (workers * 8))
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        return list(
            tqdm(
                pool.map(run_job, jobs, chunksize=chunk),
                total=len(jobs),
                desc=desc,
                leave=False,
                mininterval=2.0,
            )
        )
