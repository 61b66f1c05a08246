"""The one training loop every loss goes through (InterFace release recipe, digest §3.4 and §4).

SGD (momentum 0.9, weight decay 5e-4 on every trained parameter) with the learning rate
``lr x global_batch / 512``, a per-step schedule (:mod:`interface.training.schedule`), gradient-norm
clipping (5) on the backbone only, autocast (bf16 by default on CUDA, fp16 with a gradient scaler,
or fp32) around the backbone while the loss runs in float32, channels_last and torch.compile on
request, DistributedDataParallel under torchrun. The loss module owns the class weights (with
``classifier: {mode: model_parallel}`` this process's shard of them, see
:mod:`interface.training.classifier`); the trainer only calls it, and asks for its statistics
(``collect_stats``) on logging steps only.

Per step there is exactly one host synchronisation: the finiteness flags of the loss and the
backbone gradient norm (all-reduced across processes so every rank skips the same steps).
"""

from __future__ import annotations

import logging
import math
import random
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from interface.atomic import remove_stale_temporaries
from interface.contracts.run_record import RunRecord
from interface.errors import InputError
from interface.limits import MIN_BATCH_PER_PROCESS
from interface.training import runs
from interface.training.batches import EpochPlan, MemorySource
from interface.training.checkpoint import RESUME_NAME, RunState, Window, load_checkpoint, save_checkpoint
from interface.training.classifier import (
    build_classifier,
    data_parallel,
    head_state,
    load_head_state,
    optimizer_step,
    single_process_state,
)
from interface.training.config import RunConfig
from interface.training.data import open_records, open_training_data
from interface.training.distributed import Context, all_max, all_mean, setup, teardown
from interface.training.lock import RunLock
from interface.training.optim import SGD
from interface.training.plugins import import_plugins
from interface.training.provenance import device_description
from interface.training.runs import RUNTIME_KEYS
from interface.training.schedule import Schedule

log = logging.getLogger("interface.training")

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}


class TrainingInterruptedError(RuntimeError):
    """SIGTERM/SIGINT arrived: the run saved resume.pt after the current step and stopped."""


class TrainingDivergedError(RuntimeError):
    """Too many consecutive non-finite losses; the message names the step and the statistics."""


class JointModel(nn.Module):
    """Backbone (under autocast) then loss (float32): ``forward(images, labels) -> scalar loss``.

    One module so DistributedDataParallel averages the gradients of both the backbone and the
    class weights owned by the loss.
    """

    def __init__(
        self, backbone: nn.Module, loss: nn.Module, device_type: str, dtype: torch.dtype | None
    ) -> None:
        super().__init__()
        self.backbone, self.loss = backbone, loss
        self.device_type, self.dtype = device_type, dtype

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        with torch.autocast(
            self.device_type, dtype=self.dtype or torch.float32, enabled=self.dtype is not None
        ):
            embeddings = self.backbone(images)
        return self.loss(embeddings.float(), labels)


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto`` -> bf16 on CUDA devices that support it, fp32 otherwise."""
    if precision == "auto":
        return "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    return precision


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA), numpy and random."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def build_models(config: RunConfig, num_classes: int) -> tuple[nn.Module, nn.Module]:
    """Backbone and loss module, initialised from the run seed."""
    from interface.backbones import build_backbone

    seed_everything(config.seed)
    backbone = build_backbone(
        config.backbone, embedding_size=config.embedding_size, input_size=config.input_size
    )
    return backbone, build_classifier(config, num_classes, config.seed)


def _check_resumable(saved: dict[str, Any], config: RunConfig, path: Path) -> None:
    current = config.to_dict()
    for key, value in saved.items():
        if key not in RUNTIME_KEYS and current.get(key) != value:
            raise InputError(
                f"{path}: was written with {key}={value!r} but the config now says {current.get(key)!r}; "
                "use another RUN_DIR or delete the file"
            )


def _check_batch_per_process(backbone: nn.Module, batch_size: int, world: int) -> None:
    """A BatchNorm layer in training mode needs at least two images in each process's batch."""
    per_process = batch_size // world
    has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in backbone.modules())
    if has_bn and per_process < MIN_BATCH_PER_PROCESS:
        raise InputError(
            f"config key 'batch_size': value {batch_size} gives {per_process} image(s) per process over "
            f"{world} processes; BatchNorm needs at least {MIN_BATCH_PER_PROCESS} per process"
        )


