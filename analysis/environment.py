"""Provenance for the report: code revision, Python and library versions, platform."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

PACKAGES = ("torch", "numpy", "scipy", "pandas", "matplotlib", "jinja2", "snakemake", "Pillow")


def code_revision(repo: Path) -> str:
    """``git describe``-like revision of ``repo`` (commit hash, '+dirty' when files changed) or 'unknown'."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return sha + ("+dirty" if dirty else "")


def environment() -> dict[str, str]:
    """Python, platform and the versions of the libraries the harness uses (``-`` if not installed)."""
    env = {"python": sys.version.split()[0], "platform": platform.platform(), "machine": platform.machine()}
    for name in PACKAGES:
        try:
            env[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            env[name] = "-"
    return env
