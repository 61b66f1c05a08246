"""The resume file RUN_DIR/resume.pt: everything needed to continue a run bit-for-bit on CPU.

It holds the backbone, the loss module (class weights and buffers such as CurricularFace's t),
optimiser (momentum), gradient scaler, the schedule/sampler position (epoch, step in epoch,
global step), the RNG states (torch, CUDA, numpy, random), counters and the metrics so far.
Written to a temporary name then renamed (interface.atomic), so an interruption while saving
leaves the previous checkpoint intact.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from interface.atomic import atomic_path
from interface.errors import InputError

RESUME_NAME = "resume.pt"


def rng_state() -> dict[str, Any]:
    """Snapshot of every random generator the run uses."""
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore a snapshot from :func:`rng_state` (CUDA states only when CUDA is present)."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` (module/optimiser state dicts, counters, RNG states) atomically to ``path``."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a resume file written by :func:`save_checkpoint`; corrupt file -> InputError naming it."""
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001  (any unpickling failure means the same thing here)
        raise InputError(
            f"{path}: unreadable resume file ({type(exc).__name__}); delete it to start over"
        ) from None
