"""Atomic file output: write to a temporary name in the same folder, then rename.

A reader (or a restarted workflow) therefore sees either the previous complete file or the new
complete file, never a half-written one under the final name.

Temporaries are named ``.<name>.<writer>-<pid>-<random>.tmp`` beside the target ``<name>``, where
``<writer>`` is :func:`writer_tag` (this host and PID namespace) and ``<pid>`` the writing process.
A writer killed before its clean-up ran (SIGKILL, power loss) leaves its temporary behind; the next
:func:`atomic_path` of the same target removes the ones it can prove dead:

* only names of exactly that pattern for exactly that target (never any other file; the folder is
  read once per process, so temporaries a writer killed later leaves are the next process's);
* only those written under this host and PID namespace (``<writer>`` equals ours), whose ``<pid>``
  no longer exists. A live process with that pid (a concurrent writer of the same target, or an
  unrelated process that reused the pid) keeps the file: a temporary is never taken from a writer
  that may still rename it. Our own pid is kept too (another thread of this process may be writing).

Temporaries of writers on other hosts (a shared file system) cannot be checked that way; a folder
whose writers hold an exclusive lock (a training run folder, :mod:`interface.training.lock`) clears
those of its own targets with :func:`remove_stale_temporaries` right after taking the lock, when
every such temporary belongs to an earlier holder (no file times are compared: clocks of hosts sharing a file system
disagree). Age alone never makes a temporary stale: a paused writer may still finish.

An ``OSError`` while writing (a full disk, a read-only file system, a denied permission) is raised
again with the final path as its ``filename``, so the one-line error names the file the user asked
for rather than ``?`` or a temporary name. A failed ``write()`` names no file; when several atomic
writes are open in the thread at once (a RecordIO set's train.rec, train.idx and property) it
cannot say which, and the folder they share is named instead.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import re
import shutil
import socket
import tempfile
import threading
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

_TMP_SUFFIX = ".tmp"


@functools.cache
def writer_tag() -> str:
    """8 hex digits naming this host and PID namespace (pids are comparable only within one)."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:  # no /proc (macOS): the host name alone
        namespace = 0
    return f"{zlib.crc32(f'{socket.gethostname()}:{namespace}'.encode()):08x}"


