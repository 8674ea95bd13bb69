"""What a corpus build has to do: the units, their keys, and the records the cache keeps.

Kept free of rdflib and of the loaders, so that a build with nothing to do (and every read
command, which first checks that the build folder is up to date) decides so in the time it
takes to look at the inputs: importing rdflib, pyshacl and the loaders took over a second,
several times the work itself. ``kg.pipeline`` imports the heavy modules only when a unit
is stale or an output must be written. A unit's key is made of the SHA-256 of each of its
files, which ``FileIndex`` keeps between builds under the file's stat (as git's index does):
only files whose stat changed are read again (decision 0021).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

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


FILE_INDEX = "files.json"
"""The file of a build folder's ``cache/`` that keeps the digests of the corpus files."""
RACY_NS = 2_000_000_000
"""A file changed less than this before its stat was taken is read again on the next build:
a change within the same tick of the file system's clock (2 s on FAT, 1 s on some others)
would leave its stat as it was (git's "racily clean" entries)."""


class FileState(NamedTuple):
    """What a build needs of one corpus file: its digest, and whether it holds anything (a
    named tuple: a frozen dataclass took 2 µs to make, 10 ms for 5,000 files)."""

    digest: str  # SHA-256 of the bytes
    blank: bool  # only blank and comment lines (an empty claims file); False if not UTF-8


class FileIndex:
    """The SHA-256 of each corpus file, kept between builds under the file's stat (size,
    mtime, ctime, inode, mode): re-reading and re-hashing every file took most of the time of
    a build with nothing to do (0.13 s of CPU at 1,000 articles). A file whose stat changed,
    or whose last change was within ``RACY_NS`` of the previous build's stat, is read again;
    a change that leaves size, mtime, ctime and inode as they were is not seen (nor by git).
    """

    def __init__(self, corpus: Path, saved: Path | None = None) -> None:
        self.started = time.time_ns()  # before any stat of this run
        self.saved = saved
        self._header = {
            "version": 1,
            "corpus": str(corpus.resolve()),
            "user": os.geteuid() if hasattr(os, "geteuid") else None,  # what it may read
        }
        self._old: dict[str, list[Any]] = {}
        self._trusted_before = 0
        self._seen: dict[str, list[Any]] = {}
        self._scans: dict[str, list[os.DirEntry[str]]] = {}
        if saved is not None:
            self._load(saved)

    def _load(self, saved: Path) -> None:
        try:
            with open(saved, "rb") as handle:
                data = json.loads(handle.read())
        except (OSError, ValueError):
            return  # none yet, or unreadable: every file is read
        if not isinstance(data, dict) or any(data.get(k) != v for k, v in self._header.items()):
            return
        files, taken = data.get("files"), data.get("taken")
        if isinstance(files, dict) and isinstance(taken, int):
            self._old, self._trusted_before = files, taken - RACY_NS

    def scan(self, folder: str) -> list[os.DirEntry[str]]:
        """The entries of ``folder`` by name, listed once in a run: the survey and the plan
        walk the same claims folders, and an entry keeps its stat once taken."""
        found = self._scans.get(folder)
        if found is None:
            with os.scandir(folder) as entries:
                found = sorted(entries, key=_name)
            self._scans[folder] = found
        return found

    def state(self, name: str, path: str, stat: os.stat_result | None = None) -> FileState:
        """The file ``path`` (``name`` relative to the corpus; ``stat``: its ``os.stat``),
        read only when its stat is not that of the previous build. Raises ``OSError``."""
        if stat is None:
            stat = os.stat(path)
        key = [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_mode]
        entry = self._seen.get(name)
        if entry is None or entry[:5] != key:
            old = self._old.get(name)
            if (
                type(old) is list  # as saved (a file edited by hand is read again)
                and len(old) == 7
                and old[:5] == key
                and max(key[1], key[2]) < self._trusted_before
            ):
                entry = old
            else:
                with open(path, "rb") as handle:
                    data = handle.read()
                entry = [*key, hashlib.sha256(data).hexdigest(), _blank(data)]
            self._seen[name] = entry
        return FileState(entry[5], entry[6])

    def save(self) -> None:
        """Keep the digests of the files seen in this run, when they differ from those
        kept; in a folder that cannot be written, they are read again next time."""
        if self.saved is None or self._seen == self._old:
            return
        data = {**self._header, "taken": self.started, "files": self._seen}
        try:
            self.saved.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f".{FILE_INDEX}.", dir=self.saved.parent)
        except OSError:
            return
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:  # one dumps: the C encoder
                out.write(json.dumps(data, separators=(",", ":")))
            os.replace(temporary, self.saved)
        except OSError:
            with suppress(OSError):
                os.unlink(temporary)


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


