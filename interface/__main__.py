"""Command line: ``python -m interface <command> ...``.

Each command lives in its own module and exposes ``main(argv: list[str]) -> int``; this file only
dispatches, so importing one command never pays for the others (torch, Pillow, ...).
"""

from __future__ import annotations

import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "synth": (
        "interface.data.synth.cli",
        "write the SynthFace suite (RecordIO, .bin packs, IJB, identification)",
    ),
    "pack": ("interface.data.pack", "pack a folder of identity sub-folders into an InsightFace RecordIO set"),
    "train": ("interface.training.cli", "train one run from a RUN.yaml into RUN_DIR (resumes)"),
    "evaluate": ("interface.evaluation.cli", "score one trained run on one benchmark"),
    "import": ("interface.external.cli", "make a run folder from a released backbone checkpoint"),
    "bench": ("interface.bench.cli", "run the project's benchmarks and write JSON under results/bench/"),
}


def _usage() -> str:
    lines = ["usage: python -m interface <command> [options]", "", "commands:"]
    lines += [f"  {name:<10} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines.append("\n'python -m interface <command> --help' describes each command.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help"}:
        print(_usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"error: unknown command {name!r}; expected one of {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
