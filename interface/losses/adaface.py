"""AdaFace (Kim et al. 2022, arXiv 2204.00964): margin adapted to image quality (feature norm)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from interface.losses.base import Batch, MarginLoss, safe_acos
from interface.losses.params import SCALE, Param
from interface.losses.registry import register_loss


@register_loss("adaface")
class AdaFace(MarginLoss):
    """AdaFace as its release computes it, per batch:

    1. ``n = clamp(|x|, 0.001, 100)`` detached; 2. running ``mu, sigma`` (buffers ``batch_mean`` 20,
    ``batch_std`` 100) move towards the batch mean and (unbiased) std at rate ``t_alpha`` (training
    only, before use); 3. ``g = clamp(h (n - mu) / (sigma + eps), -1, 1)``;
    4. ``theta' = clamp(theta_y - m g, eps, pi - eps)``; 5. target ``cos(theta') - (m + m g)``.
    All cosines are first clamped to [-1 + eps, 1 - eps]; every logit is scaled by ``s``. The
    release also clamps non-target angles to [eps, pi - eps], a no-op after that cosine clamp
    (arccos(1 - eps) > eps for eps < 0.1), so non-targets are plain ``s * cos(theta_j)``.
    """

    PARAMS = (
        SCALE,
        Param("m", 0.4, "radians and cosine units", "[0, 1)", float, "margin (angular and additive parts)"),
        Param("h", 0.333, "dimensionless", "(0, 1]", float, "concentration of the norm scaler g"),
        Param("t_alpha", 0.01, "EMA rate", "(0, 1]", float, "rate of the running norm mean and std"),
        Param("eps", 1e-3, "dimensionless", "(0, 0.1)", float, "cosine and angle clamp"),
    )

    def __init__(self, num_classes: int, embedding_size: int, **params: Any) -> None:
        super().__init__(num_classes, embedding_size, **params)
        self.cos_clamp_eps = self.eps
        self.register_buffer("batch_mean", torch.full((), 20.0))
        self.register_buffer("batch_std", torch.full((), 100.0))

    def scaler(self, norms: Tensor) -> Tensor:
        """g = clamp(h (n - mu) / (sigma + eps), -1, 1) for clamped, detached norms ``n``."""
        mean, std = self.batch_mean.to(norms.dtype), self.batch_std.to(norms.dtype)
        return (self.h * (norms - mean) / (std + self.eps)).clamp(-1.0, 1.0)

    def batch_context(self, cos_y: Tensor, batch: Batch) -> dict[str, Any]:
        n = batch.norms.detach().clamp(0.001, 100.0)
        if self.training:
            with torch.no_grad():
                self.batch_mean.mul_(1 - self.t_alpha).add_(self.t_alpha * n.mean().to(self.batch_mean.dtype))
                if n.numel() > 1:  # the std of one sample is undefined; keep the running value
                    self.batch_std.mul_(1 - self.t_alpha).add_(
                        self.t_alpha * n.std().to(self.batch_std.dtype)
                    )
        return {"g": self.scaler(n)}

    def curve_context(self, cos_y: Tensor, feature_norm: float | None, phi: Tensor | None) -> dict[str, Any]:
        """``feature_norm`` None: the running mean norm (g = 0, margin m on the additive part only)."""
        n = self.batch_mean if feature_norm is None else torch.tensor(float(feature_norm)).clamp(0.001, 100.0)
        return {"g": torch.full_like(cos_y, float(self.scaler(n.to(torch.float64))))}

    def target_logit(self, cos_y: Tensor, ctx: dict[str, Any]) -> Tensor:
        g = ctx["g"].to(cos_y.dtype)
        theta = (safe_acos(cos_y) - self.m * g).clamp(self.eps, math.pi - self.eps)
        return theta.cos() - (self.m + self.m * g)
