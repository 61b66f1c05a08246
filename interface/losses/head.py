"""Classifier heads: the class weights (replicated, sharded, or sampled) around any registered margin.

``build_head(name, num_classes=C, embedding_size=D, mode=..., sample_rate=..., process_group=...)``:

* ``mode="replicated"``: the single-process loss of :func:`~interface.losses.build_loss` (every
  process holds all C rows; under DDP each process computes its own batch statistics);
* ``mode="model_parallel"``: :class:`ShardedHead`; process r holds rows
  ``shard_bounds(C, world, r)`` of the class weights, scores the global batch (embeddings
  all-gathered with gradient) against its classes only, and the softmax cross-entropy is reduced
  across processes. The margin hooks see the global batch: CurricularFace's t, AdaFace's norm
  statistics and MagFace's regulariser are over the global batch, ElasticFace draws its margins
  for the global batch identically on every process, InterFace's theta_y and centre angles come
  from the owning shards. ``process_local_stats=True`` runs the margin's per-batch context on each
  process's own samples instead (AdaFace's release, which computes its statistics per process).
* ``sample_rate < 1`` (model parallel only): Partial FC (An et al. 2022, arXiv 2203.15565). Each
  training step scores every class that is a positive of the global batch plus negatives drawn
  uniformly without replacement, ``ceil(sample_rate * shard rows)`` rows per shard in all (more
  when the positives alone exceed that). :meth:`ShardedHead.attach_optimizer` keeps the rows not
  drawn, and their optimiser state (momentum, Adam moments), untouched by the step.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from interface.errors import InputError
from interface.losses.base import Batch, MarginLoss, margin_only, model_parallel_support
from interface.losses.distributed import (
    all_gather,
    all_reduce_max,
    all_reduce_sum,
    distributed_cross_entropy,
    replicated_term,
    world_and_rank,
)
from interface.losses.registry import build_loss, loss_class

MODES = ("replicated", "model_parallel")
#: classes per initialisation block of a sharded head (see ShardedHead._initial_rows).
INIT_BLOCK = 4096
#: random streams per head seed: [0, SAMPLE_STREAMS) initialise blocks, the rest are the Partial
#: FC generators of the processes, so no two streams share a seed.
SAMPLE_STREAMS = 2**20


def _stream_seed(seed: int, stream: int) -> int:
    """The torch seed of random stream ``stream`` of head seed ``seed`` (distinct for each pair)."""
    return seed * 2 * SAMPLE_STREAMS + stream


def shard_bounds(num_classes: int, world: int, rank: int) -> tuple[int, int]:
    """Rows ``[start, stop)`` of process ``rank`` among ``world``: contiguous shards in rank order,
    the first ``num_classes % world`` one row longer (any class count; shards may be empty)."""
    for key, value, low in (("num_classes", num_classes, 0), ("world", world, 1), ("rank", rank, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InputError(f"shard_bounds: {key}={value!r}; expected an integer >= {low}")
    if rank >= world:
        raise InputError(f"shard_bounds: rank={rank}; expected an integer in [0, world={world})")
    base, extra = divmod(num_classes, world)
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


def build_head(
    name: str,
    *,
    num_classes: int,
    embedding_size: int,
    mode: str = "replicated",
    sample_rate: float = 1.0,
    process_group: Any = None,
    process_local_stats: bool = False,
    head_seed: int = 0,
    **params: Any,
) -> nn.Module:
    """The classifier head of loss ``name`` (see the module docstring for the modes).

    ``sample_rate`` in (0, 1]: the fraction of each shard's classes scored per training step
    (1: all). ``process_group``: the torch.distributed group sharing the classes (None: the
    default group, or one process when torch.distributed is not initialised). ``head_seed``
    (integer >= 0; not ``seed``, which is ElasticFace's own parameter) seeds the shard
    initialisation and the Partial FC draws (model parallel only).
    ``params`` go to the loss as in :func:`~interface.losses.build_loss`.
    """
    if mode not in MODES:
        raise InputError(f"classifier mode={mode!r}; expected one of {', '.join(map(repr, MODES))}")
    ok = isinstance(sample_rate, int | float) and not isinstance(sample_rate, bool)
    if not ok or not 0.0 < sample_rate <= 1.0:
        raise InputError(f"classifier sample_rate={sample_rate!r}; expected a number in (0, 1]")
    if mode == "replicated":
        if sample_rate != 1.0:
            raise InputError(
                f"classifier sample_rate={sample_rate!r} needs mode='model_parallel' (Partial FC samples "
                "the classes of each shard); expected 1.0 in mode 'replicated'"
            )
        if process_local_stats:
            raise InputError("classifier process_local_stats=True needs mode='model_parallel'")
        return build_loss(name, num_classes=num_classes, embedding_size=embedding_size, **params)
    reason = model_parallel_support(loss_class(name))
    if reason is not None:
        raise InputError(
            f"classifier mode='model_parallel' cannot run loss {name!r}: {reason}; use mode 'replicated'"
        )
    with margin_only():
        margin = build_loss(name, num_classes=num_classes, embedding_size=embedding_size, **params)
    return ShardedHead(
        margin,
        sample_rate=float(sample_rate),
        process_group=process_group,
        process_local_stats=process_local_stats,
        seed=head_seed,
    )


class ShardedHead(nn.Module):
    """Model-parallel head: this process's rows of the class parameters and the margin's hooks.

    ``weight`` (stop - start, D) holds rows ``shard_bounds(C, world, rank)``; softmax adds
    ``bias``. ``head(local_embeddings, local_labels)`` returns the mean loss over the global batch
    (same value on every process); its backward gives each process the gradient of that loss for
    its embeddings and its shard. ``head.margin`` is the loss without class parameters (its
    buffers: CurricularFace's t, AdaFace's running norms, ...). Every process must call the head
    with the same number of steps (the collectives pair up).
    """

    def __init__(
        self,
        margin: MarginLoss,
        *,
        sample_rate: float = 1.0,
        process_group: Any = None,
        process_local_stats: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.margin, self.sample_rate, self.group = margin, sample_rate, process_group
        self.process_local_stats = margin.check_choice(
            "process_local_stats", process_local_stats, (False, True)
        )
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise InputError(f"classifier head_seed={seed!r}; expected an integer >= 0")
        self.world, self.rank = world_and_rank(process_group)
        self.num_classes, self.embedding_size = margin.num_classes, margin.embedding_size
        if self.num_classes < self.world:
            raise InputError(
                f"loss {margin.registry_name!r}: num_classes={self.num_classes} is smaller than the "
                f"{self.world} processes sharing the classifier; expected num_classes >= world size"
            )
        self.start, self.stop = shard_bounds(self.num_classes, self.world, self.rank)
        for key, value in self._initial_rows(seed).items():
            setattr(self, key, nn.Parameter(value))
        generator = torch.Generator().manual_seed(_stream_seed(seed, SAMPLE_STREAMS + self.rank))
        self.register_buffer("sample_state", generator.get_state())
        self.collect_stats = False
        self.last_stats: dict[str, float] = {}
        #: local rows scored by the last training forward (None: all), for the optimiser hooks.
        self.last_index: Tensor | None = None

    def _initial_rows(self, seed: int) -> dict[str, Tensor]:
        """This shard's rows of class parameters drawn block by block (INIT_BLOCK classes, each
        block seeded by ``seed`` and its index): the same class gets the same initial weights at
        every world size, and no process draws more than its rows plus two blocks."""
        first, last = self.start // INIT_BLOCK, max(self.stop - 1, self.start) // INIT_BLOCK
        parts: dict[str, list[Tensor]] = {}
        for block in range(first, last + 1):
            low = block * INIT_BLOCK
            rows = min(INIT_BLOCK, self.num_classes - low)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(_stream_seed(seed, block))
                values = self.margin.class_parameters(rows)
            keep = slice(max(self.start - low, 0), min(self.stop - low, rows))
            for key, value in values.items():
                parts.setdefault(key, []).append(value[keep])
        return {key: torch.cat(values) for key, values in parts.items()}

    @property
    def local_classes(self) -> int:
        return self.stop - self.start

    def extra_repr(self) -> str:
        return (
            f"rows={self.start}:{self.stop} of {self.num_classes}, world={self.world}, rank={self.rank}, "
            f"sample_rate={self.sample_rate}"
        )

    # ------------------------------------------------------------------ Partial FC
    def sample(self, labels: Tensor) -> Tensor:
        """Sorted local rows to score: every positive of ``labels`` (global, (B,)) in this shard
        plus uniform negatives up to ``ceil(sample_rate * rows)``; advances ``sample_state``."""
        rows = self.local_classes
        keep = max(math.ceil(self.sample_rate * rows), 1)
        generator = torch.Generator()  # a CPU generator: its state buffer may sit on a GPU
        generator.set_state(self.sample_state.cpu())
        priority = torch.rand(rows, generator=generator, dtype=torch.float64)
        self.sample_state.copy_(generator.get_state())
        mine = labels[(labels >= self.start) & (labels < self.stop)].cpu() - self.start
        priority[mine] = 2.0  # positives first: above every uniform draw in [0, 1)
        keep = max(keep, int((priority == 2.0).sum()))
        return priority.topk(keep).indices.sort().values.to(self.weight.device)

    def class_parameters(self) -> list[nn.Parameter]:
        """This shard's class parameters (``weight``, softmax's ``bias``), in that order."""
        return [p for p in (getattr(self, "weight", None), getattr(self, "bias", None)) if p is not None]

    @contextlib.contextmanager
    def drawn_rows_only(self, state_of: Callable[[nn.Parameter], MutableMapping[str, Any]]) -> Iterator[None]:
        """Run an optimiser step inside this block and only the rows drawn by the last forward move.

        The class parameters, their gradients and every per-row state tensor (``state_of(p)``:
        the optimiser's state mapping of parameter p, e.g. momentum) are narrowed to the drawn
        rows for the block and written back after it; undrawn rows and their state stay untouched
        (state first created inside the block is zero on undrawn rows). No-op at sample_rate 1.
        """
        index = self.last_index
        if index is None:
            yield
            return
        saved = []
        for p in self.class_parameters():
            full, state = p.data, state_of(p)
            rowwise = {k: v for k, v in state.items() if isinstance(v, Tensor) and v.shape == full.shape}
            saved.append((p, full, state, rowwise))
            p.data = full[index]
            if p.grad is not None:
                p.grad = p.grad[index]
            for k, v in rowwise.items():
                state[k] = v[index]
        try:
            yield
        finally:
            for p, full, state, rowwise in saved:
                full[index] = p.data
                for k, v in list(state.items()):
                    if isinstance(v, Tensor) and v.shape == p.data.shape:
                        wide = rowwise.get(k, torch.zeros_like(full))
                        wide[index] = v
                        state[k] = wide
                p.grad = None  # narrowed; the next backward fills a full-size one
                p.data = full

    def attach_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        """Register step hooks on a torch optimiser so that each step runs inside
        :meth:`drawn_rows_only` (Partial FC). No-op at sample_rate 1."""
        if self.sample_rate >= 1.0:
            return
        active: list[contextlib.AbstractContextManager[None]] = []

        def narrow(opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
            active.append(self.drawn_rows_only(lambda p: opt.state[p]))
            active[-1].__enter__()

        def widen(opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
            active.pop().__exit__(None, None, None)

        optimizer.register_step_pre_hook(narrow)
        optimizer.register_step_post_hook(widen)

    # ------------------------------------------------------------------ checkpoints
    def gather_rows(self, shard: Tensor) -> Tensor:
        """The full (C, ...) tensor from every process's (rows, ...) shard (collective)."""
        return all_gather(shard.detach(), self.group)[0]

    def local_rows(self, full: Tensor, key: str = "weight") -> Tensor:
        """This process's rows of a full (C, ...) tensor; another class count: InputError naming ``key``."""
        if full.dim() == 0 or full.shape[0] != self.num_classes:
            raise InputError(
                f"classifier state {key!r} has {full.shape[0] if full.dim() else 0} rows; expected "
                f"num_classes={self.num_classes} (shards re-cut from the full rows at any world size)"
            )
        return full[self.start : self.stop]

    def full_state_dict(self) -> dict[str, Any]:
        """A state independent of the world size (collective: call on every process): the full class
        parameters, the margin's buffers, and every process's Partial FC generator."""
        state: dict[str, Any] = {k: self.gather_rows(p) for k, p in (("weight", self.weight),)}
        if hasattr(self, "bias"):
            state["bias"] = self.gather_rows(self.bias)
        state["margin"] = {k: v.detach().clone() for k, v in self.margin.state_dict().items()}  # a snapshot
        states = all_gather(self.sample_state[None].clone(), self.group)[0]
        state["sample_states"] = list(states.unbind(0))
        return state

    def load_full_state_dict(self, state: dict[str, Any]) -> None:
        """Load :meth:`full_state_dict` written at any world size: this process's rows are cut out
        of the full parameters; the Partial FC generator is restored when the world size matches
        (else it keeps its fresh seeding)."""
        with torch.no_grad():
            for key, p in zip(("weight", "bias"), self.class_parameters()):
                if key not in state:
                    raise InputError(f"classifier state has no {key!r}; expected the full class parameters")
                p.copy_(self.local_rows(state[key], key))
        self.margin.load_state_dict(state["margin"])
        if len(state["sample_states"]) == self.world:
            self.sample_state.copy_(state["sample_states"][self.rank])

    # ------------------------------------------------------------------ forward
    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        """Mean loss over the global batch plus the margin's regulariser (scalar, every process)."""
        logits, target, batch, ctx = self._logits(embeddings, labels)
        loss = distributed_cross_entropy(logits, target, self.group)
        if not self.margin.normalised:
            return loss
        return loss + replicated_term(self.margin.regulariser(batch, ctx), self.group)

    def logits(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        """This process's columns of the scaled logits of the global batch, (B_global, rows scored)."""
        return self._logits(embeddings, labels)[0]

    def _logits(self, embeddings: Tensor, labels: Tensor) -> tuple[Tensor, Tensor, Batch, dict[str, Any]]:
        margin = self.margin
        margin.check_inputs(embeddings, labels)
        x, offset = all_gather(embeddings, self.group)
        y, _ = all_gather(labels.long(), self.group)
        index = self.sample(y) if self.training and self.sample_rate < 1.0 else None
        self.last_index = index
        weight = self.weight if index is None else self.weight[index]
        owned = (y >= self.start) & (y < self.stop)
        column = (y - self.start).clamp(0, self.local_classes - 1)
        if index is not None:
            column = torch.searchsorted(index, column).clamp_max(index.numel() - 1)
        target = torch.where(owned, column, torch.full_like(column, -1))
        if not margin.normalised:
            bias = self.bias if index is None else self.bias[index]
            out = F.linear(x, weight, bias)
            out = out.float() if out.dtype in (torch.float16, torch.bfloat16) else out
            norms = x.norm(dim=1, keepdim=True)
            if self.collect_stats:
                with torch.no_grad():
                    cos = F.linear(F.normalize(x), F.normalize(weight))
                    self.last_stats = self._stats(cos, self._target_cosine(cos, owned, column), target)
            return out, target, Batch(x, y, norms, weight), {}
        unit = F.normalize(weight, dim=1)
        cos = F.linear(F.normalize(x, dim=1), unit)
        if cos.dtype in (torch.float16, torch.bfloat16):
            cos = cos.float()
        cos = cos.clamp(-1.0 + margin.cos_clamp_eps, 1.0 - margin.cos_clamp_eps)
        norms = x.norm(dim=1, keepdim=True)
        if norms.dtype in (torch.float16, torch.bfloat16):
            norms = norms.float()
        cos_y = self._target_cosine(cos, owned, column)
        batch = Batch(x, y, norms, unit, centre_rows=lambda: self._centres(unit, owned, column))
        ctx = self._context(cos_y, batch, offset, embeddings.shape[0])
        if self.collect_stats:
            self.last_stats = self._stats(cos, cos_y, target)
        out = margin.nontarget_logit(cos, cos_y, ctx)
        kept = out.gather(1, column.view(-1, 1))
        # Only the owning process writes the target logit; the others keep their (unused) entry.
        placed = torch.where(owned.view(-1, 1), margin.target_logit(cos_y, ctx), kept)
        out = out.scatter(1, column.view(-1, 1), placed)
        scale = margin.scale(ctx)
        return out * scale, target, batch, ctx

    def _target_cosine(self, cos: Tensor, owned: Tensor, column: Tensor) -> Tensor:
        """cos(theta_y) (B_global, 1) on every process, from the process that owns each label."""
        picked = cos.gather(1, column.view(-1, 1))
        return all_reduce_sum(torch.where(owned.view(-1, 1), picked, torch.zeros_like(picked)), self.group)

    @torch.no_grad()
    def _centres(self, unit: Tensor, owned: Tensor, column: Tensor) -> Tensor:
        """Each sample's own unit class weight (B_global, D), gathered from its owning shard."""
        rows = unit.detach()[column]
        return all_reduce_sum(torch.where(owned.view(-1, 1), rows, torch.zeros_like(rows)), self.group)

    def _context(self, cos_y: Tensor, batch: Batch, offset: int, rows: int) -> dict[str, Any]:
        """The margin's per-batch context: over the global batch, or (``process_local_stats``) over
        this process's samples, then gathered (tensors with one row per sample)."""
        if not self.process_local_stats:
            return self.margin.batch_context(cos_y, batch)
        mine = slice(offset, offset + rows)
        local = Batch(
            batch.embeddings[mine],
            batch.labels[mine],
            batch.norms[mine],
            batch.unit_weight,
            centre_rows=lambda: batch.label_centres()[mine],
        )
        ctx = self.margin.batch_context(cos_y[mine], local)
        return {
            key: all_gather(value, self.group)[0] if isinstance(value, Tensor) and value.dim() else value
            for key, value in ctx.items()
        }

    @torch.no_grad()
    def _stats(self, cos: Tensor, cos_y: Tensor, target: Tensor) -> dict[str, float]:
        """``theta_y_mean`` and ``theta_nn_mean`` (rad) over the global batch and all scored classes."""
        hidden = cos.detach().clone()
        owned = (target >= 0).nonzero().view(-1)
        hidden[owned, target[owned]] = -2.0
        nearest = all_reduce_max(
            hidden.amax(dim=1) if hidden.shape[1] else hidden.new_full((cos.shape[0],), -2.0)
        )
        return {
            "theta_y_mean": float(cos_y.detach().clamp(-1, 1).acos().mean()),
            "theta_nn_mean": float(nearest.clamp(-1, 1).acos().mean())
            if self.num_classes > 1
            else float("nan"),
        }
