"""Evaluators: .bin pair verification, IJB 1:1 templates, MegaFace-style identification.

Each reproduces the insightface / arcface_torch protocol that InterFace (arXiv 2210.02018) reports
with (formats-and-protocols.md §2-§5); ``python -m interface evaluate`` (cli.py) runs them on a
trained run and records the evaluator specification next to the numbers. The benchmark kinds are
registered in :mod:`interface.evaluation.kinds`; :func:`list_benchmark_kinds` lists them.
"""

from interface.evaluation.kinds import list_benchmark_kinds

__all__ = ["list_benchmark_kinds"]
