"""The ``kg`` command line: one subcommand per user task, one error contract for all.

Exit codes (``CONTRACT``, shown by ``kg --help``): 0 success; 1 data problems (shape
violations, inconsistent derivations, uncovered numbers, link problems); 2 unusable input or
environment (a bad path, option, IRI or URL, an unreachable endpoint, a busy port; the file
and line are named); 3 a bug in claimkg; 130 interrupted (Ctrl-C). A one-line message says
what is wrong; ``--debug`` adds the traceback. A reader that goes away (``kg build | head``)
ends the output, not the work. The heavy libraries are imported by the commands that use
them, so ``kg --help`` and ``kg query --list`` answer at once.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from kg.cli.common import (
    CONTRACT,
    EXIT_BUG,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_UNUSABLE,
    InvalidCorpus,
    UnreadableInput,
)
from kg.cli.options import command_line
from kg.errors import CurationError, UnusableInput

__all__ = [
    "CONTRACT",
    "EXIT_BUG",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_UNUSABLE",
    "command_line",
    "main",
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = command_line()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_UNUSABLE
    with _tolerant_streams():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    """Run the command under the error contract (see ``CONTRACT``)."""
    debug = bool(getattr(args, "debug", False))

    def fail(code: int, *lines: str) -> int:
        if debug:
            traceback.print_exc()
        for line in lines:
            print(line, file=sys.stderr)
        return code

    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return fail(EXIT_INTERRUPTED, "kg: interrupted")
    except (UnreadableInput, UnusableInput) as error:
        return fail(EXIT_UNUSABLE, f"kg: {error}")
    except InvalidCorpus:
        return fail(EXIT_INVALID, "kg: the corpus violates the shapes; fix it and run again.")
    except CurationError as error:
        head = f"kg: unusable input ({len(error.problems)} problem(s)):"
        return fail(EXIT_UNUSABLE, head, *(f"  {problem}" for problem in error.problems))
    except OSError as error:  # a path that is not there, not a folder, not writable; a full disk
        return fail(EXIT_UNUSABLE, f"kg: {_os_message(error)}")
    except Exception as error:
        if _is_user_error(error):
            return fail(EXIT_UNUSABLE, f"kg: {error}")
        message = " ".join(str(error).split())
        message = message if len(message) <= 500 else message[:499] + "…"
        return fail(
            EXIT_BUG,
            f"kg: internal error: {type(error).__name__}: {message}",
            "kg: this is a bug in claimkg; run the command again with --debug and report "
            "what it prints",
        )


def _os_message(error: OSError) -> str:
    where = " → ".join(str(f) for f in (error.filename, error.filename2) if f is not None)
    reason = error.strerror or str(error)
    return f"{where}: {reason}" if where else reason


def _is_user_error(error: Exception) -> bool:
    """An error type of a module that names bad input (imported only if already loaded)."""
    for module, name in (("kg.queries", "QueryError"), ("kg.push", "PushError"),
                         ("kg.signing", "SigningError")):  # fmt: skip
        kind = getattr(sys.modules.get(module), name, None)
        if isinstance(kind, type) and isinstance(error, kind):
            return True
    return False


class _Tolerant:
    """A text stream that stops writing, silently, once its reader has gone away: a closed
    pipe (``kg build | head -1``) ends the output, never the work."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return int(self._stream.write(text))
            except BrokenPipeError:
                self._break()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._break()

    def _break(self) -> None:
        self.broken = True
        try:  # later flushes (at exit, too) of the real stream go nowhere, without error
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass
        except Exception:  # io.UnsupportedOperation of an in-memory stream
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def _tolerant_streams() -> Iterator[None]:
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Tolerant(saved[0]), _Tolerant(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
