"""Bad-input errors and the command-line wrapper that prints them as one line with a non-zero exit."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable


class InputError(ValueError):
    """Bad input: a file, key or value that is not what was expected.

    The message names the offending file, key or value and says what was expected, on one line.
    """


def cli_main(fn: Callable[[list[str]], int | None]) -> Callable[[list[str] | None], int]:
    """Wrap a command's ``main(argv)``: an :class:`InputError`, or an ``OSError`` on a path, becomes
    one ``error: ...`` line on stderr and exit 2."""

    @functools.wraps(fn)
    def wrapper(argv: list[str] | None = None) -> int:
        try:
            return int(fn(list(sys.argv[1:] if argv is None else argv)) or 0)
        except InputError as exc:
            print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
            return 2
        except OSError as exc:
            # An unwritable or vanished path is the user's input too: name it, no traceback.
            where = exc.filename if exc.filename is not None else "?"
            print(f"error: {where}: {exc.strerror or exc}", file=sys.stderr)
            return 2

    return wrapper
