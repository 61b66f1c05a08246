"""Combined margin of the ArcFace paper (Deng et al. 2019, arXiv 1801.07698, Sec. 3)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from interface.losses.base import MarginLoss, safe_acos
from interface.losses.registry import register_loss


@register_loss("combined")
class Combined(MarginLoss):
    """Target logit ``s * (cos(m1 * theta_y + m2) - m3)``, non-target ``s * cos(theta_j)``.

    Parameters: ``s`` dimensionless scale, > 0 (64); ``m1`` multiplicative angular margin,
    dimensionless, [1, 4] (1.0); ``m2`` additive angular margin, radians, [0, pi/2) (0.3);
    ``m3`` additive cosine margin, cosine units, [0, 1) (0.2).
    ``m1 * theta_y`` needs the angle itself: :func:`safe_acos` keeps its gradient finite at |cos| = 1.
    """

    default_params = {"s": 64.0, "m1": 1.0, "m2": 0.3, "m3": 0.2}
    param_units = {
        "s": "dimensionless scale, > 0",
        "m1": "dimensionless angle multiplier, [1, 4]",
        "m2": "radians, [0, pi/2)",
        "m3": "cosine units, [0, 1)",
    }

    def __init__(
        self,
        num_classes: int,
        embedding_size: int,
        *,
        s: float = 64.0,
        m1: float = 1.0,
        m2: float = 0.3,
        m3: float = 0.2,
    ) -> None:
        super().__init__(num_classes, embedding_size)
        self.s = self.check_param("s", s, 0.0, low_open=True)
        self.m1 = self.check_param("m1", m1, 1.0, 4.0)
        self.m2 = self.check_param("m2", m2, 0.0, math.pi / 2, high_open=True)
        self.m3 = self.check_param("m3", m3, 0.0, 1.0, high_open=True)

    def target_logit(self, cos_y: Tensor, ctx: dict[str, Any]) -> Tensor:
        return torch.cos(self.m1 * safe_acos(cos_y) + self.m2) - self.m3
