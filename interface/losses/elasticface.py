"""ElasticFace (Boutros et al. 2022, arXiv 2109.09416): per-sample random margins."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from interface.errors import InputError
from interface.losses.arcface import arc_target
from interface.losses.base import Batch, MarginLoss
from interface.losses.registry import register_loss


@register_loss("elasticface")
class ElasticFace(MarginLoss):
    """Each training step draws a margin ``m_i ~ N(m, sigma)`` per sample; target logit
    ``s * cos(theta_y + m_i)`` (form "arc", no fallback, as ElasticArcFace) or
    ``s * (cos(theta_y) - m_i)`` (form "cos"); non-target ``s * cos(theta_j)``. With ``plus`` the
    drawn margins are sorted against the target cosines (ElasticFace+; indexing as the release,
    see :meth:`draw`). In eval mode (and in the curves) the margin is its mean ``m``.

    Parameters: ``s`` dimensionless scale, > 0 (64); ``form`` "arc" | "cos"; ``m`` mean margin,
    radians (arc, [0, pi/2), default 0.5) or cosine units (cos, [0, 1), default 0.35);
    ``sigma`` standard deviation of the margin, same unit, [0, 1) (0.05); ``plus`` bool (False);
    ``seed`` integer >= 0 seeding the loss's own generator (0). The generator state is the buffer
    ``rng_state``, so a checkpoint resumes the same sequence of draws.
    """

    default_params = {"s": 64.0, "form": "arc", "m": None, "sigma": 0.05, "plus": False, "seed": 0}
    param_units = {
        "s": "dimensionless scale, > 0",
        "form": "'arc' or 'cos'",
        "m": "radians in [0, pi/2) (arc) or cosine units in [0, 1) (cos); None: 0.5 / 0.35",
        "sigma": "same unit as m, [0, 1)",
        "plus": "bool",
        "seed": "integer >= 0",
    }

    def __init__(
        self,
        num_classes: int,
        embedding_size: int,
        *,
        s: float = 64.0,
        form: str = "arc",
        m: float | None = None,
        sigma: float = 0.05,
        plus: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__(num_classes, embedding_size)
        self.s = self.check_param("s", s, 0.0, low_open=True)
        self.form = self.check_choice("form", form, ("arc", "cos"))
        high = math.pi / 2 if form == "arc" else 1.0
        self.m = self.check_param(
            "m", (0.5 if form == "arc" else 0.35) if m is None else m, 0.0, high, high_open=True
        )
        self.sigma = self.check_param("sigma", sigma, 0.0, 1.0, high_open=True)
        self.plus = self.check_choice("plus", plus, (True, False))
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise InputError(f"loss 'elasticface': seed={seed!r}; expected an integer >= 0")
        self.seed = seed
        generator = torch.Generator().manual_seed(seed)
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
