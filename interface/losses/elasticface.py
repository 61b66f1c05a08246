"""ElasticFace (Boutros et al. 2022, arXiv 2109.09416): per-sample random margins."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from interface.errors import InputError
from interface.losses.arcface import arc_target
from interface.losses.base import Batch, MarginLoss
from interface.losses.params import SCALE, Param
from interface.losses.registry import register_loss


@register_loss("elasticface")
class ElasticFace(MarginLoss):
    """Each training step draws a margin ``m_i ~ N(m, sigma)`` per sample; target logit
    ``s * cos(theta_y + m_i)`` (form "arc", no fallback, as ElasticArcFace) or
    ``s * (cos(theta_y) - m_i)`` (form "cos"); non-target ``s * cos(theta_j)``. With ``plus`` the
    drawn margins are sorted against the target cosines (ElasticFace+; indexing as the release,
    see :meth:`draw`). In eval mode (and in the curves) the margin is its mean ``m``.

    ``m`` None is 0.5 (arc) or 0.35 (cos). The generator state is the buffer ``rng_state``, so a
    checkpoint resumes the same draws.
    """

    PARAMS = (
        SCALE,
        Param("form", "arc", "", ("arc", "cos"), str, "angular (arc) or cosine (cos) margin"),
        Param(
            "m",
            None,
            "radians (arc) or cosine units (cos, < 1)",
            "[0, pi/2)",
            float,
            "mean margin; None: form's",
        ),
        Param("sigma", 0.05, "same unit as m", "[0, 1)", float, "standard deviation of the margin"),
        Param("plus", False, "", (True, False), bool, "ElasticFace+: margins sorted by target cosine"),
        Param("seed", 0, "", "[0, inf)", int, "seed of the loss's own generator"),
    )

    def __init__(self, num_classes: int, embedding_size: int, **params: Any) -> None:
        super().__init__(num_classes, embedding_size, **params)
        if self.m is None:
            self.m = 0.5 if self.form == "arc" else 0.35
        elif self.form == "cos" and self.m >= 1.0:
            raise InputError(f"loss {self.registry_name!r}: m={self.m!r}; expected [0, 1) with form='cos'")
        generator = torch.Generator().manual_seed(self.seed)
        self.register_buffer("rng_state", generator.get_state())

    def draw(self, cos_y: Tensor) -> Tensor:
        """Per-sample margins (B, 1) from the buffered generator state; advances the state."""
        generator = torch.Generator()
        generator.set_state(self.rng_state.cpu())
        margins = self.m + self.sigma * torch.randn(cos_y.shape, generator=generator, dtype=torch.float64)
        self.rng_state.copy_(generator.get_state())
        if self.plus:
            # The release's indexing, kept verbatim: row i takes the ascending-sorted margins at
            # position order[i] (order = samples by descending target cosine), i.e. it applies the
            # permutation rather than its inverse; the paper's wording implies the inverse.
            order = torch.argsort(cos_y.detach().view(-1).cpu(), descending=True, stable=True)
            margins = margins.view(-1).sort().values[order].view_as(margins)
        return margins.to(cos_y.device, cos_y.dtype)

    def batch_context(self, cos_y: Tensor, batch: Batch) -> dict[str, Any]:
        return {"m": self.draw(cos_y) if self.training else self.m}

    def curve_context(self, cos_y: Tensor, feature_norm: float | None, phi: Tensor | None) -> dict[str, Any]:
        return {"m": self.m}

    def target_logit(self, cos_y: Tensor, ctx: dict[str, Any]) -> Tensor:
        if self.form == "cos":
            return cos_y - ctx["m"]
        return arc_target(cos_y, ctx["m"], fallback=False)
