"""The synthetic corpus generator of the scale benchmarks writes corpora that build as they are,
byte for byte the same for the same arguments."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from types import ModuleType

import yaml
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from kg.cli import main
from kg.load import load_shared

CKG = "https://w3id.org/claimkg/vocab/"


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_generated_corpus_is_deterministic_and_builds(
    generator: ModuleType, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    result = generator.generate(corpus, 2, 12)
    assert result.article_dirs == ("synthetic-00001", "synthetic-00002")
    assert result.claims == 24
    assert sum(n for _, n in result.claim_types) == 12

    again = generator.generate(tmp_path / "again", 2, 12)
    assert again.claim_types == result.claim_types
    digests = _digests(corpus)
    assert digests == _digests(tmp_path / "again")
    other_seed = _digests(generator.generate(tmp_path / "other", 2, 12, seed=1).path)
    assert other_seed["synthetic-00001/article.txt"] != digests["synthetic-00001/article.txt"]

    out = tmp_path / "out"
    assert main(["build", "--corpus", str(corpus), "--out", str(out), "-q"]) == 0
    graph = Graph()
    graph.parse(out / "claimkg.nt", format="nt")
    claims = set(graph.subjects(RDF.type, URIRef(CKG + "Claim")))
    assert len(claims) == 24
    by_type = {
        kind: len(claims & set(graph.subjects(RDF.type, URIRef(CKG + kind))))
        for kind, _ in result.claim_types
    }
    assert by_type == {kind: 2 * n for kind, n in result.claim_types}


def test_claim_mix_follows_the_real_article(generator: ModuleType) -> None:
    assert generator.claim_mix(179) == generator.REAL_MIX
    for total in (1, 7, 12, 60, 100, 200, 1000):
        assert sum(generator.claim_mix(total).values()) == total


def test_trials_grow_with_the_corpus(generator: ModuleType, tmp_path: Path) -> None:
    """Each trial gathers the claims of a handful of articles, not of the whole corpus: a
    corpus-wide join on a trial's arms grows with the corpus, not with its square."""
    articles = 40
    corpus = generator.generate(tmp_path / "corpus", articles, 60).path
    trials_file = corpus / "entities" / generator.TRIALS_FILE
    assert trials_file.is_file()

    # the invented trials and arms load with the corpus's entities, in the real files' form
    entities = load_shared(corpus).entities
    invented = {r["id"] for r in yaml.safe_load(trials_file.read_text(encoding="utf-8")) or []}
    assert invented <= set(entities)
    trials = {e.id for e in entities.values() if e.type == URIRef(CKG + "ClinicalTrial")}
    pool = {"leonarda-1", "leonarda-2", "paloma-3", "monaleesa-3", "dawna-1"}
    pool |= trials & invented
    assert len(pool) == generator.trial_pool_size(articles) == articles // 5
    for trial in trials & invented:
        assert not any(c.isdigit() for c in entities[trial].label)  # no number in quotes
        arms = [e for e in entities.values() if e.id.startswith(f"{trial}-")]
        assert {e.type for e in arms} == {URIRef(CKG + "TrialArm")}
        assert sorted("placebo" in e.parts for e in arms) == [False, True]

    # per article, the claims about each trial's arms
    per_article: dict[str, Counter[str]] = {}
    for claims_file in sorted(corpus.glob("synthetic-*/claims/*.yaml")):
        counts = per_article.setdefault(claims_file.parent.parent.name, Counter())
        for claim in yaml.safe_load(claims_file.read_text(encoding="utf-8")):
            context = claim.get("context") or {}
            if "arm" in context:
                counts[context["trial"]] += 1
    assert set().union(*per_article.values()) == pool  # every trial of the pool is used
    mentions = Counter(t for counts in per_article.values() for t in counts)
    assert max(mentions.values()) <= articles // 2
    primary = Counter(counts.most_common(1)[0][0] for counts in per_article.values())
    assert max(primary.values()) <= 2 * articles // len(pool)
    assert per_article["synthetic-00001"].most_common(1)[0][0] == "leonarda-1"
