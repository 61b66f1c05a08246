"""The parameter declaration itself: interval texts, refused declarations, derived class fields."""

from __future__ import annotations

import math

import pytest

from interface.losses.base import MarginLoss
from interface.losses.params import Param, parse_interval


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        ("[0, pi/2)", [0, 0.0, 1.5], [-1e-9, math.pi / 2, 2.0]),
        ("(0, inf)", [1e-300, 1e300], [0.0, -1.0, math.inf]),
        ("(0, 1]", [0.5, 1.0], [0.0, 1.0000001]),
        ("[-pi, pi]", [-math.pi, math.pi], [-3.2, 3.2]),
        ("[1e-3, 2.5)", [0.001, 2.4], [0.0009, 2.5]),
    ],
)
def test_interval_text_states_its_bounds(text, inside, outside):
    legal = parse_interval(text, float)
    assert all(legal.ok(v) for v in inside) and not any(legal.ok(v) for v in outside)
    assert not legal.ok(float("nan")) and not legal.ok(True)


@pytest.mark.parametrize("text", ["0, 1", "[0; 1]", "[a, 1]", "[0, 2*pi]", "[0, __import__('os'))"])
def test_malformed_interval_is_refused(text):
    with pytest.raises(ValueError, match="interval"):
        parse_interval(text, float)


@pytest.mark.parametrize(
    "args",
    [
        ("m", 2.0, "radians", "[0, 1)", float, "default outside its range"),
        ("m", "x", "", ("a", "b"), str, "default not a choice"),
        ("m", 1, "", "[0, 2]", bool, "an interval for a bool"),
        ("2m", 0.5, "", "[0, 1]", float, "not an identifier"),
    ],
)
def test_inconsistent_declaration_is_refused(args):
    with pytest.raises(ValueError, match="Param"):
        Param(*args)


def test_a_loss_declares_parameters_in_params_only():
    with pytest.raises(TypeError, match="declare the parameters in PARAMS, not default_params"):

        class Old(MarginLoss):
            default_params = {"s": 1.0}

    with pytest.raises(TypeError, match="'m' is declared twice"):

        class Twice(MarginLoss):
            PARAMS = (Param("m", 0.1, "", "[0, 1]", float, "a"), Param("m", 0.2, "", "[0, 1]", float, "b"))

    with pytest.raises(TypeError, match="'forward' is declared twice or shadows MarginLoss"):

        class Shadow(MarginLoss):
            PARAMS = (Param("forward", 0.1, "", "[0, 1]", float, "a"),)


def test_derived_fields_and_integral_floats():
    class Two(MarginLoss):
        """Doc."""

        PARAMS = (
            Param("k", 3, "", "[1, 8]", int, "an integer"),
            Param("mode", "a", "", ("a", "b"), str, "a choice"),
        )

    assert Two.default_params == {"k": 3, "mode": "a"}
    assert Two.param_units == {"k": "integer in [1, 8]", "mode": "one of 'a', 'b'"}
    loss = Two(2, 3, k=4.0)
    assert loss.k == 4 and type(loss.k) is int and loss.mode == "a"
    assert Two.PARAMS[0].schema() == {
        "type": "integer",
        "minimum": 1,
        "maximum": 8,
        "description": "an integer; integer in [1, 8]",
    }
