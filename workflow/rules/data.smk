# Datasets. A SynthFace suite is generated into results/data/<dataset>/; a real InsightFace folder
# (datasets.<name>.path) is read in place and checked when the workflow is parsed (common.smk).


rule synth:
    """Generate the SynthFace suite of one dataset (same preset and seed: byte-identical files)."""
    output:
        **synth_outputs(),
    params:
        folder=lambda wildcards, output: os.path.dirname(output.manifest_json),
        preset=synth_param("preset"),
        seed=synth_param("seed"),
    log:
        "results/logs/synth/{dataset}.log",
    benchmark:
        "results/benchmarks/synth/{dataset}.tsv"
    wildcard_constraints:
        dataset=alternation(SYNTH_DATASETS),
    threads: THREADS["synth"]
    resources:
        mem_mb=grows(4000),
        runtime=grows(30),
    retries: 1
    conda:
        "../envs/harness.yaml"
    shell:
        "OMP_NUM_THREADS={threads} python -m interface synth --out {params.folder}"
        " --preset {params.preset} --seed {params.seed} --workers {threads} > {log} 2>&1"
