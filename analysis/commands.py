"""What the analysis command lines (``python -m analysis.<name>``) share: the parser and the tidy-table argument."""

from __future__ import annotations

import argparse
from pathlib import Path


def command_parser(module: str, doc: str) -> argparse.ArgumentParser:
    """Parser of ``python -m <module>``, described by the first line of its docstring ``doc``."""
    return argparse.ArgumentParser(
        prog=f"python -m {module}", description=doc.splitlines()[0].replace("``", "")
    )


def add_tidy_argument(parser: argparse.ArgumentParser) -> None:
    """``--scores``: the tidy table written by ``analysis.collect`` (required)."""
    parser.add_argument("--scores", type=Path, required=True, help="tidy table written by analysis.collect")
