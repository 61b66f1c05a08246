"""Bad-input errors and the command-line wrapper that prints them as one line with a non-zero exit."""

from __future__ import annotations

import errno
import functools
import os
import sys
from collections.abc import Callable


class InputError(ValueError):
    """Bad input: a file, key or value that is not what was expected.

    The message names the offending file, key or value and says what was expected, on one line.
    """


def describe_os_error(exc: OSError) -> str:
    """``PATH: reason (ERRNO)`` on one line, e.g. ``run/resume.pt: No space left on device (ENOSPC)``.

    Writers name their path (:mod:`interface.atomic` attaches the target to errors of its
    temporaries); an error that names none says so instead of printing a placeholder.
    """
    reason = exc.strerror or str(exc) or type(exc).__name__
    code = errno.errorcode.get(exc.errno) if exc.errno is not None else None
    if code:
        reason = f"{reason} ({code})"
    if exc.filename is None:
        return f"{' '.join(reason.split())} (the operating system named no file)"
    where = os.fsdecode(exc.filename)
    if exc.filename2 is not None:
        where = f"{where} -> {os.fsdecode(exc.filename2)}"
    return " ".join(f"{where}: {reason}".split())


def exit_line(prefix: str, message: object, status: int) -> int:
    """Print ``prefix: message`` on stderr as one line (whitespace runs folded); return ``status``."""
    print(f"{prefix}: {' '.join(str(message).split())}", file=sys.stderr)
    return status


def cli_main(fn: Callable[[list[str]], int | None]) -> Callable[[list[str] | None], int]:
    """Wrap a command's ``main(argv)``: an :class:`InputError`, or an ``OSError`` on a path, becomes
    one ``error: ...`` line on stderr and exit 2."""

    @functools.wraps(fn)
    def wrapper(argv: list[str] | None = None) -> int:
        try:
            return int(fn(list(sys.argv[1:] if argv is None else argv)) or 0)
        except InputError as exc:
            return exit_line("error", exc, 2)
        except OSError as exc:
            # An unwritable or vanished path is the user's input too: name it, no traceback.
            return exit_line("error", describe_os_error(exc), 2)

    return wrapper
