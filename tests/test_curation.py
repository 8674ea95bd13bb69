"""The curated files are in canonical form, so that diffs stay small and files read alike,
and the schema of the curated YAML (ontology/curation.schema.json), the loader's keys, the
ontology's terms and the tables of docs/curation.md agree.

Canonical: keys in the order docs/curation.md gives (kg.load.CLAIM_KEYS and friends), no
tabs or trailing spaces, a final newline. A failure names the file and line to fix by hand.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from kg.load import (
    ARTICLE_KEYS,
    CITATION_STYLES,
    CLAIM_KEYS,
    CONTEXT_KEYS,
    DOSE_KEYS,
    ENTITY_KEYS,
    ENTRY_STYLES,
    EXCLUSION_KEYS,
    FORM_REQUIRED_KEYS,
    REFERENCE_KEYS,
    REFERENCE_LIST_KEYS,
    REQUIRED_KEYS,
    ROLE_KEYS,
    SECTION_KEYS,
    SPEAKER_SPAN_KEYS,
    load_vocabulary,
    read_yaml,
)

from .conftest import BUNDLED_CORPUS, FIXTURES, REPO, TEST_CORPUS

CURATED = sorted(
    path
    for corpus in (BUNDLED_CORPUS, TEST_CORPUS)
    for path in corpus.rglob("*.yaml")
    if path.name != "article.yaml"
)


def _order_problems(path: Path, records: object, order: Sequence[str]) -> list[str]:
    problems = []
    for record in records if isinstance(records, list) else []:
        keys = list(record)
        expected = sorted(keys, key=lambda k: order.index(k) if k in order else len(order))
        if keys != expected:
            problems.append(f"{path}:{record.line}: keys in order {expected}, not {keys}")
        context = record.get("context")
        if isinstance(context, dict):
            keys = list(context)
            expected = sorted(
                keys, key=lambda k: CONTEXT_KEYS.index(k) if k in CONTEXT_KEYS else 99
            )
            if keys != expected:
                problems.append(
                    f"{path}:{getattr(context, 'line', 0)}: context keys in order {expected}"
                )
    return problems


@pytest.mark.parametrize(
    "path", CURATED, ids=[p.relative_to(p.parents[2]).as_posix() for p in CURATED]
)
def test_curated_file_is_canonical(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n") and not text.endswith("\n\n"), f"{path}: end with one newline"
    for number, line in enumerate(text.splitlines(), 1):
        assert "\t" not in line, f"{path}:{number}: tab"
        assert line == line.rstrip(), f"{path}:{number}: trailing whitespace"
    order = {"claims": CLAIM_KEYS, "entities": ENTITY_KEYS}.get(path.parent.name, EXCLUSION_KEYS)
    assert _order_problems(path, read_yaml(path), order) == []


def test_a_misordered_claim_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "claims.yaml"
    path.write_text("- type: Measurement\n  id: x\n", encoding="utf-8")
    [problem] = _order_problems(path, read_yaml(path), CLAIM_KEYS)
    assert f"{path}:1:" in problem and "['id', 'type']" in problem


# ---------------------------------------------------------------- the schema of the curated YAML

SCHEMA_PATH = REPO / "ontology" / "curation.schema.json"
SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
DEFS = SCHEMA["$defs"]
DOCS = REPO / "docs" / "curation.md"
FORMS_CORPUS = FIXTURES / "forms"

LOADER_KEYS = {
    "article": ARTICLE_KEYS,
    "section": SECTION_KEYS,
    "referenceList": REFERENCE_LIST_KEYS,
    "reference": REFERENCE_KEYS,
    "speakerSpan": SPEAKER_SPAN_KEYS,
    "claim": CLAIM_KEYS,
    "context": CONTEXT_KEYS,
    "dose": DOSE_KEYS,
    "role": ROLE_KEYS,
    "entity": ENTITY_KEYS,
    "exclusion": EXCLUSION_KEYS,
}
DOC_TABLES = {
    "Article keys": "article",
    "Section keys": "section",
    "Reference list keys": "referenceList",
    "Reference keys": "reference",
    "Speaker span keys": "speakerSpan",
    "Claim keys": "claim",
    "Context keys": "context",
    "Dose keys": "dose",
    "Role keys": "role",
    "Entity keys": "entity",
    "Coverage keys": "exclusion",
}


def _validator(definition: str) -> Draft202012Validator:
    return Draft202012Validator({**SCHEMA, "$ref": f"#/$defs/{definition}"})


def _doc_tables() -> dict[str, list[tuple[list[str], str]]]:
    """The key tables of docs/curation.md: per "### X keys" heading, the (keys, required)
    rows of the first table under it."""
    tables: dict[str, list[tuple[list[str], str]]] = {}
    heading, done = None, False
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip() if line.startswith("### ") else None
            done = False
        elif heading in DOC_TABLES and not done:
            if line.startswith("| `"):
                cells = [c.strip() for c in line.strip("|").split("|")]
                keys = re.findall(r"`([a-z0-9_]+)`", cells[0])
                tables.setdefault(heading, []).append((keys, cells[1]))
            elif heading in tables and not line.startswith("|"):
                done = True  # the first table under the heading has ended
    return tables


def test_the_schema_is_a_valid_json_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    for wrapper in (REPO / "ontology" / "schema").glob("*.schema.json"):
        ref = json.loads(wrapper.read_text(encoding="utf-8"))["$ref"]
        assert ref.startswith("../curation.schema.json#/$defs/"), wrapper
        assert ref.rsplit("/", 1)[1] in DEFS, wrapper


@pytest.mark.parametrize("definition", sorted(LOADER_KEYS))
def test_the_loader_and_the_schema_know_the_same_keys(definition: str) -> None:
    """A key added to the loader and not to the schema (or back) fails here."""
    assert list(DEFS[definition]["properties"]) == list(LOADER_KEYS[definition])


def test_the_schema_requires_what_the_loader_requires() -> None:
    assert DEFS["article"]["required"] == list(REQUIRED_KEYS)
    [interview] = [c for c in DEFS["article"]["allOf"] if "then" in c]
    assert interview["then"]["required"] == list(FORM_REQUIRED_KEYS["Interview"])
    assert set(DEFS["entryStyle"]["enum"]) == set(ENTRY_STYLES)
    assert set(DEFS["citationStyle"]["enum"]) == set(CITATION_STYLES)


def test_the_schema_names_the_ontology_terms() -> None:
    """Each controlled list of the schema is the ontology's, so that an editor completes
    exactly the terms the loader accepts."""
    vocabulary = load_vocabulary()
    lists = {
        "form": vocabulary.forms,
        "claimType": vocabulary.claim_types,
        "entityType": vocabulary.entity_types,
        "statistic": vocabulary.statistics,
        "unit": vocabulary.units,
        "analysis": vocabulary.analyses,
        "analysisStage": vocabulary.analysis_stages,
        "aeAttribution": vocabulary.ae_attributions,
        "sidedness": vocabulary.sidedness,
        "frequency": vocabulary.frequencies,
        "schedule": vocabulary.schedules,
        "route": vocabulary.routes,
        "derivation": vocabulary.derivations,
        "direction": vocabulary.directions,
        "predicate": vocabulary.predicates,
        "biolinkCategory": vocabulary.categories,
    }
    for name, terms in lists.items():
        assert sorted(DEFS[name]["enum"]) == sorted(terms), name


@pytest.mark.parametrize("heading", sorted(DOC_TABLES))
def test_the_docs_tables_list_the_schemas_keys(heading: str) -> None:
    rows = _doc_tables()[heading]
    definition = DEFS[DOC_TABLES[heading]]
    documented = [key for keys, _ in rows for key in keys]
    assert documented == list(definition["properties"]), f"docs/curation.md, {heading}"
    required = [key for keys, cell in rows for key in keys if cell == "yes"]
    assert required == definition.get("required", []), f"docs/curation.md, {heading}: 'yes'"


def test_the_docs_say_which_keys_an_interview_needs() -> None:
    rows = _doc_tables()["Article keys"]
    assert [k for keys, cell in rows for k in keys if cell == "Interview"] == list(
        FORM_REQUIRED_KEYS["Interview"]
    )


CURATED_FILES = sorted(
    path
    for corpus in (BUNDLED_CORPUS, TEST_CORPUS, FORMS_CORPUS)
    for path in corpus.rglob("*.yaml")
    if "external-evidence" not in path.parts
)


def _kind(path: Path) -> str:
    if path.name == "article.yaml":
        return "article"
    if path.name == "coverage.yaml":
        return "coverageFile"
    return {"claims": "claimsFile", "entities": "entitiesFile"}[path.parent.name]


@pytest.mark.parametrize(
    "path", CURATED_FILES, ids=[p.relative_to(REPO).as_posix() for p in CURATED_FILES]
)
def test_every_curated_file_follows_the_schema(path: Path) -> None:
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in _validator(_kind(path)).iter_errors(read_yaml(path))
    ]
    assert errors == [], path


def test_the_schema_refuses_what_the_loader_refuses() -> None:
    claim = {"id": "x", "type": "Measurement", "quote": "q", "about": ["a"]}
    claims = _validator("claimsFile")
    assert not list(
        claims.iter_errors([{**claim, "statistic": "Median", "endpoint": "e", "unit": "MO"}])
    )
    broken = {
        "unknown key": {**claim, "colour": "red"},
        "unknown unit": {**claim, "statistic": "Median", "endpoint": "e", "unit": "NanoM"},
        "measurement without statistic": {**claim, "endpoint": "e", "unit": "MO"},
        "dose without drug": {
            **claim,
            "type": "Dosing",
            "dose": {"amount": "1", "unit": "MilliGM"},
        },
        "dose amount without unit": {
            **claim,
            "type": "Dosing",
            "dose": {"drug": "d", "amount": "1"},
        },
        "number not as printed": {
            **claim,
            "statistic": "Median",
            "endpoint": "e",
            "unit": "MO",
            "value": "1,5",
        },
        "role without title or organisation": {**claim, "type": "Role", "role": {"person": "p"}},
    }
    for why, record in broken.items():
        assert list(claims.iter_errors([record])), why
    article = _validator("article")
    section = {"id": "s", "title": "S", "starts_with": "S"}
    base = {"id": "a", "title": "t", "publisher": "p", "text": "a.txt", "sha256": "0" * 64,
            "editorial_voice": "p", "sections": [section]}  # fmt: skip
    assert list(article.iter_errors(base)), "no form means Interview, which needs an interviewee"
    assert not list(article.iter_errors({**base, "form": "NewsItem"}))
    assert list(article.iter_errors({**base, "form": "NewsItem", "references": [{"number": "1"}]}))


def _cheat_sheet_blocks() -> list[str]:
    text = DOCS.read_text(encoding="utf-8")
    sheet = text[text.index("## Vocabulary cheat sheet") :]
    return re.findall(r"```yaml\n(.*?)```", sheet, re.DOTALL)


def test_every_cheat_sheet_example_is_a_valid_claims_file(tmp_path: Path) -> None:
    blocks = _cheat_sheet_blocks()
    assert len(blocks) >= 9
    ids: list[str] = []
    for number, block in enumerate(blocks):
        path = tmp_path / f"example-{number}.yaml"
        path.write_text(block, encoding="utf-8")
        records = read_yaml(path)
        assert list(_validator("claimsFile").iter_errors(records)) == [], block
        assert _order_problems(path, records, CLAIM_KEYS) == [], block
        ids += [r["id"] for r in records]
    assert len(ids) == len(set(ids))


def test_the_docs_news_item_example_is_a_valid_article_yaml(tmp_path: Path) -> None:
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(id: cross-trial-news\n.*?)```", text, re.DOTALL)
    assert block is not None
    path = tmp_path / "article.yaml"
    path.write_text(block.group(1), encoding="utf-8")
    assert list(_validator("article").iter_errors(read_yaml(path))) == []
