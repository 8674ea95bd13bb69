"""The build folder: the one corpus it belongs to, its manifest, and its outputs replaced as
one set.

Every output of a build — the serialisations, the validation report, the store and the
manifest (``cache/manifest.json``: which corpus, which units, which files) — is written
into ``cache/staging-…/`` first. The staging folder then becomes ``cache/pending/`` by one
rename, with a journal (``set.json``) of the renames that put each staged output in place
and move each replaced or dropped one aside. A build stopped before that rename leaves the
previous set untouched (the next run deletes the staging folder); stopped during the
renames, the next run (any command that opens the folder) finishes them from the journal.
Readers so see the previous set or the new one, never a mix of two builds; a refused build
changes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kg.errors import UnusableInput

CACHE, MANIFEST = "cache", "manifest.json"
PENDING, JOURNAL = "pending", "set.json"
_STAGING, _DONE = "staging-", "done-"


def usable_folder(build_dir: Path, option: str = "--build") -> None:
    """Refuse a build folder that is a file (or any other non-folder)."""
    if build_dir.exists() and not build_dir.is_dir():
        raise UnusableInput(f"{build_dir}: not a folder; give {option} a folder (new or a build)")


def read_manifest(build_dir: Path) -> dict[str, Any]:
    """The manifest of the folder's current set, or ``{}``."""
    try:
        data = json.loads((build_dir / CACHE / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def corpus_id(corpus: Path) -> str:
    """How a manifest names the corpus it was built from: its absolute path."""
    return str(corpus.resolve())


def check_owner(build_dir: Path, manifest: Mapping[str, Any], corpus: Path) -> str | None:
    """The corpus that owns the folder when it is not ``corpus`` (else None)."""
    owner = manifest.get("corpus")
    if isinstance(owner, str) and owner != corpus_id(corpus):
        return owner
    return None


def refuse_other_corpus(build_dir: Path, owner: str, corpus: Path) -> UnusableInput:
    return UnusableInput(
        f"{build_dir}/ holds the build of another corpus ({owner}), not of {corpus_id(corpus)}: "
        f"give this corpus its own build folder with --build DIR (or $KG_BUILD), or rebuild "
        f"{build_dir}/ for it with kg build --corpus {corpus} --out {build_dir}"
    )


def recover(build_dir: Path) -> None:
    """Finish the renames of a set a stopped build had begun to put in place; delete what
    stopped builds left half-written."""
    cache = build_dir / CACHE
    if not cache.is_dir():
        return
    pending = cache / PENDING
    if (pending / JOURNAL).is_file():
        _finish(build_dir, pending)
    elif pending.exists():  # a journal is written before the folder gets this name
        shutil.rmtree(pending, ignore_errors=True)
    for leftover in cache.iterdir():
        if leftover.name.startswith((_STAGING, _DONE)) and leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)


class Staging:
    """A folder inside the build folder where a new output set is written."""

    def __init__(self, build_dir: Path) -> None:
        self.build_dir = build_dir
        cache = build_dir / CACHE
        cache.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix=f"{_STAGING}{os.getpid()}-", dir=cache))
        os.chmod(self.path, 0o777 & ~_umask())

    def commit(self, names: Sequence[str], drop: Sequence[str] = ()) -> None:
        """Put each staged output ``names`` (paths relative to the build folder) in place and
        remove the outputs ``drop``, as one set (see the module docstring)."""
        journal = {"moves": list(names), "drop": [n for n in drop if n not in names]}
        with (self.path / JOURNAL).open("w", encoding="utf-8") as handle:
            json.dump(journal, handle)
            handle.flush()
            os.fsync(handle.fileno())
        pending = self.build_dir / CACHE / PENDING
        os.replace(self.path, pending)  # from here on, the new set is the folder's
        _finish(self.build_dir, pending)

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _finish(build_dir: Path, pending: Path) -> None:
    """Carry out a journal; every step may be repeated (a second run after a stop)."""
    journal = json.loads((pending / JOURNAL).read_text(encoding="utf-8"))
    aside = pending / "replaced"
    for name in journal["drop"]:
        _move_aside(build_dir / name, aside / name)
    for name in journal["moves"]:
        staged, target = pending / name, build_dir / name
        if not staged.exists() and not staged.is_symlink():
            continue  # put in place by the stopped run
        _move_aside(target, aside / name)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)
    done = pending.with_name(f"{_DONE}{os.getpid()}")
    shutil.rmtree(done, ignore_errors=True)
    os.replace(pending, done)
    shutil.rmtree(done, ignore_errors=True)


def _move_aside(path: Path, aside: Path) -> None:
    if not path.exists() and not path.is_symlink():
        return
    aside.parent.mkdir(parents=True, exist_ok=True)
    if aside.exists():
        shutil.rmtree(aside) if aside.is_dir() else aside.unlink()
    os.replace(path, aside)


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` on one line: without ``indent`` the json module takes its C encoder,
    which wrote a 100,000-claim manifest several times faster than the indented form."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
