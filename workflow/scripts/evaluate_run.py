"""Snakemake script of the ``evaluate_<dataset>`` rules: score one run on all its dataset's benchmarks.

One ``python -m interface evaluate`` process per run (torch import and model load paid once),
given a ``--benchmarks-json`` list and the config's ``plugins`` as ``--plugin`` (the evaluator never
imports the plugins a run.json records by itself); it writes each ``results/scores/<run>/<benchmark>.json``
atomically as soon as that benchmark is scored.
"""

import json
import os
import sys
import tempfile
from pathlib import Path

from wfgpus import claim_gpus
from wfjob import job_main, python_module, run_logged


def main(snakemake) -> int:
    run_dir = str(Path(snakemake.input.model).parent)
    # outputs are results/scores/<run>/<benchmark>.json in the order of params.benchmarks
    entries = [
        {**spec, "out": out} for spec, out in zip(snakemake.params.benchmarks, snakemake.output, strict=True)
    ]
    Path(entries[0]["out"]).parent.mkdir(parents=True, exist_ok=True)
    # the listing lives in the job's temp folder, never beside the scores: a job killed here must
    # not leave a JSON that the table collector would read as a benchmark
    fd, listing = tempfile.mkstemp(
        prefix="benchmarks.", suffix=".json", dir=snakemake.resources.get("tmpdir")
    )
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(entries, handle, indent=2)
        cmd = python_module(
            "interface",
            "evaluate",
            "--run", run_dir,
            "--benchmarks-json", listing,
            "--batch-size", str(snakemake.params.batch_size),
            "--threads", str(snakemake.threads),
            "--cache", snakemake.params.cache,
            *(arg for plugin in snakemake.params.plugins for arg in ("--plugin", plugin)),
        )  # fmt: skip
        gpus = min(1, int(snakemake.resources.get("gpu", 0) or 0))
        with claim_gpus(gpus) as env:
            return run_logged(cmd, snakemake.log[0], env={**env, "OMP_NUM_THREADS": str(snakemake.threads)})
    finally:
        Path(listing).unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(job_main(main, snakemake))  # noqa: F821  (the object Snakemake's script directive provides)
