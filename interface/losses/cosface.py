"""CosFace / AM-Softmax (Wang et al. 2018, arXiv 1801.09414): additive cosine margin."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from interface.losses.base import MarginLoss
from interface.losses.registry import register_loss


@register_loss("cosface")
class CosFace(MarginLoss):
    """Target logit ``s * (cos(theta_y) - m)``, non-target ``s * cos(theta_j)``.

    Parameters: ``s`` dimensionless scale, > 0 (64); ``m`` margin in cosine units, [0, 1)
    (0.35 in the paper; insightface uses 0.4; default 0.35).
    """

    default_params = {"s": 64.0, "m": 0.35}
    param_units = {"s": "dimensionless scale, > 0", "m": "cosine units, [0, 1)"}

    def __init__(self, num_classes: int, embedding_size: int, *, s: float = 64.0, m: float = 0.35) -> None:
        super().__init__(num_classes, embedding_size)
        self.s = self.check_param("s", s, 0.0, low_open=True)
        self.m = self.check_param("m", m, 0.0, 1.0, high_open=True)

    def target_logit(self, cos_y: Tensor, ctx: dict[str, Any]) -> Tensor:
        return cos_y - self.m
