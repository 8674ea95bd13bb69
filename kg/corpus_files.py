"""Stage 1, before loading: which files of a corpus folder are read, so that none is dropped
silently.

The loader reads ``*/article.yaml`` folders and, in each, ``claims/*.yaml`` (and
``entities/*.yaml``). A file or folder that looks meant to be read but would not be —
``claims.yml``, an empty claims file, a folder or a link loop inside ``claims/``, an
article folder without ``article.yaml`` — is a problem (exit 2, the path named). What a
curator may mean — an article without a ``claims/`` folder yet, a note beside the claims, a
folder of other things in the corpus — is a warning that names what is left out. Names
starting with ``.`` are hidden (editors' swap files, ``.DS_Store``) and not read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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


def survey_corpus(corpus: Path) -> Survey:
    """Every file and folder of ``corpus`` the loader would skip, as a problem or a warning."""
    survey = Survey()
    for entry in sorted(corpus.iterdir()):
        if entry.name.startswith((".", "_")) or not _is_dir(entry, survey):
            continue
        if entry.name == "entities":
            _survey_yaml_folder(entry, "entities", survey)
        elif entry.name in SHARED_FOLDERS:
            continue
        elif (entry / "article.yaml").is_file():
            _survey_article(entry, survey)
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


def _is_dir(entry: Path, survey: Survey) -> bool:
    try:
        return entry.is_dir()
    except OSError as error:  # a link loop, a permission
        survey.problems.append(Problem(entry, None, f"cannot read: {error.strerror or error}"))
        return False


def _survey_article(folder: Path, survey: Survey) -> None:
    claims = folder / "claims"
    if not claims.exists():
        survey.warnings.append(
            f"{folder}/ has no claims/ folder: the article is built without claims"
        )
        return
    if not claims.is_dir():
        survey.problems.append(Problem(claims, None, "must be a folder of claims files (*.yaml)"))
        return
    if not _survey_yaml_folder(claims, "claims", survey):
        survey.warnings.append(
            f"{claims}/ holds no claims file: the article is built without claims"
        )


def _survey_yaml_folder(folder: Path, what: str, survey: Survey) -> int:
    """Check the entries of a folder whose ``*.yaml`` files are read; how many are."""
    read = 0
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
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
    return (
        f"empty: it holds no {what} (an empty file is refused so that a truncated one cannot "
        "drop its records silently; delete it if it is meant to be empty)"
    )
