"""Each loss against an independent float64 reference (tests/losses/references.py): logits, loss
and gradients on random inputs, hand-built embeddings at known angles, and gradcheck."""

from __future__ import annotations

import math

import pytest
import torch
from torch.func import functional_call

from interface.losses import build_loss
from tests.losses import references as ref

C, D, B = 9, 5, 12


def inputs(seed=0, norm_low=20.0, norm_high=40.0):
    g = torch.Generator().manual_seed(seed + 777)
    emb = torch.randn(B, D, generator=g, dtype=torch.float64)
    norms = norm_low + (norm_high - norm_low) * torch.rand(B, 1, generator=g, dtype=torch.float64)
    emb = (emb / emb.norm(dim=1, keepdim=True) * norms).requires_grad_(True)
    weight = (
        torch.randn(C, D, generator=g, dtype=torch.float64) * (0.5 + torch.rand(C, 1, generator=g))
    ).requires_grad_(True)
    labels = torch.randint(0, C, (B,), generator=g)
    return emb, weight, labels


def check(name, params, reference, seed=0, training=False, atol=1e-9, **input_kw):
    emb, weight, labels = inputs(seed, **input_kw)
    module = build_loss(name, num_classes=C, embedding_size=D, **params).double().train(training)
    module.weight.data = weight.detach().clone()
    logits_ref, extra = reference(emb, weight, labels)
    loss_ref = ref.total_loss(logits_ref, labels, extra)
    grads_ref = torch.autograd.grad(loss_ref, (emb, weight))
    state = {k: v.clone() for k, v in module.state_dict().items()}
    with torch.no_grad():
        logits = module.logits(emb, labels)
    module.load_state_dict(state)  # logits() in training mode advances the state: undo
    emb_a = emb.detach().clone().requires_grad_(True)
    loss = module(emb_a, labels)
    loss.backward()
    torch.testing.assert_close(logits, logits_ref.detach(), atol=atol, rtol=1e-9)
    torch.testing.assert_close(loss.detach(), loss_ref.detach(), atol=atol, rtol=1e-9)
    torch.testing.assert_close(emb_a.grad, grads_ref[0], atol=atol, rtol=1e-7)
    torch.testing.assert_close(module.weight.grad, grads_ref[1], atol=atol, rtol=1e-7)
    return module


@pytest.mark.parametrize("s", [8.0, 64.0])
def test_normface(s):
    check("normface", {"s": s}, lambda e, w, y: ref.normface(e, w, y, s=s))


@pytest.mark.parametrize("m", [0.0, 0.35, 0.9])
def test_cosface(m):
    check("cosface", {"m": m, "s": 30.0}, lambda e, w, y: ref.cosface(e, w, y, s=30.0, m=m))


@pytest.mark.parametrize(("m", "fallback"), [(0.5, True), (0.5, False), (1.4, True), (0.1, False)])
def test_arcface(m, fallback):
    # m = 1.4 puts several random targets past pi - m: the fallback branch is exercised.
    check(
        "arcface",
        {"m": m, "fallback": fallback},
        lambda e, w, y: ref.arcface(e, w, y, m=m, fallback=fallback),
    )
    if m == 1.4:
        emb, weight, labels = inputs()
        theta_y = ref.cosines(emb, weight)[torch.arange(B), labels].acos()
        assert (theta_y + m > math.pi).any() and (theta_y + m < math.pi).any()


@pytest.mark.parametrize(("m1", "m2", "m3"), [(1.0, 0.3, 0.2), (1.35, 0.25, 0.0), (2.0, 0.0, 0.1)])
def test_combined(m1, m2, m3):
    check(
        "combined",
        {"m1": m1, "m2": m2, "m3": m3},
        lambda e, w, y: ref.combined(e, w, y, m1=m1, m2=m2, m3=m3),
    )


@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_sphereface_and_its_annealing(m):
    module = build_loss("sphereface", num_classes=C, embedding_size=D, m=m).double()
    assert module.current_lambda() == 1000.0
    check("sphereface", {"m": m}, lambda e, w, y: ref.sphereface(e, w, y, m=m, lam=1000.0))
    module.train()
    emb, _, labels = inputs()
    for _ in range(3):
        module(emb, labels)
    assert int(module.step) == 3 and module.current_lambda() == pytest.approx(1000 / (1 + 0.12 * 3))
    module.step.fill_(10**6)
    assert module.current_lambda() == 5.0  # lambda_min


