"""RUN.yaml ``plugins``: user modules imported before the loss and backbone are built.

A plugin registers its own losses (``interface.losses.register_loss``) or backbones
(``interface.backbones.register_backbone``) at import time, so a new loss needs no edit here.
Importing runs the plugin's code: only plugins the user names (RUN.yaml, the workflow config, a
command-line flag) are imported, never those a run folder's run.json merely records.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path

from interface.errors import InputError


def _module_name(path: Path) -> str:
    """A module name unique to the file's absolute path (two plugin.py in two folders both load)."""
    return f"interface_plugin_{path.stem}_{hashlib.sha256(str(path).encode()).hexdigest()[:10]}"


def same_plugin(a: str, b: str) -> bool:
    """Whether two plugin entries name the same module (``.py`` paths compared once resolved)."""
    if a.endswith(".py") and b.endswith(".py"):
        return Path(a).resolve() == Path(b).resolve()
    return a == b


def import_plugins(plugins: list[str]) -> None:
    """Import each plugin: a module name (``mypkg.losses``) or a path to a ``.py`` file.

    Importing the same file twice in one process is a no-op. Any failure (missing file or module,
    syntax error, exception at import) raises a one-line InputError naming the plugin.
    """
    for plugin in plugins:
        name = plugin
        try:
            if plugin.endswith(".py"):
                path = Path(plugin).resolve()
                if not path.is_file():
                    raise InputError(f"config key 'plugins': file {plugin} not found")
                name = _module_name(path)
                if name in sys.modules:
                    continue
                spec = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                spec.loader.exec_module(module)
            else:
                importlib.import_module(plugin)
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001  (whatever a user's module raises, report it in one line)
            sys.modules.pop(name, None)
            detail = " ".join(str(exc).split())
            raise InputError(
                f"config key 'plugins': cannot import {plugin!r} ({type(exc).__name__}: {detail})"
            ) from None
