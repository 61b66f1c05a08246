"""Turn a released backbone checkpoint into a run folder that ``evaluate`` and the workflow accept.

:func:`import_weights` loads the file without running code (:func:`interface.untrusted.load_tensors`),
maps its keys onto the chosen backbone (:mod:`interface.external.layouts`), checks that every key
of the file is used, every key of the model is given and every shape matches, then writes
``RUN_DIR/model.pt`` (this project's keys, float tensors) and ``RUN_DIR/run.json`` with
``external: true`` and the provenance: source path, sha256, layout, label. The folder is built
under a temporary name beside RUN_DIR and renamed into place, so a failure leaves nothing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from interface.atomic import write_json
from interface.contracts.run_record import ImportedRunRecord
from interface.errors import InputError
from interface.evaluation.cache import file_sha256
from interface.external.layouts import Layout, layouts_for, strip_prefix
from interface.limits import RUN_RANGES, check
from interface.untrusted import load_tensors

#: keys under which trainers wrap a backbone's state_dict (Lightning, arcface_torch's
#: checkpoint_gpu_<rank>.pt, some zoos).
WRAPPER_KEYS = ("state_dict", "state_dict_backbone", "model", "backbone")
#: a training module's state_dict (AdaFace's Lightning .ckpt): the backbone under ``model.``, the
#: margin head's class centres under ``head.``: not part of the backbone, dropped and recorded.
TRAINING_PARTS = ("model.", "head.")
#: input sides tried, in order, when ``input_size`` is not given (112 first: every zoo's default).
INPUT_SIZES = (112, *(side for side in range(16, 449, 16) if side != 112))
#: the loss name and setting key under which the tables show an imported model.
EXTERNAL_LOSS, SETTING_KEY = "external", "label"


@dataclass(frozen=True)
class Mapped:
    """A checkpoint's tensors under this project's keys, and how they got there."""

    state: dict[str, torch.Tensor]
    foreign: dict[str, str]  # project key -> the file's key, for messages
    layout: str
    prefix: str
    wrapper: str | None
    dropped: list[str]


def _tensor_dict(obj: Any, path: Path) -> tuple[dict[str, torch.Tensor], str | None]:
    """The state_dict in ``obj`` (unwrapping one :data:`WRAPPER_KEYS` level), else InputError."""
    wrapper = None
    if isinstance(obj, dict) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
        wrapper = next((k for k in WRAPPER_KEYS if isinstance(obj.get(k), dict)), None)
        obj = obj[wrapper] if wrapper else obj
    if not isinstance(obj, dict) or not obj:
        kind = "an empty mapping" if isinstance(obj, dict) else type(obj).__name__
        raise InputError(f"{path}: not a state_dict (got {kind}; expected a mapping of names to tensors)")
    for key, value in obj.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise InputError(
                f"{path}: not a state_dict: key {key!r} holds {type(value).__name__}, expected a tensor"
            )
    return obj, wrapper


def _skeleton(backbone: str, embedding_size: int, input_size: int) -> dict[str, torch.Size]:
    """Key -> shape of ``backbone`` built on the meta device (no memory, no initialisation cost)."""
    from interface.backbones import build_backbone

    with torch.device("meta"):
        model = build_backbone(backbone, embedding_size=embedding_size, input_size=input_size)
    return {key: value.shape for key, value in model.state_dict().items()}


def map_keys(
    state: dict[str, torch.Tensor], backbone: str, model_keys: list[str], path: Path
) -> tuple[Layout, str, dict[str, str]]:
    """``(layout, prefix stripped, {file key: project key})`` under which the file's keys are
    exactly the model's; otherwise InputError naming the first key that does not fit."""
    prefix = strip_prefix(state)
    keys = [key[len(prefix) :] for key in state]
    best: tuple[int, str] | None = None
    for layout in layouts_for(backbone):
        mapping = layout.rename(keys)
        if mapping is None:
            continue
        targets = list(mapping.values())
        known, given = set(model_keys), set(targets)
        unknown = [k for k in keys if mapping[k] not in known]
        missing = [k for k in model_keys if k not in given]
        if not unknown and not missing and len(set(targets)) == len(targets):
            return layout, prefix, {prefix + k: v for k, v in mapping.items()}
        if unknown:
            why = f"key {prefix + unknown[0]!r} has no place in backbone {backbone!r} (layout {layout.name})"
        elif missing:
            why = f"backbone {backbone!r} key {missing[0]!r} is not in the file (layout {layout.name})"
        else:
            why = f"two keys map to one key of backbone {backbone!r} (layout {layout.name})"
        misfits = len(unknown) + len(missing)
        if best is None or misfits < best[0]:
            best = (misfits, why)
    if best is None:  # no layout recognised the names at all
        names = ", ".join(layout.name for layout in layouts_for(backbone))
        why = f"key {next(iter(state))!r} fits no known layout of backbone {backbone!r} ({names})"
    else:
        why = best[1]
    raise InputError(f"{path}: {why}")


