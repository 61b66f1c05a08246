"""Plain softmax classifier: a linear layer with bias, no normalisation, no margin."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from interface.losses.base import Batch, MarginLoss
from interface.losses.registry import register_loss


@register_loss("softmax")
class Softmax(MarginLoss):
    """Logits ``W_j . x + b_j`` (unnormalised). No parameters.

    The geometry hooks give the logit of unit-norm features and weights with zero bias, i.e.
    ``cos(theta)``: softmax has no margin.
    """

    normalised = False
    model_parallel = True  # the sharded head computes W x + b itself (MarginLoss.normalised False)

    def class_parameters(self, rows: int) -> dict[str, Tensor]:
        """``weight`` N(0, 0.01^2) (rows, D) and ``bias`` zeros (rows,)."""
        return {**super().class_parameters(rows), "bias": torch.zeros(rows)}

    def scale(self, ctx: dict[str, Any]) -> float:
        return 1.0

    def _logits(self, embeddings: Tensor, labels: Tensor) -> tuple[Tensor, Batch, dict[str, Any]]:
        self.check_inputs(embeddings, labels)
        out = F.linear(embeddings, self.weight, self.bias)
        if out.dtype in (torch.float16, torch.bfloat16):
            out = out.float()
        labels = labels.long()
        if self.collect_stats:
            with torch.no_grad():
                cos, _ = self.cosine(embeddings, labels)
                self.last_stats = self.stats(cos, cos.gather(1, labels.view(-1, 1)), labels, {})
        norms = embeddings.norm(dim=1, keepdim=True)
        return out, Batch(embeddings, labels, norms, self.weight), {}
