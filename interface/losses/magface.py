"""MagFace (Meng et al. 2021, arXiv 2103.06627): margin growing with the feature magnitude."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from interface.losses.arcface import arc_target
from interface.losses.base import Batch, MarginLoss
from interface.losses.registry import register_loss


@register_loss("magface")
class MagFace(MarginLoss):
    """Target ``s * cos(theta_y + m(a))`` with ArcFace's fallback, non-target ``s * cos(theta_j)``,
    ``a = clamp(|x|, l_a, u_a)``, ``m(a) = (u_m - l_m) / (u_a - l_a) * (a - l_a) + l_m``; the loss
    adds ``lambda_g * mean(a / u_a^2 + 1 / a)``. As in the release, gradient flows through ``a``
    into both the margin and the regulariser.

    Parameters: ``s`` dimensionless scale, > 0 (64); ``l_a`` < ``u_a`` feature-norm bounds,
    > 0 (10, 110); ``l_m`` <= ``u_m`` margins in radians, [0, pi/2) (0.45, 0.8);
    ``lambda_g`` regulariser weight, >= 0 (35, the original release; FaceX-Zoo uses 20).
    """

    default_params = {"s": 64.0, "l_a": 10.0, "u_a": 110.0, "l_m": 0.45, "u_m": 0.8, "lambda_g": 35.0}
    param_units = {
        "s": "dimensionless scale, > 0",
        "l_a": "feature norm, > 0, < u_a",
        "u_a": "feature norm, > l_a",
        "l_m": "radians, [0, pi/2), <= u_m",
        "u_m": "radians, [0, pi/2), >= l_m",
        "lambda_g": "dimensionless weight, >= 0",
    }

    def __init__(
        self,
        num_classes: int,
        embedding_size: int,
        *,
        s: float = 64.0,
        l_a: float = 10.0,
        u_a: float = 110.0,
        l_m: float = 0.45,
        u_m: float = 0.8,
        lambda_g: float = 35.0,
    ) -> None:
        super().__init__(num_classes, embedding_size)
        self.s = self.check_param("s", s, 0.0, low_open=True)
        self.l_a = self.check_param("l_a", l_a, 0.0, low_open=True)
        self.u_a = self.check_param("u_a", u_a, self.l_a, low_open=True)
        self.l_m = self.check_param("l_m", l_m, 0.0, math.pi / 2, high_open=True)
        self.u_m = self.check_param("u_m", u_m, self.l_m, math.pi / 2, high_open=True)
        self.lambda_g = self.check_param("lambda_g", lambda_g, 0.0)

    def margin(self, a: Tensor) -> Tensor:
        """m(a) in radians for clamped feature norms ``a``."""
        return (self.u_m - self.l_m) / (self.u_a - self.l_a) * (a - self.l_a) + self.l_m

    def batch_context(self, cos_y: Tensor, batch: Batch) -> dict[str, Any]:
        return {"a": batch.norms.clamp(self.l_a, self.u_a)}

    def curve_context(self, cos_y: Tensor, feature_norm: float | None, phi: Tensor | None) -> dict[str, Any]:
        """``feature_norm`` None: a = u_a (a well-trained, high-quality sample; margin u_m)."""
        a = self.u_a if feature_norm is None else min(max(float(feature_norm), self.l_a), self.u_a)
        return {"a": torch.full_like(cos_y, a)}

    def target_logit(self, cos_y: Tensor, ctx: dict[str, Any]) -> Tensor:
        return arc_target(cos_y, self.margin(ctx["a"]).to(cos_y.dtype), fallback=True)

    def regulariser(self, batch: Batch, ctx: dict[str, Any]) -> Tensor:
        a = ctx["a"]
        return self.lambda_g * (a / self.u_a**2 + 1.0 / a).mean()