def map_checkpoint(path: Path, backbone: str) -> Mapped:
    """Load ``path`` safely and map its keys onto ``backbone`` (shapes are checked by :func:`fit`)."""
    from interface.backbones import list_backbones

    if backbone not in list_backbones():
        raise InputError(
            f"--backbone: unknown name {backbone!r}; expected one of {', '.join(list_backbones())}"
        )
    if not path.is_file():
        raise InputError(f"{path}: weights file not found")
    raw, wrapper = _tensor_dict(load_tensors(path, "weights file"), path)
    backbone_part, head = TRAINING_PARTS
    dropped: list[str] = []
    if any(k.startswith(backbone_part) for k in raw) and all(k.startswith(TRAINING_PARTS) for k in raw):
        dropped = [k for k in raw if k.startswith(head)]
        raw = {k: v for k, v in raw.items() if k.startswith(backbone_part)}
    model_keys = list(_skeleton(backbone, 512, 112))
    layout, prefix, mapping = map_keys(raw, backbone, model_keys, path)
    state = {mapping[k]: v for k, v in raw.items()}
    if layout.convert is not None:
        state = layout.convert(state)
    return Mapped(state, {v: k for k, v in mapping.items()}, layout.name, prefix, wrapper, dropped)


def fit(
    mapped: Mapped, backbone: str, path: Path, embedding_size: int | None, input_size: int | None
) -> tuple[int, int]:
    """``(embedding_size, input_size)`` under which every tensor's shape matches the backbone.

    Sizes not given are read off the weights: D from ``fc.weight``'s rows, S as the first of
    :data:`INPUT_SIZES` that fits. A mismatch names the file's key, its shape and the expected one.
    """
    fc = mapped.state.get("fc.weight")
    from_fc = int(fc.shape[0]) if fc is not None and fc.dim() == 2 else 512
    sizes_d = embedding_size if embedding_size is not None else from_fc
    first_error = None
    for size in (input_size,) if input_size is not None else INPUT_SIZES:
        shapes = _skeleton(backbone, sizes_d, size)
        bad = next((k for k, shape in shapes.items() if mapped.state[k].shape != shape), None)
        if bad is None:
            return sizes_d, size
        if first_error is None:
            given = "given" if embedding_size is not None else "read from fc.weight"
            first_error = (
                f"{path}: key {mapped.foreign[bad]!r} has shape {list(mapped.state[bad].shape)}; backbone "
                f"{backbone!r} with embedding_size {sizes_d} ({given}) and input_size {size} expects {list(shapes[bad])}"
            )
    raise InputError(first_error)


def build(mapped: Mapped, backbone: str, path: Path, embedding_size: int, input_size: int) -> nn.Module:
    """The backbone holding the checkpoint's tensors (eval mode); non-finite or non-float values are refused."""
    from interface.backbones import build_backbone

    for key, value in mapped.state.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise InputError(f"{path}: key {mapped.foreign[key]!r} holds NaN or infinite values")
    model = build_backbone(backbone, embedding_size=embedding_size, input_size=input_size)
    expected = model.state_dict()
    for key, value in mapped.state.items():
        if value.is_floating_point() != expected[key].is_floating_point():
            raise InputError(
                f"{path}: key {mapped.foreign[key]!r} has dtype {value.dtype}; expected {expected[key].dtype}"
            )
    model.load_state_dict(mapped.state, strict=True)
    return model.eval()


