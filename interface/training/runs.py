"""A run folder RUN_DIR: its final files, how they are written, and :func:`load_run`.

Final files (written by the main process only at the end, each atomically; run.json last, so its
presence marks a finished run):
- ``model.pt``: the backbone's state_dict (CPU tensors);
- ``head.pt``: ``{"loss", "loss_params", "num_classes", "embedding_size", "state_dict"}`` with the
  loss module's state_dict (class weights ``weight`` (C, D) and buffers such as CurricularFace's t);
- ``metrics.jsonl``: one JSON object per logging step: step, epoch (fractional), loss (mean since
  the previous line), lr, images_per_s, grad_scale, grad_norm (backbone, before clipping),
  nonfinite_steps, plus the loss's ``last_stats`` (theta_y_mean, theta_nn_mean in rad, InterFace's
  mhat_mean/min/max, ...);
- ``run.json``: the run record (:class:`interface.contracts.run_record.RunRecord`): resolved
  config, seed, code revision, library versions, device, times, images/s, num_classes,
  num_images, tags;
- ``train.log``: plain log lines (appended across resumptions).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from interface.atomic import atomic_open, save_torch, write_json
from interface.contracts.run_record import RUN_RECORD_NAME, AnyRunRecord, RunRecord, read_run_record
from interface.errors import InputError, describe_os_error
from interface.training.checkpoint import RESUME_NAME, RunState
from interface.training.provenance import git_revision, library_versions
from interface.untrusted import load_tensors

if TYPE_CHECKING:
    from interface.training.config import RunConfig

MODEL_NAME, HEAD_NAME, INFO_NAME, METRICS_NAME, LOG_NAME = (
    "model.pt",
    "head.pt",
    RUN_RECORD_NAME,
    "metrics.jsonl",
    "train.log",
)
log = logging.getLogger(__name__)
#: every file the trainer writes atomically into RUN_DIR (only under the run lock).
WRITTEN_NAMES = (MODEL_NAME, HEAD_NAME, METRICS_NAME, INFO_NAME, RESUME_NAME)

#: Fields that measure the machine's clocks (wall time, this process' CPU time, throughput, the
#: finishing date), not the training: the only ones in which a killed and resumed run's files may
#: differ from an uninterrupted run's (tests compare everything else line by line).
CLOCK_FIELDS: dict[str, tuple[str, ...]] = {
    METRICS_NAME: ("images_per_s",),
    INFO_NAME: (
        "wall_time_s",
        "setup_time_s",
        "train_time_s",
        "train_cpu_time_s",
        "images_per_s",
        "finished_utc",
    ),
}


#: config keys that may change between an interrupted run and its resumption, and between a
#: finished run and a rerun that finds it (how, not what).
RUNTIME_KEYS = frozenset(
    {
        "device",
        "threads",
        "num_workers",
        "log_every",
        "checkpoint_every",
        "compile",
        "cache_mb",
        "cache_dir",
        "tags",
    }
)


@dataclass(frozen=True)
class Setup:
    """What the trainer settled while setting a run up, as run.json records it.

    data_cached_in_memory / decoded_cache_file: how the images are served; lr_applied: the base
    learning rate after batch scaling; precision: fp32/bf16/fp16 as resolved; device: from
    :func:`interface.training.provenance.device_description`; setup_time_s: seconds before the
    first step.
    """

    num_classes: int
    num_images: int
    data_cached_in_memory: bool
    decoded_cache_file: str | None
    steps_per_epoch: int
    lr_applied: float
    precision: str
    channels_last: bool
    device: dict[str, Any]
    setup_time_s: float


def run_record(config: RunConfig, state: RunState, setup: Setup, wall_time_s: float) -> RunRecord:
    """The run record of a finished run: its config, how it was set up, and its final state."""
    done = state.summary(config.batch_size, setup.steps_per_epoch)
    return RunRecord(
        backbone=config.backbone,
        embedding_size=config.embedding_size,
        input_size=config.input_size,
        loss=config.loss,
        loss_params=config.loss_params,
        seed=config.seed,
        num_classes=setup.num_classes,
        num_images=setup.num_images,
        data_cached_in_memory=setup.data_cached_in_memory,
        decoded_cache_file=setup.decoded_cache_file,
        steps=done["steps"],
        steps_per_epoch=setup.steps_per_epoch,
        epochs_done=done["epochs_done"],
        global_batch=config.batch_size,
        lr_applied=setup.lr_applied,
        precision=setup.precision,
        channels_last=setup.channels_last,
        nonfinite_steps=done["nonfinite_steps"],
        wall_time_s=wall_time_s,
        setup_time_s=setup.setup_time_s,
        train_time_s=done["train_time_s"],
        train_cpu_time_s=done["train_cpu_time_s"],
        images_per_s=done["images_per_s"],
        final_loss=done["final_loss"],
        device=setup.device,
        git_revision=git_revision(),
        versions=library_versions(),
        finished_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        tags=config.tags,
        config=config.to_dict(),
    )


def cpu_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """``module``'s state_dict as detached CPU tensors."""
    return {k: v.detach().cpu() for k, v in module.state_dict().items()}


