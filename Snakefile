# InterFace harness: the loss x margin setting x seed matrix, from data to report.
#
#   snakemake --workflow-profile workflow/profiles/default                      # config.yaml
#   snakemake --workflow-profile workflow/profiles/default --configfile workflow/configs/smoke.yaml
#   snakemake --workflow-profile workflow/profiles/default bench                # benchmarks
#   snakemake --report results/snakemake-report.zip                             # after a run
#
# Rules live in workflow/rules/, the config schema in workflow/schemas/, profiles (local, SLURM)
# in workflow/profiles/. README.md explains real data, clusters and adding a loss.

from snakemake.utils import min_version

min_version("9.0")


# The default experiment next to this file, wherever the working directory (--directory) is;
# --configfile FILE merges FILE over it (--replace-workflow-config: FILE alone).
configfile: f"{workflow.basedir}/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/external.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/collect.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/bench.smk"


rule all:
    """The default target: every run trained and scored, the tidy table and the HTML report."""
    input:
        "results/tables/scores.csv",
        "results/report",
    default_target: True
    localrule: True
