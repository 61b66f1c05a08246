"""The resume file RUN_DIR/resume.pt: everything needed to continue a run bit-for-bit on CPU.

It holds the backbone, the loss module (class weights and buffers such as CurricularFace's t),
optimiser (momentum), gradient scaler, the schedule/sampler position (epoch, step in epoch,
global step), the RNG states (torch, CUDA, numpy, random), counters, the metrics so far and the
logging window in progress (:class:`RunState`), so a resumed run writes the metrics.jsonl of an
uninterrupted one. Written to a temporary name then renamed (interface.atomic), so an
interruption while saving leaves the previous checkpoint intact.

Format :data:`RESUME_FORMAT`: a dict of tensors and plain values only (str, int, float, bool,
None, lists, tuples, dicts), read with ``torch.load(weights_only=True)``, so a crafted file cannot
run code when loaded. Resume files of the earlier format (numpy arrays in the RNG state, no
``format`` key) are refused with one line saying to delete them; there is no migration, since
reading them needs the unrestricted unpickler.
"""

from __future__ import annotations

import dataclasses
import math
import pickle
import random
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from interface.atomic import save_torch
from interface.errors import InputError

RESUME_NAME = "resume.pt"
#: value of the ``format`` key; bump it when the layout changes.
RESUME_FORMAT = "interface-resume/2"
#: top-level keys of a resume file besides the :class:`RunState` fields.
STATE_KEYS = ("format", "config", "backbone", "loss", "optimizer", "scaler")


