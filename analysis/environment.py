"""Provenance for the report: code revision, Python and library versions, platform."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

PACKAGES = ("torch", "numpy", "scipy", "pandas", "matplotlib", "jinja2", "snakemake", "Pillow")


def environment() -> dict[str, str]:
    """Python, platform and the versions of the libraries the harness uses (``-`` if not installed)."""
    env = {"python": sys.version.split()[0], "platform": platform.platform(), "machine": platform.machine()}
    for name in PACKAGES:
        try:
            env[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            env[name] = "-"
    return env
