"""The two forms of ArcFace's margin (and the combined margin's), each against a float64
transliteration written here: the InterFace release's / original MXNet code's (margin with
gradient, fallback past pi) and insightface arcface_torch's (no fallback, margin under no_grad),
on batches where half the rows have theta_y + m > pi."""

from __future__ import annotations

import math

import pytest
import torch

from interface.errors import InputError
from interface.losses import build_loss

C, D, B = 7, 6, 12


def batch(seed=0):
    """Half the rows near the antipode of their own centre (theta_y close to pi), half near it;
    sin(theta_y) stays well above the loss's derivative floor (1e-3)."""
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(C, D, generator=g, dtype=torch.float64)
    labels = torch.randint(0, C, (B,), generator=g)
    centres = torch.nn.functional.normalize(weight)[labels]
    sign = torch.where(torch.arange(B) % 2 == 0, -1.0, 1.0).to(torch.float64)[:, None]
    emb = 4.0 * (sign * centres + 0.08 * torch.randn(B, D, generator=g, dtype=torch.float64))
    return emb.requires_grad_(True), weight.requires_grad_(True), labels


def cosines(emb, weight):
    return torch.nn.functional.normalize(emb) @ torch.nn.functional.normalize(weight).T


def release_arcface(emb, weight, labels, s, m):
    """InterFace release ``ArcFace.forward`` (and the MXNet code): cos(theta + m) where
    cos(theta) > cos(pi - m), else cos(theta) - sin(pi - m) m; with gradient."""
    cos = cosines(emb, weight)
    idx = torch.arange(len(labels))
    target = cos[idx, labels]
    sin = torch.sqrt(1.0 - target**2)
    shifted = target * math.cos(m) - sin * math.sin(m)
    final = torch.where(target > math.cos(math.pi - m), shifted, target - math.sin(math.pi - m) * m)
    out = cos.clone()
    out[idx, labels] = final
    return out * s


def arcface_torch_arcface(emb, weight, labels, s, m):
    """arcface_torch ``ArcFace.forward``: in-place arccos, + m on the target, cos, all under no_grad
    on the clamped cosines, then the scale: the gradient is that of s * cos."""
    logits = cosines(emb, weight).clamp(-1, 1)
    idx = torch.arange(len(labels))
    target = logits[idx, labels]
    with torch.no_grad():
        target.arccos_()
        logits.arccos_()
        logits[idx, labels] = target + m
        logits.cos_()
    return logits * s


def arcface_torch_cosface(emb, weight, labels, s, m):
    """arcface_torch ``CombinedMarginLoss`` with m3 > 0 (and ``CosFace``): target - m, with gradient."""
    logits = cosines(emb, weight).clamp(-1, 1)
    idx = torch.arange(len(labels))
    out = logits.clone()
    out[idx, labels] = logits[idx, labels] - m
    return out * s


def compare(name, params, reference, arc_m=None):
    emb, weight, labels = batch()
    if arc_m is not None:  # half the batch is past pi - m: where the two forms part
        theta_y = cosines(emb, weight).detach()[torch.arange(B), labels].acos()
        assert int((theta_y + arc_m > math.pi).sum()) == B // 2
    module = build_loss(name, num_classes=C, embedding_size=D, **params).double()
    module.weight.data = weight.detach().clone()
    expected = reference(emb, weight, labels)
    upstream = torch.randn(B, C, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    grads_ref = torch.autograd.grad((expected * upstream).sum(), (emb, weight))
    emb_a = emb.detach().clone().requires_grad_(True)
    got = module.logits(emb_a, labels)
    (got * upstream).sum().backward()
    torch.testing.assert_close(got.detach(), expected.detach(), atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(emb_a.grad, grads_ref[0], atol=1e-10, rtol=1e-9)
    torch.testing.assert_close(module.weight.grad, grads_ref[1], atol=1e-10, rtol=1e-9)
    # the cross-entropy too (what training minimises)
    loss_ref = torch.nn.functional.cross_entropy(expected, labels)
    torch.testing.assert_close(module(emb.detach(), labels), loss_ref.detach(), atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("m", [0.5, 1.2])
def test_arcface_interface_release_form(m):
    for params in ({"m": m}, {"m": m, "form": "interface-release"}, {"m": m, "fallback": True}):
        compare("arcface", {"s": 30.0, **params}, lambda e, w, y: release_arcface(e, w, y, 30.0, m), m)


@pytest.mark.parametrize("m", [0.5, 1.2])
def test_arcface_arcface_torch_form(m):
    reference = lambda e, w, y: arcface_torch_arcface(e, w, y, 64.0, m)  # noqa: E731
    compare("arcface", {"m": m, "form": "arcface-torch"}, reference, m)
    compare("arcface", {"m": m, "form": "arcface-torch", "fallback": False}, reference, m)


def test_the_forms_differ_where_theta_plus_m_passes_pi():
    emb, weight, labels = batch()
    release = release_arcface(emb, weight, labels, 64.0, 0.5).detach()
    torch_form = arcface_torch_arcface(emb, weight, labels, 64.0, 0.5).detach()
    idx = torch.arange(B)
    far = torch.arange(B) % 2 == 0
    assert (release[idx, labels] - torch_form[idx, labels]).abs()[far].min() > 1e-3
    torch.testing.assert_close(release[idx, labels][~far], torch_form[idx, labels][~far])


@pytest.mark.parametrize("m2", [0.5, 1.2])
def test_combined_arcface_torch_form_arc_case(m2):
    compare(
        "combined",
        {"form": "arcface-torch", "m1": 1.0, "m2": m2, "m3": 0.0},
        lambda e, w, y: arcface_torch_arcface(e, w, y, 64.0, m2),
        m2,
    )


def test_combined_arcface_torch_form_cosine_case():
    compare(
        "combined",
        {"form": "arcface-torch", "m2": 0.0, "m3": 0.4},
        lambda e, w, y: arcface_torch_cosface(e, w, y, 64.0, 0.4),
    )


def test_cosface_is_arcface_torchs_cosface():
    compare("cosface", {"m": 0.4}, lambda e, w, y: arcface_torch_cosface(e, w, y, 64.0, 0.4))


@pytest.mark.parametrize(
    ("name", "params", "needle"),
    [
        (
            "arcface",
            {"form": "arcface-torch", "fallback": True},
            "fallback=True; form='arcface-torch' has no",
        ),
        ("arcface", {"form": "torch"}, "form='torch'; expected one of 'interface-release', 'arcface-torch'"),
        ("combined", {"form": "arcface-torch"}, "m1=1.0, m2=0.3, m3=0.2; form='arcface-torch' computes"),
        ("combined", {"form": "arcface-torch", "m1": 1.2, "m3": 0.0}, "m1=1.2"),
    ],
)
def test_combinations_the_source_does_not_compute_are_refused(name, params, needle):
    with pytest.raises(InputError, match=needle.replace("(", r"\(")):
        build_loss(name, num_classes=C, embedding_size=D, **params)


def test_default_form_is_unchanged():
    arc = build_loss("arcface", num_classes=C, embedding_size=D)
    assert (arc.form, arc.fallback) == ("interface-release", True)
    assert build_loss("arcface", num_classes=C, embedding_size=D, form="arcface-torch").fallback is False
    assert build_loss("combined", num_classes=C, embedding_size=D).form == "insightface-mxnet"