# ------------------------------------------------------------------------------ RNG states
def rng_state() -> dict[str, Any]:
    """Snapshot of every random generator the run uses, as tensors and plain values."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "name": str(name),
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": {
            "version": int(version),
            "internal": torch.tensor(internal, dtype=torch.int64),
            "gauss_next": gauss_next,
        },
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore a snapshot from :func:`rng_state` (CUDA states only when CUDA is present)."""
    torch.set_rng_state(state["torch"])
    numpy = state["numpy"]
    np.random.set_state(
        (
            numpy["name"],
            numpy["keys"].numpy().astype(np.uint32),
            numpy["pos"],
            numpy["has_gauss"],
            numpy["cached_gaussian"],
        )
    )
    python = state["python"]
    random.setstate((python["version"], tuple(python["internal"].tolist()), python["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# --------------------------------------------------------------------------------- progress
@dataclasses.dataclass
class Window:
    """The logging window in progress: the steps since the last metrics.jsonl line.

    ``loss_sum`` (float32 scalar tensor on the training device) adds the finite losses, ``loss_n``
    counts them, ``steps`` counts every step (finite or not, for images/s). Its wall-clock time is
    ``elapsed_s`` (seconds spent in it before this process resumed it) plus the time since
    ``started`` (a ``time.perf_counter()`` reading, restarted when the training loop starts).
    """

    loss_sum: torch.Tensor
    loss_n: int = 0
    steps: int = 0
    elapsed_s: float = 0.0
    started: float = dataclasses.field(default_factory=time.perf_counter)

    @classmethod
    def empty(cls, device: torch.device) -> Window:
        return cls(torch.zeros((), device=device))

    def elapsed(self) -> float:
        """Wall-clock seconds of the window so far, over every resumption."""
        return self.elapsed_s + time.perf_counter() - self.started


@dataclasses.dataclass
class RunState:
    """Where a run stands: saved in resume.pt (:meth:`to_state`), restored on resumption
    (:meth:`from_state`), and summarised in run.json (:meth:`summary`).

    step: optimiser steps done (global); epoch, step_in_epoch: the sampler position;
    nonfinite_total / nonfinite_run: skipped steps in all / in a row; metrics: the metrics.jsonl
    records so far; train_time, train_cpu_time: seconds of training (wall clock, this process'
    CPU) summed over every resumption; window: the logging window in progress; rng: the random
    generators' snapshot read from a resume file (:func:`rng_state`; None for a fresh run), put
    back by :meth:`restore_rng` once the models are built. :meth:`to_state` snapshots the
    generators as they are when it is called.
    """

    window: Window
    step: int = 0
    epoch: int = 0
    step_in_epoch: int = 0
    nonfinite_total: int = 0
    nonfinite_run: int = 0
    metrics: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    train_time: float = 0.0
    train_cpu_time: float = 0.0
    rng: dict[str, Any] | None = None

    def to_state(self) -> dict[str, Any]:
        """The fields as tensors and plain values (the window's clock as elapsed seconds)."""
        out = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("window", "rng")
        }
        out["metrics"] = [dict(m) for m in self.metrics]
        out["rng"] = rng_state()
        w = self.window
        out["window"] = {
            "loss_sum": w.loss_sum.detach().cpu(),
            "loss_n": w.loss_n,
            "steps": w.steps,
            "elapsed_s": w.elapsed(),
        }
        return out

    @classmethod
    def from_state(cls, saved: dict[str, Any], path: Path, device: torch.device) -> RunState:
        """Inverse of :meth:`to_state`; a missing or mistyped field is an InputError naming it."""
        ints = ("step", "epoch", "step_in_epoch", "nonfinite_total", "nonfinite_run")
        for key in ints:
            if _expect(saved, key, int, path) < 0:
                raise InputError(f"{path}: key {key!r} is {saved[key]}; expected a count >= 0")
        for key in ("train_time", "train_cpu_time"):
            _expect(saved, key, (int, float), path)
        metrics = _expect(saved, "metrics", list, path)
        plain = (int, float, type(None))
        if not all(
            isinstance(m, dict) and all(isinstance(k, str) and isinstance(v, plain) for k, v in m.items())
            for m in metrics
        ):
            raise InputError(
                f"{path}: key 'metrics' holds an entry that is not a record of numbers; "
                "expected a list of {name: number or null}"
            )
        window = _expect(saved, "window", dict, path)
        loss_sum = _expect(window, "loss_sum", torch.Tensor, path, "window.")
        if loss_sum.dim() != 0 or not loss_sum.is_floating_point():
            raise InputError(f"{path}: key 'window.loss_sum' is not a floating-point scalar tensor")
        for key in ("loss_n", "steps"):
            _expect(window, key, int, path, "window.")
        elapsed = float(_expect(window, "elapsed_s", (int, float), path, "window."))
        if not math.isfinite(elapsed) or elapsed < 0:
            raise InputError(f"{path}: key 'window.elapsed_s' is {elapsed}; expected seconds >= 0")
        return cls(
            window=Window(loss_sum.to(device), window["loss_n"], window["steps"], elapsed),
            metrics=[dict(m) for m in metrics],
            **{k: saved[k] for k in ints},
            train_time=float(saved["train_time"]),
            train_cpu_time=float(saved["train_cpu_time"]),
            rng=_expect(saved, "rng", dict, path),
        )

    def restore_rng(self) -> None:
        """Put the generators back as the resume file saved them (nothing for a fresh run)."""
        if self.rng is not None:
            set_rng_state(self.rng)

    def summary(self, batch_size: int, steps_per_epoch: int) -> dict[str, Any]:
        """The run.json keys that describe where the run stands (seconds; images/s over the
        training loop): steps, epochs_done, nonfinite_steps, train_time_s, train_cpu_time_s,
        images_per_s, final_loss (the last finite logged loss, None if none)."""
        return {
            "steps": self.step,
            "epochs_done": self.step / steps_per_epoch,
            "nonfinite_steps": self.nonfinite_total,
            "train_time_s": self.train_time,
            "train_cpu_time_s": self.train_cpu_time,
            "images_per_s": self.step * batch_size / max(self.train_time, 1e-9),
            "final_loss": next((m["loss"] for m in reversed(self.metrics) if m["loss"] is not None), None),
        }


def _expect(mapping: dict[str, Any], key: str, kind: Any, path: Path, prefix: str = "") -> Any:
    """``mapping[key]`` if it is a ``kind`` (a bool is no number here), else InputError naming it."""
    value = mapping.get(key)
    ok = isinstance(value, kind) and not (kind in (int, (int, float)) and isinstance(value, bool))
    if not ok:
        names = "/".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        got = "missing" if key not in mapping else type(value).__name__
        raise InputError(f"{path}: key {prefix + key!r} is {got}; expected {names}")
    return value


# ------------------------------------------------------------------------------- save, load
def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` (module/optimiser state dicts, :meth:`RunState.to_state` fields) with the
    ``format`` key, atomically, to ``path``."""
    save_torch(path, {"format": RESUME_FORMAT, **payload})


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a resume file written by :func:`save_checkpoint` without running code from it.

    A file that is truncated or not a torch archive, one that holds Python objects beyond tensors
    and plain values (a crafted file, or the earlier format), or one that is not a resume file (a
    model state_dict, another version) raises InputError naming it.
    """
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        what = f" ({found.group(1)})" if found else ""
        raise InputError(
            f"{path}: refused: holds a Python object{what} beyond tensors and plain values, which loading "
            "could run code for (a crafted file, or a resume.pt written before format "
            f"{RESUME_FORMAT}); delete it to start the run over"
        ) from None
    except Exception as exc:  # noqa: BLE001  (truncated archive, not a zip, I/O: all mean unusable)
        raise InputError(
            f"{path}: unreadable resume file ({type(exc).__name__}: {' '.join(str(exc).split())[:120]}); "
            "delete it to start the run over"
        ) from None
    if not isinstance(saved, dict) or saved.get("format") != RESUME_FORMAT:
        if isinstance(saved, dict) and saved and all(isinstance(v, torch.Tensor) for v in saved.values()):
            kind = f"a dict of {len(saved)} tensors (a model state_dict such as model.pt?)"
        elif isinstance(saved, dict):
            kind = (
                f"a dict with format {saved.get('format')!r}"
                if "format" in saved
                else "a dict without 'format'"
            )
        else:
            kind = f"a {type(saved).__name__}"
        raise InputError(
            f"{path}: not a resume file: it holds {kind}; expected a checkpoint of format {RESUME_FORMAT} "
            "written by `python -m interface train`"
        )
    missing = [k for k in STATE_KEYS if k not in saved]
    if missing:
        raise InputError(f"{path}: resume file lacks {', '.join(missing)}; delete it to start the run over")
    if not isinstance(saved["config"], dict):
        raise InputError(f"{path}: key 'config' is {type(saved['config']).__name__}; expected dict")
    return saved
