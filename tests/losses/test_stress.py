"""Stress: cosines at and next to +-1, theta_y + m > pi, s in {8, 64}, margins at the ends of their
legal ranges, fp32 and bf16/fp16 autocast on CPU: every loss value and gradient stays finite."""

from __future__ import annotations

import math

import pytest
import torch

from interface.losses import build_loss, list_losses

C = D = 5
TARGET_COS = [-1.0, -1.0 + 1e-7, 0.0, 1.0 - 1e-7, 1.0]

EDGE_PARAMS = {
    "arcface": [
        {"m": 0.0},
        {"m": 1.57, "fallback": False},
        {"m": 1.57},
        {"m": 0.5, "form": "arcface-torch"},
        {"m": 1.57, "form": "arcface-torch"},
    ],
    "cosface": [{"m": 0.0}, {"m": 0.99}],
    "combined": [
        {"m1": 4.0, "m2": 1.57, "m3": 0.99},
        {"m1": 1.0, "m2": 0.0, "m3": 0.0},
        {"form": "arcface-torch", "m2": 1.57, "m3": 0.0},
        {"form": "arcface-torch", "m2": 0.0, "m3": 0.99},
    ],
    "sphereface": [{"m": 1}, {"m": 2}, {"m": 3}, {"m": 4, "lambda_min": 0.0, "base": 1e-6}],
    "curricularface": [{"m": 0.0}, {"m": 1.57, "momentum": 1.0}],
    "magface": [{"l_m": 0.0, "u_m": 1.57}, {"l_a": 1.0, "u_a": 1.0001, "lambda_g": 0.0}],
    "adaface": [{"m": 0.0}, {"m": 0.99, "h": 1.0, "t_alpha": 1.0}],
    "elasticface": [{"m": 1.57, "sigma": 0.99, "plus": True}, {"form": "cos", "m": 0.99, "sigma": 0.5}],
    "interface": [
        {"variant": v, **extra}
        for v in ("cc", "dc", "dd")
        for extra in ({}, {"m": 1.57, "alpha": 1.0, "mid": 2.0}, {"m": 0.0, "alpha": 0.0, "mid": 0.0})
    ]
    + [{"fallback": True, "m": 1.0}, {"straight_through": True}],
}


def extreme_batch():
    """Embeddings whose cosines to axis-aligned class centres hit the listed extremes exactly."""
    rows, labels = [], []
    for i, c in enumerate(TARGET_COS):
        y, k = i % C, (i + 1) % C
        x = torch.zeros(D, dtype=torch.float64)
        x[y], x[k] = c, math.sqrt(max(0.0, 1 - c * c))
        rows.append(x)
        labels.append(y)
    for sign in (1.0, -1.0):  # a non-target at cos = +-1 (target cos 0)
        x = torch.zeros(D, dtype=torch.float64)
        x[2] = sign
        rows.append(x)
        labels.append(0)
    norms = torch.tensor([1e-3, 0.5, 5.0, 30.0, 200.0, 64.0, 1.0], dtype=torch.float64)[:, None]
    return (torch.stack(rows) * norms).float(), torch.tensor(labels)


def settings():
    for name in list_losses():
        for params in EDGE_PARAMS.get(name, [{}]):
            scales = (
                [8.0, 64.0]
                if "s" in build_loss(name, num_classes=2, embedding_size=2).default_params
                else [None]
            )
            for s in scales:
                yield pytest.param(name, {**params, "s": s}, id=f"{name}-{params}-s{s}")


@pytest.mark.parametrize(("name", "params"), list(settings()))
@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_extremes_stay_finite(name, params, precision):
    loss_fn = build_loss(name, num_classes=C, embedding_size=D, **params).train()
    with torch.no_grad():
        loss_fn.weight.copy_(torch.eye(C, D) * torch.tensor([[1.0], [0.01], [3.0], [0.5], [100.0]]))
    emb, labels = extreme_batch()
    emb.requires_grad_(True)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        loss = loss_fn(emb, labels)
    assert torch.isfinite(loss), loss
    loss.backward()
    assert torch.isfinite(emb.grad).all()
    assert torch.isfinite(loss_fn.weight.grad).all()
    with torch.no_grad(), torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        assert torch.isfinite(loss_fn.logits(emb, labels)).all()


def test_target_cosines_really_hit_the_extremes():
    emb, labels = extreme_batch()
    cos = torch.nn.functional.normalize(emb) @ torch.eye(C, D).T
    got = cos[torch.arange(5), labels[:5]].tolist()
    assert got[0] == -1.0 and got[2] == 0.0 and got[4] == 1.0
    assert -1.0 < got[1] < -0.99999 and 0.99999 < got[3] < 1.0
    assert cos[5, 2] == 1.0 and cos[6, 2] == -1.0
