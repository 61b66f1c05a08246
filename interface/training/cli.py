"""``python -m interface train --config RUN.yaml --out RUN_DIR [--set key=value ...]``.

Trains one run into RUN_DIR (model.pt, head.pt, run.json, metrics.jsonl, train.log). Running the
same command again after an interruption resumes from RUN_DIR/resume.pt; on a finished run it
does nothing. Several processes: ``torchrun --nproc_per_node=N -m interface train ...`` (NCCL on
GPUs, gloo on CPU); ``batch_size`` stays the global batch.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from interface.errors import InputError, cli_main, exit_line
from interface.textfiles import parse_yaml


def _override(text: str) -> tuple[str, object]:
    """``key=value`` of ``--set``, the value parsed as YAML (a malformed one is one error line)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise InputError(f"--set {text!r}: expected key=value (value in YAML syntax)")
    return key.strip(), parse_yaml(value, f"--set {text!r}")


@cli_main
def main(argv: list[str]) -> int:
    from interface.training.config import RunConfig, load_config

    keys = ", ".join(RunConfig.__dataclass_fields__)
    parser = argparse.ArgumentParser(
        prog="python -m interface train",
        description=__doc__,
        epilog=f"RUN.yaml keys: {keys}. See interface/training/config.py for units and defaults.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, required=True, help="RUN.yaml")
    parser.add_argument(
        "--out", type=Path, required=True, help="run folder RUN_DIR (created; resumed if present)"
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a RUN.yaml key"
    )
    args = parser.parse_args(argv)
    config = load_config(args.config, dict(_override(item) for item in args.set))

    from interface.training.trainer import TrainingDivergedError, TrainingInterruptedError, train

    try:
        info = train(config, args.out)
    except TrainingDivergedError as exc:
        return exit_line("error", exc, 3)
    except TrainingInterruptedError as exc:
        return exit_line("stopped", exc, 143)
    print(
        f"{args.out}: {info['steps']} steps, final loss {info['final_loss']}, {info['images_per_s']:.0f} img/s"
    )
    return 0
