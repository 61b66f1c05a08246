"""NormFace (Wang et al. 2017, arXiv 1704.06369): softmax on scaled cosines, no margin."""

from __future__ import annotations

from interface.losses.base import MarginLoss
from interface.losses.registry import register_loss


@register_loss("normface")
class NormFace(MarginLoss):
    """Logits ``s * cos(theta_j)`` for every class (features and weights L2-normalised).

    Parameters: ``s`` dimensionless scale, > 0 (64 in this harness).
    """

    default_params = {"s": 64.0}
    param_units = {"s": "dimensionless scale, > 0"}

    def __init__(self, num_classes: int, embedding_size: int, *, s: float = 64.0) -> None:
        super().__init__(num_classes, embedding_size)
        self.s = self.check_param("s", s, 0.0, low_open=True)
