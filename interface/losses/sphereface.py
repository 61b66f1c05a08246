"""SphereFace / A-Softmax (Liu et al. 2017, arXiv 1704.08063): multiplicative angular margin."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from interface.losses.base import Batch, MarginLoss
from interface.losses.params import Param
from interface.losses.registry import register_loss


def cos_multiple(cos: Tensor, m: int) -> Tensor:
    """cos(m * theta) as the Chebyshev polynomial T_m(cos theta) (no arccos: finite gradient)."""
    prev, cur = torch.ones_like(cos), cos
    if m == 0:
        return prev
    for _ in range(m - 1):
        prev, cur = cur, 2 * cos * cur - prev
    return cur


@register_loss("sphereface")
class SphereFace(MarginLoss):
    """A-Softmax as the authors' release trains it (weights normalised, features not).

    Target logit ``|x| (lambda cos(theta_y) + psi(theta_y)) / (1 + lambda)`` with
    ``psi(theta) = (-1)^k cos(m theta) - 2k`` for ``theta in [k pi/m, (k+1) pi/m]``; non-target
    ``|x| cos(theta_j)``. The softmax-blending weight anneals with the training step:
    ``lambda = max(lambda_min, base * (1 + gamma * step)^(-power))``.

    The step counter is the buffer ``step`` (advanced once per training forward) so checkpoints
    resume the annealing. ``k`` is piecewise constant (no gradient).
    """

    PARAMS = (
        Param("m", 4, "", (1, 2, 3, 4), int, "integer angle multiplier"),
        Param("base", 1000.0, "dimensionless", "(0, inf)", float, "lambda at step 0"),
        Param("gamma", 0.12, "per step", "[0, inf)", float, "annealing rate of lambda"),
        Param("power", 1.0, "dimensionless", "[0, inf)", float, "annealing exponent of lambda"),
        Param("lambda_min", 5.0, "dimensionless", "[0, inf)", float, "floor of lambda"),
    )

    def __init__(self, num_classes: int, embedding_size: int, **params: Any) -> None:
        super().__init__(num_classes, embedding_size, **params)
        self.register_buffer("step", torch.zeros((), dtype=torch.int64))

    def current_lambda(self) -> float:
        """The blending weight lambda at the current step (dimensionless)."""
        return max(self.lambda_min, self.base * (1.0 + self.gamma * int(self.step)) ** (-self.power))

    def batch_context(self, cos_y: Tensor, batch: Batch) -> dict[str, Any]:
        ctx = {"lambda": self.current_lambda(), "norms": batch.norms}
        if self.training:
            self.step += 1
        return ctx

    def curve_context(self, cos_y: Tensor, feature_norm: float | None, phi: Tensor | None) -> dict[str, Any]:
        """Curves are drawn per unit feature norm (logit / |x|) at the current lambda."""
        return {"lambda": self.current_lambda(), "norms": 1.0}

    def target_logit(self, cos_y: Tensor, ctx: dict[str, Any]) -> Tensor:
        theta = cos_y.detach().clamp(-1, 1).acos()
        k = torch.floor(self.m * theta / math.pi).clamp(0, self.m - 1)
        sign = 1.0 - 2.0 * torch.remainder(k, 2)
        psi = sign * cos_multiple(cos_y, self.m) - 2.0 * k
        lam = ctx["lambda"]
        return (lam * cos_y + psi) / (1.0 + lam)

    def scale(self, ctx: dict[str, Any]) -> Tensor | float:
        return ctx["norms"]
