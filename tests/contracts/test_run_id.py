"""The run-id grammar (interface.contracts.run_id): round trips, refusals, and the Snakemake
wildcard constraint agreeing with the parser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from snakemake.io import regex_from_filepattern, update_wildcard_constraints

from interface.contracts.run_id import (
    RUN_ID_WILDCARD,
    RunId,
    canonical,
    param_order,
    parse_setting,
    setting_string,
)
from interface.errors import InputError

REPO = Path(__file__).resolve().parents[2]

VALID = [
    "synthface__tiny__arcface__s=32.0__s6",
    "synthface__tiny__softmax__default__s0",
    "casia__iresnet50__interface__variant=dd,s=32.0,alpha=0.2__s12",
    "synth-smoke__tiny__external__label=tiny-ref__s0",  # an imported checkpoint (external_models)
    "bench__iresnet18__external__label=ms1mv3-r18__s0",
    "my_data__r-50__mag_face__l_m=0.45,u_m=1.1e-3__s3",
    "d__b__combined__m1=1.0,m2=0.3,m3=-0.2__s1",
]
INVALID = [
    "casia__r50__arcface__s1",  # four parts: no setting
    "casia__r50__arcface__default__1",  # seed without its 's'
    "casia__r50__arcface__default__s",  # no seed number
    "casia__r50__arcface__default__s1__extra",
    "Casia__r50__arcface__default__s1",  # upper-case dataset
    "casia__r50__2arc__default__s1",  # a loss name starts with a letter
    "casia__r50__arcface__m=0.5,,s=1__s1",
    "casia__r50__arcface__m__s1",  # a parameter without a value
    "casia__r50__arcface__m=0 5__s1",
    "casia__r50__arcface__default__s-1",
    "../x__r50__arcface__default__s1",
    "casia__r50__arcface__m=a/b__s1",
    "",
]


@pytest.mark.parametrize("text", VALID)
def test_run_id_round_trips(text):
    ident = RunId.parse(text)
    assert ident.run_id == str(ident) == text
    assert RunId.make(ident.dataset, ident.backbone, ident.loss, ident.setting, ident.seed) == ident
    # the parts, cut independently at the separators (names hold no '__')
    dataset, backbone, loss, setting, seed = text.split("__")
    assert (ident.dataset, ident.backbone, ident.loss, ident.setting, ident.seed) == (
        dataset, backbone, loss, setting, int(seed[1:]),
    )  # fmt: skip
    assert ident.method == (loss, setting)


@pytest.mark.parametrize("text", INVALID)
def test_invalid_run_ids_are_refused_in_one_line(text):
    with pytest.raises(InputError) as info:
        RunId.parse(text, where="config key extra_runs[0]")
    message = str(info.value)
    assert message.startswith(f"config key extra_runs[0]: {text!r} is not a run id") and "\n" not in message


def test_make_refuses_unsafe_parts():
    with pytest.raises(InputError, match="not filesystem-safe"):
        RunId.make("my data", "tiny", "arcface", "default", 0)
    with pytest.raises(InputError, match="not filesystem-safe"):
        RunId.make("synth", "tiny", "arcface", "m=1/2", 0)


def _snakemake_matcher(pattern: str) -> re.Pattern[str]:
    """The regex Snakemake matches a requested path with, for ``pattern`` under the global
    constraint common.smk declares for ``{run}``."""
    constrained = update_wildcard_constraints(pattern, {}, {"run": RUN_ID_WILDCARD})
    return re.compile(regex_from_filepattern(constrained))


@pytest.mark.parametrize("text", VALID + INVALID)
def test_wildcard_constraint_and_parser_agree(text):
    matcher = _snakemake_matcher("results/runs/{run}/run.json")
    match = matcher.match(f"results/runs/{text}/run.json")
    try:
        RunId.parse(text)
        parsed = True
    except InputError:
        parsed = False
    assert parsed == (text in VALID)
    assert (match is not None and match.group("run") == text) == parsed
    # beside another wildcard named like a part of the grammar (no group name clashes)
    beside = _snakemake_matcher("results/{dataset}/{run}.json").match(f"results/d/{text}.json")
    assert (beside is not None and beside.group("run") == text) == parsed


def test_common_smk_constrains_run_with_the_grammar():
    text = (REPO / "workflow" / "rules" / "common.smk").read_text()
    assert re.search(r"^wildcard_constraints:\n    run=RUN_ID_WILDCARD,$", text, re.M)
    assert "from interface.contracts.run_id import RUN_ID_WILDCARD" in text


@pytest.mark.parametrize(
    ("value", "default", "text"),
    [(0.5, 0.5, "0.5"), ("0.50", 0.5, "0.5"), (5e-1, 0.5, "0.5"), (4.0, 4, "4"), (1, 1.0, "1.0"),
     (-0.0, 0.5, "0.0"), ("true", False, "true"), ("dd", "cc", "dd"), (2, None, "2.0")],
)  # fmt: skip
def test_canonical_spelling_parses_back_to_the_typed_value(value, default, text):
    typed, got = canonical(value, default, "k")
    assert got == text
    assert parse_setting(setting_string({"k": got}, ["k"])) == {"k": typed}


def test_setting_string_order_and_default():
    defaults = {"s": 64.0, "m": 0.5, "variant": "dd"}
    assert param_order(defaults) == ["variant", "s", "m"]
    assert setting_string({"m": "0.4", "variant": "cc"}, param_order(defaults)) == "variant=cc,m=0.4"
    assert setting_string({}, param_order(defaults)) == "default"
    assert parse_setting("default") == {}
    with pytest.raises(InputError, match="expected 'default' or name=value pairs"):
        parse_setting("m=0.5,")
