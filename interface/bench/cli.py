"""``python -m interface bench NAME [NAME ...] --out-dir results/bench``: run benchmarks, write JSON."""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

from interface.errors import InputError, cli_main

# name -> module exposing run(out_path, quick=False) -> dict
BENCHMARKS = {
    "losses": "interface.bench.losses",
    "data": "interface.bench.data",
    "synth": "interface.data.synth.bench",
    "trainer": "interface.bench.trainer",
    "evaluation": "interface.bench.evaluation",
    "ijb": "interface.bench.ijb",
    "heads": "interface.bench.heads",
}


@cli_main
def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m interface bench", description=__doc__)
    parser.add_argument("names", nargs="*", default=["all"], help=f"any of {', '.join(BENCHMARKS)}, or all")
    parser.add_argument("--out-dir", type=Path, default=Path("results/bench"), help="folder for <name>.json")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (for tests and smoke runs)")
    args = parser.parse_args(argv)
    names = list(BENCHMARKS) if args.names in (["all"], []) else args.names
    for name in names:
        if name not in BENCHMARKS:
            raise InputError(f"unknown benchmark {name!r}; expected one of {', '.join(BENCHMARKS)} or all")
    for name in names:
        module = importlib.import_module(BENCHMARKS[name])
        result = module.run(args.out_dir / f"{name}.json", quick=args.quick)
        print(json.dumps({"benchmark": name, "summary": result.get("summary", {})}, indent=2))
    return 0
