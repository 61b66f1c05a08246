"""Expand a validated config into its runs, reject clashes, and build each run's RUN.yaml mapping.

Every matrix point's loss is built once (2 classes, 4-d embeddings) so a value the loss itself
rejects (a relation such as MagFace's l_m <= u_m, a plugin loss's own range check) fails at parse
time naming the config key, like the schema's ranges do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wfconfig import validate
from wfdatasets import check_dataset, dataset_dir
from wfmatrix import Run, entry_points

from interface.contracts.run_id import RunId, param_order, parse_setting, setting_string
from interface.errors import InputError

#: RUN.yaml keys the workflow fills per run (everything else comes from the config's ``train``).
PER_RUN_KEYS = ("data", "loss", "loss_params", "seed", "plugins", "tags", "threads")


def _check_point(loss: str, point, schema: dict[str, Any]) -> None:
    from interface.losses import build_loss

    param_schemas = schema["$defs"]["loss_params"][loss]  # from the loss's PARAMS, plugins included
    for key, value in point.typed.items():
        validate(value, param_schemas[key], prefix=point.wheres[key])
    try:
        build_loss(loss, num_classes=2, embedding_size=4, **point.typed)
    except (InputError, ValueError, TypeError) as exc:
        raise InputError(f"config key {point.where}: {' '.join(str(exc).split())}") from None


def matrix_datasets(config: dict[str, Any]) -> list[str]:
    """The datasets the matrix trains on (``matrix.datasets``, default all of ``datasets``)."""
    names = config["matrix"].get("datasets") or list(config["datasets"])
    for i, name in enumerate(names):
        if name not in config["datasets"]:
            raise InputError(
                f"config key matrix.datasets[{i}]: {name!r} is not in datasets ({', '.join(config['datasets'])})"
            )
    return names


def expand_matrix(config: dict[str, Any], schema: dict[str, Any]) -> dict[str, Run]:
    """All runs of the matrix by run id; two entries giving the same run are an error."""
    from interface.losses.registry import loss_class

    backbone = config["train"]["backbone"]
    datasets = matrix_datasets(config)
    runs: dict[str, Run] = {}
    same: dict[tuple, tuple[str, str]] = {}
    for i, entry in enumerate(config["matrix"]["losses"]):
        loss, where = entry["loss"], f"matrix.losses[{i}]"
        defaults = dict(loss_class(loss).default_params)
        for point in entry_points(entry, defaults, where):
            _check_point(loss, point, schema)
            setting = setting_string(point.texts, param_order(defaults))
            resolved = (loss, tuple(sorted({**defaults, **point.typed}.items(), key=lambda kv: kv[0])))
            if resolved in same and same[resolved][1] != setting:
                other_where, other_setting = same[resolved]
                raise InputError(
                    f"config key {point.where}: setting {setting!r} of {loss} trains the same model as "
                    f"{other_where} (setting {other_setting!r}); remove one"
                )
            same[resolved] = (point.where, setting)
            for dataset in datasets:
                for seed in entry.get("seeds", config["matrix"]["seeds"]):
                    run = Run.declared(
                        RunId.make(dataset, backbone, loss, setting, seed), point.typed, point.where
                    )
                    if run.run_id in runs:
                        raise InputError(
                            f"config key {point.where}: run {run.run_id} is also declared by "
                            f"{runs[run.run_id].where}; two matrix entries map to the same output path"
                        )
                    runs[run.run_id] = run
    return runs


def extra_runs(config: dict[str, Any], matrix: dict[str, Run]) -> dict[str, Run]:
    """Runs named in ``extra_runs`` (trained by a host workflow's own rule), parsed from their ids."""
    runs = {}
    for i, run_id in enumerate(config.get("extra_runs") or []):
        where = f"extra_runs[{i}]"
        ident = RunId.parse(run_id, where=f"config key {where}")
        if ident.dataset not in config["datasets"]:
            raise InputError(f"config key {where}: dataset {ident.dataset!r} of {run_id} is not in datasets")
        if run_id in matrix:
            raise InputError(
                f"config key {where}: {run_id} is already a run of the matrix ({matrix[run_id].where})"
            )
        runs[run_id] = Run.declared(ident, parse_setting(ident.setting), where)
    return runs


def check_datasets(config: dict[str, Any], runs: dict[str, Run]) -> None:
    """Check every dataset some run uses (folders of real data, benchmark names of suites)."""
    for name in sorted({run.dataset for run in runs.values()}):
        check_dataset(name, config["datasets"][name], config["paths"])


def run_config(run: Run, config: dict[str, Any], plugins: list[str] | None = None) -> dict[str, Any]:
    """The RUN.yaml mapping of ``run`` except ``threads`` (set by the job that trains it).

    ``data``, ``cache_dir`` and ``.py`` plugin paths are relative to the working directory here; the train job
    makes them absolute (the trainer resolves relative paths against RUN.yaml's own folder).
    """
    recipe = dict(config["train"])
    recipe["backbone"] = run.backbone
    dataset = config["datasets"][run.dataset]
    return {
        **recipe,
        "data": dataset_dir(run.dataset, dataset, config["paths"]),
        "loss": run.loss,
        "loss_params": dict(run.params),
        "seed": run.seed,
        "plugins": list(config["plugins"] if plugins is None else plugins),
        "tags": {"dataset": run.dataset, "setting": run.setting, "run_id": run.run_id},
    }


def absolute_paths(spec: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """``spec`` with ``data``, ``cache_dir`` and ``.py`` plugins made absolute against ``workdir``."""

    def absolute(path: str) -> str:
        return str((workdir / Path(path).expanduser()).resolve())

    plugins = [absolute(p) if p.endswith(".py") else p for p in spec.get("plugins", [])]
    resolved = {**spec, "data": absolute(spec["data"]), "plugins": plugins}
    if spec.get("cache_dir"):
        resolved["cache_dir"] = absolute(spec["cache_dir"])
    return resolved
