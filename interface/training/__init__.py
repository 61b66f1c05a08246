"""The shared trainer: ``train(config, out_dir)``, ``load_run(run_dir)``, ``RunConfig``/``load_config``.

Heavy modules (torch) load only when these names are first used.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "train": "interface.training.trainer",
    "TrainingDivergedError": "interface.training.trainer",
    "TrainingInterruptedError": "interface.training.trainer",
    "load_run": "interface.training.runs",
    "RunConfig": "interface.training.config",
    "load_config": "interface.training.config",
    "config_from_mapping": "interface.training.config",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'interface.training' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
