"""Stage 1, before loading: which files of a corpus folder are read, so that none is dropped
silently.

The loader reads ``*/article.yaml`` folders and, in each, ``claims/*.yaml`` (and
``entities/*.yaml``). A file or folder that looks meant to be read but would not be —
``claims.yml``, an empty claims file, a folder or a link loop inside ``claims/``, an
article folder without ``article.yaml`` — is a problem (exit 2, the path named). What a
curator may mean — an article without a ``claims/`` folder yet, a note beside the claims, a
folder of other things in the corpus — is a warning that names what is left out. Names
starting with ``.`` are hidden (editors' swap files, ``.DS_Store``) and not read.

Given the build folder's ``FileIndex``, a claims or entities file whose stat is that of the
last build is not read again: its verdict (readable, empty or not) is the index's. The
folders are listed with ``os`` and plain strings, a ``Path`` made only for what is reported:
reading every file and making a ``Path`` of each took 0.08 s of CPU at 1,000 articles, more
than half of a build with nothing to do.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from kg.build_plan import FileIndex, FileState
from kg.errors import Problem

SHARED_FOLDERS = ("entities", "external-evidence")
"""Corpus folders that are not articles."""
ARTICLE_FILES = ("article.yml", "article.txt", "claims", "coverage.yaml", "coverage.yml")
"""What an article folder holds besides ``article.yaml``: a folder holding any of them but no
``article.yaml`` is an article that would be left out."""


@dataclass
class Survey:
    """What a corpus folder holds that the loader would not read."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def survey_corpus(corpus: Path, index: FileIndex | None = None) -> Survey:
    """Every file and folder of ``corpus`` the loader would skip, as a problem or a warning
    (``index``: the build folder's digests, so that unchanged files are not read again)."""
    survey = Survey()
    root = str(corpus)
    for name in sorted(os.listdir(root)):  # sorted(corpus.iterdir()): the same order
        if name.startswith((".", "_")) or not _is_dir(corpus, name, survey):
            continue
        entry = corpus / name
        if name == "entities":
            _survey_yaml_folder(entry, "entities", survey, index, "entities/")
        elif name in SHARED_FOLDERS:
            continue
        elif stat.S_ISREG(_mode(os.path.join(root, name, "article.yaml"))):
            _survey_article(entry, survey, index)
        else:
            present = [name for name in ARTICLE_FILES if (entry / name).exists()]
            if present:
                survey.problems.append(Problem(
                    entry / "article.yaml", None,
                    f"missing: the folder holds {', '.join(present)} like an article folder, "
                    "but without article.yaml it would be left out of the corpus"
                    + (" (rename article.yml to article.yaml)" if "article.yml" in present
                       else ""),
                ))  # fmt: skip
            else:
                survey.warnings.append(
                    f"{entry}/ left out: not an article folder (no article.yaml)"
                )
    return survey


_IGNORED_ERRNOS = (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP)
_IGNORED_WINERRORS = (21, 123, 1921)


def _mode(path: str) -> int:
    """``os.stat(path).st_mode``, 0 where ``Path.is_dir``, ``is_file`` and ``exists`` answer
    False (no such file, a broken link or a link loop); other errors are raised as they do."""
    try:
        return os.stat(path).st_mode
    except OSError as error:
        if error.errno in _IGNORED_ERRNOS or getattr(error, "winerror", None) in _IGNORED_WINERRORS:
            return 0
        raise
    except ValueError:
        return 0


def _is_dir(corpus: Path, name: str, survey: Survey) -> bool:
    try:
        return stat.S_ISDIR(_mode(os.path.join(corpus, name)))
    except OSError as error:  # a permission
        survey.problems.append(
            Problem(corpus / name, None, f"cannot read: {error.strerror or error}")
        )
        return False


def _survey_article(folder: Path, survey: Survey, index: FileIndex | None) -> None:
    mode = _mode(os.path.join(folder, "claims"))
    if not mode:
        survey.warnings.append(
            f"{folder}/ has no claims/ folder: the article is built without claims"
        )
        return
    claims = folder / "claims"
    if not stat.S_ISDIR(mode):
        survey.problems.append(Problem(claims, None, "must be a folder of claims files (*.yaml)"))
        return
    if not _survey_yaml_folder(claims, "claims", survey, index, f"{folder.name}/claims/"):
        survey.warnings.append(
            f"{claims}/ holds no claims file: the article is built without claims"
        )


def _survey_yaml_folder(
    folder: Path, what: str, survey: Survey, index: FileIndex | None, prefix: str
) -> int:
    """Check the entries of a folder whose ``*.yaml`` files are read; how many are.
    ``prefix``: the folder's path in the corpus, as ``index`` names its files."""
    read = 0
    base = str(folder)
    listed = index.scan(base) if index is not None else None
    names = [e.name for e in listed] if listed is not None else sorted(os.listdir(base))
    for position, name in enumerate(names):
        if name.startswith("."):
            continue
        if index is not None and listed is not None and name.endswith(".yaml"):  # its suffix
            state = _state(index, f"{prefix}{name}", listed[position])
            if state is not None:  # a regular file, readable
                if what == "claims" and state.blank:
                    survey.problems.append(Problem(folder / name, None, _empty_message(what)))
                else:
                    read += 1
                continue  # else as without an index, which names what is wrong
        entry = folder / name
        problem = _unreadable(entry)
        if entry.suffix.lower() in (".yml", ".yaml") and entry.suffix != ".yaml":
            problem = (
                f"{what} files end in .yaml: rename it to {entry.stem}.yaml (it would not be read)"
            )
        elif entry.suffix == ".yaml" and problem is None:
            # an empty claims file drops claims; an empty entities file would be loud (the
            # claims naming its entities fail)
            problem = _empty(entry, what) if what == "claims" else None
            read += problem is None
        elif problem is None:
            survey.warnings.append(f"{entry} left out: only *.yaml files of {folder}/ are read")
        if problem is not None:
            survey.problems.append(Problem(entry, None, problem))
    return read


def _state(index: FileIndex, name: str, entry: os.DirEntry[str]) -> FileState | None:
    """The index's record of a regular file that can be read (None for anything else)."""
    try:
        found = entry.stat()  # as os.stat (and kept for the plan)
        return index.state(name, entry.path, found) if stat.S_ISREG(found.st_mode) else None
    except OSError:
        return None


def _unreadable(entry: Path) -> str | None:
    """Why ``entry`` is not a regular file that can be read (None when it is)."""
    try:
        if entry.is_dir():
            return "a folder, where claimkg reads files only (its contents would not be read)"
        if not entry.is_file():
            return f"{_kind(entry)} (it would not be read)"
        with entry.open("rb") as handle:
            handle.read(1)
    except OSError as error:  # a link loop, a permission
        return f"cannot read: {error.strerror or error}"
    return None


def _kind(entry: Path) -> str:
    if not entry.is_symlink():
        return "not a regular file"
    try:
        entry.resolve(strict=True)
    except RuntimeError:
        return "a link loop"
    except OSError:
        return "a broken link"
    return "a link to something other than a file"


def _empty(path: Path, what: str) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError):
        return None  # the loader names the problem, with its line
    meaningful = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    if meaningful:
        return None
    return _empty_message(what)


def _empty_message(what: str) -> str:
    return (
        f"empty: it holds no {what} (an empty file is refused so that a truncated one cannot "
        "drop its records silently; delete it if it is meant to be empty)"
    )
