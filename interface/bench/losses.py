"""Loss benchmark: forward + backward time and peak extra memory of every loss, CPU.

Run with ``python -m interface bench losses`` (writes ``results/bench/losses.json``).

* Time: one training step of the loss head alone (logits, cross-entropy, gradients with respect to
  the embeddings and the class weights) at B = 256, C = 10,572 (CASIA-WebFace), D = 512. Every
  case runs once per round, the order rotating between rounds, and each case keeps its minimum
  over the rounds (single timings on a shared CPU swing by ~20%). Reported as ratios to ArcFace
  measured in the same run, and InterFace's variants as ratios to the official computation
  (``interface.losses.official``).
  Time is the CPU time of the calling thread with torch on one thread (wall time on a shared
  machine includes waiting for a core).
* Memory: peak bytes held by torch's CPU allocator during one forward + backward, from the torch
  profiler's memory events (``profile_memory=True``; tracemalloc does not see torch's allocator
  and RSS swings by tens of MB with glibc's heap policy). "Extra" memory is a case's peak minus
  ArcFace's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from interface.atomic import write_json

log = logging.getLogger(__name__)

FULL = {"batch": 256, "classes": 10572, "dim": 512, "rounds": 25}
QUICK = {"batch": 64, "classes": 2000, "dim": 128, "rounds": 3}
VARIANTS = ("cc", "dc", "dd")
GOALS = {"cc_vs_arcface": 1.10, "dc_vs_arcface": 1.35, "dd_vs_arcface": 1.35, "extra_memory_vs_official": 0.6}


def cases() -> list[str]:
    """Case labels: every registered loss (defaults), InterFace per variant, official per variant."""
    from interface.losses import list_losses

    labels = [name for name in list_losses() if name != "interface"]
    labels += [f"interface-{v}" for v in VARIANTS] + [f"official-{v}" for v in VARIANTS]
    return labels


def make_step(label: str, batch: int, classes: int, dim: int, seed: int = 0) -> Callable[[], None]:
    """A closure running one forward + backward of case ``label`` on fixed random inputs."""
    from interface.losses import build_loss
    from interface.losses.official import official_loss

    generator = torch.Generator().manual_seed(seed)
    emb = torch.randn(batch, dim, generator=generator).requires_grad_(True)
    labels = torch.randint(0, classes, (batch,), generator=generator)
    kind, _, variant = label.partition("-")
    if kind == "official":
        weight = (0.01 * torch.randn(classes, dim, generator=generator)).requires_grad_(True)

        def step() -> None:
            loss = official_loss(emb, weight, labels, variant=variant)
            torch.autograd.grad(loss, (emb, weight))

        return step
    params = {"variant": variant} if variant else {}
    module = build_loss(kind, num_classes=classes, embedding_size=dim, **params).train()

    def step() -> None:
        loss = module(emb, labels)
        torch.autograd.grad(loss, (emb, module.weight))

    return step


def time_cases(labels: list[str], sizes: dict[str, int]) -> dict[str, float]:
    """Minimum CPU seconds (of the calling thread; torch runs single-threaded here) per forward +
    backward for each case, rounds interleaved and rotated. CPU time, not wall time: the shared
    machine preempts us, and waiting for a core is not a cost of the loss."""
    steps = {label: make_step(label, sizes["batch"], sizes["classes"], sizes["dim"]) for label in labels}
    for step in steps.values():  # warm-up: allocator, kernels
        step()
    best = dict.fromkeys(labels, float("inf"))
    for round_ in range(sizes["rounds"]):
        shift = round_ % len(labels)
        for label in labels[shift:] + labels[:shift]:
            start = time.thread_time()
            steps[label]()
            best[label] = min(best[label], time.thread_time() - start)
        log.info("round %d/%d done", round_ + 1, sizes["rounds"])
    return best


def _allocation_events(nodes: list[Any]) -> Iterator[tuple[int, int]]:
    """(time ns, bytes; negative for a free) of every allocator event in a profiler event tree."""
    from torch._C._profiler import _EventType

    for node in nodes:
        if node.typed[0] == _EventType.Allocation:
            yield node.start_time_ns, node.typed[1].alloc_size
        yield from _allocation_events(node.children)


def profiled_peak_bytes(step: Callable[[], object]) -> int:
    """Peak bytes held by torch's CPU allocator during one call of ``step``, over what was held
    before it (inputs, weights): the running sum of every allocation and free the profiler records
    (``profile_memory=True``), in time order. Exact and repeatable, unlike RSS."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    held = peak = 0
    for _, size in sorted(_allocation_events(prof.profiler.kineto_results.experimental_event_tree())):
        held += size
        peak = max(peak, held)
    return peak


def peak_memory(label: str, sizes: dict[str, int]) -> int:
    """Peak bytes of one forward + backward of ``label`` (:func:`profiled_peak_bytes`)."""
    return profiled_peak_bytes(make_step(label, sizes["batch"], sizes["classes"], sizes["dim"]))


def summarise(seconds: dict[str, float], memory: dict[str, int]) -> dict[str, Any]:
    """Ratios to ArcFace and to the official computation, and whether each goal is met."""
    arc_t, arc_m = seconds["arcface"], memory["arcface"]
    summary: dict[str, Any] = {
        "time_vs_arcface": {label: round(t / arc_t, 3) for label, t in seconds.items()},
        "memory_vs_arcface": {label: round(b / arc_m, 3) if arc_m else None for label, b in memory.items()},
    }
    for v in VARIANTS:
        extra = memory[f"interface-{v}"] - arc_m
        extra_official = memory[f"official-{v}"] - arc_m
        summary[f"interface_{v}_time_vs_official"] = round(
            seconds[f"interface-{v}"] / seconds[f"official-{v}"], 3
        )
        summary[f"{v}_vs_arcface"] = summary["time_vs_arcface"][f"interface-{v}"]
        summary[f"interface_{v}_extra_memory_vs_official"] = (
            round(extra / extra_official, 3) if extra_official > 0 else None
        )
    worst_memory = max((summary[f"interface_{v}_extra_memory_vs_official"] or 0.0) for v in VARIANTS)
    summary["goals"] = {
        **{f"{v}_vs_arcface": summary[f"{v}_vs_arcface"] <= GOALS[f"{v}_vs_arcface"] for v in VARIANTS},
        "extra_memory_vs_official": worst_memory <= GOALS["extra_memory_vs_official"],
    }
    summary["goal_limits"] = GOALS
    return summary


def run(out_path: Path, quick: bool = False) -> dict[str, Any]:
    """Benchmark every loss, write the JSON (atomic) to ``out_path`` and return it."""
    sizes = dict(QUICK if quick else FULL)
    labels = cases()
    threads = 1
    torch.set_num_threads(threads)
    seconds = time_cases(labels, sizes)
    memory = {label: peak_memory(label, sizes) for label in labels}
    result = {
        "benchmark": "losses",
        "sizes": sizes,
        "threads": threads,
        "torch": torch.__version__,
        "timing": "min over interleaved rounds of the thread CPU time of one forward + backward (s)",
        "memory_method": "peak bytes held by torch's CPU allocator in one forward + backward (torch profiler memory events)",
        "seconds": seconds,
        "peak_bytes": memory,
        "summary": summarise(seconds, memory),
    }
    write_json(out_path, result)
    return result
