"""InterFace against the transliteration of the official release, variant by variant, and the
properties the reference doc derives (alpha = 0 is ArcFace, sign switch of m-hat, sample values)."""

from __future__ import annotations

import math

import pytest
import torch

from interface.losses import build_loss
from interface.losses.base import cos_sub
from interface.losses.official import official_logits, official_loss
from tests.losses import references as ref

C, D, B = 40, 8, 16


def inputs(seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed + 31)
    emb = (torch.randn(B, D, generator=g, dtype=dtype) * 5).requires_grad_(True)
    weight = (torch.randn(C, D, generator=g, dtype=dtype) * 0.01).requires_grad_(True)
    labels = torch.randint(0, C, (B,), generator=g)
    return emb, weight, labels


PARAMS = [
    {},
    {"s": 8.0, "m": 0.2, "alpha": 0.5},
    {"m": 1.2, "alpha": 1.0, "mid": 1.5},
    {"s": 30.0, "m": 0.0, "alpha": 0.05, "mid": 0.0},
]


@pytest.mark.parametrize("variant", ["cc", "dc", "dd"])
@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize("seed", [0, 1])
def test_equals_official_release(variant, params, seed):
    emb, weight, labels = inputs(seed)
    loss_fn = build_loss("interface", num_classes=C, embedding_size=D, variant=variant, **params).double()
    loss_fn.weight.data = weight.detach().clone()
    expected = official_logits(emb, weight, labels, variant=variant, **params)
    torch.testing.assert_close(loss_fn.logits(emb, labels), expected, atol=1e-11, rtol=1e-11)
    loss_off = official_loss(emb, weight, labels, variant=variant, **params)
    grads_off = torch.autograd.grad(loss_off, (emb, weight))
    emb_a = emb.detach().clone().requires_grad_(True)
    loss = loss_fn(emb_a, labels)
    loss.backward()
    per_row = cross_entropy_rows(expected.detach(), labels)
    torch.testing.assert_close(loss, per_row.mean(), atol=1e-12, rtol=1e-12)  # ours: the exact CE
    torch.testing.assert_close(loss_off, per_row.clamp_max(CAP).mean(), atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(emb_a.grad, grads_off[0], atol=1e-12, rtol=1e-9)
    torch.testing.assert_close(loss_fn.weight.grad, grads_off[1], atol=1e-12, rtol=1e-9)


#: the release's DistCrossEntropy floors p_y at 1e-30: no sample's loss exceeds -log(1e-30).
CAP = 30 * math.log(10)


def cross_entropy_rows(logits, labels):
    """Each row's cross-entropy, logsumexp(z) - z_y, in float64."""
    return torch.logsumexp(logits, dim=1) - logits.gather(1, labels.view(-1, 1)).view(-1)


@pytest.mark.parametrize("variant", ["cc", "dd"])
def test_official_loss_value_is_the_releases_clamp_and_its_gradient_the_exact_one(variant):
    # half the rows sit near the antipode of their own centre: theta_y + m > pi, and at s = 64 their
    # cross-entropy is far above the release's cap of 69.08; the other half sit near their centre.
    g = torch.Generator().manual_seed(7)
    weight = torch.randn(C, D, generator=g, dtype=torch.float64).requires_grad_(True)
    labels = torch.randint(0, C, (B,), generator=g)
    centres = torch.nn.functional.normalize(weight.detach())[labels]
    sign = torch.where(torch.arange(B) % 2 == 0, -1.0, 1.0).to(torch.float64)[:, None]
    noise = 0.05 * torch.randn(B, D, generator=g, dtype=torch.float64)
    emb = (3.0 * (sign * centres + noise)).requires_grad_(True)
    theta_y = ref.cosines(emb, weight).detach()[torch.arange(B), labels].acos()
    assert int((theta_y + 0.5 > math.pi).sum()) == B // 2
    logits = official_logits(emb, weight, labels, variant=variant)
    per_row = cross_entropy_rows(logits.detach(), labels)
    assert int((per_row > CAP).sum()) >= B // 4  # the clamp is active on these rows
    loss_off = official_loss(emb, weight, labels, variant=variant)
    torch.testing.assert_close(loss_off, per_row.clamp_max(CAP).mean(), atol=1e-12, rtol=1e-12)
    module = build_loss("interface", num_classes=C, embedding_size=D, variant=variant).double()
    module.weight.data = weight.detach().clone()
    emb_a = emb.detach().clone().requires_grad_(True)
    loss = module(emb_a, labels)
    torch.testing.assert_close(loss, per_row.mean(), atol=1e-12, rtol=1e-12)
    assert float(loss.detach() - loss_off.detach()) > 1.0  # the two logged values really differ here
    loss.backward()
    grads_off = torch.autograd.grad(loss_off, (emb, weight))
    torch.testing.assert_close(emb_a.grad, grads_off[0], atol=1e-12, rtol=1e-9)
    torch.testing.assert_close(module.weight.grad, grads_off[1], atol=1e-12, rtol=1e-9)


@pytest.mark.parametrize("variant", ["cc", "dc", "dd"])
def test_alpha_zero_is_arcface_without_fallback(variant):
    emb, weight, labels = inputs(2)
    inter = build_loss("interface", num_classes=C, embedding_size=D, variant=variant, alpha=0.0).double()
    arc = build_loss("arcface", num_classes=C, embedding_size=D, fallback=False).double()
    for module in (inter, arc):
        module.weight.data = weight.detach().clone()
    torch.testing.assert_close(inter.logits(emb, labels), arc.logits(emb, labels), atol=1e-12, rtol=0)
    arc_fb = build_loss("arcface", num_classes=C, embedding_size=D).double()
    inter_fb = build_loss("interface", num_classes=C, embedding_size=D, alpha=0.0, fallback=True).double()
    for module in (inter_fb, arc_fb):
        module.weight.data = weight.detach().clone()
    torch.testing.assert_close(inter_fb.logits(emb, labels), arc_fb.logits(emb, labels), atol=1e-12, rtol=0)


def test_sign_of_mhat_switches_where_theta_over_phi_equals_mu():
    theta = torch.tensor([[1e-3], [1.0]], dtype=torch.float64)
    for phi in (0.4, 0.9, 1.57, 2.5, 3.1):
        phi_t = torch.tensor(phi, dtype=torch.float64)
        dd = build_loss("interface", num_classes=2, embedding_size=2, variant="dd")
        dc = build_loss("interface", num_classes=2, embedding_size=2, variant="dc")
        for switch, module in ((math.pi / 18, dd), (0.3 * phi, dc)):  # dd: theta = mid; dc: theta = mid * phi
            below = module.mhat(torch.tensor([[switch * (1 - 1e-6)]], dtype=torch.float64), phi_t)
            above = module.mhat(torch.tensor([[switch * (1 + 1e-6)]], dtype=torch.float64), phi_t)
            at = module.mhat(torch.tensor([[switch]], dtype=torch.float64), phi_t)
            assert below.item() < 0 < above.item() and abs(at.item()) < 1e-15
        assert module.mhat(theta, phi_t)[0].item() < 0 < module.mhat(theta, phi_t)[1].item()
    cc = build_loss("interface", num_classes=2, embedding_size=2, variant="cc")
    switch = 0.2 * math.pi / 2  # cc: theta = mid * pi/2, whatever phi
    assert (
        cc.mhat(torch.tensor([[switch - 1e-7]]).double(), None).item()
        < 0
        < cc.mhat(torch.tensor([[switch + 1e-7]]).double(), torch.tensor(0.3)).item()
    )


@pytest.mark.parametrize(
    ("variant", "phi", "theta_y", "value"),
    [  # the reference doc's table (section 2.4), 4 decimals
        ("cc", 1.571, 0.3, -0.0007),
        ("cc", 1.571, 0.8, 0.0218),
        ("cc", 1.571, 1.2, 0.0353),
        ("dc", 0.8, 0.3, 0.0054),
        ("dc", 1.57, 1.2, 0.0275),
        ("dd", 0.8, 0.1, -0.0079),
        ("dd", 0.8, 1.2, 0.0581),
        ("dd", 1.57, 0.8, 0.0294),
    ],
)
def test_mhat_matches_documented_values(variant, phi, theta_y, value):
    module = build_loss("interface", num_classes=2, embedding_size=2, variant=variant)
    got = module.mhat(torch.tensor([[theta_y]], dtype=torch.float64), torch.tensor(phi, dtype=torch.float64))
    assert got.item() == pytest.approx(value, abs=6e-5)


def test_curves_use_the_training_formula():
    module = build_loss("interface", num_classes=2, embedding_size=2, variant="dd", m=0.4)
    theta_y = torch.linspace(0.0, math.pi, 7, dtype=torch.float64)
    torch.testing.assert_close(module.target_curve(theta_y), torch.cos(theta_y + 0.4))  # no fallback
    theta_j = torch.linspace(0.2, 3.0, 5, dtype=torch.float64)[:, None]
    phi = torch.tensor(0.7, dtype=torch.float64)
    alpha, mid = 0.1, math.pi / 18
    mhat = alpha * (torch.exp(-mid / phi) - torch.exp(-theta_y / phi))
    got = module.nontarget_curve(theta_j, theta_y, phi)
    torch.testing.assert_close(got, torch.cos(theta_j - mhat))


def test_stats_report_mhat_without_the_target_column():
    emb, weight, labels = inputs(3)
    module = build_loss("interface", num_classes=C, embedding_size=D, variant="dc").double()
    module.weight.data = weight.detach().clone()
    module.collect_stats = True
    module(emb, labels)
    with torch.no_grad():
        unit = torch.nn.functional.normalize(weight)
        phi = (unit[labels] @ unit.T).clamp(-1, 1).acos().clamp(0.01, math.pi)
        theta_y = (torch.nn.functional.normalize(emb) @ unit.T)[torch.arange(B), labels].clamp(-1, 1).acos()
        mhat = 0.1 * (math.exp(-0.3) - torch.exp(-theta_y[:, None] / phi))
        keep = torch.ones_like(mhat, dtype=torch.bool).scatter(1, labels[:, None], False)
    stats = module.last_stats
    assert stats["mhat_mean"] == pytest.approx(float(mhat[keep].mean()), abs=1e-12)
    assert stats["mhat_min"] == pytest.approx(float(mhat[keep].min()), abs=1e-12)
    assert stats["mhat_max"] == pytest.approx(float(mhat[keep].max()), abs=1e-12)


def test_straight_through_keeps_values_and_passes_plain_gradient():
    emb, weight, labels = inputs(4)
    plain = build_loss("interface", num_classes=C, embedding_size=D, variant="dd").double()
    st = build_loss(
        "interface", num_classes=C, embedding_size=D, variant="dd", straight_through=True
    ).double()
    norm = build_loss("normface", num_classes=C, embedding_size=D).double()
    for module in (plain, st, norm):
        module.weight.data = weight.detach().clone()
    torch.testing.assert_close(st.logits(emb, labels), plain.logits(emb, labels), atol=1e-12, rtol=0)
    upstream = torch.randn(B, C, dtype=torch.float64)
    (grad_st,) = torch.autograd.grad((st.logits(emb, labels) * upstream).sum(), emb)
    (grad_norm,) = torch.autograd.grad((norm.logits(emb, labels) * upstream).sum(), emb)
    torch.testing.assert_close(grad_st, grad_norm)


def test_shifted_cosine_gradcheck_and_finite_at_the_poles():
    g = torch.Generator().manual_seed(0)
    cos = (torch.rand(4, 6, generator=g, dtype=torch.float64) * 1.8 - 0.9).requires_grad_(True)
    shift = torch.rand(4, 1, generator=g, dtype=torch.float64) * 0.2 - 0.05
    assert torch.autograd.gradcheck(lambda c: cos_sub(c, shift.cos(), shift.sin()), (cos,))
    torch.testing.assert_close(cos_sub(cos, shift.cos(), shift.sin()), torch.cos(cos.acos() - shift))
    poles = torch.tensor([[-1.0, 1.0, 0.0]], requires_grad=True)
    out = cos_sub(poles, torch.tensor([[math.cos(0.1)]]), torch.tensor([[math.sin(0.1)]]))
    (grad,) = torch.autograd.grad(out.sum(), poles)
    assert torch.isfinite(grad).all()
    torch.testing.assert_close(out.detach(), torch.tensor([[-math.cos(0.1), math.cos(0.1), math.sin(0.1)]]))


def test_official_release_gradient_is_infinite_at_the_pole_ours_is_not():
    weight = torch.eye(3, 4, dtype=torch.float64).requires_grad_(True)
    emb = torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0]], dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 2])  # row 0 sits exactly on its class centre
    (grad_off,) = torch.autograd.grad(official_loss(emb, weight, labels, variant="cc"), emb)
    assert not torch.isfinite(grad_off).all()
    module = build_loss("interface", num_classes=3, embedding_size=4, variant="cc").double()
    module.weight.data = weight.detach().clone()
    emb_a = emb.detach().clone().requires_grad_(True)
    module(emb_a, labels).backward()
    assert torch.isfinite(emb_a.grad).all()
    torch.testing.assert_close(module.logits(emb, labels), official_logits(emb, weight, labels, variant="cc"))