def test_curricularface_updates_t_before_use():
    t0 = 0.0
    module = check(
        "curricularface",
        {},
        lambda e, w, y: ref.curricularface(e, w, y, t0, training=False)[:2],
        training=False,
    )
    assert float(module.t) == 0.0
    emb, weight, labels = inputs(1)
    _, _, t1 = ref.curricularface(emb, weight, labels, t0)
    # training: the reference's logits use the t updated by this very batch
    check(
        "curricularface",
        {},
        lambda e, w, y: ref.curricularface(e, w, y, t0, training=True)[:2],
        seed=1,
        training=True,
    )
    module = build_loss("curricularface", num_classes=C, embedding_size=D).double().train()
    module.weight.data = weight.detach().clone()
    module(emb, labels)
    assert float(module.t) == pytest.approx(t1, abs=1e-12)


def test_curricularface_hard_negatives_are_reweighted():
    # with t = 0.5 fixed (eval), a hard negative's logit is s cos (t + cos), an easy one s cos.
    module = build_loss("curricularface", num_classes=C, embedding_size=D).double().eval()
    module.t.fill_(0.5)
    emb, weight, labels = inputs()
    module.weight.data = weight.detach()
    logits_ref, _, _ = ref.curricularface(emb, weight, labels, 0.5, training=False)
    torch.testing.assert_close(module.logits(emb, labels), logits_ref.detach())
    assert logits_ref.detach().ne(64 * ref.cosines(emb, weight).detach()).sum() > B  # some are hard


@pytest.mark.parametrize(("low", "high"), [(20.0, 40.0), (1.0, 5.0), (150.0, 300.0)])
def test_magface(low, high):
    # norms inside [l_a, u_a], below l_a and above u_a (clamped: the margin saturates)
    check("magface", {}, lambda e, w, y: ref.magface(e, w, y), norm_low=low, norm_high=high)


@pytest.mark.parametrize("training", [False, True])
def test_adaface(training):
    module = check(
        "adaface",
        {},
        lambda e, w, y: ref.adaface(e, w, y, 20.0, 100.0, training=training)[:2],
        training=training,
        norm_low=5.0,
        norm_high=60.0,
    )
    emb, weight, labels = inputs(norm_low=5.0, norm_high=60.0)
    _, _, (mean, std) = ref.adaface(emb, weight, labels, 20.0, 100.0, training=training)
    # check() ran one training forward after restoring the state: buffers moved once.
    assert float(module.batch_mean) == pytest.approx(mean, abs=1e-9)
    assert float(module.batch_std) == pytest.approx(std, abs=1e-9)


def test_adaface_running_stats_follow_ema():
    module = build_loss("adaface", num_classes=C, embedding_size=D, t_alpha=0.5).double().train()
    emb, _, labels = inputs(norm_low=5.0, norm_high=60.0)
    n = emb.detach().norm(dim=1)
    module(emb, labels)
    module(emb, labels)
    assert float(module.batch_mean) == pytest.approx(0.25 * 20 + 0.75 * float(n.mean()))
    assert float(module.batch_std) == pytest.approx(0.25 * 100 + 0.75 * float(n.std()))


def draws(seed, m, sigma):
    g = torch.Generator().manual_seed(seed)
    return m + sigma * torch.randn(B, 1, generator=g, dtype=torch.float64)


@pytest.mark.parametrize(
    ("form", "m", "plus"),
    [("arc", 0.5, False), ("arc", 0.5, True), ("cos", 0.35, False), ("cos", 0.35, True)],
)
def test_elasticface_training_draws(form, m, plus):
    params = {"form": form, "plus": plus, "seed": 5}
    check(
        "elasticface",
        params,
        lambda e, w, y: ref.elasticface(e, w, y, draws(5, m, 0.05), form=form, plus=plus),
        training=True,
    )


def test_elasticface_eval_uses_mean_margin():
    m = torch.full((B, 1), 0.5, dtype=torch.float64)
    check("elasticface", {}, lambda e, w, y: ref.elasticface(e, w, y, m))


def test_elasticface_draws_continue_across_steps():
    module = build_loss("elasticface", num_classes=C, embedding_size=D, seed=3).double().train()
    emb, weight, labels = inputs()
    g = torch.Generator().manual_seed(3)
    first, second = (0.5 + 0.05 * torch.randn(B, 1, generator=g, dtype=torch.float64) for _ in range(2))
    module.weight.data = weight.detach()
    module(emb, labels)  # consumes the first draw
    logits_ref, _ = ref.elasticface(emb, weight, labels, second)
    torch.testing.assert_close(module.logits(emb, labels), logits_ref.detach())
    assert not torch.equal(first, second)


