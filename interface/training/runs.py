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
- ``run.json``: resolved config, seed, code revision, library versions, device, times, images/s,
  num_classes, num_images, tags;
- ``train.log``: plain log lines (appended across resumptions).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from interface.atomic import atomic_open, save_torch, write_json
from interface.errors import InputError, describe_os_error
from interface.training.checkpoint import RESUME_NAME
from interface.training.provenance import device_description, git_revision, library_versions
from interface.untrusted import load_tensors

if TYPE_CHECKING:
    from interface.training.config import RunConfig
    from interface.training.trainer import Trainer

MODEL_NAME, HEAD_NAME, INFO_NAME, METRICS_NAME, LOG_NAME = (
    "model.pt",
    "head.pt",
    "run.json",
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


def run_info(trainer: Trainer, wall_time_s: float) -> dict[str, Any]:
    """run.json's content for a finished ``trainer``."""
    config, progress = trainer.config, trainer.progress
    images = progress.step * config.batch_size
    return {
        "backbone": config.backbone,
        "embedding_size": config.embedding_size,
        "input_size": config.input_size,
        "loss": config.loss,
        "loss_params": config.loss_params,
        "seed": config.seed,
        "num_classes": trainer.num_classes,
        "num_images": trainer.data.num_images,
        "data_cached_in_memory": trainer.data.cached,
        "decoded_cache_file": trainer.data.decoded_file,
        "steps": progress.step,
        "steps_per_epoch": trainer.plan.steps_per_epoch,
        "epochs_done": progress.step / trainer.plan.steps_per_epoch,
        "global_batch": config.batch_size,
        "lr_applied": trainer.lr,
        "precision": trainer.precision,
        "channels_last": trainer.channels_last,
        "nonfinite_steps": progress.nonfinite_total,
        "wall_time_s": wall_time_s,
        "setup_time_s": trainer.setup_time,
        "train_time_s": progress.train_time,
        "train_cpu_time_s": progress.train_cpu_time,
        "images_per_s": images / max(progress.train_time, 1e-9),
        "final_loss": next((m["loss"] for m in reversed(progress.metrics) if m["loss"] is not None), None),
        "device": device_description(trainer.device, trainer.ctx.world),
        "git_revision": git_revision(),
        "versions": library_versions(),
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tags": config.tags,
        "config": config.to_dict(),
    }


def _cpu_state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu() for k, v in module.state_dict().items()}


def write_outputs(trainer: Trainer, info: dict[str, Any], head_state: dict[str, Any] | None = None) -> None:
    """Write model.pt, head.pt, metrics.jsonl, then run.json; remove the resume file.

    ``head_state``: the loss state for head.pt when the trainer's head is sharded (gathered, in
    the single-process layout); None: the trainer's loss module's own state_dict.
    """
    out = trainer.out_dir
    save_torch(out / MODEL_NAME, _cpu_state(trainer.backbone))
    head = {
        "loss": trainer.config.loss,
        "loss_params": trainer.config.loss_params,
        "num_classes": trainer.num_classes,
        "embedding_size": trainer.config.embedding_size,
        "state_dict": _cpu_state(trainer.loss) if head_state is None else head_state,
    }
    save_torch(out / HEAD_NAME, head)
    with atomic_open(out / METRICS_NAME, "w", encoding="utf-8") as handle:
        for record in trainer.progress.metrics:
            handle.write(json.dumps(record) + "\n")
    write_json(out / INFO_NAME, info)
    (out / RESUME_NAME).unlink(missing_ok=True)


def _read_info(run_dir: Path) -> dict[str, Any]:
    path = run_dir / INFO_NAME
    if not path.is_file():
        raise InputError(f"{path}: run.json not found (is {run_dir} a finished training run?)")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: unreadable run.json ({exc})") from None
    missing = [k for k in ("backbone", "embedding_size", "input_size") if k not in info]
    if missing:
        raise InputError(f"{path}: run.json lacks {', '.join(missing)}")
    return info


def finished_run(run_dir: Path, config: RunConfig) -> dict[str, Any] | None:
    """run.json of a finished run in ``run_dir`` trained with ``config`` (runtime keys aside), else None.

    A finished run trained with a different config raises InputError naming the first differing key.
    """
    from interface.training.trainer import RUNTIME_KEYS

    if not all((run_dir / name).is_file() for name in (INFO_NAME, MODEL_NAME, HEAD_NAME)):
        return None
    info = _read_info(run_dir)
    current = config.to_dict()
    for key, value in info.get("config", {}).items():
        if key not in RUNTIME_KEYS and current.get(key) != value:
            raise InputError(
                f"{run_dir / INFO_NAME}: finished run has {key}={value!r} but the config says {current.get(key)!r}; "
                "use another RUN_DIR"
            )
    return info


def recorded_plugins(info: dict[str, Any], where: Path) -> list[str]:
    """The plugins a run was trained with (run.json ``config.plugins``); ``where`` names run.json."""
    config = info.get("config")
    plugins = config.get("plugins", []) if isinstance(config, dict) else []
    if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
        raise InputError(f"{where}: key config.plugins is {plugins!r}; expected a list of strings")
    return plugins


def load_run(
    run_dir: str | Path, plugins: Sequence[str] = (), trust_run_plugins: bool = False
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a trained backbone: ``(module in eval mode on CPU, run.json content)``.

    The only way the evaluator obtains a model: run.json gives backbone, embedding_size and
    input_size; model.pt the weights. Missing or corrupt files raise InputError naming them.
    ``plugins`` (modules or ``.py`` files the caller trusts, e.g. one registering the backbone)
    are imported first. The plugins run.json records are code chosen by whoever wrote the run
    folder: they are imported only with ``trust_run_plugins``, otherwise logged and left alone.
    """
    from interface.backbones import build_backbone
    from interface.training.plugins import import_plugins, same_plugin

    run_dir = Path(run_dir)
    info = _read_info(run_dir)
    where = run_dir / INFO_NAME
    import_plugins(list(plugins))
    untrusted = [p for p in recorded_plugins(info, where) if not any(same_plugin(p, q) for q in plugins)]
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
            info["backbone"], embedding_size=info["embedding_size"], input_size=info["input_size"]
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
            f"{path}: model.pt does not fit backbone {info['backbone']!r} ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None
    return model.eval(), info


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
