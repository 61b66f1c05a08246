"""Analysis of trained runs: tidy score table, statistics, paper-style tables, figures, HTML report.

Commands:

- ``python -m analysis.collect`` merges ``results/scores/<run>/<benchmark>.json`` and
  ``results/runs/<run>/run.json`` into the tidy table ``results/tables/scores.csv``.
- ``python -m analysis.report`` turns that table, the runs and the benchmarks into
  ``results/report/index.html`` with ``tables/`` and ``figures/`` beside it.
- ``python -m analysis.power --scores results/tables/scores.csv`` says, per benchmark, whether the
  seeds run can carry a claim (seed spread, ordering agreement between seed halves, ANOVA over
  methods, minimal detectable difference).

This package reads the loss modules (``interface.losses``) for every geometric figure, so a
figure always shows the formula that trains, never a second copy of it.
"""