def write_outputs(
    out: Path,
    record: RunRecord,
    backbone: dict[str, torch.Tensor],
    head_state: dict[str, Any],
    metrics: list[dict[str, Any]],
) -> None:
    """Write model.pt (``backbone``: CPU state_dict), head.pt (the loss module's ``head_state`` in
    the single-process layout), metrics.jsonl, then run.json (``record``); remove the resume file."""
    save_torch(out / MODEL_NAME, backbone)
    head = {
        "loss": record.loss,
        "loss_params": record.loss_params,
        "num_classes": record.num_classes,
        "embedding_size": record.embedding_size,
        "state_dict": head_state,
    }
    save_torch(out / HEAD_NAME, head)
    with atomic_open(out / METRICS_NAME, "w", encoding="utf-8") as handle:
        for line in metrics:
            handle.write(json.dumps(line) + "\n")
    write_json(out / INFO_NAME, record.to_json())
    (out / RESUME_NAME).unlink(missing_ok=True)


def read_record(run_dir: Path) -> AnyRunRecord:
    """The run record of ``run_dir`` (trained or imported); InputError naming run.json otherwise."""
    path = run_dir / INFO_NAME
    if not path.is_file():
        raise InputError(f"{path}: run.json not found (is {run_dir} a finished training run?)")
    return read_run_record(path)


def finished_run(run_dir: Path, config: RunConfig) -> RunRecord | None:
    """The record of a finished run in ``run_dir`` trained with ``config`` (runtime keys aside), else None.

    A finished run trained with a different config raises InputError naming the first differing key.
    """
    if not all((run_dir / name).is_file() for name in (INFO_NAME, MODEL_NAME, HEAD_NAME)):
        return None
    record = read_record(run_dir)
    if not isinstance(record, RunRecord):
        raise InputError(
            f"{run_dir / INFO_NAME}: holds an imported checkpoint, not a trained run; use another RUN_DIR"
        )
    current = config.to_dict()
    for key, value in record.config.items():
        if key not in RUNTIME_KEYS and current.get(key) != value:
            raise InputError(
                f"{run_dir / INFO_NAME}: finished run has {key}={value!r} but the config says {current.get(key)!r}; "
                "use another RUN_DIR"
            )
    return record


def load_run(
    run_dir: str | Path, plugins: Sequence[str] = (), trust_run_plugins: bool = False
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a trained backbone: ``(module in eval mode on CPU, run.json content)``, the content
    read through its run record (:func:`read_record`: checked format and keys).

    The only way the evaluator obtains a model: run.json gives backbone, embedding_size and
    input_size; model.pt the weights. Missing or corrupt files raise InputError naming them.
    ``plugins`` (modules or ``.py`` files the caller trusts, e.g. one registering the backbone)
    are imported first. The plugins run.json records are code chosen by whoever wrote the run
    folder: they are imported only with ``trust_run_plugins``, otherwise logged and left alone.
    """
    from interface.backbones import build_backbone
    from interface.training.plugins import import_plugins, same_plugin

    run_dir = Path(run_dir)
    record = read_record(run_dir)
    where = run_dir / INFO_NAME
    import_plugins(list(plugins))
    untrusted = [p for p in record.plugins if not any(same_plugin(p, q) for q in plugins)]
    if untrusted and trust_run_plugins:
        import_plugins(untrusted)
    elif untrusted:
        log.warning(
            "%s records plugins %s; not imported (code from a run folder is imported only when "
            "trusted explicitly: evaluate --trust-run-plugins, or name it with --plugin)",
            where,
            untrusted,
        )
    try:
        model = build_backbone(
            record.backbone, embedding_size=record.embedding_size, input_size=record.input_size
        )
    except InputError as exc:
        hint = (
            f"; run.json records plugins {untrusted}, not imported"
            if untrusted and not trust_run_plugins
            else ""
        )
        raise InputError(f"{where}: {exc}{hint}") from None
    path = run_dir / MODEL_NAME
    if not path.is_file():
        raise InputError(f"{path}: model.pt not found")
    state = load_tensors(path, "model.pt")
    try:
        model.load_state_dict(state)
    except Exception as exc:  # noqa: BLE001  (not a state_dict, or another model's: the file is unusable)
        raise InputError(
            f"{path}: model.pt does not fit backbone {record.backbone!r} ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None
    return model.eval(), record.to_json()


class _LogFile(logging.FileHandler):
    """train.log. A write that fails with an OSError (a full disk) is reported once, as one
    ``warning:`` line on stderr naming the file, instead of a traceback for every record; the run
    goes on (its outputs report their own errors)."""

    failed = False

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802  (logging's name)
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            super().handleError(record)
            return
        if not self.failed:
            self.failed = True
            if exc.filename is None:
                exc = OSError(exc.errno, exc.strerror or str(exc), self.baseFilename)
            print(f"warning: {describe_os_error(exc)}; train.log stops here", file=sys.stderr)


def attach_log(run_dir: Path) -> logging.Handler:
    """Send the trainer's log lines to RUN_DIR/train.log (and to stderr when it is not a terminal)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("interface.training")
    logger.setLevel(logging.INFO)
    handler = _LogFile(run_dir / LOG_NAME, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    if not sys.stderr.isatty() and not any(getattr(h, "_interface_stderr", False) for h in logger.handlers):
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        stream._interface_stderr = True  # type: ignore[attr-defined]
        logger.addHandler(stream)
    return handler


def detach_log(handler: logging.Handler) -> None:
    """Close the train.log handler (several runs may share one process, as in the tests)."""
    logging.getLogger("interface.training").removeHandler(handler)
    handler.close()
