"""User-facing errors: one line on stderr and exit code 2, never a traceback."""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import NoReturn

USER_ERROR_EXIT_CODE = 2


class UserError(Exception):
    """A mistake the user can fix (bad flag, missing file, malformed row).

    The message is printed as ``<prog>: error: <message>`` and the program exits with code 2.
    """


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (its type name when the message is empty), for one-line errors."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def fail(prog: str, message: str) -> NoReturn:
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(USER_ERROR_EXIT_CODE)


def run_cli(main: Callable[[], int | None]) -> None:
    """Run a CLI ``main`` turning user mistakes into one-line errors and a non-zero exit."""
    prog = os.path.basename(sys.argv[0])
    try:
        code = main()
    except UserError as error:
        fail(prog, str(error))
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        # The reader of stdout went away (e.g. `classify.py ... | head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
    sys.exit(code or 0)
