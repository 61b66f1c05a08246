"""Registry: names, building, loud errors for unknown names, duplicates and parameters."""

from __future__ import annotations

import importlib
import math

import pytest
import torch

import interface.losses as losses
from interface.errors import InputError
from interface.losses import registry
from interface.losses.base import MarginLoss
from interface.losses.params import Param

BUILT_IN = [
    "adaface",
    "arcface",
    "combined",
    "cosface",
    "curricularface",
    "elasticface",
    "interface",
    "magface",
    "normface",
    "softmax",
    "sphereface",
]


def test_every_built_in_loss_is_listed_sorted():
    assert [name for name in losses.list_losses() if name in BUILT_IN] == BUILT_IN
    assert losses.list_losses() == sorted(losses.list_losses())


def test_unknown_name_lists_known_names():
    with pytest.raises(InputError, match="unknown loss 'arcfce'.*arcface.*interface"):
        losses.build_loss("arcfce", num_classes=3, embedding_size=4)


def test_duplicate_name_fails(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    with pytest.raises(InputError, match="'arcface' is already registered"):

        @losses.register_loss("arcface")
        class Other(MarginLoss):
            pass


def test_a_user_loss_is_one_class(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    @losses.register_loss("halfcos")
    class HalfCos(MarginLoss):
        PARAMS = (Param("s", 2.0, "dimensionless", "(0, inf)", float, "logit scale"),)

        def target_logit(self, cos_y, ctx):
            return cos_y / 2

    loss = losses.build_loss("halfcos", num_classes=3, embedding_size=2, s=4.0)
    loss.weight.data = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    logits = loss.logits(torch.tensor([[1.0, 1.0]]), torch.tensor([0]))
    c = math.sqrt(0.5)
    assert torch.allclose(logits, torch.tensor([[4 * c / 2, 4 * c, -4 * c]]))
    assert "halfcos" in losses.list_losses()


def test_unknown_parameter_is_named():
    with pytest.raises(InputError, match=r"unknown parameter\(s\) margin; accepted: fallback, form, m, s"):
        losses.build_loss("arcface", num_classes=3, embedding_size=4, margin=0.5)


def test_none_means_default():
    loss = losses.build_loss("interface", num_classes=3, embedding_size=4, variant="dc", mid=None, s=None)
    assert loss.mid == 0.3 and loss.s == 64.0


@pytest.mark.parametrize(
    ("name", "params", "needle"),
    [
        ("arcface", {"s": -1.0}, "s=-1.0"),
        ("arcface", {"m": 2.0}, "m=2.0"),
        ("arcface", {"m": float("nan")}, "m=nan"),
        ("cosface", {"m": 1.0}, "m=1.0"),
        ("combined", {"m1": 0.5}, "m1=0.5"),
        ("sphereface", {"m": 5}, "m=5"),
        ("curricularface", {"momentum": 0.0}, "momentum=0.0"),
        ("magface", {"l_a": 120.0}, "u_a=110.0"),
        ("adaface", {"h": 0.0}, "h=0.0"),
        ("elasticface", {"form": "sin"}, "form='sin'"),
        ("elasticface", {"seed": -3}, "seed=-3"),
        ("interface", {"variant": "cd"}, "variant='cd'"),
        ("interface", {"alpha": -0.1}, "alpha=-0.1"),
        ("interface", {"fallback": "yes"}, "fallback='yes'"),
        ("normface", {"s": "64"}, "s='64'"),
    ],
)
def test_out_of_range_parameter_is_named(name, params, needle):
    with pytest.raises(InputError, match=needle.replace("(", r"\(")):
        losses.build_loss(name, num_classes=3, embedding_size=4, **params)


@pytest.mark.parametrize("bad", [0, -2, 2.5, True])
def test_sizes_must_be_positive_integers(bad):
    with pytest.raises(InputError, match="num_classes"):
        losses.build_loss("arcface", num_classes=bad, embedding_size=4)


@pytest.mark.parametrize("name", BUILT_IN)
def test_units_cover_every_parameter(name):
    cls = registry.loss_class(name)
    for param in cls.PARAMS:  # every parameter says what it means, and the docstring lists it
        assert param.meaning and f"``{param.name}`` ({param.default!r}): {param.meaning}" in cls.__doc__
    assert cls.__doc__
    if name != "softmax":  # every other loss cites its paper
        assert "arXiv" in importlib.import_module(cls.__module__).__doc__