class Trainer:
    """One run: ``Trainer(config, out_dir, ctx).run() -> RunRecord`` (see module docstring)."""

    def __init__(self, config: RunConfig, out_dir: Path, ctx: Context) -> None:
        self.config, self.out_dir, self.ctx = config, Path(out_dir), ctx
        self.device = ctx.device
        self.precision = resolve_precision(config.precision, self.device)
        if self.precision != "fp32" and self.device.type == "cpu" and self.precision == "fp16":
            log.warning("fp16 autocast on CPU is slow; bf16 or fp32 is the usual choice there")
        self.channels_last = (
            self.device.type == "cuda" if config.channels_last is None else config.channels_last
        )

    # ----------------------------------------------------------------------------------- setup
    def _prepare(self) -> None:
        config, ctx = self.config, self.ctx
        records = open_records(config.data)
        self.num_classes = records.num_classes
        self.backbone, self.loss = build_models(config, self.num_classes)
        _check_batch_per_process(self.backbone, config.batch_size, ctx.world)
        self.data = open_training_data(
            records,
            config.input_size,
            config.cache_mb,
            config.num_workers,
            pin_memory=self.device.type == "cuda",
            cache_dir=config.cache_dir,
        )
        if isinstance(self.data.source, MemorySource) and self.device.type == "cuda":
            source = self.data.source
            self.data.source = MemorySource(source.images.to(self.device), source.labels.to(self.device))
        self.plan = EpochPlan(self.data.num_images, config.batch_size, config.seed, ctx.rank, ctx.world)
        spe = self.plan.steps_per_epoch
        self.total_steps = min(config.epochs * spe, config.max_steps or math.inf)
        self.schedule = Schedule(
            config.lr_schedule,
            spe,
            self.total_steps,
            tuple(config.milestones),
            config.warmup_epochs,
            config.poly_power,
        )
        if config.sync_bn and ctx.world > 1:
            if self.device.type != "cuda":
                raise InputError(
                    "config key 'sync_bn': SyncBatchNorm needs CUDA devices; set it to false on CPU"
                )
            self.backbone = nn.SyncBatchNorm.convert_sync_batchnorm(self.backbone)
        memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        self.backbone.to(self.device, memory_format=memory_format)
        self.loss.to(self.device)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        forward_backbone = torch.compile(self.backbone) if config.compile else self.backbone
        joint = JointModel(forward_backbone, self.loss, self.device.type, AUTOCAST_DTYPES[self.precision])
        self.model = data_parallel(joint, ctx.world)  # a sharded head stays outside DDP
        self.backbone_params = [p for p in self.backbone.parameters() if p.requires_grad]
        self.lr = config.lr * config.batch_size / 512
        groups = [
            {"params": self.backbone_params, "initial_lr": self.lr},
            {"params": [p for p in self.loss.parameters() if p.requires_grad], "initial_lr": self.lr},
        ]
        self.optimizer = SGD([g for g in groups if g["params"]], config.momentum, config.weight_decay)
        self.scaler = (
            torch.amp.GradScaler(self.device.type, growth_interval=100) if self.precision == "fp16" else None
        )
        self.progress = RunState(Window.empty(self.device))
        self.stop_requested = self.stopping = False
        self.flag_values = {False: torch.zeros((), dtype=torch.bool, device=self.device)}
        self.flag_values[True] = ~self.flag_values[False]
        self._resume()

    def _resume(self) -> None:
        path = self.out_dir / RESUME_NAME
        if not path.is_file():
            return
        saved = load_checkpoint(path)
        _check_resumable(saved["config"], self.config, path)
        progress = RunState.from_state(saved, path, self.device)
        try:
            self.backbone.load_state_dict(saved["backbone"])
            load_head_state(self.loss, self.optimizer, saved["loss"], saved["optimizer"])
            if self.scaler is not None and saved["scaler"] is not None:
                self.scaler.load_state_dict(saved["scaler"])
            progress.restore_rng()
        except Exception as exc:  # noqa: BLE001  (the config matched, so the file itself is wrong)
            raise InputError(
                f"{path}: resume file does not fit this run ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())[:160]}); delete it to start the run over"
            ) from None
        self.progress = progress
        log.info(
            "resumed from %s at step %d (epoch %d, step %d of it)",
            path,
            progress.step,
            progress.epoch,
            progress.step_in_epoch,
        )

    def _save(self) -> None:
        # Every rank saves at the same step. A resumed rank cannot have its own window loss sum (one
        # file), so each rank's becomes the mean over ranks here, resumed or not; the window mean
        # _log computes keeps its value (up to rounding), and a resumed run logs exactly the same.
        window = self.progress.window
        window.loss_sum = all_mean(window.loss_sum.clone(), self.ctx)
        states = head_state(self.loss, self.optimizer, self.ctx.is_main)  # collective when sharded
        if states is None:
            return
        payload = {
            "config": self.config.to_dict(),
            "backbone": self.backbone.state_dict(),
            "loss": states[0],
            "optimizer": states[1],
            "scaler": None if self.scaler is None else self.scaler.state_dict(),
            **self.progress.to_state(),  # counters, metrics, logging window, RNG snapshot
        }
        save_checkpoint(self.out_dir / RESUME_NAME, payload)

    # ------------------------------------------------------------------------------------ loop
    def _train_step(
        self, images: torch.Tensor, labels: torch.Tensor, collect: bool
    ) -> tuple[torch.Tensor, bool]:
        """One optimiser step; returns (detached loss, healthy).

        Unhealthy (counted towards ``max_nonfinite``, update skipped): a non-finite loss, or, without
        a gradient scaler, a non-finite backbone gradient norm. With the fp16 scaler an overflowing
        gradient is the scaler's normal signal to lower its scale, not a fault.
        """
        factor = self.schedule.factor(self.progress.step)
        for group in self.optimizer.param_groups:
            group["lr"] = group["initial_lr"] * factor
        self.loss.collect_stats = collect
        loss = self.model(images, labels)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        if self.config.grad_clip is not None:
            self.grad_norm = nn.utils.clip_grad_norm_(self.backbone_params, self.config.grad_clip)
        else:
            self.grad_norm = nn.utils.get_total_norm(
                [p.grad for p in self.backbone_params if p.grad is not None]
            )
        loss = loss.detach()
        stop = self.flag_values[self.stop_requested]  # preallocated: no host-to-device copy per step
        flags = torch.stack([~torch.isfinite(loss), ~torch.isfinite(self.grad_norm), stop]).float()
        loss_bad, grad_bad, self.stopping = (bool(v) for v in all_max(flags, self.ctx).tolist())
        if self.scaler is not None:
            with optimizer_step(self.loss, self.optimizer):  # Partial FC: drawn rows only
                self.scaler.step(self.optimizer)  # skips by itself when the unscaled gradients overflowed
            self.scaler.update()
            return loss, not loss_bad
        if loss_bad or grad_bad:
            self.optimizer.zero_grad(set_to_none=True)
            return loss, False
        with optimizer_step(self.loss, self.optimizer):  # Partial FC: drawn rows only
            self.optimizer.step()
        return loss, True

    def _log(self, bar: tqdm) -> None:
        """Append the metrics.jsonl record of the logging window that ends at this step."""
        p, w = self.progress, self.progress.window
        mean = all_mean(w.loss_sum / max(w.loss_n, 1), self.ctx).item() if w.loss_n else float("nan")
        elapsed = w.elapsed()
        record = {
            "step": p.step,
            "epoch": round(p.step / self.plan.steps_per_epoch, 4),
            "loss": mean,
            "lr": self.optimizer.param_groups[0]["lr"],
            "images_per_s": w.steps * self.config.batch_size / max(elapsed, 1e-9),
            "grad_scale": 1.0 if self.scaler is None else float(self.scaler.get_scale()),
            "grad_norm": float(self.grad_norm),
            "nonfinite_steps": p.nonfinite_total,
        }
        record.update({k: float(v) for k, v in getattr(self.loss, "last_stats", {}).items()})
        # strict JSON in metrics.jsonl: a non-finite value (all steps skipped, fp16 overflow) is null
        p.metrics.append(
            {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in record.items()}
        )
        if self.ctx.is_main:
            bar.set_postfix(loss=f"{mean:.4f}", img_s=f"{record['images_per_s']:.0f}", refresh=False)
            log.info(
                "step %d/%d epoch %.2f loss %.4f lr %.5f %.0f img/s %s",
                p.step,
                self.total_steps,
                record["epoch"],
                mean,
                record["lr"],
                record["images_per_s"],
                " ".join(
                    f"{k} {v:.4g}"
                    for k, v in record.items()
                    if k not in {"step", "epoch", "loss", "lr", "images_per_s"}
                ),
            )

    def _diverged(self, loss: torch.Tensor) -> TrainingDivergedError:
        stats = ", ".join(f"{k}={v:.4g}" for k, v in getattr(self.loss, "last_stats", {}).items())
        return TrainingDivergedError(
            f"training stopped at step {self.progress.step}: {self.progress.nonfinite_run} consecutive non-finite "
            f"losses or gradients (max_nonfinite={self.config.max_nonfinite}); last loss {float(loss)}, backbone "
            f"grad norm {float(self.grad_norm)}, lr {self.optimizer.param_groups[0]['lr']:.4g}; "
            f"loss stats: {stats or 'none'}"
        )

    def _loop(self) -> None:
        config, spe, p = self.config, self.plan.steps_per_epoch, self.progress
        interactive = self.ctx.is_main and sys.stderr.isatty()
        bar = tqdm(
            total=self.total_steps,
            initial=p.step,
            unit="step",
            disable=not interactive,
            dynamic_ncols=True,
        )
        start = p.window.started = time.perf_counter()  # setup time counts in neither clock
        train_time0, cpu_time0, cpu_start = p.train_time, p.train_cpu_time, time.process_time()
        while p.step < self.total_steps:
            indices, flips = self.plan.epoch(p.epoch)
            batches = self.data.source.batches(indices[p.step_in_epoch :], flips[p.step_in_epoch :])
            for images, labels in batches:
                images = images.to(self.device, non_blocking=True)
                labels = labels.to(self.device, non_blocking=True)
                if self.channels_last:
                    images = images.contiguous(memory_format=torch.channels_last)
                is_log = (p.step + 1) % config.log_every == 0 or p.step + 1 == self.total_steps
                loss, finite = self._train_step(images, labels, collect=is_log or p.nonfinite_run > 0)
                p.step += 1
                p.step_in_epoch += 1
                p.window.steps += 1
                if finite:
                    p.window.loss_sum += loss
                    p.window.loss_n += 1
                    p.nonfinite_run = 0
                else:
                    p.nonfinite_total += 1
                    p.nonfinite_run += 1
                    if p.nonfinite_run >= config.max_nonfinite:
                        raise self._diverged(loss)
                bar.update(1)
                if is_log:
                    self._log(bar)
                    p.window = Window(torch.zeros_like(p.window.loss_sum))
                done = p.step >= self.total_steps
                if p.step_in_epoch == spe:
                    p.epoch, p.step_in_epoch = p.epoch + 1, 0
                p.train_time = train_time0 + time.perf_counter() - start
                p.train_cpu_time = cpu_time0 + time.process_time() - cpu_start
                if not done and (
                    p.step_in_epoch == 0
                    or (config.checkpoint_every and p.step % config.checkpoint_every == 0)
                ):
                    self._save()
                if self.stopping and not done:  # every rank agreed on this step (flags are all-reduced)
                    self._save()
                    bar.close()
                    raise TrainingInterruptedError(
                        f"interrupted after step {p.step}; {self.out_dir / RESUME_NAME} saved, rerun to resume"
                    )
                if done:
                    break
        bar.close()
        p.train_time = train_time0 + time.perf_counter() - start
        p.train_cpu_time = cpu_time0 + time.process_time() - cpu_start

    # ------------------------------------------------------------------------------------- run
    def run(self) -> RunRecord:
        wall0 = time.perf_counter()
        self._prepare()
        setup = runs.Setup(
            num_classes=self.num_classes,
            num_images=self.data.num_images,
            data_cached_in_memory=self.data.cached,
            decoded_cache_file=self.data.decoded_file,
            steps_per_epoch=self.plan.steps_per_epoch,
            lr_applied=self.lr,
            precision=self.precision,
            channels_last=self.channels_last,
            device=device_description(self.device, self.ctx.world),
            setup_time_s=time.perf_counter() - wall0,
        )
        self.model.train()
        self._loop()
        record = runs.run_record(self.config, self.progress, setup, wall_time_s=time.perf_counter() - wall0)
        head = single_process_state(self.loss)  # collective when sharded; None: the loss's own state
        if self.ctx.is_main:
            runs.write_outputs(
                self.out_dir,
                record,
                runs.cpu_state(self.backbone),
                runs.cpu_state(self.loss) if head is None else head,
                self.progress.metrics,
            )
        return record


