# Training: one job per matrix run. The job writes RUN.yaml (the run's resolved config plus its
# thread count) and calls `python -m interface train` (torchrun when gpus_per_run > 1). The
# trainer's resume file RUN_DIR/resume.pt is deliberately not an output: Snakemake deletes the
# outputs of a killed job, and the rerun (--rerun-incomplete) resumes from resume.pt.


rule train:
    """Train one run of the loss x setting x seed matrix."""
    input:
        train_inputs,
    output:
        config="results/runs/{run}/RUN.yaml",
        model="results/runs/{run}/model.pt",
        head="results/runs/{run}/head.pt",
        info="results/runs/{run}/run.json",
        metrics="results/runs/{run}/metrics.jsonl",
    params:
        spec=train_spec,
    log:
        "results/logs/train/{run}.log",
    benchmark:
        "results/benchmarks/train/{run}.tsv"
    wildcard_constraints:
        run=alternation(RUNS),
    threads: THREADS["train"]
    resources:
        gpu=gpu_resource("train"),
        mem_mb=grows(8000 if GPUS_PER_RUN else 3000),
        runtime=grows(24 * 60 if GPUS_PER_RUN else 60),
    retries: 1
    conda:
        "../envs/harness.yaml"
    script:
        "../scripts/train_run.py"