def write_run(out: Path, model: nn.Module, info: dict[str, Any]) -> None:
    """Write ``out/model.pt`` and ``out/run.json`` as one step: built in a temporary folder beside
    ``out`` and renamed onto it. ``out`` may exist only as an empty folder (Snakemake makes one)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(
            f"--out {out}: already exists and is not an empty folder; remove it or choose another"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp / "model.pt")
        write_json(tmp / "run.json", info)
        os.chmod(tmp, 0o777 & ~_umask())
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def import_weights(
    path: Path,
    backbone: str,
    out: Path,
    *,
    embedding_size: int | None = None,
    input_size: int | None = None,
    label: str | None = None,
    run_id: str | None = None,
    dataset: str | None = None,
    published_as: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Import ``path`` as a ``backbone`` run into ``out``; returns the run.json written.

    Args:
        path: the checkpoint: a state_dict, possibly wrapped under one of :data:`WRAPPER_KEYS`,
            possibly with a ``module.``/``model.`` prefix on every key, possibly a training
            module's (:data:`TRAINING_PARTS`: the ``head.`` keys are dropped and recorded).
        backbone: a registered backbone name.
        out: the run folder to create (absent, or an empty folder).
        embedding_size, input_size: checked against the weights when given, else read off them.
        label: the model's name in the tables (default the file's stem).
        run_id: the run's id (default ``out``'s name); the evaluator's cache folder is named after it.
        dataset: the dataset whose benchmarks score it (recorded in ``tags`` for the tables).
        published_as: ``(training set, loss)`` under which published tables list this model
            (e.g. ``("ms1mv3", "arcface")``), recorded as run.json ``published_as`` so the
            report can set its scores beside the published ones (:mod:`analysis.external`).
    """
    from interface.training.provenance import git_revision, library_versions
    from interface.untrusted import plain_name

    for key, value in (("embedding_size", embedding_size), ("input_size", input_size)):
        if value is not None:
            check(key, value, RUN_RANGES, label=f"--{key.replace('_', '-')}")
    label = path.stem if label is None else label
    if not label.strip() or not label.isprintable():
        raise InputError(f"--name {label!r}: expected a non-empty one-line label")
    run_id = plain_name(out.resolve().name if run_id is None else run_id, "--run-id")
    for value in published_as or ():
        if not value.strip() or not value.isprintable():
            raise InputError(f"--published-as {value!r}: expected a training set and a loss name")
    mapped = map_checkpoint(path, backbone)
    dims, size = fit(mapped, backbone, path, embedding_size, input_size)
    model = build(mapped, backbone, path, dims, size)
    tags: dict[str, Any] = {
        "run_id": run_id,
        "loss": EXTERNAL_LOSS,
        "setting": f"{SETTING_KEY}={label}",
        "seed": 0,
        "label": label,
    }
    if dataset is not None:
        tags["dataset"] = dataset
    record = ImportedRunRecord(
        run_id=run_id,
        backbone=backbone,
        embedding_size=dims,
        input_size=size,
        external=True,
        provenance={
            "source": str(path.resolve()),
            "sha256": file_sha256(path),
            "bytes": path.stat().st_size,
            "layout": mapped.layout,
            "prefix_stripped": mapped.prefix,
            "wrapper_key": mapped.wrapper,
            "dropped_keys": mapped.dropped,
            "tensors": len(mapped.state),
            "label": label,
            "imported_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "git_revision": git_revision(),
            "versions": library_versions(),
        },
        tags=tags,
        published_as=None if published_as is None else {"dataset": published_as[0], "loss": published_as[1]},
    )
    info = record.to_json()
    write_run(out, model, info)
    return info
