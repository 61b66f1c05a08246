"""Trainer benchmark: the harness' images/s against a bare PyTorch loop, and achieved FLOP/s.

Both sides train the same backbone (``tiny`` at 32 x 32, the embedded default), batch, loss
(ArcFace from the registry) and number of steps, alternately in the same process:
- trainer: ``interface.training.train`` on a RecordIO copy of the tensors (decoded into memory by
  the trainer itself); images/s from run.json (training loop time, data decoding excluded);
- bare: a hand-written loop over the in-memory tensors (forward, loss, backward, clip, SGD step).
The ratio trainer / bare (goal >= 0.95: the harness costs at most 5%) divides images per second
of this process' CPU time (one thread on both sides; medians over alternating repetitions), which
other processes on a shared machine cannot inflate; the wall-clock ratio is reported beside it.
FLOP/s: FLOPs of one training step (:func:`training_flops`) divided by the bare loop's best
wall time per step, against the FLOP/s of a 1024 x 1024 float32 matrix product on the same thread
(both wall clock, so both suffer alike from a busy machine).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from interface.atomic import write_json

SETTINGS = dict(
    backbone="tiny", input_size=32, embedding_size=128, num_classes=500, batch_size=128, threads=1
)


def _dataset(root: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    from interface.data import write_record_dataset

    write_record_dataset(root, list(images), labels.tolist())
    return root


def _trainer_rate(data: Path, steps: int, work: Path, rep: int) -> tuple[float, float]:
    """(images/s over wall time, images/s over this process' CPU time) of the trainer's loop."""
    from interface.training import config_from_mapping, train

    config = config_from_mapping(
        dict(
            data=str(data), loss="arcface", backbone=SETTINGS["backbone"], input_size=SETTINGS["input_size"],
            embedding_size=SETTINGS["embedding_size"], batch_size=SETTINGS["batch_size"], epochs=1000,
            max_steps=steps, lr=0.1, device="cpu", threads=SETTINGS["threads"], checkpoint_every=0, seed=rep,
        )
    )  # fmt: skip
    info = train(config, work / f"run{rep}")
    images = info["steps"] * SETTINGS["batch_size"]
    return images / info["train_time_s"], images / info["train_cpu_time_s"]


def _bare_rate(
    images: torch.Tensor, labels: torch.Tensor, steps: int, seed: int
) -> tuple[float, float, float]:
    """(images/s over wall time, images/s over CPU time, wall seconds per step) of a plain loop."""
    from interface.backbones import build_backbone
    from interface.losses import build_loss

    torch.manual_seed(seed)
    model = build_backbone(
        SETTINGS["backbone"], embedding_size=SETTINGS["embedding_size"], input_size=SETTINGS["input_size"]
    )
    head = build_loss(
        "arcface", num_classes=SETTINGS["num_classes"], embedding_size=SETTINGS["embedding_size"]
    )
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(
        params + list(head.parameters()),
        lr=0.1 * SETTINGS["batch_size"] / 512,
        momentum=0.9,
        weight_decay=5e-4,
    )
    batch = SETTINGS["batch_size"]
    order = torch.randperm(len(images))
    start, cpu_start = time.perf_counter(), time.process_time()
    for step in range(steps):
        idx = order[(step * batch) % (len(images) - batch + 1) :][:batch]
        loss = head(model(images[idx]), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return steps * batch / elapsed, steps * batch / cpu, elapsed / steps


def training_flops(model: torch.nn.Module, head: torch.nn.Module, images: torch.Tensor) -> float:
    """FLOPs of one training step on ``images``: 3 x the forward multiply-adds x 2 of every conv and
    linear layer plus the (B, D) x (D, C) cosine product of the head (backward = 2 x forward).

    Counted with forward hooks (elementwise layers such as BN and PReLU are left out), which avoids
    torch.utils.flop_counter's import of the compiler stack (seconds per process).
    """
    total = 0

    def hook(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, torch.nn.Conv2d):
            kh, kw = module.kernel_size
            total += 2 * output.numel() * (module.in_channels // module.groups) * kh * kw
        elif isinstance(module, torch.nn.Linear):
            total += 2 * output.numel() * module.in_features

    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)
    ]
    try:
        with torch.no_grad():
            model(images)
    finally:
        for handle in handles:
            handle.remove()
    classes, dim = head.weight.shape
    total += 2 * images.shape[0] * classes * dim
    return 3.0 * total


def _step_flops(images: torch.Tensor) -> float:
    from interface.backbones import build_backbone
    from interface.losses import build_loss

    model = build_backbone(
        SETTINGS["backbone"], embedding_size=SETTINGS["embedding_size"], input_size=SETTINGS["input_size"]
    )
    head = build_loss(
        "arcface", num_classes=SETTINGS["num_classes"], embedding_size=SETTINGS["embedding_size"]
    )
    return training_flops(model.train(), head, images[: SETTINGS["batch_size"]])


def matmul_flops(
    size: int = 1024, seconds: float = 1.0, dtype: torch.dtype = torch.float32, device: str = "cpu"
) -> float:
    """FLOP/s of repeated ``size x size`` matrix products (2 size^3 FLOPs each).

    Products are issued in groups of 10 between device synchronisations, so the rate is the
    device's, not the host round trip's.
    """
    a = torch.randn(size, size, dtype=dtype, device=device)
    b = torch.randn(size, size, dtype=dtype, device=device)
    sync = torch.cuda.synchronize if str(device).startswith("cuda") else (lambda: None)
    for _ in range(3):
        a @ b
    sync()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(10):
            a @ b
        sync()
        count += 10
    return 2 * size**3 * count / (time.perf_counter() - start)


def run(out_path: Path, quick: bool = False) -> dict[str, Any]:
    """Measure and write the JSON to ``out_path``; returns it (``summary`` holds the ratios)."""
    torch.set_num_threads(SETTINGS["threads"])
    steps, reps = (20, 2) if quick else (60, 5)
    rng = np.random.default_rng(0)
    n = SETTINGS["batch_size"] * (steps + 1)  # one epoch covers the run: no epoch-end checkpoint inside
    side = SETTINGS["input_size"]
    labels_np = np.sort(rng.integers(0, SETTINGS["num_classes"], n))
    labels_np[: SETTINGS["num_classes"]] = np.arange(SETTINGS["num_classes"])  # every class present
    labels_np.sort()
    images_np = rng.integers(0, 256, (n, side, side, 3), dtype=np.uint8)
    images = torch.from_numpy(images_np).permute(0, 3, 1, 2).float().div(127.5).sub(1.0).contiguous()
    labels = torch.from_numpy(labels_np).long()
    trainer_rates, bare_rates, trainer_cpu_rates, bare_cpu_rates, step_times = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = _dataset(work / "data", images_np, labels_np)
        _bare_rate(images, labels, 3, seed=0)  # warm-up (allocator, thread pool)
        for rep in range(reps):
            wall_rate, cpu_rate = _trainer_rate(data, steps, work, rep)
            trainer_rates.append(wall_rate)
            trainer_cpu_rates.append(cpu_rate)
            wall_rate, cpu_rate, step_time = _bare_rate(images, labels, steps, seed=rep)
            bare_rates.append(wall_rate)
            bare_cpu_rates.append(cpu_rate)
            step_times.append(step_time)
    flops = _step_flops(images)
    achieved = flops / min(step_times)
    peak = matmul_flops(seconds=0.5 if quick else 2.0)
    ratio = statistics.median(trainer_cpu_rates) / statistics.median(bare_cpu_rates)
    result = {
        "benchmark": "trainer",
        "settings": dict(SETTINGS, steps=steps, repetitions=reps, loss="arcface"),
        "trainer_images_per_s": trainer_rates,
        "bare_images_per_s": bare_rates,
        "trainer_images_per_cpu_s": trainer_cpu_rates,
        "bare_images_per_cpu_s": bare_cpu_rates,
        "step_flops": flops,
        "achieved_flops_per_s": achieved,
        "matmul_flops_per_s": peak,
        "summary": {
            "trainer_over_bare": ratio,
            "goal_trainer_over_bare": 0.95,
            "achieved_over_matmul_flops": achieved / peak,
            "trainer_images_per_s": max(trainer_rates),
            "wall_clock_trainer_over_bare": statistics.median(trainer_rates) / statistics.median(bare_rates),
        },
        "device": {"type": "cpu", "threads": torch.get_num_threads()},
        "torch": torch.__version__,
    }
    write_json(out_path, result)
    return result
