"""``external_models``: released checkpoints as runs of the workflow, checked at parse time.

Each label becomes the run ``<dataset>__<backbone>__external__label=<label>__s0`` (the project's
run-id grammar, so the tables parse it like any run), made by ``python -m interface import``
(rule ``import_external``) instead of the trainer and evaluated on its dataset's benchmarks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wfdatasets import expand
from wfmatrix import Run

from interface.contracts.run_id import RunId
from interface.errors import InputError
from interface.external.importer import EXTERNAL_LOSS, SETTING_KEY
from interface.limits import RUN_RANGES, check


def label_of(run: Run) -> str:
    """The ``external_models`` label of an external run (its setting is ``label=<label>``)."""
    return run.setting.split("=", 1)[1]


def weights_path(label: str, config: dict[str, Any]) -> str:
    """The checkpoint of ``external_models.<label>`` with ``{name}`` fields of ``paths`` filled."""
    where = f"external_models.{label}.weights"
    template = config["external_models"][label]["weights"]
    return str(Path(expand(template, config["paths"], where, "a checkpoint file")).expanduser())


def external_runs(config: dict[str, Any], taken: dict[str, Run], workdir: Path) -> dict[str, Run]:
    """One :class:`Run` per ``external_models`` entry; InputError naming the key when the backbone
    is not registered, the dataset not defined, the weights file absent, or the run id taken."""
    from interface.backbones import list_backbones

    runs: dict[str, Run] = {}
    for label, entry in (config.get("external_models") or {}).items():
        where = f"external_models.{label}"
        if entry["backbone"] not in list_backbones():
            raise InputError(
                f"config key {where}.backbone: {entry['backbone']!r} is not a registered backbone "
                f"({', '.join(list_backbones())})"
            )
        if entry["dataset"] not in config["datasets"]:
            raise InputError(
                f"config key {where}.dataset: {entry['dataset']!r} is not in datasets ({', '.join(config['datasets'])})"
            )
        for key in ("embedding_size", "input_size"):
            if key in entry:
                check(key, entry[key], RUN_RANGES, label=f"config key {where}.{key}")
        weights = workdir / weights_path(label, config)
        if not weights.is_file():
            raise InputError(f"config key {where}.weights: {weights} is not a file")
        ident = RunId.make(entry["dataset"], entry["backbone"], EXTERNAL_LOSS, f"{SETTING_KEY}={label}", 0)
        if ident.run_id in taken:
            raise InputError(
                f"config key {where}: run {ident.run_id} is also declared by {taken[ident.run_id].where}"
            )
        runs[ident.run_id] = Run.declared(ident, {}, where)
    return runs


def import_args(run: Run, config: dict[str, Any]) -> list[str]:
    """The ``python -m interface import`` options (after ``--weights``/``--out``) of an external run."""
    label = label_of(run)
    entry = config["external_models"][label]
    args = ["--backbone", run.backbone, "--name", label, "--run-id", run.run_id, "--dataset", run.dataset]
    for key in ("embedding_size", "input_size"):
        if key in entry:
            args += [f"--{key.replace('_', '-')}", str(entry[key])]
    if "published" in entry:
        args += ["--published-as", entry["published"]["dataset"], entry["published"]["loss"]]
    return args
