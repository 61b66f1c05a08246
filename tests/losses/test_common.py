"""Properties every registered loss must have (parametrised over list_losses())."""

from __future__ import annotations

import io
import math

import pytest
import torch

from interface.errors import InputError
from interface.losses import build_loss, list_losses

C, D, B = 7, 6, 10


def batch(seed: int = 0, dtype=torch.float32):
    # Offset: a generator seeded like the global RNG would draw embeddings equal to the weights.
    generator = torch.Generator().manual_seed(seed + 12345)
    # Norms ~20-40: inside MagFace's [l_a, u_a] and near AdaFace's running mean.
    emb = torch.randn(B, D, generator=generator, dtype=dtype)
    emb = emb * (20 + 20 * torch.rand(B, 1, generator=generator, dtype=dtype)) / emb.norm(dim=1, keepdim=True)
    labels = torch.randint(0, C, (B,), generator=generator)
    return emb.requires_grad_(True), labels


@pytest.mark.parametrize("name", list_losses())
def test_finite_loss_and_gradients_reach_weight_and_embeddings(name):
    loss_fn = build_loss(name, num_classes=C, embedding_size=D).train()
    emb, labels = batch()
    loss = loss_fn(emb, labels)
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(emb.grad).all() and emb.grad.abs().sum() > 0
    assert torch.isfinite(loss_fn.weight.grad).all() and loss_fn.weight.grad.abs().sum() > 0
    logits = loss_fn.logits(emb, labels)
    assert logits.shape == (B, C) and torch.isfinite(logits).all()


@pytest.mark.parametrize("name", list_losses())
def test_stats_only_when_asked(name):
    loss_fn = build_loss(name, num_classes=C, embedding_size=D)
    emb, labels = batch()
    loss_fn(emb, labels)
    assert loss_fn.last_stats == {}
    loss_fn.collect_stats = True
    loss_fn(emb, labels)
    stats = loss_fn.last_stats
    with torch.no_grad():
        cos = (
            torch.nn.functional.normalize(emb.double())
            @ torch.nn.functional.normalize(loss_fn.weight.double()).T
        )
        theta = cos.clamp(-1, 1).acos()
        theta_y = theta[torch.arange(B), labels]
        theta_nn = theta.scatter(1, labels[:, None], math.inf).amin(dim=1)
    assert stats["theta_y_mean"] == pytest.approx(float(theta_y.mean()), abs=1e-5)
    assert stats["theta_nn_mean"] == pytest.approx(float(theta_nn.mean()), abs=1e-5)
    assert all(isinstance(v, float) for v in stats.values())


def evolve(loss_fn, steps: int = 3):
    for seed in range(steps):
        emb, labels = batch(seed + 10)
        loss_fn(emb, labels)


@pytest.mark.parametrize("name", list_losses())
def test_state_dict_round_trip(name):
    torch.manual_seed(1)
    first = build_loss(name, num_classes=C, embedding_size=D).train()
    evolve(first)
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    torch.manual_seed(2)
    second = build_loss(name, num_classes=C, embedding_size=D).train()
    second.load_state_dict(torch.load(io.BytesIO(buffer.getvalue()), weights_only=True))
    emb, labels = batch(99)
    assert torch.equal(first(emb, labels), second(emb, labels))
    for (key, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items()):
        assert torch.equal(a, b), key


@pytest.mark.parametrize("name", list_losses())
def test_state_changes_in_training_only(name):
    loss_fn = build_loss(name, num_classes=C, embedding_size=D).eval()
    before = {k: v.clone() for k, v in loss_fn.state_dict().items()}
    evolve(loss_fn)
    assert all(torch.equal(before[k], v) for k, v in loss_fn.state_dict().items())
    emb, labels = batch(5)
    assert torch.equal(loss_fn(emb, labels), loss_fn(emb, labels))  # eval is deterministic


@pytest.mark.parametrize("name", list_losses())
def test_same_seed_same_result(name):
    results = []
    for _ in range(2):
        torch.manual_seed(7)
        loss_fn = build_loss(name, num_classes=C, embedding_size=D).train()
        emb, labels = batch(3)
        loss = loss_fn(emb, labels)
        loss.backward()
        results.append((loss.detach(), emb.grad, loss_fn.weight.grad))
    for a, b in zip(*results):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name", list_losses())
def test_float64_in_float64_out(name):
    loss_fn = build_loss(name, num_classes=C, embedding_size=D).double()
    emb, labels = batch(dtype=torch.float64)
    assert loss_fn.logits(emb, labels).dtype == torch.float64


@pytest.mark.parametrize("name", list_losses())
@pytest.mark.parametrize(
    ("emb", "labels", "needle"),
    [
        (torch.zeros(3, D + 1), torch.tensor([0, 1, 2]), f"width {D + 1}; expected embedding_size={D}"),
        (torch.zeros(D), torch.tensor([0]), "expected a float tensor"),
        (torch.zeros(3, D, dtype=torch.int64), torch.tensor([0, 1, 2]), "expected a float tensor"),
        (torch.zeros(3, D), torch.tensor([0, 1, C]), f"label {C} outside \\[0, {C}\\)"),
        (torch.zeros(3, D), torch.tensor([0, -1, 2]), "label -1 outside"),
        (torch.zeros(3, D), torch.tensor([0.0, 1.0, 2.0]), "labels .*; expected int64"),
        (torch.zeros(3, D), torch.tensor([0, 1]), "labels .*; expected int64 \\(3,\\)"),
    ],
)
def test_bad_input_is_one_line_input_error(name, emb, labels, needle):
    loss_fn = build_loss(name, num_classes=C, embedding_size=D)
    with pytest.raises(InputError, match=needle) as info:
        loss_fn(emb, labels)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", list_losses())
def test_geometry_hooks(name):
    loss_fn = build_loss(name, num_classes=C, embedding_size=D)
    theta = torch.linspace(0, math.pi, 13)
    target = loss_fn.target_curve(theta)
    assert target.shape == theta.shape and target.dtype == torch.float64 and torch.isfinite(target).all()
    grid_j, grid_y = torch.meshgrid(theta, theta[:5], indexing="ij")
    other = loss_fn.nontarget_curve(grid_j, grid_y, phi=torch.full_like(grid_j, 1.2))
    assert other.shape == grid_j.shape and torch.isfinite(other).all()
    assert torch.isfinite(loss_fn.target_curve(theta, feature_norm=30.0)).all()
    for key, unit in loss_fn.param_units.items():
        assert key in loss_fn.default_params and unit
