# Aggregation (cheap, local): the resolved experiment description and the tidy score table.


rule resolved_config:
    """The validated config and every run of the matrix, as JSON for the report."""
    output:
        "results/tables/config.json",
    params:
        resolved=resolved_config(),
    log:
        "results/logs/resolved_config.log",
    localrule: True
    run:
        from interface.atomic import write_json

        write_json(output[0], params.resolved)


rule collect:
    """All score JSONs and run metadata -> results/tables/scores.csv (one row per run x benchmark x metric)
    and results/tables/items.npz (per-item outcomes for the paired item bootstrap)."""
    input:
        scores=score_files(),
        runs=run_infos(),
    output:
        table=report(
            "results/tables/scores.csv",
            caption="../report/scores.rst",
            category="Tables",
            labels={"table": "tidy scores"},
        ),
        outcomes="results/tables/items.npz",
    log:
        "results/logs/collect.log",
    localrule: True
    conda:
        "../envs/harness.yaml"
    shell:
        "python -m analysis.collect --scores results/scores --runs results/runs --out {output.table} --items {output.outcomes} > {log} 2>&1"
