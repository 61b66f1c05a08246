# Shared helpers of the workflow: config validation, the run matrix, input/param functions.
# Rules live in the other .smk files; this one holds no rule (Snakemake's lint asks for that split).
# The Python behind it is in workflow/scripts/wf*.py (tested on its own in tests/workflow/).

import os
import re
import sys
from pathlib import Path

#: The checkout this workflow file belongs to: its `interface` and `analysis` packages are the ones
#: the workflow and its jobs import, whatever else is installed (and from any --directory).
HARNESS_ROOT = Path(workflow.current_basedir).resolve().parents[1]
sys.path[:0] = [str(HARNESS_ROOT / "workflow" / "scripts"), str(HARNESS_ROOT)]

import wfconfig  # noqa: E402
import wfdatasets  # noqa: E402
import wfexternal  # noqa: E402
import wfruns  # noqa: E402
from interface.bench.cli import BENCHMARKS as BENCH_NAMES  # noqa: E402
from interface.contracts.run_id import RUN_ID_WILDCARD  # noqa: E402
from interface.errors import InputError  # noqa: E402


# Any {run} wildcard, in these rules or a host workflow's own (extra_runs), is a run id of the
# project's grammar; rules narrow it further to the runs they make.
wildcard_constraints:
    run=RUN_ID_WILDCARD,


def prepend_env(name, value):
    """Put ``value`` first in the search-path variable ``name`` of this process and its jobs."""
    os.environ[name] = os.pathsep.join(filter(None, [str(value), os.environ.get(name)]))


# Shell jobs run `python -m ...`: the interpreter that runs Snakemake comes first on PATH, so the
# workflow works from .venv/bin/snakemake without an activated environment (a conda env made by
# --sdm conda is activated inside the job and still comes first), and jobs import the harness
# from HARNESS_ROOT.
prepend_env("PATH", Path(sys.executable).parent)
prepend_env("PYTHONPATH", HARNESS_ROOT)

# Validate (config files' text + schema + plugin losses + every loss setting + the trainer's value
# ranges) and expand the matrix before any job starts.
wfconfig.check_config_files(workflow.configfiles)
CONFIG, SCHEMA = wfconfig.load_config(config, Path.cwd())
config.update(CONFIG)
RUNS = wfruns.expand_matrix(CONFIG, SCHEMA)
EXTRA_RUNS = wfruns.extra_runs(CONFIG, RUNS)
EXTERNAL_RUNS = wfexternal.external_runs(CONFIG, {**RUNS, **EXTRA_RUNS}, Path.cwd())
ALL_RUNS = {**RUNS, **EXTRA_RUNS, **EXTERNAL_RUNS}
wfruns.check_datasets(CONFIG, ALL_RUNS)

USED_DATASETS = sorted({run.dataset for run in ALL_RUNS.values()})
SYNTH_DATASETS = [name for name in USED_DATASETS if wfdatasets.is_synth(CONFIG["datasets"][name])]
BENCHMARKS = {
    name: wfdatasets.benchmark_specs(name, CONFIG["datasets"][name], CONFIG["paths"]) for name in USED_DATASETS
}
GPUS_PER_RUN = CONFIG["gpus_per_run"]

# Threads per job (override with --set-threads): on CPU one thread per run lets --cores N train N
# runs at once (small models scale poorly across threads); a GPU run needs cores for data loading.
THREADS = {
    "synth": 2,
    "train": 8 * GPUS_PER_RUN if GPUS_PER_RUN else 1,
    "evaluate": 8 if GPUS_PER_RUN else 1,
    "report": 1,
    "bench": 2,
}


def alternation(names):
    """A wildcard regex matching exactly ``names`` (and nothing when there are none)."""
    return "|".join(re.escape(name) for name in sorted(names)) or "(?!)"


def runs_of(dataset):
    """Run ids (matrix and extra) trained on ``dataset``."""
    return [run_id for run_id, run in ALL_RUNS.items() if run.dataset == dataset]


def dataset_folder(dataset):
    return wfdatasets.dataset_dir(dataset, CONFIG["datasets"][dataset], CONFIG["paths"])


def train_spec(wildcards):
    """RUN.yaml mapping (without threads) of a matrix run."""
    return wfruns.run_config(RUNS[wildcards.run], CONFIG)


