"""Snakemake script of rule ``train``: write this run's RUN.yaml, then train it.

RUN.yaml is the run's resolved config (params.spec from the matrix) plus what only the job knows:
its thread count and absolute paths. The trainer is ``python -m interface train`` in one process,
or torchrun with one process per GPU when the job holds several. A rerun after an interruption
finds RUN_DIR/resume.pt (never a declared output, so Snakemake's cleanup leaves it) and resumes.
"""

import sys
from pathlib import Path

import yaml
from wfgpus import claim_gpus
from wfjob import job_main, run_logged, trainer_command
from wfruns import absolute_paths

from interface.atomic import atomic_open


def main(snakemake) -> int:
    gpus = int(snakemake.resources.get("gpu", 0) or 0)
    spec = absolute_paths(dict(snakemake.params.spec), Path.cwd())
    threads = max(1, int(snakemake.threads) // max(1, gpus))
    spec["threads"] = threads
    with atomic_open(snakemake.output.config, "w", encoding="utf-8") as handle:
        yaml.safe_dump(spec, handle, sort_keys=False)
    cmd = trainer_command(snakemake.output.config, str(Path(snakemake.output.model).parent), gpus)
    with claim_gpus(gpus) as env:
        return run_logged(cmd, snakemake.log[0], env={**env, "OMP_NUM_THREADS": str(threads)})


if __name__ == "__main__":
    sys.exit(job_main(main, snakemake))  # noqa: F821  (the object Snakemake's script directive provides)
