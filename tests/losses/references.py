"""Independent float64 references, written from the papers/releases in angle space (arccos, cos),
never calling interface.losses. Valid at interior angles (the arccos gradient is infinite at +-1)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def cosines(emb, weight):
    return (emb / emb.norm(dim=1, keepdim=True)) @ (weight / weight.norm(dim=1, keepdim=True)).T


def put_target(matrix, labels, target):
    out = matrix.clone()
    out[torch.arange(len(labels)), labels] = target
    return out


def arc(theta_y, cos_y, m, fallback=True):
    """cos(theta + m), or cos(theta) - m sin(m) once theta + m > pi (the InterFace release, MXNet code)."""
    m = torch.as_tensor(m, dtype=cos_y.dtype)
    value = torch.cos(theta_y + m)
    if not fallback:
        return value
    return torch.where(theta_y + m <= math.pi, value, cos_y - m * torch.sin(m))


def normface(emb, weight, labels, s=64.0):
    return s * cosines(emb, weight), 0.0


def cosface(emb, weight, labels, s=64.0, m=0.35):
    cos = cosines(emb, weight)
    idx = torch.arange(len(labels))
    return s * put_target(cos, labels, cos[idx, labels] - m), 0.0


def arcface(emb, weight, labels, s=64.0, m=0.5, fallback=True):
    cos = cosines(emb, weight)
    cos_y = cos[torch.arange(len(labels)), labels]
    return s * put_target(cos, labels, arc(torch.acos(cos_y), cos_y, m, fallback)), 0.0


def combined(emb, weight, labels, s=64.0, m1=1.0, m2=0.3, m3=0.2):
    cos = cosines(emb, weight)
    theta_y = torch.acos(cos[torch.arange(len(labels)), labels])
    return s * put_target(cos, labels, torch.cos(m1 * theta_y + m2) - m3), 0.0


def sphereface(emb, weight, labels, m=4, lam=1000.0):
    cos = cosines(emb, weight)
    cos_y = cos[torch.arange(len(labels)), labels]
    theta = torch.acos(cos_y)
    k = torch.floor(m * theta.detach() / math.pi)
    psi = (-1.0) ** k * torch.cos(m * theta) - 2 * k
    norms = emb.norm(dim=1, keepdim=True)
    return norms * put_target(cos, labels, (lam * cos_y + psi) / (1 + lam)), 0.0


def curricularface(emb, weight, labels, t, s=64.0, m=0.5, momentum=0.01, training=True):
    """Returns logits, 0, and the updated t (updated before use, as the release)."""
    cos = cosines(emb, weight)
    cos_y = cos[torch.arange(len(labels)), labels]
    if training:
        t = momentum * float(cos_y.detach().mean()) + (1 - momentum) * t
    cos_theta_m = torch.cos(torch.acos(cos_y) + m)
    hard = cos.detach() > cos_theta_m.detach()[:, None]
    out = torch.where(hard, cos * (t + cos), cos)
    return s * put_target(out, labels, arc(torch.acos(cos_y), cos_y, m)), 0.0, t


def magface(emb, weight, labels, s=64.0, l_a=10.0, u_a=110.0, l_m=0.45, u_m=0.8, lambda_g=35.0):
    cos = cosines(emb, weight)
    cos_y = cos[torch.arange(len(labels)), labels]
    a = emb.norm(dim=1).clamp(l_a, u_a)
    margin = (u_m - l_m) / (u_a - l_a) * (a - l_a) + l_m
    theta_y = torch.acos(cos_y)
    target = torch.where(
        theta_y + margin <= math.pi, torch.cos(theta_y + margin), cos_y - margin * torch.sin(margin)
    )
    return s * put_target(cos, labels, target), lambda_g * (a / u_a**2 + 1 / a).mean()


def adaface(emb, weight, labels, mean, std, s=64.0, m=0.4, h=0.333, t_alpha=0.01, eps=1e-3, training=True):
    """The release's steps; returns logits, 0 and the updated running (mean, std)."""
    cos = cosines(emb, weight).clamp(-1 + eps, 1 - eps)
    norms = emb.norm(dim=1, keepdim=True).clamp(0.001, 100).detach()
    if training:
        mean = float(norms.mean()) * t_alpha + (1 - t_alpha) * mean
        std = float(norms.std()) * t_alpha + (1 - t_alpha) * std
    scaler = ((norms - mean) / (std + eps) * h).clamp(-1, 1)
    onehot = torch.zeros_like(cos).scatter(1, labels[:, None], 1.0)
    theta = torch.acos(cos)
    theta_m = (theta + onehot * (-m * scaler)).clamp(eps, math.pi - eps)
    out = torch.cos(theta_m) - onehot * (m + m * scaler)
    return s * out, 0.0, (mean, std)


def elasticface(emb, weight, labels, margins, s=64.0, form="arc", plus=False):
    """``margins`` (B, 1): the drawn N(m, sigma) values; ``plus`` applies the release's sorting."""
    cos = cosines(emb, weight)
    idx = torch.arange(len(labels))
    if plus:
        _, order = torch.sort(cos[idx, labels].detach(), dim=0, descending=True)
        margins = torch.sort(margins, dim=0)[0][order]
    hot = torch.zeros_like(cos).scatter(1, labels[:, None], margins)
    if form == "arc":
        return s * torch.cos(torch.acos(cos) + hot), 0.0
    return s * (cos - hot), 0.0


def softmax(emb, weight, labels, bias):
    return emb @ weight.T + bias, 0.0


def total_loss(logits, labels, extra):
    return F.cross_entropy(logits, labels) + extra
