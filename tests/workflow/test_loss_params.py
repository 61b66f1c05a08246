"""Loss parameters declared once (``PARAMS``): the schema the workflow checks at parse time is
built from the declaration, agrees with the constructor at every bound, and a plugin loss that
adds one ``Param`` line gets defaults, units, validation and parse-time checks with no other edit."""

from __future__ import annotations

import difflib
import math

import jsonschema
import pytest
import wfconfig
import yaml
from conftest import REPO
from test_config import load, resolve

from interface.errors import InputError
from interface.losses import build_loss, list_losses, registry
from interface.losses.registry import loss_class


def test_schema_file_states_no_parameter_and_the_loaded_schema_has_every_loss():
    raw = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    assert raw["$defs"]["loss_params"] == {}  # nothing to keep in step by hand
    loaded = wfconfig.load_schema()["$defs"]["loss_params"]
    assert sorted(loaded) == list_losses()
    for loss in list_losses():
        assert list(loaded[loss]) == list(loss_class(loss).default_params)


def probes(param) -> list:
    """Values on both sides of every finite bound, each choice, and values of the wrong type."""
    values: list = [param.default, "x", [1.0]]
    if param.interval is not None:
        legal = param.interval
        for bound in (legal.minimum, legal.exclusive_minimum, legal.maximum, legal.exclusive_maximum):
            if bound is not None:
                values += [bound, math.nextafter(bound, -math.inf), math.nextafter(bound, math.inf)]
                values += [int(bound), int(bound) - 1, int(bound) + 1]
        values += [True, 1.5, 10**6, -(10**6)]
    else:
        values += [*param.legal, "zz", 1, 0, True, False, None]
    return values


@pytest.mark.parametrize("loss", list_losses())
def test_schema_and_constructor_accept_the_same_values(loss):
    schemas = wfconfig.load_schema()["$defs"]["loss_params"][loss]
    for param in loss_class(loss).PARAMS:
        for value in probes(param):
            schema_ok = jsonschema.Draft202012Validator(schemas[param.name]).is_valid(value)
            try:
                checked = param.check(loss, value)
                ctor_ok = True
            except InputError as exc:
                ctor_ok = False
                assert str(exc).startswith(f"loss {loss!r}: {param.name}={value!r}; expected ")
            assert schema_ok == ctor_ok, (param.name, value)
            if ctor_ok and value is not None:
                assert checked == value and type(checked) is param.kind


def test_the_constructor_validates_through_the_declaration():
    for loss in list_losses():
        for param in loss_class(loss).PARAMS:
            with pytest.raises(InputError, match=f"^loss '{loss}': {param.name}='x'; expected "):
                build_loss(loss, num_classes=2, embedding_size=4, **{param.name: "x"})


#: a plugin loss; the extended version below differs from it by exactly one line.
PLUGIN = '''
from interface.losses.base import MarginLoss
from interface.losses.params import SCALE, Param
from interface.losses.registry import register_loss


@register_loss("{name}")
class Shifted(MarginLoss):
    """Target logit s * (cos(theta_y) - m - k)."""

    PARAMS = (
        SCALE,
        Param("m", 0.2, "cosine units", "[0, 1)", float, "margin on the target cosine"),
    )

    def target_logit(self, cos_y, ctx):
        return cos_y - self.m - getattr(self, "k", 0.0)
'''
EXTRA = '        Param("k", 0.05, "cosine units", "[0, 0.5]", float, "extra margin on the target cosine"),\n'
EXTENDED = PLUGIN.replace('        Param("m"', EXTRA + '        Param("m"', 1)


def test_adding_a_parameter_to_a_plugin_loss_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    diff = [d for d in difflib.ndiff(PLUGIN.splitlines(), EXTENDED.splitlines()) if d[:1] in "+-"]
    assert diff == ["+ " + EXTRA.rstrip("\n")]
    (tmp_path / "plain_losses.py").write_text(PLUGIN.format(name="plainshift"))
    (tmp_path / "extended_losses.py").write_text(EXTENDED.format(name="extshift"))
    plugins = [str(tmp_path / "plain_losses.py"), str(tmp_path / "extended_losses.py")]

    def config(**params):
        base = load()
        base["plugins"] = plugins
        base["matrix"] = {"seeds": [0], "losses": [{"loss": "extshift", "params": params}]}
        return base

    # parse time (what `snakemake -n` runs): the new parameter is accepted in range ...
    _, runs = resolve(config(k=0.5))
    assert [run.params for run in runs.values()] == [{"k": 0.5}]
    assert next(iter(runs)).split("__")[3] == "k=0.5"
    # ... refused out of range by the schema built from the declaration, naming key and range
    with pytest.raises(
        InputError, match=r"^config key matrix\.losses\[0\]\.params\.k: 0\.6 is greater"
    ) as info:
        resolve(config(k=0.6))
    assert "extra margin on the target cosine; cosine units, [0, 0.5]" in str(info.value)
    assert wfconfig.load_schema()["$defs"]["loss_params"]["extshift"]["k"]["maximum"] == 0.5

    extended, plain = loss_class("extshift"), loss_class("plainshift")
    assert extended.default_params == {"k": 0.05, "s": 64.0, "m": 0.2}
    assert extended.param_units["k"] == "cosine units, [0, 0.5]"
    assert "``k`` (0.05): extra margin on the target cosine" in extended.__doc__
    loss = build_loss("extshift", num_classes=3, embedding_size=2, k=0.25)
    assert (loss.k, loss.m, loss.s) == (0.25, 0.2, 64.0)
    assert build_loss("extshift", num_classes=3, embedding_size=2).k == 0.05
    with pytest.raises(InputError, match=r"^loss 'extshift': k=-0\.1; expected cosine units, \[0, 0\.5\]$"):
        build_loss("extshift", num_classes=3, embedding_size=2, k=-0.1)
    with pytest.raises(InputError, match=r"unknown parameter\(s\) k; accepted: m, s"):
        build_loss("plainshift", num_classes=3, embedding_size=2, k=0.1)
    assert "k" not in plain.default_params
