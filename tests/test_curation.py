"""The curated files are in canonical form, so that diffs stay small and files read alike.

Canonical: keys in the order docs/curation.md gives (kg.load.CLAIM_KEYS and friends), no
tabs or trailing spaces, a final newline. A failure names the file and line to fix by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from kg.load import CLAIM_KEYS, CONTEXT_KEYS, ENTITY_KEYS, EXCLUSION_KEYS, read_yaml

from .conftest import BUNDLED_CORPUS, TEST_CORPUS

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
