"""Data-path benchmark: decoded, normalised images per second per worker from RecordIO, as a ratio
to bare Pillow decoding of the same JPEG bytes, measured side by side in one process.

The goal (issue 3) is a ratio >= 0.9: the RecordIO reader, label check, RGB conversion and the
(x/255 - 0.5)/0.5 normalisation add at most 10 % to JPEG decoding. Three paths are timed over the
same images: ``item`` = ``FaceDataset(train=True)[i]`` (read, decode, flip, normalise), ``read`` =
``RecordDataset.read(i)`` (record lookup and decode only), ``bare`` = ``Image.open`` +
``np.asarray`` of the JPEG bytes. Blocks of 16 images alternate between the paths so drifts in
machine load hit all three; each block is timed by the wall clock and by this thread's CPU clock
(which leaves out time the process spent preempted by others on a shared machine). Medians over
repetitions are reported; ``ratio`` uses the CPU clock, ``wall_ratio`` the wall clock.
"""

from __future__ import annotations

import io
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from interface.atomic import write_json

BLOCK = 16  # images per timed block
PATHS = ("item", "read", "bare")


def _faces(n: int, size: int = 112) -> list[np.ndarray]:
    """Smooth face-like test images (gradients, waves, mild noise): JPEG sizes like aligned faces."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = []
    for _ in range(n):
        c = rng.uniform(0.2, 0.8, (3, 3))
        base = c[0][:, None, None] * 255 * (1 - 0.5 * ((xx - 0.5) ** 2 + (yy - 0.45) ** 2) * 4)
        base = base + 40 * np.sin(6 * xx * c[1][:, None, None] + 5 * yy * c[2][:, None, None])
        base = base + rng.normal(0, 6, base.shape)
        out.append(np.clip(base, 0, 255).astype(np.uint8).transpose(1, 2, 0).copy())
    return out


def _bare_decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB") if im.mode != "RGB" else im)


def _one_pass(steps: dict[str, Callable[[int], object]], n: int) -> dict[str, tuple[float, float]]:
    """Alternate blocks of every path over images 0..n-1; return {path: (wall s, cpu s)}."""
    spent = {name: [0.0, 0.0] for name in steps}
    for lo in range(0, n, BLOCK):
        hi = min(lo + BLOCK, n)
        for name, step in steps.items():
            wall, cpu = time.perf_counter(), time.thread_time()
            for i in range(lo, hi):
                step(i)
            spent[name][0] += time.perf_counter() - wall
            spent[name][1] += time.thread_time() - cpu
    return {name: (w, c) for name, (w, c) in spent.items()}


def run(out_path: Path, quick: bool = False) -> dict:
    """Measure and write ``out_path`` (JSON); returns the result dict with a ``summary``."""
    import torch

    from interface.data import FaceDataset, RecordDataset, write_record_dataset

    n, reps = (96, 3) if quick else (512, 7)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one DataLoader worker = one thread
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = write_record_dataset(Path(tmp) / "bench", _faces(n), [i * 16 // n for i in range(n)])
            records = RecordDataset(root)
            jpegs = [records.read_raw(i)[0] for i in range(n)]
            items = FaceDataset(records, train=True, input_size=112)
            steps = {
                "item": items.__getitem__,
                "read": records.read,
                "bare": lambda i: _bare_decode(jpegs[i]),
            }
            _one_pass(steps, n)  # warm-up: page cache, Pillow plugins, allocator
            passes = [_one_pass(steps, n) for _ in range(reps)]
            mean_jpeg = float(np.mean([len(j) for j in jpegs]))
    finally:
        torch.set_num_threads(threads)
    rates = {
        clock: {name: [n / p[name][k] for p in passes] for name in PATHS}
        for k, clock in enumerate(("wall", "cpu"))
    }

    def ratios(clock: str, name: str) -> list[float]:
        return [a / b for a, b in zip(rates[clock][name], rates[clock]["bare"])]

    ratio = statistics.median(ratios("cpu", "item"))
    summary = {
        "recordio_images_per_s_per_worker": statistics.median(rates["cpu"]["item"]),
        "pillow_decode_images_per_s": statistics.median(rates["cpu"]["bare"]),
        "ratio": ratio,
        "wall_ratio": statistics.median(ratios("wall", "item")),
        "read_decode_only_ratio": statistics.median(ratios("cpu", "read")),
        "goal_ratio": 0.9,
        "meets_goal": ratio >= 0.9,
    }
    result = {
        "benchmark": "data",
        "what": "FaceDataset(train=True, 112px) items/s from RecordIO vs bare Pillow JPEG decode "
        "(Image.open + np.asarray) of the same bytes, 1 thread, interleaved blocks of 16",
        "images": n,
        "repetitions": reps,
        "mean_jpeg_bytes": mean_jpeg,
        "load_average_1min": os.getloadavg()[0],  # other processes share the CPU: context for wall rates
        "rates_images_per_s": rates,
        "ratios_cpu": {name: ratios("cpu", name) for name in ("item", "read")},
        "ratios_wall": {name: ratios("wall", name) for name in ("item", "read")},
        "summary": summary,
    }
    write_json(out_path, result)
    return result
