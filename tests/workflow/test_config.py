"""Config schema, matrix expansion and bad-config messages (in-process, no Snakemake run)."""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path

import pytest
import wfconfig
import wfdatasets
import wfruns
import yaml
from conftest import REPO
from snakemake.utils import update_config

from interface import limits
from interface.contracts import run_id as grammar
from interface.errors import InputError
from interface.losses import list_losses
from interface.losses.registry import loss_class
from interface.training.config import RunConfig, config_from_mapping

CONFIGS = REPO / "workflow" / "configs"


def load(*extra: Path | dict) -> dict:
    """config.yaml with each extra file or mapping merged over it, as Snakemake merges --configfile."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for item in extra:
        update_config(config, item if isinstance(item, dict) else yaml.safe_load(item.read_text()))
    return config


def resolve(config: dict, workdir: Path = REPO) -> tuple[dict, dict]:
    """What common.smk does at parse time: validate, expand, check datasets; returns (config, runs)."""
    config, schema = wfconfig.load_config(config, workdir)
    runs = wfruns.expand_matrix(config, schema)
    every = {**runs, **wfruns.extra_runs(config, runs)}
    wfruns.check_datasets(config, every)
    return config, every


def test_schema_recipe_keys_are_the_trainers_keys_minus_the_per_run_ones():
    recipe = wfconfig.load_schema()["$defs"]["recipe"]["properties"]
    fields = {f.name for f in dataclasses.fields(RunConfig)}
    assert set(recipe) == fields - set(wfruns.PER_RUN_KEYS)


def test_default_matrix_is_the_papers_comparison_on_ten_seeds_and_the_alpha_sweep_on_four():
    config, runs = resolve(load())
    assert len(runs) == 6 * 10 + 2 * 4
    assert {r.loss for r in runs.values()} == {"softmax", "cosface", "arcface", "interface"}
    seeds = {}
    for r in runs.values():
        seeds.setdefault((r.loss, r.setting), set()).add(r.seed)
    main = {("softmax", "default"), ("cosface", "s=32.0"), ("arcface", "s=32.0")}
    main |= {("interface", f"variant={v},s=32.0") for v in ("cc", "dc", "dd")}
    sweep = {("interface", f"variant=dd,s=32.0,alpha={a}") for a in ("0.05", "0.2")}
    assert set(seeds) == main | sweep
    assert all(seeds[k] == set(range(10)) for k in main)
    assert all(seeds[k] == set(range(4)) for k in sweep)
    benches = wfdatasets.benchmark_specs("synthface", config["datasets"]["synthface"], config["paths"])
    assert [b["benchmark"] for b in benches] == [
        "synth_lfw", "synth_cfp_fp", "synth_agedb_30", "synth_calfw", "synth_cplfw", "synth_ijb", "synth_identification",
        "synth_ijb_1n", "synth_tinyface",
    ]  # fmt: skip
    assert [b["kind"] for b in benches] == ["verification"] * 5 + [
        "ijb",
        "identification",
        "ijb_1n",
        "tinyface",
    ]


def test_an_entrys_seeds_replace_the_matrix_seeds_for_that_entry_only():
    entries = [{"loss": "softmax"}, {"loss": "arcface", "seeds": [7]}]
    _, runs = resolve(load({"matrix": {"seeds": [0, 1], "losses": entries}}))
    assert sorted((r.loss, r.seed) for r in runs.values()) == [("arcface", 7), ("softmax", 0), ("softmax", 1)]


def test_full_matrix_covers_every_loss_at_its_default_and_the_sweeps():
    _, runs = resolve(load(REPO / "workflow" / "configs" / "full.yaml"))
    assert len(runs) == 78
    assert {r.loss for r in runs.values()} == set(list_losses())
    assert {r.seed for r in runs.values()} == {0, 1, 2}
    settings = {(r.loss, r.setting) for r in runs.values()}
    for loss in set(list_losses()) - {"interface"}:
        assert (loss, "default") in settings
    for variant in ("cc", "dc", "dd"):
        assert ("interface", f"variant={variant}") in settings
        for alpha in ("0.05", "0.2"):
            assert ("interface", f"variant={variant},alpha={alpha}") in settings
    assert {s for loss, s in settings if loss == "arcface"} == {"default", "m=0.3", "m=0.4", "m=0.6"}
    assert {s for loss, s in settings if loss == "cosface"} == {"default", "m=0.25", "m=0.45"}
    assert {("interface", "variant=dd,m=0.4"), ("interface", "variant=dd,m=0.6")} <= settings


def test_run_ids_parse_back_to_their_fields():
    _, runs = resolve(load())
    for run_id, run in runs.items():
        parsed = grammar.RunId.parse(run_id)
        assert (parsed.dataset, parsed.backbone, parsed.loss, parsed.setting, parsed.seed) == (
            run.dataset, run.backbone, run.loss, run.setting, run.seed,
        )  # fmt: skip
        assert grammar.parse_setting(parsed.setting) == run.params


def test_run_config_is_accepted_by_the_trainers_own_config_check(tmp_path):
    config, runs = resolve(load())
    run = runs["synthface__tiny__interface__variant=dd,s=32.0,alpha=0.2__s1"]
    spec = wfruns.absolute_paths(wfruns.run_config(run, config), tmp_path)
    spec["threads"] = 1
    parsed = config_from_mapping(spec)
    assert parsed.loss == "interface" and parsed.loss_params == {"variant": "dd", "s": 32.0, "alpha": 0.2}
    assert parsed.seed == 1 and parsed.backbone == "tiny" and parsed.input_size == 32
    assert parsed.data == str(tmp_path / "results" / "data" / "synthface")
    assert parsed.cache_dir == str(tmp_path / "results" / "cache" / "decoded")
    assert parsed.tags == {
        "dataset": "synthface",
        "setting": "variant=dd,s=32.0,alpha=0.2",
        "run_id": run.run_id,
    }


@pytest.mark.parametrize("name", ["smoke.yaml", "paper-casia-r50.yaml", "paper-ms1mv2-r100.yaml"])
def test_shipped_configs_replace_the_whole_default_recipe(name):
    """Snakemake merges --configfile over config.yaml: no default training key may leak through."""
    own = yaml.safe_load((CONFIGS / name).read_text())
    assert load(CONFIGS / name)["train"] == own["train"]
    assert set(yaml.safe_load((REPO / "config.yaml").read_text())["train"]) <= set(own["train"])


@pytest.mark.parametrize(
    ("name", "dataset", "backbone"),
    [("paper-casia-r50.yaml", "casia", "iresnet50"), ("paper-ms1mv2-r100.yaml", "ms1mv2", "iresnet100")],
)
def test_paper_configs_resolve_against_real_folder_layouts(name, dataset, backbone, fake_real_data):
    config, runs = resolve(load(CONFIGS / name, {"paths": fake_real_data}))
    assert len(runs) == 10 and {r.dataset for r in runs.values()} == {dataset}
    assert {r.backbone for r in runs.values()} == {backbone}
    benches = {
        b["benchmark"]: b
        for b in wfdatasets.benchmark_specs(dataset, config["datasets"][dataset], config["paths"])
    }
    assert set(benches) == {
        "lfw",
        "cfp_ff",
        "cfp_fp",
        "agedb_30",
        "calfw",
        "cplfw",
        "vgg2_fp",
        "ijbb",
        "ijbc",
        "megaface",
    }
    assert benches["ijbc"]["path"] == f"{fake_real_data['ijb']}/IJBC"
    assert benches["megaface"] == {
        **benches["megaface"],
        "kind": "identification",
        "options": {"clean": True},
    }
    run = next(iter(runs.values()))
    assert wfruns.run_config(run, config)["data"] == fake_real_data[dataset]


@pytest.mark.parametrize(
    ("value", "default", "typed", "text"),
    [
        (0.5, 0.5, 0.5, "0.5"),
        (0.50, 0.35, 0.5, "0.5"),
        ("0.50", 0.35, 0.5, "0.5"),
        (5e-1, 0.35, 0.5, "0.5"),
        ("5e-1", 0.35, 0.5, "0.5"),
        (1, 1.0, 1.0, "1.0"),
        (1e-5, 0.01, 1e-5, "1e-05"),
        (-0.0, 0.5, 0.0, "0.0"),
        (4, 4, 4, "4"),
        ("4", 4, 4, "4"),
        (4.0, 4, 4, "4"),
        (True, False, True, "true"),
        ("false", True, False, "false"),
        ("dd", "cc", "dd", "dd"),
        (0.2, None, 0.2, "0.2"),
        (0.17453292519943295, None, 0.17453292519943295, "0.17453292519943295"),
    ],
)
def test_canonical_values_give_one_spelling_per_value(value, default, typed, text):
    got_typed, got_text = grammar.canonical(value, default, "k")
    assert (got_typed, got_text) == (typed, text)
    assert type(got_typed) is type(typed)
    assert grammar.parse_setting(f"k={got_text}") == {"k": typed}


@pytest.mark.parametrize(
    ("value", "default"),
    [(4.5, 4), ("abc", 0.5), (float("nan"), 0.5), (float("inf"), 0.5), ("x y", "cc"), (1, True), ("1.5", 4)],
)
def test_canonical_rejects_values_of_the_wrong_kind(value, default):
    with pytest.raises(InputError, match=r"^config key k: "):
        grammar.canonical(value, default, "k")


def test_setting_lists_categorical_parameters_first_then_declaration_order():
    defaults = loss_class("interface").default_params
    assert (
        grammar.setting_string({"alpha": "0.2", "variant": "dd"}, grammar.param_order(defaults))
        == "variant=dd,alpha=0.2"
    )
    assert grammar.setting_string({}, grammar.param_order(defaults)) == "default"


def _entry(**entry) -> dict:
    return {"matrix": {"seeds": [0], "losses": [entry]}}


def _replace_losses(config: dict, *entries: dict) -> dict:
    config["matrix"]["losses"] = list(entries)
    return config


def _real_dataset(tmp: Path, path: str, paths: dict | None = None, bench_path: str = "lfw.bin") -> dict:
    return {
        "paths": paths or {},
        "datasets": {
            "real": {"path": path, "benchmarks": {"lfw": {"kind": "verification", "path": bench_path}}}
        },
        "matrix": {"datasets": ["real"]},
    }


def _with_training_folder(tmp: Path) -> Path:
    folder = tmp / "faces"
    folder.mkdir()
    for item in ("train.rec", "train.idx", "property"):
        (folder / item).write_bytes(b"")
    return folder


BAD = {
    "unknown loss": (
        lambda c, t: _replace_losses(c, {"loss": "arcfase"}),
        ["matrix.losses[0].loss", "arcfase"],
    ),
    "margin out of range": (
        lambda c, t: _replace_losses(c, {"loss": "arcface", "params": {"m": 2.0}}),
        ["matrix.losses[0].params.m", "radians, [0, pi/2)"],
    ),
    "swept margin out of range": (
        lambda c, t: _replace_losses(c, {"loss": "cosface", "sweep": {"m": [0.3, "1.5"]}}),
        ["matrix.losses[0].sweep.m[1]", "cosine units"],
    ),
    "negative scale": (
        lambda c, t: _replace_losses(c, {"loss": "normface", "params": {"s": -1}}),
        ["matrix.losses[0].params.s", "(0, inf)"],
    ),
    "unknown variant": (
        lambda c, t: _replace_losses(c, {"loss": "interface", "params": {"variant": "xx"}}),
        ["matrix.losses[0].params.variant"],
    ),
    "unknown loss parameter": (
        lambda c, t: _replace_losses(c, {"loss": "arcface", "params": {"margin": 0.5}}),
        ["matrix.losses[0].params.margin", "accepted: s, m, form, fallback"],
    ),
    "parameter relation the loss checks": (
        lambda c, t: _replace_losses(c, {"loss": "magface", "params": {"l_m": 0.7, "u_m": 0.5}}),
        ["config key matrix.losses[0]"],
    ),
    "same margin spelled twice": (
        lambda c, t: _replace_losses(
            c, {"loss": "arcface", "params": {"m": 0.4}}, {"loss": "arcface", "sweep": {"m": ["0.40"]}}
        ),
        ["matrix.losses[1].sweep.m[0]", "same output path", "matrix.losses[0]"],
    ),
    "explicit default trains the same model": (
        lambda c, t: _replace_losses(c, {"loss": "arcface"}, {"loss": "arcface", "sweep": {"m": [0.5]}}),
        ["matrix.losses[1].sweep.m[0]", "same model", "'default'"],
    ),
    "benchmark option of another protocol": (
        lambda c, t: (
            update_config(
                c, {"datasets": {"synthface": {"benchmarks": {"synth_lfw": {"options": {"clean": True}}}}}}
            )
            or c
        ),
        ["datasets.synthface.benchmarks.synth_lfw.options.clean", "accepted: n_folds"],
    ),
    "unknown top-level key": (lambda c, t: {**c, "matirx": {}}, ["matirx", "was unexpected"]),
    "unknown recipe key": (
        lambda c, t: update_config(c, {"train": {"learning_rate": 0.1}}) or c,
        ["config key train", "learning_rate"],
    ),
    "seed of the wrong type": (
        lambda c, t: update_config(c, {"matrix": {"seeds": ["one"]}}) or c,
        ["matrix.seeds[0]"],
    ),
    "unknown matrix dataset": (
        lambda c, t: update_config(c, {"matrix": {"datasets": ["nosuch"]}}) or c,
        ["matrix.datasets[0]", "nosuch"],
    ),
    "dataset with synth and path": (
        lambda c, t: update_config(c, {"datasets": {"synthface": {"path": "x"}}}) or c,
        ["datasets.synthface", "exactly one of synth or path"],
    ),
    "benchmark the generator does not write": (
        lambda c, t: (
            update_config(
                c,
                {
                    "datasets": {
                        "synthface": {"benchmarks": {"lfw": {"kind": "verification", "path": "lfw.bin"}}}
                    }
                },
            )
            or c
        ),
        ["datasets.synthface.benchmarks.lfw.path", "synth_lfw.bin"],
    ),
    "missing dataset folder": (
        lambda c, t: update_config(c, _real_dataset(t, str(t / "nowhere"))) or c,
        ["datasets.real.path", "no such folder", "train.rec, train.idx and property"],
    ),
    "dataset folder without train.idx": (
        lambda c, t: (
            (_with_training_folder(t) / "train.idx").unlink()
            or update_config(c, _real_dataset(t, str(t / "faces")))
            or c
        ),
        ["datasets.real.path", "missing train.idx"],
    ),
    "unset path": (
        lambda c, t: update_config(c, _real_dataset(t, "{casia}", {"casia": None})) or c,
        ["paths.casia is not set", "datasets.real.path", "train.rec"],
    ),
    "undefined path name": (
        lambda c, t: update_config(c, _real_dataset(t, "{nope}")) or c,
        ["datasets.real.path", "paths.nope is not defined"],
    ),
    "missing benchmark file": (
        lambda c, t: update_config(c, _real_dataset(t, str(_with_training_folder(t)))) or c,
        ["datasets.real.benchmarks.lfw.path", "no such file", ".bin pair pack"],
    ),
    "plugin module that does not exist": (
        lambda c, t: {**c, "plugins": ["no_such_plugin_module_xyz"]},
        ["plugins[0]", "no_such_plugin_module_xyz"],
    ),
    "plugin file with a syntax error": (
        lambda c, t: (
            (t / "broken_plugin.py").write_text("def oops(:\n")
            and {**c, "plugins": [str(t / "broken_plugin.py")]}
        ),
        ["plugins[0]", "SyntaxError"],
    ),
    "extra run id that is not a run id": (
        lambda c, t: {**c, "extra_runs": ["not-a-run"]},
        ["extra_runs[0]", "not a run id"],
    ),
    "extra run already in the matrix": (
        lambda c, t: {**c, "extra_runs": ["synthface__tiny__softmax__default__s0"]},
        ["extra_runs[0]", "already a run of the matrix"],
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_config_is_rejected_naming_the_key(case, tmp_path):
    mutate, expected = BAD[case]
    config = mutate(copy.deepcopy(load()), tmp_path)
    with pytest.raises(InputError) as info:
        resolve(config, tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("config key "), message
    for part in expected:
        assert part in message, (part, message)


def test_extra_runs_parse_from_their_ids():
    config, runs = resolve({**load(), "extra_runs": ["synthface__tiny__mymargin__m=0.2,flag=true__s3"]})
    run = runs["synthface__tiny__mymargin__m=0.2,flag=true__s3"]
    assert (run.loss, run.seed, run.params) == ("mymargin", 3, {"m": 0.2, "flag": True})
    spec = wfruns.run_config(run, config, plugins=["my_plugin.py"])
    assert (
        spec["loss"] == "mymargin"
        and spec["plugins"] == ["my_plugin.py"]
        and spec["loss_params"] == {"m": 0.2, "flag": True}
    )


# ------------------------------------------------------------------ one range table, one schema
NUMERIC_KEYWORDS = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "multipleOf")


def _bounds(spec: dict) -> dict:
    return {k: spec[k] for k in NUMERIC_KEYWORDS if k in spec}


def _schema_type(spec: dict) -> set:
    kind = spec.get("type")
    return set(kind) if isinstance(kind, list) else {kind}


#: RUN.yaml keys with a range that the workflow sets per run instead of taking them from `train`,
#: and where the schema states their range (None: the workflow computes the value itself).
PER_RUN_RANGE_AT = {"seed": ("matrix", "seeds"), "threads": None}


def _recipe_spec(key: str) -> dict | None:
    schema = wfconfig.load_schema()
    if key in PER_RUN_RANGE_AT:
        where = PER_RUN_RANGE_AT[key]
        if where is None:
            return None
        ref = schema["properties"][where[0]]["properties"][where[1]]["items"]["$ref"]
        return schema["$defs"][ref.rsplit("/", 1)[1]]
    return schema["$defs"]["recipe"]["properties"].get(key)


@pytest.mark.parametrize("key", sorted(limits.RUN_RANGES))
def test_schema_bounds_of_every_ranged_run_key_equal_the_trainers_table(key):
    legal = limits.RUN_RANGES[key]
    spec = _recipe_spec(key)
    if key in PER_RUN_RANGE_AT and spec is None:
        assert key in wfruns.PER_RUN_KEYS
        return
    assert spec is not None, f"RUN.yaml key {key!r} has a range but no entry in the schema's recipe"
    assert _bounds(spec) == legal.schema(), key
    types = _schema_type(spec)
    assert ("integer" if legal.kind is int else "number") in types, (key, types)
    assert ("null" in types) == legal.nullable, (key, types)


@pytest.mark.parametrize("key", sorted(limits.RUN_ITEM_RANGES))
def test_schema_bounds_of_list_items_equal_the_trainers_table(key):
    spec = wfconfig.load_schema()["$defs"]["recipe"]["properties"][key]
    assert spec["type"] == "array"
    assert _bounds(spec["items"]) == limits.RUN_ITEM_RANGES[key].schema()


def test_every_numeric_recipe_key_of_the_schema_has_a_range_in_the_table():
    recipe = wfconfig.load_schema()["$defs"]["recipe"]["properties"]
    for key, spec in recipe.items():
        numeric = _schema_type(spec) & {"integer", "number"} or (
            spec.get("type") == "array" and _schema_type(spec["items"]) & {"integer", "number"}
        )
        if numeric:
            assert key in limits.RUN_RANGES or key in limits.RUN_ITEM_RANGES, key


def test_schema_benchmark_kinds_and_options_are_the_registry():
    from interface.evaluation.ijb import IMAGE_FEATURE_MODES
    from interface.evaluation.kinds import all_options, list_benchmark_kinds

    benchmark = wfconfig.load_schema()["$defs"]["benchmark"]["properties"]
    assert benchmark["kind"]["enum"] == list_benchmark_kinds()
    options = benchmark["options"]["properties"]
    assert set(options) == set(all_options())
    for key, allowed in IMAGE_FEATURE_MODES.items():  # the IJB switches are the modes the code has
        assert options[key]["enum"] == list(allowed), key
    for key, opt in all_options().items():
        spec = options[key]["items"] if opt.is_list else options[key]
        assert _bounds(spec) == ({} if opt.range is None else opt.range.schema()), key


def test_schema_device_pattern_and_evaluate_batch_are_the_tables():
    schema = wfconfig.load_schema()
    assert schema["$defs"]["recipe"]["properties"]["device"]["pattern"] == f"^({limits.DEVICE_PATTERN})$"
    batch = schema["properties"]["evaluate"]["properties"]["batch_size"]
    assert _bounds(batch) == limits.EVALUATE_RANGES["batch_size"].schema()


@pytest.mark.parametrize(
    "train,needle",
    [
        ({"lr": float("inf")}, "train.lr"),
        ({"lr": float("nan")}, "train.lr"),
        ({"momentum": float("nan")}, "train.momentum"),
        ({"input_size": 40}, "train.input_size"),
        ({"batch_size": 1}, "train.batch_size"),
    ],
)
def test_values_the_trainer_refuses_are_refused_at_parse_time(train, needle):
    config = load({"train": train})
    with pytest.raises(InputError, match=re.escape(needle)):
        resolve(config)
    key, value = next(iter(train.items()))
    with pytest.raises(InputError, match=key):
        config_from_mapping({"data": "x", key: value})


def test_batch_of_one_per_gpu_or_an_uneven_split_is_refused_at_parse_time():
    with pytest.raises(InputError, match="per GPU"):
        resolve(load({"train": {"batch_size": 4}, "gpus_per_run": 4}))
    with pytest.raises(InputError, match="not divisible by gpus_per_run 4"):
        resolve(load({"train": {"batch_size": 10}, "gpus_per_run": 4}))
    resolve(load({"train": {"batch_size": 8}, "gpus_per_run": 4}))  # 2 per GPU: legal


@pytest.mark.parametrize("train", [{"lr": 1e-9}, {"input_size": 48}, {"batch_size": 2}, {"momentum": 0.0}])
def test_legal_neighbours_pass_the_parse_time_checks(train):
    resolve(load({"train": train}))
    config_from_mapping({"data": "x", **train})


def test_config_files_with_a_repeated_key_are_refused_and_bom_crlf_files_read(tmp_path):
    repeated = tmp_path / "repeated.yaml"
    repeated.write_text("train:\n  lr: 0.4\n  lr: 0.1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"repeated.yaml: key 'lr' given twice \(second time at line 3\)"):
        wfconfig.check_config_files([repeated])
    legal = tmp_path / "legal.yaml"
    legal.write_bytes(b"\xef\xbb\xbftrain:\r\n  lr: 0.4\r\n  epochs: 1\r\n")
    wfconfig.check_config_files([legal, REPO / "config.yaml"])


def test_glint360k_config_trains_a_partial_fc_head(tmp_path):
    """The Glint360K recipe: RUN.yaml carries classifier {model_parallel, 0.1}, which the trainer's
    own config check accepts; the whole default recipe is replaced."""
    path = CONFIGS / "paper-glint360k-r100.yaml"
    own = yaml.safe_load(path.read_text())
    assert set(yaml.safe_load((REPO / "config.yaml").read_text())["train"]) <= set(own["train"])
    real = tmp_path / "glint360k"
    real.mkdir()
    for item in ("train.rec", "train.idx", "property"):
        (real / item).write_bytes(b"")
    (tmp_path / "bins").mkdir()
    for pack in ("lfw", "cfp_fp", "agedb_30"):
        (tmp_path / "bins" / f"{pack}.bin").write_bytes(b"")
    for ijb in ("IJBB", "IJBC"):
        for sub in ("loose_crop", "meta"):
            (tmp_path / "ijb" / ijb / sub).mkdir(parents=True)
    paths = {"glint360k": str(real), "bins": str(tmp_path / "bins"), "ijb": str(tmp_path / "ijb")}
    config, runs = resolve(load(path, {"paths": paths}))
    assert len(runs) == 3
    spec = wfruns.absolute_paths(wfruns.run_config(next(iter(runs.values())), config), tmp_path)
    parsed = config_from_mapping({**spec, "threads": 1})
    assert parsed.classifier == {"mode": "model_parallel", "sample_rate": 0.1}
    assert parsed.batch_size == 1024 and parsed.lr * parsed.batch_size / 512 == pytest.approx(0.1)


def test_an_entrys_seed_outside_the_seed_range_is_refused_naming_the_key():
    entries = [{"loss": "softmax", "seeds": [-1]}]
    with pytest.raises(InputError, match=r"matrix\.losses\[0\]\.seeds\[0\]"):
        resolve(load({"matrix": {"seeds": [0], "losses": entries}}))
