"""Signed nanopublications (kg nanopub --sign): trusty URIs and signatures by nanopub-py."""

from __future__ import annotations

from pathlib import Path

import pytest
from Crypto.PublicKey import RSA
from nanopub.nanopub import Nanopub
from rdflib import URIRef
from rdflib.namespace import DCTERMS, RDF

from kg.build import BuiltCorpus
from kg.cli import EXIT_OK, EXIT_UNUSABLE, main
from kg.namespaces import NP
from kg.signing import CREATOR, SigningError, load_key, nanopublications, sign_all

SIGNATURE = URIRef("http://purl.org/nanopub/x/hasSignature")


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("key") / "id_rsa.pem"
    path.write_bytes(RSA.generate(2048).export_key("PEM", pkcs=8))
    return path


def _claims(built: BuiltCorpus, count: int) -> set[str]:
    stable = [str(n) for n, _ in nanopublications(built.dataset.quads())]
    assert len(stable) >= count
    return {iri.rsplit("/", 1)[-1] for iri in stable[:count]}


def test_signed_nanopubs_pass_nanopub_py_validation(
    built: BuiltCorpus, key: Path, tmp_path: Path
) -> None:
    only = _claims(built, 3)
    out = tmp_path / "signed"
    quads = built.dataset.quads()
    signed = sign_all(quads, load_key(key), out, "https://orcid.org/0000-0000-0000-0000", "t", only)
    assert len(signed) == 3
    for item in signed:
        assert item.trusty.startswith(item.stable + "/RA")
        publication = Nanopub(rdf=item.path)
        assert publication.is_valid
        assert publication.has_valid_signature and publication.has_valid_trusty
        assert str(publication.source_uri) == item.trusty
        subject = URIRef(item.trusty)
        created = publication.pubinfo.value(subject, DCTERMS.created)
        assert created is not None and str(created).startswith("20")
        assert publication.pubinfo.value(subject, DCTERMS.creator) == CREATOR


def test_a_tampered_signed_nanopub_fails_validation(
    built: BuiltCorpus, key: Path, tmp_path: Path
) -> None:
    [item] = sign_all(
        built.dataset.quads(), load_key(key), tmp_path / "s", "x:y", "t", _claims(built, 1)
    )
    text = item.path.read_text(encoding="utf-8")
    quoted = next(line for line in text.splitlines() if "oa:exact" in line or "exact" in line)
    tampered = tmp_path / "tampered.trig"
    tampered.write_text(text.replace(quoted, quoted.replace('"', '"X', 1), 1), "utf-8")
    assert tampered.read_text("utf-8") != text
    publication = Nanopub(rdf=tampered)
    with pytest.raises(Exception):  # noqa: B017 - nanopub-py raises its own error types
        assert publication.has_valid_trusty and publication.has_valid_signature


def test_the_build_keeps_its_nanopubs_unsigned_with_a_creator(built: BuiltCorpus) -> None:
    heads = [q[0] for q in built.dataset.quads((None, RDF.type, NP.Nanopublication, None))]
    assert heads
    assert not list(built.dataset.quads((None, SIGNATURE, None, None)))
    for nanopub in heads[:5]:
        assert list(built.dataset.quads((nanopub, DCTERMS.creator, CREATOR, None)))


def test_kg_nanopub_signs_and_refuses_a_bad_key(
    built: BuiltCorpus, key: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    [claim] = _claims(built, 1)
    out = tmp_path / "signed"
    assert main(["nanopub", "--sign", str(key), "--out", str(out), "--claim", claim]) == EXIT_OK
    [path] = out.glob("*/*.trig")
    assert Nanopub(rdf=path).has_valid_signature
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key\n", "utf-8")
    capsys.readouterr()
    assert main(["nanopub", "--sign", str(bad), "--out", str(out)]) == EXIT_UNUSABLE
    assert "not an RSA private key" in capsys.readouterr().err
    assert list(out.glob("*/*.trig")) == [path]  # nothing replaced
    with pytest.raises(SigningError, match="cannot read"):
        load_key(tmp_path / "missing.pem")
