"""Signed nanopublications with trusty URIs (``kg nanopub --sign KEY``), by nanopub-py.

A build writes each claim's nanopublication unsigned, under its stable IRI
(``…/id/np/ARTICLE/CLAIM``). Publishing to the nanopub servers needs a signature and a
trusty URI; nanopub-py's own code makes both: this module hands it each nanopublication
(its four graphs), adds ``dct:created`` (the signing time: a signed nanopublication is
created when it is signed) and ``dct:creator`` to the publication info, signs with the
curator's RSA key and writes one TriG file per nanopublication. The stable unsigned IRIs
stay the build's default (docs/decisions/0012-nanopub-signing.md).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rdflib import ConjunctiveGraph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, XSD
from rdflib.term import Node

from kg.namespaces import ID, NP

Quad = tuple[Node, Node, Node, Node | None]
CREATOR = ID["agent/claimkg"]
"""The pubinfo's ``dct:creator``: claimkg, the software agent that made the nanopublication."""


class SigningError(Exception):
    """A key or a nanopublication that cannot be signed (the CLI exits 2)."""


@dataclass(frozen=True)
class Signed:
    stable: str
    """The unsigned nanopublication's IRI."""
    trusty: str
    """Its trusty URI (nanopub-py's ``RA…`` hash of the signed content)."""
    path: Path


def load_key(path: Path) -> str:
    """An RSA private key as nanopub-py takes it: PEM (``-----BEGIN … KEY-----``) or the
    bare base64 body of nanopub's ``id_rsa``."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise SigningError(f"{path}: cannot read the key: {error.strerror}") from None
    from Crypto.PublicKey import RSA
    from nanopub.profile import format_key

    body = format_key(text)
    try:
        RSA.import_key(__import__("base64").b64decode(body))
    except (ValueError, IndexError, TypeError):
        raise SigningError(f"{path}: not an RSA private key (PEM or base64)") from None
    return str(body)


def nanopublications(quads: Iterable[Quad]) -> Iterator[tuple[URIRef, list[Quad]]]:
    """Each nanopublication (by its head graph) with its quads of its four graphs."""
    by_graph: dict[Node | None, list[Quad]] = {}
    for quad in quads:
        by_graph.setdefault(quad[3], []).append(quad)
    for graph, part in sorted(by_graph.items(), key=lambda item: str(item[0])):
        if not str(graph).endswith("/head"):
            continue
        heads = [q for q in part if q[1] == RDF.type and q[2] == NP.Nanopublication]
        if not heads:
            continue
        nanopub = URIRef(str(heads[0][0]))
        members = {graph} | {q[2] for q in part if q[0] == nanopub and q[1] != RDF.type}
        yield nanopub, [q for g in sorted(members, key=str) for q in by_graph.get(g, [])]


def sign(
    nanopub: URIRef, quads: list[Quad], key: str, signer: str, name: str, created: datetime
) -> Any:
    """A signed ``nanopub.Nanopub`` of one nanopublication's quads."""
    from nanopub.nanopub import Nanopub
    from nanopub.nanopub_conf import NanopubConf
    from nanopub.profile import Profile

    graph = ConjunctiveGraph()
    for s, p, o, g in quads:
        graph.get_context(g).add((s, p, o))  # type: ignore[arg-type]
    pubinfo = graph.get_context(URIRef(f"{nanopub}/pubinfo"))
    pubinfo.add((nanopub, DCTERMS.created, Literal(created.isoformat(), datatype=XSD.dateTime)))
    if (nanopub, DCTERMS.creator, None) not in pubinfo:
        pubinfo.add((nanopub, DCTERMS.creator, CREATOR))
    profile = Profile(orcid_id=signer, name=name, private_key=key)
    publication = Nanopub(rdf=graph, conf=NanopubConf(profile=profile))
    try:
        publication.sign()
    except Exception as error:  # nanopub-py raises its own MalformedNanopubError and others
        raise SigningError(f"{nanopub}: nanopub-py cannot sign it: {error}") from None
    return publication


def sign_all(
    quads: Iterable[Quad],
    key: str,
    out: Path,
    signer: str,
    name: str,
    only: set[str] | None = None,
    created: datetime | None = None,
) -> list[Signed]:
    """Sign every nanopublication (or those of the claims in ``only``) and write them as
    ``out/ARTICLE/CLAIM.trig``, replacing ``out`` as a whole once all are signed."""
    created = created or datetime.now(UTC).replace(microsecond=0)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-"))
    signed = []
    try:
        for nanopub, part in nanopublications(quads):
            article, claim = str(nanopub).rstrip("/").rsplit("/", 2)[-2:]
            if only is not None and claim not in only:
                continue
            publication = sign(nanopub, part, key, signer, name, created)
            path = staging / article / f"{claim}.trig"
            path.parent.mkdir(parents=True, exist_ok=True)
            publication.store(path, format="trig")
            signed.append(
                Signed(str(nanopub), str(publication.source_uri), out / article / path.name)
            )
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return signed
