"""``python -m interface evaluate``: score one trained run on one or more benchmarks.

One benchmark::

    python -m interface evaluate --run RUN_DIR --benchmark synth_lfw --kind verification \\
        --path DATA/synth_lfw.bin --out results/scores/RUN/synth_lfw.json [--cache DIR]

Several in one process (torch import and model load paid once): repeat ``--benchmark/--kind/
--path/--out`` in the same order, or pass ``--benchmarks-json FILE`` holding a list of objects
``{"benchmark", "kind", "path", "out", "options": {...}}``. Each benchmark's JSON is written
atomically as soon as it is scored. Options: per benchmark in the JSON file, or for every
benchmark of the call with ``--option KEY=VALUE`` (VALUE read as JSON, else as a string) or the
shorthand flags below; a flag's option is ignored by kinds that do not have it. The kinds and
their options (from the registry, interface.evaluation.kinds) are listed at the end.

The run folder is not trusted: the plugins its run.json records are reported, and imported only
with ``--trust-run-plugins``; ``--plugin`` names modules to import (e.g. a plugin backbone).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from interface.atomic import write_json
from interface.errors import InputError, cli_main
from interface.evaluation.kinds import all_options, get_kind, list_benchmark_kinds, registry
from interface.limits import EVALUATE_RANGES, check, check_device
from interface.textfiles import read_text

log = logging.getLogger("interface.evaluate")
INPUTS_SUBDIR = "inputs"  # under --cache: the shared decoded benchmark inputs


def _kinds_help() -> str:
    """The registered kinds, their layouts and options (the end of ``--help``)."""
    lines = ["benchmark kinds (--kind) and their options:"]
    for kind in registry().values():
        lines.append(f"  {kind.name}: {kind.help}")
        lines.append(f"    path: {kind.layout.description}")
        lines += [f"    {opt.name}: {opt.help}" for opt in kind.options]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m interface evaluate",
        description=__doc__,
        epilog=_kinds_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--run", type=Path, required=True, help="run folder holding model.pt and run.json")
    p.add_argument("--benchmark", action="append", default=[], help="benchmark name (repeatable)")
    p.add_argument(
        "--kind",
        action="append",
        default=[],
        choices=list_benchmark_kinds(),
        help="protocol of each --benchmark (repeatable, same order)",
    )
    p.add_argument(
        "--path",
        action="append",
        default=[],
        type=Path,
        help="the benchmark's file or folder, laid out as its kind expects (repeatable; see below)",
    )
    p.add_argument(
        "--out", action="append", default=[], type=Path, help="output JSON per benchmark (repeatable)"
    )
    p.add_argument("--benchmarks-json", type=Path, help="JSON list of {benchmark, kind, path, out, options}")
    p.add_argument(
        "--cache",
        type=Path,
        help="cache folder: embeddings per run in <cache>/<run_id>/<benchmark>.npz, and the decoded "
        "benchmark inputs every run shares in <cache>/inputs/",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    p.add_argument("--batch-size", type=int, default=64, help="images per forward pass (default 64)")
    p.add_argument("--threads", type=int, help="CPU threads for extraction (default: torch's)")
    p.add_argument("--n-folds", type=int, help="verification folds (protocol: 10)")
    p.add_argument("--ijb-mode", help="IJB image-feature switches, e.g. N1D1F2 (default) or N0D0F2")
    p.add_argument("--clean", action="store_true", help="identification: drop the listed noisy images")
    p.add_argument(
        "--ladder", help="identification distractor counts, comma-separated (default 10,100,...,all)"
    )
    p.add_argument("--seed", type=int, help="identification distractor-subset seed (default 0)")
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any kind's option for every benchmark (repeatable), e.g. --option chunk=4096",
    )
    p.add_argument(
        "--plugin",
        action="append",
        default=[],
        help="module name or .py file to import before the backbone is built (repeatable)",
    )
    p.add_argument(
        "--trust-run-plugins",
        action="store_true",
        help="also import the plugins the run's run.json records (runs their code; off by default)",
    )
    return p


def _global_options(args: argparse.Namespace) -> dict:
    opts: dict = {}
    if args.n_folds is not None:
        opts["n_folds"] = args.n_folds
    if args.ijb_mode:
        m = args.ijb_mode.upper()
        if len(m) != 6:
            raise InputError(f"--ijb-mode {args.ijb_mode!r}; expected six characters like N1D1F2")
        opts.update(norm=m[0:2], detector=m[2:4], flip=m[4:6])
    if args.clean:
        opts["clean"] = True
    if args.ladder:
        try:
            opts["ladder"] = [int(x) for x in args.ladder.split(",")]
        except ValueError:
            raise InputError(f"--ladder {args.ladder!r}; expected comma-separated integers") from None
    if args.seed is not None:
        opts["seed"] = args.seed
    known = all_options()
    for text in args.option:
        key, sep, raw = text.partition("=")
        if not sep or key not in known:
            raise InputError(f"--option {text!r}; expected KEY=VALUE with KEY one of {', '.join(known)}")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw  # a bare word such as N0
        known[key].check(value, f"--option {key}")
        opts[key] = value
    return opts


def _benchmarks(args: argparse.Namespace):
    from interface.evaluation.tasks import Benchmark

    opts = _global_options(args)
    out = []
    lists = (args.benchmark, args.kind, args.path, args.out)
    if len({len(x) for x in lists}) != 1:
        raise InputError(
            f"--benchmark/--kind/--path/--out must be given the same number of times, got {[len(x) for x in lists]}"
        )
    out += [Benchmark(b, k, p, o, dict(opts)) for b, k, p, o in zip(*lists)]
    if args.benchmarks_json:
        try:
            entries = json.loads(read_text(args.benchmarks_json))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(
                f"--benchmarks-json {args.benchmarks_json}: cannot be read as JSON ({exc})"
            ) from None
        if not isinstance(entries, list):
            raise InputError(f"--benchmarks-json {args.benchmarks_json}: expected a JSON list of objects")
        for i, e in enumerate(entries):
            missing = (
                {"benchmark", "kind", "path", "out"} - set(e) if isinstance(e, dict) else {"(not an object)"}
            )
            if missing:
                raise InputError(
                    f"--benchmarks-json {args.benchmarks_json}: entry {i} lacks {sorted(missing)}"
                )
            own = e.get("options") or {}
            where = f"--benchmarks-json {args.benchmarks_json}: entry {i} ({e['benchmark']})"
            if not isinstance(own, dict):
                raise InputError(f"{where}: options must be an object")
            get_kind(e["kind"], where).check_options(own, lambda key, w=where: f"{w} option {key!r}")
            out.append(Benchmark(e["benchmark"], e["kind"], e["path"], e["out"], {**opts, **own}))
    if not out:
        raise InputError("no benchmark given: use --benchmark/--kind/--path/--out or --benchmarks-json")
    names = [b.name for b in out]
    if len(set(names)) != len(names):
        raise InputError(f"benchmark names must be unique in one call, got {names}")
    seen: dict[Path, str] = {}
    for bench in out:  # two benchmarks writing one file would overwrite each other's scores
        target = bench.out.resolve()
        if target in seen:
            raise InputError(
                f"--out {bench.out}: given to both {seen[target]!r} and {bench.name!r}; use one file each"
            )
        seen[target] = bench.name
    return out


def load_context(run_dir: Path, args: argparse.Namespace):
    """Load the run's backbone via ``interface.training.load_run``; InputError if no model.pt."""
    from interface.evaluation.cache import file_sha256
    from interface.evaluation.tasks import Context
    from interface.training import load_run
    from interface.untrusted import plain_name

    if run_dir.is_file():
        raise InputError(
            f"--run {run_dir}: is a file (a bare model state_dict?); expected a run folder holding model.pt and run.json"
        )
    if not run_dir.is_dir():
        raise InputError(f"--run {run_dir}: no such run folder")
    model_file = run_dir / "model.pt"
    if not model_file.is_file():
        raise InputError(f"--run {run_dir}: run folder has no model.pt (train the run first)")
    model, info = load_run(run_dir, args.plugin, args.trust_run_plugins)
    tags = info.get("tags") if isinstance(info.get("tags"), dict) else {}
    # the run id names the cache folder <cache>/<run_id>/: it must stay a plain name
    if info.get("run_id") is not None:
        run_id = plain_name(info["run_id"], f"{run_dir / 'run.json'} key run_id")
    elif tags.get("run_id") is not None:
        run_id = plain_name(tags["run_id"], f"{run_dir / 'run.json'} key tags.run_id")
    else:
        run_id = plain_name(run_dir.resolve().name, f"--run {run_dir}")
    return Context(
        model=model,
        run_id=run_id,
        model_sha=file_sha256(model_file),
        input_size=int(info.get("input_size", 112)),
        batch_size=args.batch_size,
        device=args.device,
        threads=args.threads,
        cache_dir=args.cache,
        inputs_dir=None if args.cache is None else args.cache / INPUTS_SUBDIR,
    )


@cli_main
def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = _parser().parse_args(argv)
    for flag, key in (("--batch-size", "batch_size"), ("--threads", "threads")):
        if getattr(args, key) is not None:  # None: the flag was not given
            check(key, getattr(args, key), EVALUATE_RANGES, label=flag)
    for flag, key in (("--n-folds", "n_folds"), ("--seed", "seed")):
        if getattr(args, key) is not None:
            all_options()[key].check(getattr(args, key), flag)
    check_device(args.device, label="--device")
    benches = _benchmarks(args)
    from interface.evaluation.tasks import run_benchmark

    ctx = load_context(args.run, args)
    for bench in benches:
        record = run_benchmark(ctx, bench)
        write_json(bench.out, record.to_json())
        log.info("%s: %s", bench.name, ", ".join(f"{r.metric}={r.value:.5f}" for r in record.rows[:4]))
    return 0
