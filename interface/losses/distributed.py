"""Collectives with the gradients a model-parallel classifier needs (torch.distributed, any backend).

Every process computes the same global loss value; its backward pass must give each process the
gradient of that one loss with respect to what it holds (its embeddings, its class-weight shard).
Two kinds of tensors meet here:

* *partial*: each process's graph covers a disjoint part of the loss (its columns of the logits);
  the gradients of the processes sum to the true gradient;
* *replicated*: every process computes the same term (MagFace's regulariser); its gradient would
  be counted once per process, so :func:`replicated_term` divides it by the world size.

With no process group initialised, every function is the single-process identity (world 1).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor


def world_and_rank(group: Any = None) -> tuple[int, int]:
    """(world size, rank) of ``group``; (1, 0) when torch.distributed is not initialised."""
    if not (dist.is_available() and dist.is_initialized()):
        return 1, 0
    return dist.get_world_size(group), dist.get_rank(group)


def _sizes(tensor: Tensor, group: Any) -> list[int]:
    """First-dimension sizes of ``tensor`` on every process of ``group``."""
    world, _ = world_and_rank(group)
    local = torch.tensor([tensor.shape[0]], dtype=torch.int64, device=tensor.device)
    sizes = [torch.zeros_like(local) for _ in range(world)]
    dist.all_gather(sizes, local, group=group)
    return [int(s) for s in sizes]


def _gather(tensor: Tensor, group: Any, sizes: list[int]) -> Tensor:
    """Concatenate ``tensor`` of every process along dim 0 (sizes may differ: padded to the max)."""
    longest = max(sizes)
    padded = tensor.new_zeros((longest, *tensor.shape[1:]))
    padded[: tensor.shape[0]] = tensor
    parts = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(parts, padded.contiguous(), group=group)
    return torch.cat([part[:n] for part, n in zip(parts, sizes)])


class _AllGather(torch.autograd.Function):
    """Forward: the global batch. Backward: the gradients of every process (partial) summed,
    then this process's rows."""

    @staticmethod
    def forward(ctx: Any, tensor: Tensor, group: Any, sizes: list[int], rank: int) -> Tensor:
        ctx.group, ctx.offset, ctx.rows = group, sum(sizes[:rank]), sizes[rank]
        return _gather(tensor, group, sizes)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None, None]:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, group=ctx.group)
        return grad[ctx.offset : ctx.offset + ctx.rows], None, None, None


def all_gather(tensor: Tensor, group: Any = None) -> tuple[Tensor, int]:
    """(global tensor, offset of this process's rows): ``tensor`` of every process concatenated
    along dim 0 in rank order, with gradient (see :class:`_AllGather`)."""
    world, rank = world_and_rank(group)
    if world == 1:
        return tensor, 0
    sizes = _sizes(tensor, group)
    offset = sum(sizes[:rank])
    if tensor.requires_grad:
        return _AllGather.apply(tensor, group, sizes, rank), offset
    return _gather(tensor, group, sizes), offset


class _AllReduceSum(torch.autograd.Function):
    """Sum over processes; the downstream graph is partial, so the backward sums gradients too."""

    @staticmethod
    def forward(ctx: Any, tensor: Tensor, group: Any) -> Tensor:
        ctx.group = group
        out = tensor.contiguous().clone()
        dist.all_reduce(out, group=group)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, group=ctx.group)
        return grad, None


def all_reduce_sum(tensor: Tensor, group: Any = None) -> Tensor:
    """Sum of ``tensor`` over the processes (with gradient when it requires one)."""
    if world_and_rank(group)[0] == 1:
        return tensor
    if tensor.requires_grad:
        return _AllReduceSum.apply(tensor, group)
    out = tensor.contiguous().clone()
    dist.all_reduce(out, group=group)
    return out


def all_reduce_max(tensor: Tensor, group: Any = None) -> Tensor:
    """Element-wise maximum over the processes, no gradient."""
    out = tensor.detach().contiguous().clone()
    if world_and_rank(group)[0] > 1:
        dist.all_reduce(out, op=dist.ReduceOp.MAX, group=group)
    return out


def replicated_term(value: Tensor | float, group: Any = None) -> Tensor | float:
    """A term every process computes identically: same value, gradient / world (see module doc)."""
    world = world_and_rank(group)[0]
    if world == 1 or not isinstance(value, Tensor) or not value.requires_grad:
        return value
    return value.detach() + (value - value.detach()) / world


class _DistributedCrossEntropy(torch.autograd.Function):
    """Mean softmax cross-entropy of logits split by columns over the processes.

    ``target`` (B,) is the sample's column in this process's logits, -1 where another process owns
    it. The max and the sum of exponentials are all-reduced (arcface_torch's DistCrossEntropy);
    the backward pass is ``(softmax - onehot) / B`` on this process's columns only.
    """

    @staticmethod
    def forward(ctx: Any, logits: Tensor, target: Tensor, group: Any) -> Tensor:
        owned = target >= 0
        rows = torch.arange(logits.shape[0], device=logits.device)
        peak = all_reduce_max(logits.detach().amax(dim=1), group)
        probs = (logits.detach() - peak[:, None]).exp_()
        total = all_reduce_sum(probs.sum(dim=1), group)
        probs.div_(total[:, None])
        picked = torch.where(owned, logits.detach()[rows, target.clamp_min(0)], torch.zeros_like(peak))
        picked = all_reduce_sum(picked, group)
        ctx.save_for_backward(probs, target)
        return (total.log() + peak - picked).mean()

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
        probs, target = ctx.saved_tensors
        owned = (target >= 0).nonzero().view(-1)
        probs[owned, target[owned]] -= 1.0
        return probs.mul_(grad / probs.shape[0]), None, None


def distributed_cross_entropy(logits: Tensor, target: Tensor, group: Any = None) -> Tensor:
    """Mean cross-entropy over the global batch (same value on every process); see the class."""
    return _DistributedCrossEntropy.apply(logits, target, group)
