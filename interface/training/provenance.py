"""What a run records about where it ran: code revision, library versions, device."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

import interface


def git_revision() -> str:
    """``<commit>`` of the checkout holding this package, ``<commit>-dirty`` with local edits, or "unknown"."""
    root = Path(interface.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "interface"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit


def library_versions() -> dict[str, str]:
    """Python, torch, numpy and (when CUDA is present) CUDA/cuDNN versions."""
    versions = {"python": sys.version.split()[0], "torch": torch.__version__, "numpy": np.__version__}
    if torch.cuda.is_available():
        versions["cuda"] = str(torch.version.cuda)
        versions["cudnn"] = str(torch.backends.cudnn.version())
    return versions


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what the platform module reports."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_description(device: torch.device, world: int) -> dict[str, Any]:
    """Device kind and name (GPU model or CPU), processes, CPU threads."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    return {"type": device.type, "name": name, "processes": world, "threads": torch.get_num_threads()}
