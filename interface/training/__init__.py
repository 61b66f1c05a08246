"""The shared trainer: ``train(config, out_dir)``, ``load_run(run_dir)``, ``RunConfig``/``load_config``.

Heavy modules (torch) load only when these names are first used.
"""

from __future__ import annotations

from interface.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "train": "interface.training.trainer",
        "TrainingDivergedError": "interface.training.trainer",
        "TrainingInterruptedError": "interface.training.trainer",
        "load_run": "interface.training.runs",
        "RunConfig": "interface.training.config",
        "load_config": "interface.training.config",
        "config_from_mapping": "interface.training.config",
    },
)
