"""MagFace (Meng et al. 2021, arXiv 2103.06627): margin growing with the feature magnitude."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from interface.losses.arcface import arc_target
from interface.losses.base import Batch, MarginLoss
from interface.losses.params import SCALE, Param
from interface.losses.registry import register_loss


@register_loss("magface")
class MagFace(MarginLoss):
    """Target ``s * cos(theta_y + m(a))`` with ArcFace's fallback, non-target ``s * cos(theta_j)``,
    ``a = clamp(|x|, l_a, u_a)``, ``m(a) = (u_m - l_m) / (u_a - l_a) * (a - l_a) + l_m``; the loss
    adds ``lambda_g * mean(a / u_a^2 + 1 / a)``. As in the release, gradient flows through ``a``
    into both the margin and the regulariser.

    ``lambda_g`` is 35 in the original release (FaceX-Zoo uses 20).
    """

    PARAMS = (
        SCALE,
        Param("l_a", 10.0, "feature norm", "(0, inf)", float, "lower feature-norm bound, < u_a"),
        Param("u_a", 110.0, "feature norm", "(0, inf)", float, "upper feature-norm bound, > l_a"),
        Param("l_m", 0.45, "radians", "[0, pi/2)", float, "margin at a = l_a, <= u_m"),
        Param("u_m", 0.8, "radians", "[0, pi/2)", float, "margin at a = u_a, >= l_m"),
        Param("lambda_g", 35.0, "dimensionless", "[0, inf)", float, "weight of the regulariser g(a)"),
    )

    def __init__(self, num_classes: int, embedding_size: int, **params: Any) -> None:
        super().__init__(num_classes, embedding_size, **params)
        self.check_order("l_a", "u_a", strict=True)
        self.check_order("l_m", "u_m", strict=False)

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