def run_spec(run_id, plugins=None):
    """RUN.yaml mapping of any run id (for a host workflow's own train rule), from the id alone.

    ``plugins`` replaces the config's plugin list (e.g. the module that registers the host's loss).
    """
    run = ALL_RUNS.get(run_id)
    if run is None:
        raise InputError(f"run {run_id} is neither in the matrix nor in extra_runs")
    return wfruns.run_config(run, CONFIG, plugins=plugins)


def train_inputs(wildcards):
    """The training set files of the run's dataset."""
    folder = dataset_folder(ALL_RUNS[wildcards.run].dataset)
    return [f"{folder}/{name}" for name in wfdatasets.TRAIN_FILES]


def evaluate_inputs(wildcards):
    """The trained model, its run.json and every benchmark file or folder of its dataset."""
    specs = BENCHMARKS[ALL_RUNS[wildcards.run].dataset]
    return {
        "model": f"results/runs/{wildcards.run}/model.pt",
        "info": f"results/runs/{wildcards.run}/run.json",
        "data": [spec["path"] for spec in specs],
    }


def score_outputs(dataset):
    """Output patterns of one evaluation job: one JSON per benchmark, in config order."""
    return [f"results/scores/{{run}}/{spec['benchmark']}.json" for spec in BENCHMARKS[dataset]]


def score_files():
    """Every score JSON of every run (matrix and extra)."""
    return [
        f"results/scores/{run_id}/{spec['benchmark']}.json"
        for run_id, run in ALL_RUNS.items()
        for spec in BENCHMARKS[run.dataset]
    ]


def run_infos():
    return [f"results/runs/{run_id}/run.json" for run_id in ALL_RUNS]


#: Run-folder files the report draws from (config, training curves, class centres): outputs of
#: the train rule; an imported external model has only its run.json.
REPORTED_RUN_FILES = ("RUN.yaml", "metrics.jsonl", "head.pt")


def reported_run_files():
    """Every file of a trained run's folder that the report reads, beside :func:`run_infos`."""
    return [f"results/runs/{run_id}/{name}" for run_id in ALL_RUNS if run_id not in EXTERNAL_RUNS for name in REPORTED_RUN_FILES]


def synth_outputs():
    """Declared outputs of the SynthFace rule (named after the file, dots as underscores)."""
    files = {name.replace(".", "_"): f"results/data/{{dataset}}/{name}" for name in wfdatasets.SYNTH_FILES}
    files["contact_sheet_png"] = report(
        files["contact_sheet_png"],
        caption="../report/contact_sheet.rst",
        category="Data",
        labels={"dataset": "{dataset}", "figure": "contact sheet"},
    )
    dirs = {name: directory(f"results/data/{{dataset}}/{name}") for name in wfdatasets.SYNTH_DIRS}
    return {**files, **dirs}


def synth_param(key):
    return lambda wildcards: CONFIG["datasets"][wildcards.dataset]["synth"][key]


def report_data_inputs():
    """Manifests and contact sheets of the generated suites the report shows."""
    return [f"results/data/{name}/{item}" for name in SYNTH_DATASETS for item in ("manifest.json", "contact_sheet.png")]


def bench_files():
    return [f"results/bench/{name}.json" for name in BENCH_NAMES]


def present_bench_files():
    """Benchmark JSONs already made by `snakemake bench`: the report includes them once they exist."""
    return [path for path in bench_files() if Path(path).is_file()]


def resolved_config():
    """What the report needs to describe the experiment: the validated config and every run."""
    runs = [
        {
            "run_id": run.run_id,
            "dataset": run.dataset,
            "backbone": run.backbone,
            "loss": run.loss,
            "setting": run.setting,
            "seed": run.seed,
            "params": run.params,
            "declared_by": run.where,
        }
        for run in ALL_RUNS.values()
    ]
    return {"config": CONFIG, "runs": runs, "benchmarks": BENCHMARKS}


def gpu_resource(rule):
    """GPUs a job asks for: gpus_per_run for training, one for evaluation when runs use GPUs."""
    return GPUS_PER_RUN if rule == "train" else min(1, GPUS_PER_RUN)


def grows(base):
    """Resource callable that doubles a base value on each retry (attempt 1, 2, ...)."""
    return lambda wildcards, attempt: base * 2 ** (attempt - 1)