def train(config: RunConfig, out_dir: str | Path) -> dict[str, Any]:
    """Train ``config`` into ``out_dir`` (resuming from ``out_dir/resume.pt``); returns run.json's content.

    A finished run with the same config is not trained again: its run.json is returned.
    """
    out_dir = Path(out_dir)
    ctx = setup(config.device)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    import_plugins(config.plugins)
    lock = RunLock(out_dir) if ctx.is_main else None
    try:
        return _train_locked(config, out_dir, ctx)
    finally:
        if lock is not None:
            lock.release()


def _train_locked(config: RunConfig, out_dir: Path, ctx: Context) -> dict[str, Any]:
    if ctx.is_main:  # the lock's holder is the only writer of these: their temporaries now are dead
        for stale in remove_stale_temporaries(out_dir, runs.WRITTEN_NAMES):
            log.warning("removed %s, left by an interrupted writer", stale)
    finished = runs.finished_run(out_dir, config)
    if finished is not None:
        log.info("%s already holds this finished run; nothing to do", out_dir)
        teardown(ctx)
        return finished.to_json()
    handler = runs.attach_log(out_dir) if ctx.is_main else None
    trainer = Trainer(config, out_dir, ctx)
    previous = _install_stop_handlers(trainer)
    try:
        info = trainer.run().to_json()
    except BaseException:
        if ctx.world > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
        raise
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
        if handler is not None:
            runs.detach_log(handler)
    teardown(ctx)
    return info


def _install_stop_handlers(trainer: Trainer) -> dict[int, Any]:
    """SIGTERM (schedulers, Snakemake) and SIGINT ask for a clean stop after the current step.

    A second signal while stopping falls back to the previous handler. Only possible from the
    main thread; elsewhere nothing is installed.
    """
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, Any] = {}

    def request_stop(signum: int, frame: Any) -> None:
        if trainer.stop_requested:
            signal.signal(signum, previous[signum])
            signal.raise_signal(signum)
            return
        trainer.stop_requested = True
        log.warning("signal %d: stopping after the current step (resume.pt will be saved)", signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, request_stop)
    return previous
