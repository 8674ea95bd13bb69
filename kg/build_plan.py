"""What a corpus build has to do: the units, their keys, and the records the cache keeps.

Kept free of rdflib and of the loaders, so that a build with nothing to do (and every read
command, which first checks that the build folder is up to date) decides so in the time it
takes to hash the inputs: importing rdflib, pyshacl and the loaders took over a second,
several times the work itself. ``kg.pipeline`` imports the heavy modules only when a unit
is stale or an output must be written.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from kg.resources import data_dir

SHARED = "_shared"
"""The unit name of the entities and external evidence (article ids cannot start with _)."""
Progress = Callable[[str], None]


@dataclass
class UnitRecord:
    """What the cache keeps of a built unit (stored as JSON in the manifest)."""

    key: str
    graphs: dict[str, str]  # named graph IRI → file in the unit's cache folder
    nanopubs: str | None
    claims: dict[str, int]  # claims by type
    references: int
    triples: int
    subjects: list[str]  # the mapping subjects (IRIs) this unit provides
    prefixes: dict[str, str] = field(default_factory=dict)
    entities: int = 0
    claim_digests: dict[str, str] = field(default_factory=dict)
    """Claim id → digest of its triples: what changed since the last build."""


@dataclass(frozen=True)
class Plan:
    name: str
    directory: Path | None
    key: str


def digest(parts: Iterable[bytes | str]) -> str:
    """SHA-256 of ``parts``, each prefixed by its length (so that no two splits collide)."""
    sha = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        sha.update(len(data).to_bytes(8, "big"))
        sha.update(data)
    return sha.hexdigest()


def article_dirs(directory: Path) -> list[Path]:
    """The article folders of a corpus (those with an ``article.yaml``), in a stable order."""
    with os.scandir(directory) as entries:
        names = [e.name for e in entries if e.is_dir()]
    return [directory / n for n in sorted(names) if os.path.isfile(directory / n / "article.yaml")]


def _files(root: Path, paths: Iterable[Path]) -> Iterator[bytes | str]:
    for path in sorted(paths):
        if path.is_file():
            yield path.relative_to(root).as_posix()
            yield path.read_bytes()


def _tree(root: Path) -> Iterator[bytes | str]:
    """Every file under ``root``, by relative path, with its bytes: ``os.scandir`` and plain
    strings, since ``Path.rglob`` and ``relative_to`` took most of the planning time of a
    corpus of 1,000 articles."""
    found: list[tuple[str, str]] = []
    pending = [(str(root), "")]
    while pending:
        folder, relative = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                name = f"{relative}{entry.name}"
                if entry.is_dir():
                    pending.append((entry.path, f"{name}/"))
                elif entry.is_file():
                    found.append((name, entry.path))
    for name, path in sorted(found):
        yield name
        with open(path, "rb") as handle:
            yield handle.read()


@cache
def code_fingerprint() -> str:
    """claimkg's code and schema: a change to either invalidates every cached unit. The
    code is hashed, every module of the package (``kg.screen`` too), rather than its
    version number read through ``importlib.metadata`` (a tenth of a second to import)."""
    package = Path(__file__).resolve().parent
    ontology = data_dir("ontology")
    return digest(
        [
            *_files(package, package.rglob("*.py")),
            *_files(ontology, (ontology / n for n in ("claimkg.ttl", "units.ttl", "shapes.ttl"))),
        ]
    )


def plan_units(corpus: Path, base: str, mappings: Path | None) -> list[Plan]:
    """The shared unit, then one unit per article, each keyed by every input it depends on:
    the code, the base IRI, the entities (articles refer to them) and its own files."""
    entities_key = digest(
        [code_fingerprint(), base, *_files(corpus, (corpus / "entities").glob("*.yaml"))]
    )
    local_mappings = corpus / "mappings.sssom.tsv"
    bundled = data_dir("ontology") / "mappings.sssom.tsv"  # the links when the corpus has none
    mappings_file = mappings or (local_mappings if local_mappings.exists() else bundled)
    evidence = corpus / "external-evidence"
    shared_key = digest(
        [
            entities_key,
            mappings_file.read_bytes(),
            *(_tree(evidence) if evidence.is_dir() else ()),
        ]
    )
    plans = [Plan(SHARED, None, shared_key)]
    for directory in article_dirs(corpus):
        key = digest([entities_key, *_tree(directory)])
        plans.append(Plan(directory.name, directory, key))
    return plans
