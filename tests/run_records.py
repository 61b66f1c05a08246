"""Run records (run.json) for test fixtures: a complete, plausible trained-run record with chosen fields.

Fixtures that need a run folder without training one write this instead of a hand-made dict, so
they hold exactly the keys the trainer writes (:class:`interface.contracts.run_record.RunRecord`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from interface.contracts.run_record import RunRecord


def trained_record(**fields: Any) -> RunRecord:
    """A trained run's record: ``fields`` over plausible values (a 10-step tiny CPU run). ``config``
    defaults to the backbone, loss, seed and an empty plugin list of the record."""
    base: dict[str, Any] = {
        "backbone": "tiny",
        "embedding_size": 16,
        "input_size": 32,
        "loss": "arcface",
        "loss_params": {},
        "seed": 0,
        "num_classes": 7,
        "num_images": 70,
        "data_cached_in_memory": True,
        "decoded_cache_file": None,
        "steps": 10,
        "steps_per_epoch": 5,
        "epochs_done": 2.0,
        "global_batch": 14,
        "lr_applied": 0.1 * 14 / 512,
        "precision": "fp32",
        "channels_last": False,
        "nonfinite_steps": 0,
        "wall_time_s": 2.0,
        "setup_time_s": 0.5,
        "train_time_s": 1.4,
        "train_cpu_time_s": 1.3,
        "images_per_s": 100.0,
        "final_loss": 3.2,
        "device": {"type": "cpu", "name": "test cpu", "processes": 1, "threads": 1},
        "git_revision": "unknown",
        "versions": {"torch": "test"},
        "finished_utc": "2026-12-01T00:00:00Z",
        "tags": {},
    }
    base.update(fields)
    base.setdefault(
        "config", {"backbone": base["backbone"], "loss": base["loss"], "seed": base["seed"], "plugins": []}
    )
    return RunRecord(**base)


def write_run_json(run_dir: Path, **fields: Any) -> RunRecord:
    """Write ``run_dir/run.json`` holding :func:`trained_record` of ``fields`` (the folder is made)."""
    record = trained_record(**fields)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "run.json").write_text(json.dumps(record.to_json()))
    return record
