"""RUN.yaml: the frozen :class:`RunConfig` of one training run, with strict key and type checks.

Defaults are the InterFace release's CASIA-WebFace recipe (paper-and-code digest §3.4, §4):
IResNet-50, 512-d, 112 x 112, global batch 512, SGD lr 0.1 x batch/512, momentum 0.9,
weight decay 5e-4, 34 epochs with x0.1 steps at epochs 20/28/32, no warm-up, gradient-norm clip 5
on the backbone. ``batch_size`` is the GLOBAL batch: with W processes each takes batch_size/W, so
the same RUN.yaml gives the same optimisation on 1 or 8 devices.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any, Literal

from interface.errors import InputError
from interface.limits import RUN_ITEM_RANGES, RUN_RANGES, check, check_device, check_items
from interface.textfiles import load_yaml

Precision = Literal["auto", "fp32", "bf16", "fp16"]
Schedule = Literal["step", "poly"]


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Every setting of one run. Types and ranges (:data:`interface.limits.RUN_RANGES`) are checked
    in :meth:`__post_init__`."""

    data: str  # dataset folder (train.rec, train.idx, property)
    loss: str = "arcface"  # a name from interface.losses.list_losses()
    loss_params: dict[str, Any] = dataclasses.field(default_factory=dict)  # passed to build_loss
    # {mode: replicated | model_parallel, sample_rate: (0, 1]}; see interface.training.classifier
    classifier: dict[str, Any] = dataclasses.field(
        default_factory=lambda: {"mode": "replicated", "sample_rate": 1.0}
    )
    backbone: str = "iresnet50"  # a name from interface.backbones.list_backbones()
    embedding_size: int = 512  # D
    input_size: int = 112  # side S in pixels; images are resized to S x S when different
    batch_size: int = 512  # GLOBAL batch (all processes together)
    epochs: int = 34  # passes over the data
    lr: float = 0.1  # learning rate for a global batch of 512; applied as lr * batch_size / 512
    seed: int = 0  # seeds weights, sampling order, flips
    max_steps: int | None = None  # optional cap on optimiser steps
    momentum: float = 0.9
    weight_decay: float = 5e-4  # on every trained parameter, as arcface_torch
    lr_schedule: Schedule = "step"  # "step": x0.1 at each milestone; "poly": (1 - t/T)^poly_power
    milestones: list[float] = dataclasses.field(default_factory=lambda: [20.0, 28.0, 32.0])  # epochs
    warmup_epochs: float = 0.0  # linear warm-up from 0 (both schedules)
    poly_power: float = 2.0
    grad_clip: float | None = 5.0  # max L2 norm of the backbone gradient; None disables
    precision: Precision = "auto"  # auto: bf16 autocast on CUDA with bf16 support, else fp32
    num_workers: int = 2  # DataLoader workers for streamed (large) datasets
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    threads: int | None = None  # CPU threads per process (None: torch's default)
    log_every: int = 50  # steps between metrics lines (loss statistics are computed only then)
    checkpoint_every: int = 1000  # steps between resume checkpoints (0: only at epoch ends)
    compile: bool = False  # torch.compile the backbone
    channels_last: bool | None = None  # None: on for CUDA, off for CPU
    sync_bn: bool = False  # SyncBatchNorm across processes (off in arcface_torch)
    max_nonfinite: int = 20  # stop after this many consecutive non-finite losses
    cache_mb: int = 2048  # decode the whole set into memory when it needs at most this many MiB
    cache_dir: str | None = None  # keep the decoded set here for later runs on the same data
    plugins: list[str] = dataclasses.field(default_factory=list)  # modules or .py files to import first
    tags: dict[str, Any] = dataclasses.field(default_factory=dict)  # copied into run.json

    def __post_init__(self) -> None:
        _check_types(self)
        for name in RUN_RANGES:
            check(name, getattr(self, name), RUN_RANGES)
        for name in RUN_ITEM_RANGES:
            check_items(name, getattr(self, name), RUN_ITEM_RANGES)
        ordered = all(a < b for a, b in zip(self.milestones, self.milestones[1:], strict=False))
        _require("milestones", self.milestones, ordered, "increasing epochs > 0")
        check_device(self.device, available=False)  # availability: checked where the run starts
        from interface.training.classifier import classifier_options  # the one definition of the key

        object.__setattr__(self, "classifier", classifier_options(self.classifier))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able mapping of every setting (the resolved config in run.json)."""
        return dataclasses.asdict(self)


def _require(key: str, value: Any, ok: bool, expected: str) -> None:
    if not ok:
        raise InputError(f"config key {key!r}: value {value!r}; expected {expected}")


def _matches(value: Any, hint: Any) -> bool:
    """Whether ``value`` (parsed YAML) fits the type annotation ``hint``."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(hint))
    if origin is Literal:
        return value in typing.get_args(hint)
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_matches(v, item) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(isinstance(k, str) for k in value)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, hint)


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
    if hint is type(None):
        return "null"
    return getattr(hint, "__name__", None) or str(hint)


def _check_types(config: RunConfig) -> None:
    hints = typing.get_type_hints(RunConfig)
    for field in dataclasses.fields(RunConfig):
        value = getattr(config, field.name)
        if not _matches(value, hints[field.name]):
            raise InputError(
                f"config key {field.name!r}: value {value!r} has the wrong type; expected {_describe(hints[field.name])}"
            )
        is_float = hints[field.name] is float or typing.get_args(hints[field.name]) == (float, type(None))
        if is_float and isinstance(value, int):
            object.__setattr__(config, field.name, float(value))
        if field.name == "milestones":
            object.__setattr__(config, field.name, [float(v) for v in value])


def config_from_mapping(mapping: Any, where: str = "config") -> RunConfig:
    """Build a :class:`RunConfig` from a parsed mapping; unknown keys name the closest known key."""
    if not isinstance(mapping, dict):
        raise InputError(f"{where}: expected a mapping of keys to values, got {type(mapping).__name__}")
    known = [f.name for f in dataclasses.fields(RunConfig)]
    for key in mapping:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputError(f"{where}: unknown key {key!r}{hint}; known keys: {', '.join(known)}")
    if "data" not in mapping:
        raise InputError(f"{where}: missing required key 'data' (the dataset folder)")
    try:
        return RunConfig(**mapping)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read RUN.yaml at ``path`` (plus ``overrides``).

    Relative ``data`` and ``.py`` plugin paths are taken from the YAML's folder and stored absolute,
    so run.json (and :func:`interface.training.load_run`) work from any working directory.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: config file not found")
    mapping = load_yaml(path)
    mapping = dict(mapping or {}) if isinstance(mapping, dict) or mapping is None else mapping
    if isinstance(mapping, dict):
        mapping.update(overrides or {})
        if isinstance(mapping.get("data"), str):
            mapping["data"] = _beside(path, mapping["data"])
        if isinstance(mapping.get("plugins"), list):
            mapping["plugins"] = [
                _beside(path, p) if isinstance(p, str) and p.endswith(".py") else p
                for p in mapping["plugins"]
            ]
    return config_from_mapping(mapping, where=str(path))


def _beside(config_path: Path, value: str) -> str:
    """``value`` as an absolute path, taking a relative one from the config file's folder."""
    return value if Path(value).is_absolute() else str((config_path.parent / value).resolve())
