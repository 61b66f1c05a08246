"""The shared machinery of every margin loss: class weights, cosines, target gather, cross-entropy.

A loss subclasses :class:`MarginLoss` and overrides small hooks, all in cosine space (before the
scale ``s``):

* ``batch_context(cos_y, batch)``: per-batch values the margins need (e.g. a drawn margin, m-hat);
  state updates (CurricularFace's t, AdaFace's running norms, ...) happen here in training mode;
* ``curve_context(cos_y, feature_norm, phi)``: the same values for given angles, no data, no update;
* ``target_logit(cos_y, ctx)`` -> (B, 1) and ``nontarget_logit(cos, cos_y, ctx)`` -> (B, C);
* ``scale(ctx)`` (default ``s``) and ``regulariser(batch, ctx)`` (default 0).

``target_curve``/``nontarget_curve`` evaluate the very hooks that train on given angles, so the
report's geometry figures come from the training code, never from a second copy of a formula.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from interface.errors import InputError
from interface.losses.params import Param, param_lines

#: floor of sin(theta) in the derivatives only (d sin / d cos = -cos / sin): finite at |cos| = 1,
#: forward values stay exact. float32 cosines cannot resolve sin(theta) below ~3.5e-4 anyway;
#: 1e-3 (theta within 0.06 degrees of a pole) keeps s / sin inside float16's range under autocast.
SIN_FLOOR = 1e-3

#: set while a margin is built for a classifier head that owns the class weights itself.
_MARGIN_ONLY: contextvars.ContextVar[bool] = contextvars.ContextVar("margin_only", default=False)


@contextlib.contextmanager
def margin_only() -> Iterator[None]:
    """Build losses inside this block without class parameters (``weight``, softmax's ``bias``):
    the margin hooks and buffers only, for a head that holds (a shard of) the class weights."""
    token = _MARGIN_ONLY.set(True)
    try:
        yield
    finally:
        _MARGIN_ONLY.reset(token)


@dataclass
class Batch:
    """What the hooks may read about the current batch.

    In a model-parallel head the batch is the global one and ``unit_weight`` holds only the
    classes this process scores (its columns of the cosine matrix).
    """

    embeddings: Tensor  # (B, D) raw embeddings, with gradient
    labels: Tensor  # (B,) int64 class indices in [0, C)
    norms: Tensor  # (B, 1) feature norms |x| (float32/64), with gradient
    unit_weight: Tensor  # (C, D) row-normalised class weights, with gradient (softmax: raw weights)
    #: returns each sample's own unit class weight (B, D), detached; None: rows of ``unit_weight``.
    centre_rows: Callable[[], Tensor] | None = None

    def label_centres(self) -> Tensor:
        """The row-normalised weight of each sample's own class, (B, D), detached."""
        if self.centre_rows is None:
            return self.unit_weight.detach()[self.labels]
        return self.centre_rows()


def sin_from_cos(cos: Tensor) -> Tensor:
    """sin(theta) for theta = arccos(cos) in [0, pi]: exact value, gradient -cos / max(sin, SIN_FLOOR)."""
    value = (1.0 - cos.detach() * cos.detach()).clamp_min(0.0).sqrt()
    slope = -cos.detach() / value.clamp_min(SIN_FLOOR)
    return value + (cos - cos.detach()) * slope


def cos_add(cos: Tensor, cos_m: Tensor | float, sin_m: Tensor | float) -> Tensor:
    """cos(theta + m) = cos(theta)cos(m) - sin(theta)sin(m), no arccos (finite gradient at |cos| = 1)."""
    return cos * cos_m - sin_from_cos(cos) * sin_m


_ONE = torch.ones(())


class _ShiftedCosine(torch.autograd.Function):
    """cos(theta - m) = cos(theta) cos(m) + sin(theta) sin(m) over a (B, C) cosine matrix.

    In-place passes on two fresh buffers forward and one backward: on CPU, fresh B x C
    temporaries cost more than the arithmetic. Saves cos/sin(theta) (sin floored at SIN_FLOOR)
    for the slope ``cos(m) - sin(m) cos(theta) / sin(theta)``, finite at |cos| = 1.
    ``cos_m``/``sin_m`` carry no gradient.
    """

    @staticmethod
    def forward(ctx: Any, cos: Tensor, cos_m: Tensor, sin_m: Tensor) -> Tensor:
        # sin(theta) = sqrt(1 - cos^2); cos is clamped to [-1, 1], so 1 - cos^2 >= 0 exactly.
        ratio = torch.addcmul(_ONE.to(cos.dtype), cos, cos, value=-1.0).sqrt_()
        out = torch.mul(ratio, sin_m).addcmul_(cos, cos_m)
        torch.div(cos, ratio.clamp_min_(SIN_FLOOR), out=ratio)  # cot(theta)
        ctx.save_for_backward(ratio, cos_m, sin_m)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
        ratio, cos_m, sin_m = ctx.saved_tensors
        slope = torch.addcmul(cos_m, ratio, sin_m, value=-1.0)
        return slope.mul_(grad), None, None


def cos_sub(cos: Tensor, cos_m: Tensor, sin_m: Tensor) -> Tensor:
    """cos(theta - m) for a cosine matrix (B, C) and detached ``cos(m)``, ``sin(m)`` broadcasting
    to it, without arccos (finite gradient at |cos| = 1)."""
    return _ShiftedCosine.apply(cos, cos_m.detach(), sin_m.detach())


def safe_acos(cos: Tensor) -> Tensor:
    """arccos(cos) with the exact value and the gradient -1 / max(sin(theta), SIN_FLOOR).

    torch's own arccos has an infinite derivative at |cos| = 1; this one stays finite there.
    """
    slope = -1.0 / (1.0 - cos.detach() * cos.detach()).clamp_min(0.0).sqrt().clamp_min(SIN_FLOOR)
    return cos.detach().acos() + (cos - cos.detach()) * slope


def as_angle_tensor(value: Any) -> Tensor:
    """Angles (rad) as a float64 tensor for the geometry hooks."""
    return torch.as_tensor(value, dtype=torch.float64)


class MarginLoss(nn.Module):
    """Base of every loss: owns ``weight`` (C, D), returns mean cross-entropy on the scaled logits.

    Subclasses declare their parameters once, ``PARAMS = (Param(...), ...)``
    (:mod:`interface.losses.params`): the constructor accepts exactly those keywords, validates
    each value, and sets it as an attribute of the same name (``None`` takes the default). The
    class then carries ``default_params`` (name -> default) and ``param_units`` (name -> unit and
    legal range), both derived; a loss that resolves a ``None`` default or checks a relation
    between parameters does so after ``super().__init__`` (:meth:`check_order`).
    ``collect_stats`` (default False) makes every forward fill
    ``last_stats`` (float values, detached): ``theta_y_mean`` (rad, mean angle to the own class
    centre) and ``theta_nn_mean`` (rad, mean angle to the nearest other class centre).
    """

    registry_name: ClassVar[str] = ""
    #: the loss's parameters, each declared once (name, default, unit, legal values, type, meaning).
    PARAMS: ClassVar[tuple[Param, ...]] = ()
    #: derived from PARAMS by __init_subclass__: name -> default, name -> unit and legal values.
    default_params: ClassVar[dict[str, Any]] = {}
    param_units: ClassVar[dict[str, str]] = {}
    #: cosines are clamped to [-1 + cos_clamp_eps, 1 - cos_clamp_eps] (0: to [-1, 1]).
    cos_clamp_eps: float = 0.0
    #: False: logits are ``W x + b`` on raw features and weights (softmax), no margin hooks.
    normalised: ClassVar[bool] = True
    #: True where a model-parallel head computes this loss exactly: through the hooks alone
    #: (checked by :func:`model_parallel_support`), or declared by a loss the head knows (softmax).
    model_parallel: ClassVar[bool | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Derive ``default_params``, ``param_units`` and the docstring's parameter list from PARAMS."""
        super().__init_subclass__(**kwargs)
        for derived in ("default_params", "param_units"):
            if derived in cls.__dict__:
                raise TypeError(f"{cls.__qualname__}: declare the parameters in PARAMS, not {derived}")
        names = [p.name for p in cls.PARAMS]
        clashes = [n for n in names if names.count(n) > 1 or hasattr(MarginLoss, n)]
        if clashes:
            raise TypeError(
                f"{cls.__qualname__}: parameter {clashes[0]!r} is declared twice or shadows MarginLoss"
            )
        cls.default_params = {p.name: p.default for p in cls.PARAMS}
        cls.param_units = {p.name: p.units for p in cls.PARAMS}
        if cls.PARAMS and "PARAMS" in cls.__dict__ and cls.__doc__:
            lines = "".join(f"\n    - {line}" for line in param_lines(cls.PARAMS))
            cls.__doc__ = f"{cls.__doc__.rstrip()}\n\n    Parameters (from PARAMS):\n{lines}\n"

    def __init__(self, num_classes: int, embedding_size: int, **params: Any) -> None:
        super().__init__()
        unknown = sorted(set(params) - set(self.default_params))
        if unknown:
            accepted = ", ".join(sorted(self.default_params)) or "none"
            raise InputError(
                f"loss {self.registry_name!r}: unknown parameter(s) {', '.join(unknown)}; accepted: {accepted}"
            )
        for param in self.PARAMS:
            value = params.get(param.name)
            setattr(
                self, param.name, param.check(self.registry_name, param.default if value is None else value)
            )
        self.num_classes = int(num_classes)
        self.embedding_size = int(embedding_size)
        if not _MARGIN_ONLY.get():
            for name, value in self.class_parameters(self.num_classes).items():
                setattr(self, name, nn.Parameter(value))
        self.collect_stats = False
        self.last_stats: dict[str, float] = {}

    def class_parameters(self, rows: int) -> dict[str, Tensor]:
        """Fresh per-class parameters for ``rows`` classes (first dimension ``rows``).

        ``weight``: insightface's PartialFC initialisation, N(0, 0.01^2), (rows, D).
        """
        return {"weight": torch.normal(0.0, 0.01, (rows, self.embedding_size))}

    # ---------------------------------------------------------------- parameters
    def check_order(self, low: str, high: str, *, strict: bool) -> None:
        """Raise :class:`InputError` unless parameter ``low`` < (``strict``) or <= parameter ``high``."""
        low_value, high_value = getattr(self, low), getattr(self, high)
        if high_value < low_value or (strict and high_value == low_value):
            relation = ">" if strict else ">="
            raise InputError(
                f"loss {self.registry_name!r}: {high}={high_value!r}; expected {relation} {low}={low_value!r}"
            )

    def check_choice(self, name: str, value: Any, choices: tuple[Any, ...]) -> Any:
        """Return ``value`` if it is one of ``choices``, else raise :class:`InputError`."""
        if isinstance(value, bool) != isinstance(choices[0], bool) or value not in choices:
            raise InputError(
                f"loss {self.registry_name!r}: {name}={value!r}; expected one of {', '.join(map(repr, choices))}"
            )
        return value

    def extra_repr(self) -> str:
        params = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.default_params if hasattr(self, k))
        return f"num_classes={self.num_classes}, embedding_size={self.embedding_size}, {params}"

    # ---------------------------------------------------------------- hooks
    def batch_context(self, cos_y: Tensor, batch: Batch) -> dict[str, Any]:
        """Per-batch values for the margin hooks; state updates happen here when training."""
        return {}

    def curve_context(self, cos_y: Tensor, feature_norm: float | None, phi: Tensor | None) -> dict[str, Any]:
        """The values of :meth:`batch_context` for given angles (no data, no state update)."""
        return {}

    def target_logit(self, cos_y: Tensor, ctx: dict[str, Any]) -> Tensor:
        """Target logit / scale, (B, 1), from the target cosine (B, 1). Default: no margin."""
        return cos_y

    def nontarget_logit(self, cos: Tensor, cos_y: Tensor, ctx: dict[str, Any]) -> Tensor:
        """Non-target logits / scale, (B, C) (the target column is overwritten). Default: cos."""
        return cos

    def scale(self, ctx: dict[str, Any]) -> Tensor | float:
        """Logit scale: a number, or (B, 1) per sample."""
        return self.s

    def regulariser(self, batch: Batch, ctx: dict[str, Any]) -> Tensor | float:
        """Term added to the mean cross-entropy (e.g. MagFace's g(a))."""
        return 0.0

    def extra_stats(self, ctx: dict[str, Any]) -> dict[str, float]:
        """Loss-specific entries of ``last_stats``."""
        return {}

    # ---------------------------------------------------------------- machinery
    def check_inputs(self, embeddings: Tensor, labels: Tensor) -> None:
        """Raise :class:`InputError` unless embeddings are (B, D) floats and labels (B,) ints in [0, C)."""
        if not isinstance(embeddings, Tensor) or embeddings.dim() != 2 or not embeddings.is_floating_point():
            got = tuple(embeddings.shape) if isinstance(embeddings, Tensor) else type(embeddings).__name__
            raise InputError(f"embeddings {got}; expected a float tensor (B, {self.embedding_size})")
        if embeddings.shape[1] != self.embedding_size:
            raise InputError(
                f"embeddings of width {embeddings.shape[1]}; expected embedding_size={self.embedding_size}"
            )
        if (
            not isinstance(labels, Tensor)
            or labels.dim() != 1
            or labels.dtype not in (torch.int64, torch.int32)
            or labels.shape[0] != embeddings.shape[0]
        ):
            got = (
                f"{tuple(labels.shape)} {labels.dtype}"
                if isinstance(labels, Tensor)
                else type(labels).__name__
            )
            raise InputError(f"labels {got}; expected int64 ({embeddings.shape[0]},)")
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= self.num_classes):
            bad = int(labels.min()) if int(labels.min()) < 0 else int(labels.max())
            raise InputError(f"label {bad} outside [0, {self.num_classes}) (num_classes={self.num_classes})")

    def cosine(self, embeddings: Tensor, labels: Tensor) -> tuple[Tensor, Batch]:
        """Clamped cosine matrix (B, C) in float32 (float64 for float64 inputs) and the batch record."""
        unit_weight = F.normalize(self.weight, dim=1)
        cos = F.linear(F.normalize(embeddings, dim=1), unit_weight)
        if cos.dtype in (torch.float16, torch.bfloat16):
            cos = cos.float()
        eps = self.cos_clamp_eps
        cos = cos.clamp(-1.0 + eps, 1.0 - eps)
        norms = embeddings.norm(dim=1, keepdim=True)
        if norms.dtype in (torch.float16, torch.bfloat16):
            norms = norms.float()
        return cos, Batch(embeddings, labels.long(), norms, unit_weight)

    def logits(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        """Scaled logits (B, C) that feed cross-entropy."""
        return self._logits(embeddings, labels)[0]

    def _logits(self, embeddings: Tensor, labels: Tensor) -> tuple[Tensor, Batch, dict[str, Any]]:
        self.check_inputs(embeddings, labels)
        cos, batch = self.cosine(embeddings, labels)
        index = batch.labels.view(-1, 1)
        cos_y = cos.gather(1, index)
        ctx = self.batch_context(cos_y, batch)
        if self.collect_stats:
            self.last_stats = self.stats(cos, cos_y, batch.labels, ctx)
        out = self.nontarget_logit(cos, cos_y, ctx)
        target = self.target_logit(cos_y, ctx)
        # A fresh non-target matrix takes the target column in place (one B x C buffer less);
        # the cosine matrix itself is shared with the statistics, so it is copied.
        out = out.scatter(1, index, target) if out is cos else out.scatter_(1, index, target)
        scale = self.scale(ctx)
        # In place when the scale needs no gradient: one B x C buffer less.
        out = out * scale if isinstance(scale, Tensor) and scale.requires_grad else out.mul_(scale)
        return out, batch, ctx

    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        """Mean softmax cross-entropy of the scaled logits plus the loss's regulariser (scalar)."""
        logits, batch, ctx = self._logits(embeddings, labels)
        return F.cross_entropy(logits, batch.labels) + self.regulariser(batch, ctx)

    @torch.no_grad()
    def stats(self, cos: Tensor, cos_y: Tensor, labels: Tensor, ctx: dict[str, Any]) -> dict[str, float]:
        """``theta_y_mean`` and ``theta_nn_mean`` (rad) plus :meth:`extra_stats`; one B x C pass."""
        nearest = cos.detach().scatter(1, labels.view(-1, 1), -2.0).amax(dim=1)
        stats = {
            "theta_y_mean": float(cos_y.detach().clamp(-1, 1).acos().mean()),
            "theta_nn_mean": float(nearest.clamp(-1, 1).acos().mean()) if cos.shape[1] > 1 else float("nan"),
        }
        stats.update(self.extra_stats(ctx))
        return stats

    # ---------------------------------------------------------------- geometry
    @torch.no_grad()
    def target_curve(self, theta_y: Tensor, feature_norm: float | None = None) -> Tensor:
        """Target logit / s (cosine space) at target angles ``theta_y`` (rad, [0, pi]), float64.

        ``feature_norm`` (|x|) matters for norm-aware losses (MagFace, AdaFace, SphereFace); None
        takes the loss's documented typical value.
        """
        theta_y = as_angle_tensor(theta_y)
        cos_y = theta_y.cos().reshape(-1, 1)
        ctx = self.curve_context(cos_y, feature_norm, None)
        return self.target_logit(cos_y, ctx).to(torch.float64).reshape(theta_y.shape)

    @torch.no_grad()
    def nontarget_curve(self, theta_j: Tensor, theta_y: Tensor, phi: Tensor | None = None) -> Tensor:
        """Non-target logit / s (cosine space) for a class at angle ``theta_j`` (rad).

        The sample lies at angle ``theta_y`` (rad) from its own centre, which is at angle ``phi``
        (rad, (0, pi]) from class j's centre (None: pi/2, orthogonal centres). Inputs broadcast.
        """
        args = [as_angle_tensor(theta_j), as_angle_tensor(theta_y)]
        if phi is not None:
            args.append(as_angle_tensor(phi))
        shaped = torch.broadcast_tensors(*args)
        flat = [t.reshape(-1, 1) for t in shaped]
        cos_y = flat[1].cos()
        ctx = self.curve_context(cos_y, None, flat[2] if phi is not None else None)
        return self.nontarget_logit(flat[0].cos(), cos_y, ctx).to(torch.float64).reshape(shaped[0].shape)


#: machinery a model-parallel head replaces with its own (sharded) version.
_MACHINERY = ("forward", "logits", "_logits", "cosine", "stats")


def model_parallel_support(cls: type) -> str | None:
    """None if a model-parallel head computes loss class ``cls`` exactly, else the reason: a loss that
    replaces the base machinery (forward, logits, cosine, ...) rather than overriding hooks only."""
    if cls.model_parallel is not None:
        return None if cls.model_parallel else "it declares model_parallel = False"
    replaced = [name for name in _MACHINERY if getattr(cls, name) is not getattr(MarginLoss, name)]
    return f"it overrides MarginLoss.{replaced[0]}, which a sharded head replaces" if replaced else None