def test_softmax():
    module = build_loss("softmax", num_classes=C, embedding_size=D).double()
    with torch.no_grad():
        module.bias.copy_(torch.linspace(-1, 1, C))
    bias = module.bias.detach().clone()
    emb, weight, labels = inputs()
    module.weight.data = weight.detach().clone()
    torch.testing.assert_close(module.logits(emb, labels), ref.softmax(emb, weight, labels, bias)[0].detach())


# ---------------------------------------------------------------- hand-built angles (PML style)
def at_angle(theta, label, other, norm=3.0):
    """An embedding at angle ``theta`` from basis class ``label``, in its plane with class ``other``."""
    x = torch.zeros(D, dtype=torch.float64)
    x[label], x[other] = math.cos(theta), math.sin(theta)
    return norm * x


def basis_loss(name, **params):
    module = build_loss(name, num_classes=4, embedding_size=D, **params).double().eval()
    with torch.no_grad():  # class j along axis j, arbitrary lengths (normalisation must remove them)
        module.weight.copy_(torch.eye(4, D, dtype=torch.float64) * torch.tensor([[2.0], [0.5], [3.0], [1.0]]))
    return module


@pytest.mark.parametrize("theta", [0.2, 1.0, 2.5, 3.0])
def test_known_angles_arcface(theta):
    logits = basis_loss("arcface", s=10.0, m=0.5).logits(at_angle(theta, 0, 1)[None], torch.tensor([0]))[0]
    target = math.cos(theta + 0.5) if theta + 0.5 <= math.pi else math.cos(theta) - 0.5 * math.sin(0.5)
    expected = torch.tensor([10 * target, 10 * math.sin(theta), 0.0, 0.0], dtype=torch.float64)
    torch.testing.assert_close(logits, expected)


def test_known_angles_cosface_and_normface():
    x = at_angle(0.7, 2, 3)[None]
    got = basis_loss("cosface", s=10.0, m=0.35).logits(x, torch.tensor([2]))[0]
    torch.testing.assert_close(
        got, torch.tensor([0, 0, 10 * (math.cos(0.7) - 0.35), 10 * math.sin(0.7)], dtype=torch.float64)
    )
    got = basis_loss("normface", s=5.0).logits(x, torch.tensor([2]))[0]
    torch.testing.assert_close(
        got, torch.tensor([0, 0, 5 * math.cos(0.7), 5 * math.sin(0.7)], dtype=torch.float64)
    )


@pytest.mark.parametrize("theta", [0.1, 0.5, 0.9, 1.3])
def test_known_angles_sphereface_m4(theta):
    k = math.floor(4 * theta / math.pi)
    psi = (-1) ** k * math.cos(4 * theta) - 2 * k
    x = at_angle(theta, 1, 0, norm=7.0)[None]
    got = basis_loss("sphereface").logits(x, torch.tensor([1]))[0]
    expected = [7 * math.sin(theta), 7 * (1000 * math.cos(theta) + psi) / 1001, 0, 0]
    torch.testing.assert_close(got, torch.tensor(expected, dtype=torch.float64))


def test_known_angles_magface_margin_from_norm():
    x = at_angle(1.0, 0, 2, norm=60.0)[None]  # a = 60: m = 0.35 / 100 * 50 + 0.45 = 0.625
    got = basis_loss("magface").logits(x, torch.tensor([0]))[0]
    torch.testing.assert_close(got[0], torch.tensor(64 * math.cos(1.625), dtype=torch.float64))


# ---------------------------------------------------------------- gradcheck (smooth losses)
@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("normface", {"s": 4.0}),
        ("cosface", {"s": 4.0}),
        ("arcface", {"s": 4.0, "fallback": False}),
        ("combined", {"s": 4.0, "m1": 1.2}),
        ("magface", {"s": 4.0}),
        ("sphereface", {}),
        ("softmax", {}),
    ],
)
def test_gradcheck(name, params):
    module = build_loss(name, num_classes=4, embedding_size=3, **params).double().eval()
    g = torch.Generator().manual_seed(0)
    emb = (torch.randn(3, 3, generator=g, dtype=torch.float64) * 30).requires_grad_(True)
    weight = torch.randn(4, 3, generator=g, dtype=torch.float64).requires_grad_(True)
    labels = torch.tensor([0, 2, 3])

    def fn(e, w):
        return functional_call(module, {"weight": w}, (e, labels), strict=False)

    assert torch.autograd.gradcheck(fn, (emb, weight), eps=1e-6, atol=1e-5, fast_mode=True)
