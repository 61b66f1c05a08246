"""SynthFace generation benchmark: images per second, and what the default preset costs.

Renders a fixed sample of training-profile images in this process and reports wall and CPU
time per image, split into rendering and JPEG encoding (measured side by side on the same images,
so the ratio holds on a busy machine), plus the projected generation time of each preset.
CPU time per image is the contention-proof figure: wall time on a shared machine is not.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

from interface.atomic import write_json
from interface.data.images import encode_jpeg
from interface.data.synth import seeding
from interface.data.synth.identity import sample_identity
from interface.data.synth.nuisance import TRAIN, sample_nuisance
from interface.data.synth.packs import POOLS
from interface.data.synth.presets import PRESETS, Preset
from interface.data.synth.render import render_face


def preset_images(p: Preset) -> int:
    """Approximate images rendered for preset ``p`` (IJB and train counts at their range midpoints)."""
    mid = lambda lo_hi: (lo_hi[0] + lo_hi[1]) / 2.0  # noqa: E731
    train = p.train_ids * mid(p.train_images)
    packs = len(POOLS) * p.eval_ids * p.pack_variants
    ijb = p.ijb_ids * mid(p.ijb_media) * mid(p.ijb_images)
    ident = p.probe_ids * p.probe_images + p.distractors
    return int(round(train + packs + ijb + ident + p.contact_rows * 16))


def run(out_path: Path, quick: bool = False) -> dict:
    """Time rendering of 40 (quick) or 300 images; write the result JSON to ``out_path`` and return it.

    Fields: images, render_ms_per_image / jpeg_ms_per_image (CPU ms, this process),
    render_to_jpeg_ratio, images_per_s_per_worker (CPU-based), wall_images_per_s (as measured here),
    load_average_1min, and per preset the images and projected seconds on 1 and 2 workers.
    """
    n = 40 if quick else 300
    work = []
    for i in range(n):
        vec = sample_identity(seeding.rng_for(12345, seeding.ROLE_TRAIN_ID, i))
        work.append((vec, sample_nuisance(seeding.rng_for(12345, seeding.ROLE_TRAIN_IMG, i, 0), TRAIN)))
    render_cpu = jpeg_cpu = 0.0
    wall0 = time.perf_counter()
    for vec, nz in work:
        t0 = time.process_time()
        img, _ = render_face(vec, nz)
        t1 = time.process_time()
        encode_jpeg(img, nz.jpeg)
        t2 = time.process_time()
        render_cpu += t1 - t0
        jpeg_cpu += t2 - t1
    wall = time.perf_counter() - wall0
    per_image = (render_cpu + jpeg_cpu) / n
    result = {
        "benchmark": "synthface",
        "images": n,
        "render_ms_per_image": 1e3 * render_cpu / n,
        "jpeg_ms_per_image": 1e3 * jpeg_cpu / n,
        "render_to_jpeg_ratio": render_cpu / max(jpeg_cpu, 1e-12),
        "images_per_s_per_worker": 1.0 / max(per_image, 1e-12),
        "wall_images_per_s": n / max(wall, 1e-12),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "presets": {
            name: {
                "images": preset_images(p),
                "projected_s_1_worker": preset_images(p) * per_image,
                "projected_s_2_workers": preset_images(p) * per_image / 2.0,
            }
            for name, p in PRESETS.items()
        },
    }
    write_json(out_path, result)
    return result
