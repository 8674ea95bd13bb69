"""Problems with curated input, located for the curator (shared by every reader of it)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SHOWN = 80
"""Characters of a value (a quote, an id, a mapping) a message shows: a curator needs to
recognise it, not to read a 240 KB quote back."""
MESSAGE_LIMIT = 1000
"""Characters of one problem's message at most (the CLI prints one line per problem)."""


def _cut(text: str, limit: int) -> str:
    head = max(1, (limit * 2) // 3)
    tail = max(0, limit - head - 1)
    return f"{text[:head]}…{text[len(text) - tail :] if tail else ''}"


def shorten(text: str, limit: int = SHOWN) -> str:
    """``text``, or its start and end around an ellipsis, with its length, when it is
    longer than ``limit``: the one way every message cuts a long value."""
    return text if len(text) <= limit else f"{_cut(text, limit)} ({len(text):,} characters)"


def shown(value: object, limit: int = SHOWN) -> str:
    """``value`` as a message quotes it: a string's repr, cut first so that its escapes
    stay whole (its length after the quotes); anything else's repr, shortened."""
    if not isinstance(value, str):
        return shorten(repr(value), limit)
    if len(value) <= limit:
        return repr(value)
    return f"{_cut(value, limit)!r} ({len(value):,} characters)"


def shown_path(path: Path | str) -> str:
    """``path`` as a message names it, so that it opens from where the user stands:
    relative to the current folder when under it, else absolute."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(Path.cwd()).as_posix() or "."
    except ValueError:
        return str(absolute)
    except OSError:  # the current folder is gone
        return str(absolute)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with curated input, located for the curator."""

    file: Path
    line: int | None
    message: str
    claim_id: str | None = None

    def __str__(self) -> str:
        file = shown_path(self.file)
        where = f"{file}:{self.line}" if self.line else file
        who = f" claim '{shorten(self.claim_id)}':" if self.claim_id else ""
        return f"{where}:{who} {shorten(self.message, MESSAGE_LIMIT)}"


class CurationError(Exception):
    """Curated input that cannot be turned into a graph (the CLI exits 2)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UnusableInput(Exception):
    """Input or environment claimkg cannot use, other than curated files: a build folder that
    is a file or belongs to another corpus, a bad option, an unreachable endpoint (the CLI
    exits 2 with this one-line message)."""
