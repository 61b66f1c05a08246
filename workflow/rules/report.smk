# The HTML report: paper-style tables, statistics over seeds, geometry figures, run index.


rule report:
    """Render results/report/index.html (plus its tables/ and figures/) from the tidy table, the
    score records (their plots: ROC, pair-score histograms) and the trained runs' folders (RUN.yaml,
    metrics.jsonl, head.pt); nothing of the evaluator's cache."""
    input:
        table="results/tables/scores.csv",
        scores=score_files(),
        outcomes="results/tables/items.npz",
        config="results/tables/config.json",
        runs=run_infos(),
        run_files=reported_run_files(),
        data=report_data_inputs(),
        bench=present_bench_files(),
    output:
        report=report(
            directory("results/report"),
            htmlindex="index.html",
            caption="../report/report.rst",
            category="Report",
            labels={"report": "InterFace harness"},
        ),
    log:
        "results/logs/report.log",
    benchmark:
        "results/benchmarks/report.tsv"
    threads: THREADS["report"]
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/harness.yaml"
    shell:
        "python -m analysis.report --scores {input.table} --items {input.outcomes} --runs results/runs"
        " --score-jsons results/scores"
        " --data-dir results/data"
        " --bench results/bench --config {input.config} --out {output.report} > {log} 2>&1"
