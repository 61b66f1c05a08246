"""The trainer's side of the classifier head: RUN.yaml's ``classifier`` key, data parallelism around
a sharded head, Partial FC steps and world-size-independent checkpoints of the class weights.

``classifier: {mode: replicated | model_parallel, sample_rate: (0, 1]}`` (default replicated, 1.0):

* replicated: DDP over backbone and loss (every process holds all classes, as before);
* model_parallel: DDP over the backbone only; the head (:class:`interface.losses.ShardedHead`)
  holds this process's classes and returns the loss of the global batch. That loss's backbone
  gradient on each process covers its own samples, so DDP *sums* the backbone gradients (not
  averages), which gives the same update as the replicated mode on the same global batch.

Checkpoints of a sharded head hold the full class weights and their momentum (gathered; the
optimiser's other entries unchanged), so a run resumes at another world size (shards re-cut).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, MutableMapping
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from interface.errors import InputError
from interface.losses import ShardedHead, build_head

DEFAULTS: dict[str, Any] = {"mode": "replicated", "sample_rate": 1.0}
#: parameter group of the class parameters in the trainer's optimiser (0: backbone).
HEAD_GROUP = 1


def classifier_options(value: Any) -> dict[str, Any]:
    """RUN.yaml's ``classifier`` mapping with defaults filled in; unknown keys name the key."""
    if not isinstance(value, dict):
        raise InputError(
            f"config key 'classifier': value {value!r}; expected a mapping with mode, sample_rate"
        )
    unknown = sorted(set(value) - set(DEFAULTS))
    if unknown:
        raise InputError(
            f"config key 'classifier': unknown key(s) {', '.join(map(str, unknown))}; known: mode, sample_rate"
        )
    options = {**DEFAULTS, **value}
    if options["mode"] not in ("replicated", "model_parallel"):
        raise InputError(
            f"config key 'classifier': mode={options['mode']!r}; expected 'replicated' or 'model_parallel'"
        )
    rate = options["sample_rate"]
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= 1:
        raise InputError(f"config key 'classifier': sample_rate={rate!r}; expected a number in (0, 1]")
    if rate != 1 and options["mode"] != "model_parallel":
        raise InputError(
            f"config key 'classifier': sample_rate={rate!r} needs mode: model_parallel (Partial FC samples "
            "each shard's classes)"
        )
    return options


def build_classifier(config: Any, num_classes: int, seed: int) -> nn.Module:
    """The loss head of a run (``config``: a RunConfig) for ``num_classes`` classes."""
    options = classifier_options(config.classifier)
    return build_head(
        config.loss,
        num_classes=num_classes,
        embedding_size=config.embedding_size,
        mode=options["mode"],
        sample_rate=options["sample_rate"],
        head_seed=seed,
        **config.loss_params,
    )


def _sum_gradients(group, bucket):  # type: ignore[no-untyped-def]
    """DDP communication hook (``bucket``: a dist.GradBucket): sum, not average, the gradients.

    Unannotated: DDP checks the annotations as objects, and this module's are strings."""
    work = dist.all_reduce(bucket.buffer(), group=group, async_op=True)
    return work.get_future().then(lambda future: future.value()[0])


def data_parallel(joint: nn.Module, world: int) -> nn.Module:
    """``joint`` (a JointModel) wrapped for ``world`` processes (see the module docstring)."""
    if world == 1:
        return joint
    if not isinstance(joint.loss, ShardedHead):
        return DistributedDataParallel(joint)
    backbone = DistributedDataParallel(joint.backbone)
    backbone.register_comm_hook(None, _sum_gradients)
    joint.backbone = backbone
    return joint


class _MomentumState(MutableMapping):
    """The trainer SGD's momentum buffer of one parameter as an optimiser state mapping."""

    def __init__(self, buffers: list[torch.Tensor | None], position: int) -> None:
        self.buffers, self.position = buffers, position

    def __getitem__(self, key: str) -> torch.Tensor:
        value = self.buffers[self.position] if key == "momentum_buffer" else None
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: torch.Tensor) -> None:
        self.buffers[self.position] = value

    def __delitem__(self, key: str) -> None:
        self.buffers[self.position] = None

    def __iter__(self) -> Iterator[str]:
        return iter(["momentum_buffer"] if self.buffers[self.position] is not None else [])

    def __len__(self) -> int:
        return int(self.buffers[self.position] is not None)


def _head_buffers(head: ShardedHead, optimizer: Any) -> list[tuple[nn.Parameter, int]]:
    params = optimizer.param_groups[HEAD_GROUP]["params"]
    return [(p, next(i for i, q in enumerate(params) if q is p)) for p in head.class_parameters()]


def optimizer_step(head: nn.Module, optimizer: Any) -> contextlib.AbstractContextManager[None]:
    """Context for the optimiser step: Partial FC moves only the drawn rows (and their momentum)."""
    if not isinstance(head, ShardedHead):
        return contextlib.nullcontext()
    positions = dict((id(p), i) for p, i in _head_buffers(head, optimizer))
    buffers = optimizer.buffers[HEAD_GROUP]
    return head.drawn_rows_only(lambda p: _MomentumState(buffers, positions[id(p)]))


def single_process_state(head: nn.Module) -> dict[str, torch.Tensor] | None:
    """A sharded head's state as the single-process loss's state_dict (full ``weight``, softmax's
    ``bias``, the margin's buffers), loadable into ``build_loss(...)``; collective. None for a
    replicated head (its own state_dict is that already)."""
    if not isinstance(head, ShardedHead):
        return None
    state = head.full_state_dict()
    flat = {key: state[key].cpu() for key in ("weight", "bias") if key in state}
    return {**flat, **{k: v.cpu() for k, v in state["margin"].items()}}


def head_state(
    head: nn.Module, optimizer: Any, is_main: bool
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(loss state, optimiser state) for resume.pt, None on processes that do not write it;
    collective for a sharded head (every process calls it; the full class weights and momentum
    are gathered)."""
    if not isinstance(head, ShardedHead):
        return (head.state_dict(), optimizer.state_dict()) if is_main else None
    state = optimizer.state_dict()
    buffers = state["buffers"][HEAD_GROUP]
    for _, i in _head_buffers(head, optimizer):
        local = optimizer.buffers[HEAD_GROUP][i]
        buffers[i] = None if local is None else head.gather_rows(local).cpu()
    loss_state = {k: v.cpu() if isinstance(v, torch.Tensor) else v for k, v in head.full_state_dict().items()}
    return (loss_state, state) if is_main else None


def load_head_state(
    head: nn.Module, optimizer: Any, loss_state: dict[str, Any], optim_state: dict[str, Any]
) -> None:
    """Restore :func:`head_state`'s output, written at any world size for a sharded head."""
    if not isinstance(head, ShardedHead):
        head.load_state_dict(loss_state)
        optimizer.load_state_dict(optim_state)
        return
    if "margin" not in loss_state:
        raise InputError("resume.pt: the loss state is not a model-parallel head's; classifier mode changed?")
    head.load_full_state_dict(loss_state)
    buffers = [list(group) for group in optim_state["buffers"]]
    for _, i in _head_buffers(head, optimizer):
        full = buffers[HEAD_GROUP][i]
        buffers[HEAD_GROUP][i] = None if full is None else head.local_rows(full, "momentum")
    optimizer.load_state_dict({**optim_state, "buffers": buffers})