#: ``.<name>.<writer>-<pid>-<random>.tmp`` (the random part is mkstemp's: letters, digits, ``_``).
_TEMPORARY = re.compile(rf"\.(?P<name>.+)\.(?P<writer>[0-9a-f]{{8}})-(?P<pid>\d+)-[a-z0-9_]+\{_TMP_SUFFIX}")


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host (owned by anyone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    except OverflowError:  # not a pid this system can have
        return False
    return True


#: folder -> {target name: its stale temporaries}, from one scan per folder and process: a folder
#: of many outputs (crops of an IJB set) is read once, not once per file written into it.
_STALE: dict[Path, dict[str, list[Path]]] = {}
_STALE_LOCK = threading.Lock()


def _scan_stale(folder: Path) -> dict[str, list[Path]]:
    """Temporaries in ``folder`` left by dead writers of this host, by target name."""
    tag, me, found = writer_tag(), os.getpid(), {}
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return found
    for entry in entries:
        match = _TEMPORARY.fullmatch(entry.name)
        if match is None or match["writer"] != tag or not entry.is_file(follow_symlinks=False):
            continue
        pid = int(match["pid"])
        if pid != me and not pid_alive(pid):
            found.setdefault(match["name"], []).append(folder / entry.name)
    return found


def _remove_stale_of(final: Path) -> None:
    """Remove the temporaries of ``final`` left by dead writers (see the module docstring)."""
    with _STALE_LOCK:
        if final.parent not in _STALE:
            _STALE[final.parent] = _scan_stale(final.parent)
        stale = _STALE[final.parent].pop(final.name, [])
    for path in stale:
        path.unlink(missing_ok=True)


def remove_stale_temporaries(folder: Path, names: Iterable[str]) -> list[Path]:
    """Remove the atomic temporaries of the targets ``names`` directly in ``folder``, whatever
    their writer (host, pid); return them.

    Only for targets whose writers all hold one exclusive lock, called right after taking it and
    before writing them: every such temporary present then belongs to an earlier, finished or
    killed, holder. Temporaries of other names (another program writing into the folder) stay.
    """
    wanted, removed = set(names), []
    for entry in os.scandir(folder):
        match = _TEMPORARY.fullmatch(entry.name)
        if match and match["name"] in wanted and entry.is_file(follow_symlinks=False):
            Path(entry.path).unlink(missing_ok=True)
            removed.append(Path(entry.path))
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _with_final_path(exc: OSError, final: Path) -> OSError:
    """``exc`` naming the file it is about: ``final`` for one of its temporaries; for an error that
    names no file, ``final`` when it is the only atomic write in progress in this thread, else the
    folder the writes in progress share (a failed ``write()`` cannot tell which of several open
    outputs it was). An error naming another path (a source read inside the block) is unchanged."""
    if exc.filename is not None:
        named = Path(os.fsdecode(exc.filename))
        ours = named.parent == final.parent and named.name.startswith(f".{final.name}.")
        if not (ours and named.name.endswith(_TMP_SUFFIX)):
            return exc
        where = str(final)
    else:
        active = _active()
        where = str(final) if len(active) <= 1 else os.path.commonpath([str(p.parent) for p in active])
    code = exc.errno if exc.errno is not None else errno.EIO
    out = OSError(code, exc.strerror or os.strerror(code), where)
    out.__cause__ = exc
    return out


_THREAD = threading.local()


def _active() -> list[Path]:
    """Targets of this thread's atomic writes in progress (innermost last)."""
    if not hasattr(_THREAD, "active"):
        _THREAD.active = []
    return _THREAD.active


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``, else delete it.

    Stale temporaries of ``path`` from dead writers are removed first; an ``OSError`` about the
    temporary (or about no file) is raised naming ``path``.
    """
    final = Path(path)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_of(final)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{final.name}.{writer_tag()}-{os.getpid()}-", suffix=_TMP_SUFFIX, dir=final.parent
        )
    except OSError as exc:
        named = _with_final_path(exc, final)
        if named is exc:
            raise
        raise named from exc
    os.close(fd)
    tmp_path = Path(tmp)
    active = _active()
    active.append(final)
    try:
        # mkstemp creates 0600; give the file the mode a plain open() would, so shared folders stay readable.
        os.chmod(tmp_path, 0o666 & ~_umask())
        yield tmp_path
        os.replace(tmp_path, final)
    except BaseException as exc:
        tmp_path.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            named = _with_final_path(exc, final)
            if named is not exc:
                raise named from exc
        raise
    finally:
        active.remove(final)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing; it replaces ``path`` only if the block succeeds."""
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_open(path, "w", encoding="utf-8") as handle:
        json.dump(obj, handle, indent=2, sort_keys=False, default=str)
        handle.write("\n")


def copy_file(src: str | os.PathLike[str], dest: str | os.PathLike[str]) -> None:
    """Copy ``src`` to ``dest`` atomically."""
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` atomically."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)


class _RecordingWriter:
    """A file object for ``torch.save`` that remembers the OSError a write raised.

    torch's archive writer turns that error into a RuntimeError without errno or path; the
    recorded one lets :func:`save_torch` report the full disk as such.
    """

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle, self.error = handle, None

    def write(self, data: bytes) -> int:
        try:
            return self.handle.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self.handle.flush()


def save_torch(path: str | os.PathLike[str], obj: Any) -> None:
    """``torch.save(obj)`` to ``path`` atomically; a failed write is an OSError naming ``path``."""
    import torch

    with atomic_open(path, "wb") as handle:
        writer = _RecordingWriter(handle)
        try:
            torch.save(obj, writer)
        except RuntimeError:
            if writer.error is None:
                raise
            raise writer.error from None
