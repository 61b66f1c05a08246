# Evaluation: one job per run, scoring it on every benchmark of its dataset in one process. The
# benchmark list differs per dataset, so there is one rule per dataset (evaluate_<dataset>).
# results/cache/inputs holds each benchmark decoded, deduplicated and resized once per input size
# and shared by all runs (the first job to need it builds it; concurrent builders are safe), so a
# run's job only embeds and scores; results/cache/<run> keeps that run's embeddings.

for _dataset in USED_DATASETS:

    rule:
        name:
            f"evaluate_{_dataset.replace('-', '_')}"
        input:
            unpack(evaluate_inputs),
        output:
            score_outputs(_dataset),
        params:
            benchmarks=BENCHMARKS[_dataset],
            batch_size=CONFIG["evaluate"]["batch_size"],
            cache="results/cache",
            # the config's plugins, passed explicitly: evaluate never imports what run.json records
            plugins=CONFIG.get("plugins", []),
        log:
            "results/logs/evaluate/{run}.log",
        benchmark:
            "results/benchmarks/evaluate/{run}.tsv"
        wildcard_constraints:
            run=alternation(runs_of(_dataset)),
        threads: THREADS["evaluate"]
        resources:
            gpu=gpu_resource("evaluate"),
            mem_mb=grows(16000 if GPUS_PER_RUN else 3000),
            runtime=grows(4 * 60 if GPUS_PER_RUN else 30),
        retries: 1
        conda:
            "../envs/harness.yaml"
        script:
            "../scripts/evaluate_run.py"
