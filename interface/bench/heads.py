"""Classifier-head benchmark: per-process step time and memory against the class count, replicated
beside model parallel and Partial FC 0.1, ``world`` gloo processes on CPU.

Run with ``python -m interface bench heads`` (writes ``results/bench/heads.json``; ``--quick`` for
small sizes). One step is the head alone: forward on this process's embeddings, backward, the
data-parallel all-reduce of the class-weight gradient where the mode needs one (replicated: DDP
averages the C x D gradient; sharded heads need none), and a momentum-SGD step.

* time: wall seconds of one step (the processes wait for each other inside the collectives), the
  minimum over ``rounds`` steps after one warm-up step, the slowest process's value;
* memory: ``state_bytes`` (class parameters, their gradients and momentum held by one process)
  and ``peak_step_bytes`` (peak bytes held by torch's CPU allocator during one step over what was
  held before it, from the profiler's memory events, as ``interface.bench.losses``), the largest
  over the processes.

Each process runs on one thread. On a shared machine with fewer cores than processes the times
include waiting for a core; the memory figures do not depend on that.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from interface.atomic import write_json

FULL = {"world": 4, "batch_per_rank": 128, "classes": [10_000, 100_000, 1_000_000], "dim": 512, "rounds": 5}
QUICK = {"world": 4, "batch_per_rank": 32, "classes": [2_000, 20_000], "dim": 128, "rounds": 3}
MODES = {"replicated": ("replicated", 1.0), "model_parallel": ("model_parallel", 1.0), "partial_fc_0.1": ("model_parallel", 0.1)}  # fmt: skip


def make_case(
    mode: str, classes: int, dim: int, batch: int, loss: str = "arcface"
) -> tuple[torch.nn.Module, Any, Any]:
    """(head, optimiser, step closure) of one benchmark case on this process."""
    import torch.distributed as dist

    from interface.losses import build_head
    from interface.losses.distributed import world_and_rank

    kind, rate = MODES[mode]
    world, rank = world_and_rank()
    head = build_head(loss, num_classes=classes, embedding_size=dim, mode=kind, sample_rate=rate).train()
    optimizer = torch.optim.SGD(head.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    if hasattr(head, "attach_optimizer"):
        head.attach_optimizer(optimizer)
    generator = torch.Generator().manual_seed(rank)
    emb = torch.randn(batch, dim, generator=generator).requires_grad_(True)
    labels = torch.randint(0, classes, (batch,), generator=generator)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        head(emb, labels).backward()
        if kind == "replicated" and world > 1:  # what DDP does with a replicated classifier
            for p in head.parameters():
                dist.all_reduce(p.grad)
                p.grad.div_(world)
        optimizer.step()

    return head, optimizer, step


def state_bytes(head: torch.nn.Module, optimizer: Any) -> int:
    """Bytes of the class parameters, their gradients and optimiser state on this process."""
    total = 0
    for p in head.parameters():
        total += 2 * p.numel() * p.element_size()  # parameter and gradient
        for value in optimizer.state.get(p, {}).values():
            if isinstance(value, torch.Tensor):
                total += value.numel() * value.element_size()
    return total


def measure(mode: str, classes: int, dim: int, batch: int, rounds: int) -> dict[str, float]:
    """One case on this process: min step seconds, state bytes, peak step bytes."""
    import torch.distributed as dist

    from interface.bench.losses import profiled_peak_bytes

    head, optimizer, step = make_case(mode, classes, dim, batch)
    step()  # warm-up: creates the momentum buffers
    seconds = []
    for _ in range(rounds):
        if dist.is_initialized():
            dist.barrier()
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    peak = profiled_peak_bytes(step)
    return {"step_s": min(seconds), "state_bytes": state_bytes(head, optimizer), "peak_step_bytes": peak}


def _worker(rank: int, world: int, port: int, sizes: dict[str, Any], out_dir: str) -> None:
    import json

    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    results = {}
    try:
        for classes in sizes["classes"]:
            for mode in sizes.get("modes", MODES):
                results[f"{mode}@{classes}"] = measure(
                    mode, classes, sizes["dim"], sizes["batch_per_rank"], sizes["rounds"]
                )
    finally:
        dist.destroy_process_group()
    Path(out_dir, f"rank{rank}.json").write_text(json.dumps(results))


def run(out_path: Path, quick: bool = False, sizes: dict[str, Any] | None = None) -> dict[str, Any]:
    """Benchmark the heads at ``sizes`` (default FULL or QUICK), write the JSON to ``out_path``.

    ``sizes`` may name ``modes`` (a subset of :data:`MODES`), e.g. to leave out the replicated head
    at a class count whose full copy per process does not fit the machine.
    """
    import json

    import torch.multiprocessing as mp

    sizes = dict(sizes or (QUICK if quick else FULL))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        mp.spawn(_worker, args=(sizes["world"], port, sizes, tmp), nprocs=sizes["world"], join=True)
        per_rank = [json.loads(Path(tmp, f"rank{r}.json").read_text()) for r in range(sizes["world"])]
    table: dict[str, dict[str, dict[str, float]]] = {}
    for key in per_rank[0]:
        mode, classes = key.split("@")
        table.setdefault(classes, {})[mode] = {
            "step_s": max(r[key]["step_s"] for r in per_rank),
            "state_mib": max(r[key]["state_bytes"] for r in per_rank) / 2**20,
            "peak_step_mib": max(r[key]["peak_step_bytes"] for r in per_rank) / 2**20,
        }
    summary = {
        f"model_parallel_time_vs_replicated@{c}": round(
            row["model_parallel"]["step_s"] / row["replicated"]["step_s"], 3
        )
        for c, row in table.items()
        if {"model_parallel", "replicated"} <= row.keys()
    }
    result = {
        "benchmark": "heads",
        "sizes": sizes,
        "threads_per_process": 1,
        "torch": torch.__version__,
        "timing": "min over rounds of the wall time of one head step, slowest process (s)",
        "memory_method": "state: class parameters + gradients + momentum; peak: torch CPU allocator peak in one step (profiler)",
        "table": table,
        "summary": summary,
    }
    write_json(out_path, result)
    return result
