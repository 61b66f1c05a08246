"""Data-path benchmark: decoded, normalised images per second per worker from RecordIO, as a ratio
to bare Pillow decoding of the same JPEG bytes, measured side by side in one process.

The goal (issue 3) is a ratio >= 0.9: the RecordIO reader, label check, RGB conversion and the
(x/255 - 0.5)/0.5 normalisation add at most 10 % to JPEG decoding. ``read_decode_only_ratio``
times ``RecordDataset.read`` (record lookup + decode, no normalisation) the same way, to tell the
reader's share from the float conversion's. Repetitions alternate between
the two paths in blocks of 16 images so drifts in machine load hit both; medians are reported.
"""

from __future__ import annotations

import io
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from interface.atomic import write_json


def _faces(n: int, size: int = 112) -> list[np.ndarray]:
    """Smooth face-like test images (gradients + blobs), so JPEG sizes resemble real aligned faces."""
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


BLOCK = 16  # images per timed block; blocks of the two paths alternate


def _bare(jpegs: list[bytes], lo: int, hi: int) -> float:
    start = time.perf_counter()
    for data in jpegs[lo:hi]:
        with Image.open(io.BytesIO(data)) as im:
            np.asarray(im.convert("RGB") if im.mode != "RGB" else im)
    return time.perf_counter() - start


def _reader(ds, lo: int, hi: int) -> float:
    start = time.perf_counter()
    for i in range(lo, hi):
        ds[i]
    return time.perf_counter() - start


def _decoded(records, lo: int, hi: int) -> float:
    start = time.perf_counter()
    for i in range(lo, hi):
        records.read(i)
    return time.perf_counter() - start


def _interleaved(ds, records, jpegs: list[bytes]) -> tuple[float, float, float]:
    """One pass over all images, alternating blocks of the three paths; returns images/s of
    (FaceDataset item, RecordDataset.read, bare Pillow decode)."""
    t_item = t_read = t_bare = 0.0
    for lo in range(0, len(jpegs), BLOCK):
        hi = min(lo + BLOCK, len(jpegs))
        t_item += _reader(ds, lo, hi)
        t_read += _decoded(records, lo, hi)
        t_bare += _bare(jpegs, lo, hi)
    n = len(jpegs)
    return n / t_item, n / t_read, n / t_bare


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
            ds = FaceDataset(records, train=True, input_size=112)
            _interleaved(ds, records, jpegs)  # warm-up: page cache, Pillow plugin import
            reader_rates, read_rates, bare_rates = [], [], []
            for _ in range(reps):
                a, b, c = _interleaved(ds, records, jpegs)
                reader_rates.append(a)
                read_rates.append(b)
                bare_rates.append(c)
            mean_jpeg = float(np.mean([len(j) for j in jpegs]))
    finally:
        torch.set_num_threads(threads)
    ratios = [a / b for a, b in zip(reader_rates, bare_rates)]
    read_ratios = [a / b for a, b in zip(read_rates, bare_rates)]
    summary = {
        "recordio_images_per_s_per_worker": statistics.median(reader_rates),
        "pillow_decode_images_per_s": statistics.median(bare_rates),
        "ratio": statistics.median(ratios),
        "read_decode_only_ratio": statistics.median(read_ratios),
        "goal_ratio": 0.9,
        "meets_goal": statistics.median(ratios) >= 0.9,
    }
    result = {
        "benchmark": "data",
        "what": "FaceDataset(train=True, 112px) items/s from RecordIO vs bare Pillow JPEG decode "
        "(Image.open + np.asarray) of the same bytes, 1 thread, interleaved blocks of 16",
        "images": n,
        "load_average_1min": os.getloadavg()[0],  # other processes share the CPU: context for the rates
        "repetitions": reps,
        "mean_jpeg_bytes": mean_jpeg,
        "recordio_rates": reader_rates,
        "read_decode_rates": read_rates,
        "pillow_rates": bare_rates,
        "ratios": ratios,
        "read_decode_only_ratios": read_ratios,
        "summary": summary,
    }
    write_json(out_path, result)
    return result
