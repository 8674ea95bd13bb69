"""Problems with curated input, located for the curator (shared by every reader of it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong with curated input, located for the curator."""

    file: Path
    line: int | None
    message: str
    claim_id: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        who = f" claim '{self.claim_id}':" if self.claim_id else ""
        return f"{where}:{who} {self.message}"


class CurationError(Exception):
    """Curated input that cannot be turned into a graph (the CLI exits 2)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UnusableInput(Exception):
    """Input or environment claimkg cannot use, other than curated files: a build folder that
    is a file or belongs to another corpus, a bad option, an unreachable endpoint (the CLI
    exits 2 with this one-line message)."""
