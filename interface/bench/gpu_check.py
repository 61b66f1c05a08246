"""One prepared GPU check of the trainer: ``python -m interface.bench.gpu_check --out DIR``.

IResNet-50 at 112 x 112, global batch 512, a CASIA-WebFace-sized head (10,572 classes), bf16
autocast and channels_last, through the real trainer (``interface.training.train``) for the
ArcFace and InterFace losses, eager and torch.compile'd. Reports steady-state images/s (median of
the logged intervals after the first, so cuDNN autotuning and compilation are excluded), peak GPU
memory (it includes the decoded training set the trainer keeps on the GPU, about 3 GiB here),
and the model FLOP/s as a fraction of a measured bf16 8192^3 matrix product. Goal on one
H200: >= 6,000 images/s (arcface_torch publishes about 690 images/s per V100 for IResNet-50,
anchors §2.2). Under 5 minutes: configurations that would overrun ``--budget-s`` are skipped and
marked so. Writes DIR/gpu_check.json.

``--dry-run-cpu`` runs the same code path on CPU with a tiny configuration (tiny backbone, 32 px,
batch 16, 50 classes, no compile) so a test keeps this script from rotting on machines without GPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from interface.atomic import write_json
from interface.errors import cli_main

FULL = dict(
    backbone="iresnet50",
    input_size=112,
    batch_size=512,
    num_classes=10572,
    images=21144,
    steps=40,
    log_every=10,
)
DRY = dict(backbone="tiny", input_size=32, batch_size=16, num_classes=50, images=100, steps=4, log_every=2)
GOAL_IMAGES_PER_S = 6000


def _write_data(root: Path, spec: dict[str, Any]) -> Path:
    """A RecordIO set of ``images`` smooth random faces (64 distinct JPEGs reused), labels 0..C-1 cycled."""
    from interface.data import write_record_dataset
    from interface.data.images import encode_jpeg

    rng = np.random.default_rng(0)
    size = 112
    coarse = rng.integers(0, 256, (64, 8, 8, 3)).astype(np.float32)
    bases = [
        encode_jpeg(np.kron(c, np.ones((size // 8, size // 8, 1), dtype=np.float32)).astype(np.uint8))
        for c in coarse
    ]
    n, classes = spec["images"], spec["num_classes"]
    labels = sorted(i % classes for i in range(n))
    write_record_dataset(root, (bases[i % 64] for i in range(n)), labels)
    return root


def _one(
    data: Path, work: Path, spec: dict[str, Any], loss: str, compiled: bool, device: str
) -> dict[str, Any]:
    from interface.training import config_from_mapping, train

    config = config_from_mapping(
        dict(
            data=str(data), loss=loss, backbone=spec["backbone"], input_size=spec["input_size"], embedding_size=512,
            batch_size=spec["batch_size"], epochs=1000, max_steps=spec["steps"], log_every=spec["log_every"],
            precision="bf16", channels_last=True, compile=compiled, device=device, checkpoint_every=0,
            cache_mb=8192, lr=0.1,
        )
    )  # fmt: skip
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    run_dir = work / f"{loss}-{'compiled' if compiled else 'eager'}"
    info = train(config, run_dir)
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    steady = [r["images_per_s"] for r in records[1:]] or [records[-1]["images_per_s"]]
    return {
        "loss": loss,
        "compiled": compiled,
        "images_per_s": statistics.median(steady),
        "interval_images_per_s": [r["images_per_s"] for r in records],
        "final_loss": info["final_loss"],
        "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None,
        "seconds": time.perf_counter() - start,
    }


def _flops_per_image(spec: dict[str, Any], device: str) -> float:
    """Training FLOPs per image (forward + backward of backbone and head), see ``training_flops``."""
    from interface.backbones import build_backbone
    from interface.bench.trainer import training_flops
    from interface.losses import build_loss

    model = build_backbone(spec["backbone"], input_size=spec["input_size"]).to(device)
    head = build_loss("arcface", num_classes=spec["num_classes"], embedding_size=512)
    x = torch.randn(8, 3, spec["input_size"], spec["input_size"], device=device)
    return training_flops(model.train(), head, x) / 8


@cli_main
def main(argv: list[str]) -> int:
    from interface.bench.trainer import matmul_flops

    parser = argparse.ArgumentParser(prog="python -m interface.bench.gpu_check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--out", type=Path, required=True, help="folder for gpu_check.json and the runs")
    parser.add_argument("--dry-run-cpu", action="store_true", help="tiny configuration on CPU, no compile")
    parser.add_argument(
        "--budget-s", type=float, default=270.0, help="skip configurations once this is spent"
    )
    args = parser.parse_args(argv)
    wall0 = time.perf_counter()
    dry = args.dry_run_cpu
    spec, device = (DRY, "cpu") if dry else (FULL, "cuda")
    if device == "cuda" and not torch.cuda.is_available():
        print("error: no CUDA device; use --dry-run-cpu on machines without a GPU")
        return 2
    dtype = torch.float32 if dry else torch.bfloat16
    peak = matmul_flops(size=256 if dry else 8192, seconds=0.2 if dry else 2.0, dtype=dtype, device=device)
    flops = _flops_per_image(spec, device)
    plans = [("arcface", False), ("interface", False)] + (
        [] if dry else [("interface", True), ("arcface", True)]
    )
    results, skipped = [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = _write_data(work / "data", spec)
        for loss, compiled in plans:
            spent = time.perf_counter() - wall0
            expected = 120.0 if compiled else 30.0  # compile of IResNet-50 fwd+bwd dominates
            if spent + expected > args.budget_s:
                skipped.append(
                    {"loss": loss, "compiled": compiled, "reason": f"time budget ({spent:.0f} s spent)"}
                )
                continue
            row = _one(data, work, spec, loss, compiled, device)
            row["model_flops_per_s"] = row["images_per_s"] * flops
            row["fraction_of_matmul"] = row["model_flops_per_s"] / peak
            results.append(row)
            print(
                f"{loss:9s} {'compiled' if compiled else 'eager':8s} {row['images_per_s']:8.0f} img/s  "
                f"peak {row['peak_memory_gib'] or 0:.1f} GiB  {100 * row['fraction_of_matmul']:.1f}% of matmul  "
                f"({row['seconds']:.0f} s)",
                flush=True,
            )
    best = max((r["images_per_s"] for r in results), default=0.0)
    report = {
        "benchmark": "gpu_check",
        "dry_run_cpu": dry,
        "spec": dict(spec, precision="bf16", channels_last=True),
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "torch": torch.__version__,
        "matmul_flops_per_s": peak,
        "train_flops_per_image": flops,
        "results": results,
        "skipped": skipped,
        "summary": {
            "best_images_per_s": best,
            "goal_images_per_s": GOAL_IMAGES_PER_S,
            "meets_goal": best >= GOAL_IMAGES_PER_S,
        },
        "wall_s": time.perf_counter() - wall0,
    }
    write_json(args.out / "gpu_check.json", report)
    print(json.dumps(report["summary"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
