"""Benchmarks: each module exposes ``run(out_path, quick=False) -> dict`` and reports ratios
measured side by side in one run (single timings on shared machines swing by 20% or more)."""
