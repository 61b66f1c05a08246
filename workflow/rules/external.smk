# External models: each `external_models` entry is one run folder made by `python -m interface
# import` from a released checkpoint (no training); the evaluate_<dataset> rules then score it.


rule import_external:
    """Check a released checkpoint and write it as a run folder (model.pt, run.json)."""
    input:
        weights=lambda wildcards: wfexternal.weights_path(wfexternal.label_of(EXTERNAL_RUNS[wildcards.run]), CONFIG),
    output:
        model="results/runs/{run}/model.pt",
        info="results/runs/{run}/run.json",
    params:
        args=lambda wildcards: wfexternal.import_args(EXTERNAL_RUNS[wildcards.run], CONFIG),
    log:
        "results/logs/import/{run}.log",
    wildcard_constraints:
        run=alternation(EXTERNAL_RUNS),
    threads: 1
    resources:
        mem_mb=grows(4000),
        runtime=grows(10),
    conda:
        "../envs/harness.yaml"
    shell:
        "python -m interface import --weights {input.weights:q} --out results/runs/{wildcards.run} "
        "{params.args:q} > {log:q} 2>&1"
