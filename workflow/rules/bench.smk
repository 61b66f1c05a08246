# `snakemake bench`: every benchmark command of the project (losses, data, trainer, evaluation),
# one job so the timings never share the machine with each other. The report includes the JSON
# once it exists (run `snakemake` again after `snakemake bench`).


rule bench:
    """Run `python -m interface bench all` and keep its JSON under results/bench/."""
    output:
        [
            report(
                path,
                caption="../report/bench.rst",
                category="Performance",
                labels={"benchmark": Path(path).stem},
            )
            for path in bench_files()
        ],
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output[0]),
    log:
        "results/logs/bench.log",
    benchmark:
        "results/benchmarks/bench.tsv"
    threads: THREADS["bench"]
    resources:
        mem_mb=8000,
        runtime=120,
    conda:
        "../envs/harness.yaml"
    shell:
        "OMP_NUM_THREADS={threads} python -m interface bench all --out-dir {params.out_dir} > {log} 2>&1"
