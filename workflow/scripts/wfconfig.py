"""Validate the workflow config against ``workflow/schemas/config.schema.yaml`` with one-line errors.

Every message starts with ``config key <dotted.path[index]>:`` so a typo or an out-of-range value
is found without reading a traceback. Missing optional keys take the ``default`` the schema gives.
Plugin losses (``plugins:``) are imported first and added to the loss enum, so a registered plugin
loss is accepted and an unknown name is rejected naming the key. The benchmark kinds and their
options come from the evaluator's registry (:mod:`interface.evaluation.kinds`).
"""

from __future__ import annotations

import copy
import functools
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import jsonschema

from interface.errors import InputError
from interface.evaluation.kinds import list_benchmark_kinds, options_schema
from interface.limits import MIN_BATCH_PER_PROCESS, RUN_ITEM_RANGES, RUN_RANGES, check, check_items
from interface.textfiles import load_yaml, parse_yaml

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"


@functools.cache
def _schema_text() -> str:
    return SCHEMA_PATH.read_text(encoding="utf-8")


def load_schema(extra_losses: Iterable[str] = ()) -> dict[str, Any]:
    """The config schema with what the registries define filled in: the loss enum (every
    registered loss, plus ``extra_losses``, names registered by plugins), ``$defs.loss_params``
    from every loss's own ``PARAMS``, and the benchmark kinds with their options."""
    from interface.losses.registry import list_losses, loss_param_schemas

    schema = parse_yaml(_schema_text(), str(SCHEMA_PATH))
    schema["$defs"]["loss_name"]["enum"] = sorted(set(list_losses()) | set(extra_losses))
    schema["$defs"]["loss_params"] = loss_param_schemas()
    benchmark = schema["$defs"]["benchmark"]["properties"]
    benchmark["kind"]["enum"] = list_benchmark_kinds()
    benchmark["options"]["properties"] = options_schema()
    return schema


def key_path(parts: Sequence[Any], base: str = "") -> str:
    """``["matrix", "losses", 2, "m"]`` -> ``matrix.losses[2].m`` (``<root>`` when empty), after ``base``."""
    text = base
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<root>"


def _first_error(
    validator: jsonschema.protocols.Validator, instance: Any
) -> jsonschema.ValidationError | None:
    errors = sorted(validator.iter_errors(instance), key=lambda e: (list(e.absolute_path), e.message))
    return jsonschema.exceptions.best_match(errors) if errors else None


def _message(error: jsonschema.ValidationError, prefix: str) -> str:
    where = key_path(list(error.absolute_path), base=prefix)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        hint = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
        return f"config key {where}: {error.message}{hint}"
    if error.validator == "oneOf" and error.schema.get("oneOf") and "required" in error.schema["oneOf"][0]:
        options = " or ".join(s["required"][0] for s in error.schema["oneOf"])
        return f"config key {where}: give exactly one of {options}"
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    unit = f" ({description})" if description and len(description) < 120 else ""
    return f"config key {where}: {error.message}{unit}"


def validate(instance: Any, schema: dict[str, Any], prefix: str = "") -> None:
    """Raise :class:`InputError` naming the first offending key of ``instance`` under ``schema``.

    ``prefix`` is the key path of ``instance`` inside the whole config (for the message).
    """
    error = _first_error(jsonschema.Draft202012Validator(schema), instance)
    if error is not None:
        raise InputError(_message(error, prefix))


def _fill_defaults(instance: Any, schema: dict[str, Any], defs: dict[str, Any]) -> None:
    """Set each missing property that has a ``default`` (recursing into present objects)."""
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    if not isinstance(instance, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            _fill_defaults(instance[key], sub, defs)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in instance.items():
            if key not in schema.get("properties", {}):
                _fill_defaults(value, extra, defs)


def import_plugins(plugins: Sequence[str], workdir: Path) -> list[str]:
    """Import each plugin as the trainer will (module name or .py path); return losses they added.

    The working directory is put on ``sys.path`` first, as ``python -m interface`` does, so a
    module file next to the config imports by name.
    """
    from interface.losses import list_losses
    from interface.training.trainer import import_plugins as trainer_import

    before = set(list_losses())
    if str(workdir) not in sys.path:
        sys.path.insert(0, str(workdir))
    for i, plugin in enumerate(plugins):
        try:
            trainer_import([plugin])
        except InputError as exc:  # the trainer's message, re-keyed to the list entry
            detail = " ".join(str(exc).split()).removeprefix("config key 'plugins': ")
            raise InputError(f"config key plugins[{i}]: {detail}") from None
        except Exception as exc:  # a plugin's own bug (syntax, duplicate name): report it, one line
            detail = " ".join(f"{type(exc).__name__}: {exc}".split())
            raise InputError(f"config key plugins[{i}]: cannot import {plugin!r} ({detail})") from None
    return sorted(set(list_losses()) - before)


def load_config(config: dict[str, Any], workdir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate ``config`` (a copy gets the schema defaults); return ``(config, schema)``.

    Plugins are imported before validation so their losses join the enum.
    """
    config = copy.deepcopy(dict(config))
    plugins = config.get("plugins") or []
    if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
        raise InputError(f"config key plugins: {plugins!r}; expected a list of module names or .py paths")
    from interface.losses import list_losses

    import_plugins(plugins, workdir)
    schema = load_schema(extra_losses=list_losses())
    validate(config, schema)
    _fill_defaults(config, schema, schema["$defs"])
    check_recipe(config)
    return config, schema


def check_recipe(config: dict[str, Any]) -> None:
    """What the schema cannot state but the trainer refuses: finite numbers (JSON Schema lets NaN
    and infinities pass every numeric bound), a global batch that splits evenly over the GPUs of
    a run, and BatchNorm's two images per process.

    Ranges come from :data:`interface.limits.RUN_RANGES`, the table the trainer checks.
    """
    recipe = config.get("train") or {}
    for key, value in recipe.items():
        check(key, value, RUN_RANGES, label=f"config key train.{key}")
        check_items(key, value, RUN_ITEM_RANGES, label=f"config key train.{key}")
    batch, gpus = recipe.get("batch_size"), config.get("gpus_per_run") or 0
    if isinstance(batch, int) and gpus > 1 and batch % gpus:
        raise InputError(
            f"config key train.batch_size: value {batch} is not divisible by gpus_per_run {gpus} "
            "(each process takes batch_size / gpus_per_run)"
        )
    if isinstance(batch, int) and gpus > 1 and batch // gpus < MIN_BATCH_PER_PROCESS:
        raise InputError(
            f"config key train.batch_size: value {batch} gives {batch // gpus} image(s) per GPU with "
            f"gpus_per_run {gpus}; BatchNorm needs at least {MIN_BATCH_PER_PROCESS} per process"
        )


def check_config_files(paths: Iterable[str | Path]) -> None:
    """Re-read each config file Snakemake merged: UTF-8 text and no key given twice in a mapping
    (Snakemake's own loader keeps the last value of a repeated key without a word)."""
    for path in paths:
        if Path(path).is_file():  # Snakemake itself reports a config file it could not open
            load_yaml(path)
