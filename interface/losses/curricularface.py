"""CurricularFace (Huang et al. 2020, arXiv 2004.00288): adaptive weight on hard negatives."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from interface.losses.arcface import ARC_MARGIN, arc_target
from interface.losses.base import Batch, MarginLoss, cos_add
from interface.losses.params import SCALE, Param
from interface.losses.registry import register_loss


@register_loss("curricularface")
class CurricularFace(MarginLoss):
    """Target: ArcFace's ``s * cos(theta_y + m)`` with its fallback. Non-target: hard negatives
    (``cos(theta_j) > cos(theta_y + m)``) become ``s * cos(theta_j) * (t + cos(theta_j))``, the
    others stay ``s * cos(theta_j)``.

    ``t`` (buffer, starts at 0) follows the batch mean target cosine, without gradient, once per
    training forward and before it is used, as in the release:
    ``t <- momentum * mean(cos(theta_y)) + (1 - momentum) * t``.
    """

    PARAMS = (
        SCALE,
        ARC_MARGIN,
        Param(
            "momentum", 0.01, "EMA rate", "(0, 1]", float, "rate at which t follows the mean target cosine"
        ),
    )

    def __init__(self, num_classes: int, embedding_size: int, **params: Any) -> None:
        super().__init__(num_classes, embedding_size, **params)
        self.register_buffer("t", torch.zeros(()))

    def batch_context(self, cos_y: Tensor, batch: Batch) -> dict[str, Any]:
        if self.training:
            with torch.no_grad():
                self.t.mul_(1 - self.momentum).add_(self.momentum * cos_y.detach().mean().to(self.t.dtype))
        return {}

    def target_logit(self, cos_y: Tensor, ctx: dict[str, Any]) -> Tensor:
        return arc_target(cos_y, self.m, fallback=True)

    def nontarget_logit(self, cos: Tensor, cos_y: Tensor, ctx: dict[str, Any]) -> Tensor:
        # The hardness threshold is cos(theta_y + m) without fallback, detached (release: a mask).
        threshold = cos_add(cos_y.detach(), math.cos(self.m), math.sin(self.m))
        t = self.t.to(cos.dtype)
        return torch.where(cos > threshold, cos * (t + cos), cos)