def _blank(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeError:
        return False  # the loader names the problem, with its line
    return not any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines())


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
        found = sorted((e.name, e.path) for e in entries if e.is_dir())
    return [directory / n for n, path in found if os.path.isfile(f"{path}/article.yaml")]


def _files(root: Path, paths: Iterable[Path]) -> Iterator[bytes | str]:
    for path in sorted(paths):
        if path.is_file():
            yield path.relative_to(root).as_posix()
            yield path.read_bytes()


def _tree(root: Path, name: str, index: FileIndex) -> Iterator[str]:
    """Every file under ``root`` (the corpus folder ``name``), by relative path, with its
    digest: ``os.scandir`` and plain strings, since ``Path.rglob`` and ``relative_to`` took
    most of the planning time of a corpus of 1,000 articles."""
    found: list[tuple[str, str, os.stat_result]] = []
    pending = [(str(root), "")]
    while pending:
        folder, relative = pending.pop()
        for entry in index.scan(folder):
            file = f"{relative}{entry.name}"
            if entry.is_dir():
                pending.append((entry.path, f"{file}/"))
            elif entry.is_file():
                found.append((file, entry.path, entry.stat()))
    for file, path, stat in sorted(found):
        yield file
        yield index.state(f"{name}/{file}", path, stat).digest


def _yaml_files(folder: Path, name: str, index: FileIndex) -> Iterator[str]:
    """The ``*.yaml`` files of the corpus folder ``name``, by name, with their digests."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:  # no such folder (Path.glob found nothing either)
        return
    for file in names:
        path = os.path.join(folder, file)
        if file.endswith(".yaml") and os.path.isfile(path):
            yield file
            yield index.state(f"{name}/{file}", path).digest


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


def plan_units(
    corpus: Path, base: str, mappings: Path | None, index: FileIndex | None = None
) -> list[Plan]:
    """The shared unit, then one unit per article, each keyed by every input it depends on:
    the code, the base IRI, the entities (articles refer to them) and its own files (their
    digests, from ``index``: read again only when changed)."""
    index = index or FileIndex(corpus)
    entities_key = digest([code_fingerprint(), base, *_yaml_files(corpus / "entities",
                                                                  "entities", index)])  # fmt: skip
    local_mappings = corpus / "mappings.sssom.tsv"
    bundled = data_dir("ontology") / "mappings.sssom.tsv"  # the links when the corpus has none
    if mappings is None and local_mappings.exists():
        mappings_digest = index.state(local_mappings.name, str(local_mappings)).digest
    else:
        mappings_digest = hashlib.sha256((mappings or bundled).read_bytes()).hexdigest()
    evidence = corpus / "external-evidence"
    shared_key = digest(
        [
            entities_key,
            mappings_digest,
            *(_tree(evidence, evidence.name, index) if evidence.is_dir() else ()),
        ]
    )
    plans = [Plan(SHARED, None, shared_key)]
    for directory in article_dirs(corpus):
        key = digest([entities_key, *_tree(directory, directory.name, index)])
        plans.append(Plan(directory.name, directory, key))
    return plans
