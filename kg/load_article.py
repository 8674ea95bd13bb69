"""Stage 1, the article — ``article.yaml`` read against its text.

An article of any common form (interview, news item, structured abstract, paper, press
release) is its text plus metadata: sections found by the words they start with, who
speaks where (speaker labels at paragraph starts, quoted spans inside paragraphs, else the
editorial voice), and, when it has one, its reference list and the way its text cites it.
Everything is located in the text by exact quotes; nothing here is an offset a curator
typed. ``docs/curation.md`` documents every key; ``ontology/curation.schema.json`` is the
same in machine-readable form (a test keeps the two and ``ARTICLE_KEYS`` in step).
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from rdflib import URIRef

from kg.curated import Entity, Located, Reader, Vocabulary, read_yaml, records
from kg.errors import Problem, shown, shown_path
from kg.hints import near_miss_hint

if TYPE_CHECKING:
    from kg.load_claims import Claim

QUOTE_CONTEXT = 32
"""Code points of text kept before and after a quote (``oa:prefix`` / ``oa:suffix``)."""

ARTICLE_KEYS = (
    "id", "form", "title", "publisher", "interviewee", "year", "url", "language", "text",
    "sha256", "editorial_voice", "speaker_labels", "speaker_spans", "reference_list",
    "body_ends_at", "sections", "references",
)  # fmt: skip
REQUIRED_KEYS = ("id", "title", "publisher", "text", "sha256", "editorial_voice", "sections")
FORM_REQUIRED_KEYS: Mapping[str, tuple[str, ...]] = {"Interview": ("interviewee", "speaker_labels")}
"""Keys an article of the form must give beyond ``REQUIRED_KEYS``."""
DEFAULT_FORM = "Interview"
"""The form of an article.yaml written before ``form`` existed (they were all interviews)."""
LEGACY_REFERENCE_LIST = {
    "entry_style": "number-ideographic-comma",
    "citation_style": "superscript-brackets",
}
"""What ``body_ends_at: X`` (the key before ``reference_list``) means, besides starts_with X."""
SECTION_KEYS = ("id", "title", "starts_with")
SPEAKER_SPAN_KEYS = ("quote", "speaker", "attribution")
REFERENCE_LIST_KEYS = ("starts_with", "ends_before", "entry_style", "citation_style")
REFERENCE_KEYS = (
    "number", "authors", "title", "venue", "year", "volume", "issue", "pages", "doi", "url",
)  # fmt: skip
EXCLUSION_KEYS = ("number", "quote", "reason")

ENTRY_STYLES: Mapping[str, re.Pattern[str]] = {
    "number-ideographic-comma": re.compile(r"^([0-9]+)、(.*)$", re.MULTILINE),  # 1、Bray…
    "bracketed-number": re.compile(r"^\[([0-9]+)\][ \t]*(.*)$", re.MULTILINE),  # [1] Xu B…
    "number-period": re.compile(r"^([0-9]+)\.[ \t]+(.*)$", re.MULTILINE),  # 1. Cristofanilli…
}
"""How an entry of a reference list starts: its number, then the entry to the line end."""

_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_SUPERSCRIPT_DIGITS = str.maketrans(_SUPERSCRIPTS, "0123456789")
_LIST = r"{d}+(?:\s*[–-]\s*{d}+)?(?:\s*(?:,|and)\s*{d}+(?:\s*[–-]\s*{d}+)?)*"
CITATION_STYLES: Mapping[str, re.Pattern[str]] = {
    # [⁶], [¹⁰–¹⁴], [⁶][⁷]
    "superscript-brackets": re.compile(r"\[(" + _LIST.format(d=f"[{_SUPERSCRIPTS}]") + r")\]"),
    # [1], [1,4], [1–3]
    "numbers-in-brackets": re.compile(r"\[(" + _LIST.format(d="[0-9]") + r")\]"),
    # (ref. 1), (refs 6, 9), (quoted in ref. 6): the marker is "ref. 1", not the parenthesis
    "ref-parentheses": re.compile(r"(?<=[(\s])refs?\.?\s+(" + _LIST.format(d="[0-9]") + r")(?=\))"),
}
"""How the text cites its reference list; each match is one citation marker."""

_SENTENCE_END = re.compile(r"(?<=[.?!])\s+(?=[A-Z0-9“\"(])")
_ABBREVIATIONS = ("vs.", "et al.", "e.g.", "i.e.", "Dr.", "approx.", "ref.", "Fig.", "No.")
# A number as printed in running text (".003" too, as in P=.003): not part of an identifier
# such as CDK4/6, HER2, G1 or LEONARDA-1.
NUMBER_TOKEN = re.compile(
    r"(?<![A-Za-z0-9.,])(?<![A-Za-z0-9][/\-])"
    r"(?:[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?|\.[0-9]+)(?![A-Za-z0-9])"
)


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class TextSpan:
    """An exact quote and where it lies in the source text (code points, end exclusive)."""

    exact: str
    start: int
    end: int
    prefix: str
    suffix: str


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    start: int
    end: int


@dataclass(frozen=True)
class Reference:
    number: int
    entry: TextSpan
    fields: Mapping[str, str]


@dataclass(frozen=True)
class CitationMarker:
    """Where the text cites references (``[¹⁰–¹⁴]``, ``[1,4]``, ``ref. 6``), and which."""

    start: int
    end: int
    numbers: tuple[int, ...]


@dataclass(frozen=True)
class SpeakerSpan:
    """A quoted span inside a paragraph, the speaker it is attributed to, and the words of
    the text that attribute it (``wrote Binghe Xu, MD``)."""

    span: TextSpan
    speaker: str
    attribution: TextSpan


@dataclass(frozen=True)
class Exclusion:
    """A number of the body deliberately not claimed, with the curator's reason."""

    number: Decimal
    span: TextSpan
    reason: str
    located: Located


@dataclass(frozen=True)
class Article:
    id: str
    directory: Path
    text: str
    sha256: str
    form: URIRef
    metadata: Mapping[str, str]
    publisher: str
    interviewees: tuple[str, ...]
    editorial_voice: str
    body_end: int
    """Where the reference list starts (the end of the text when there is none)."""
    sections: tuple[Section, ...]
    references: tuple[Reference, ...]
    claims: tuple[Claim, ...] = ()
    exclusions: tuple[Exclusion, ...] = ()
    reference_list: tuple[int, int] | None = None
    """The reference list, from its heading to where the text after it (if any) starts."""
    citations: tuple[CitationMarker, ...] = ()
    turns: tuple[tuple[int, str], ...] = ()
    """(offset, speaker) where the floor changes: a section start or a speaker label."""
    speaker_spans: tuple[SpeakerSpan, ...] = ()
    form_class: URIRef | None = None
    """The FaBiO class of the article's form, where FaBiO has one."""
    text_path: Path | None = None
    """The text's file (messages name it), beside ``article.yaml``."""

    def body(self) -> list[tuple[int, int]]:
        """The parts of the text claims and coverage speak of: all but the reference list."""
        if self.reference_list is None:
            return [(0, len(self.text))]
        start, end = self.reference_list
        return [(a, b) for a, b in ((0, start), (end, len(self.text))) if a < b]

    def in_reference_list(self, start: int, end: int) -> bool:
        return self.reference_list is not None and (
            start < self.reference_list[1] and self.reference_list[0] < end
        )

    def section_of(self, start: int, end: int) -> Section | None:
        """The section ``[start, end)`` lies in, if it lies in one."""
        for section in self.sections:
            if section.start <= start and end <= section.end:
                return section
        return None

    def speaker_of(self, start: int, end: int) -> tuple[str | None, str | None]:
        """Who says ``text[start:end]``, or why that cannot be told: (speaker, problem)."""
        for quoted in self.speaker_spans:
            inside = quoted.span.start <= start and end <= quoted.span.end
            if inside:
                return quoted.speaker, None
            if start < quoted.span.end and quoted.span.start < end:
                return None, (
                    f"the quote overlaps the speaker span of '{quoted.speaker}' "
                    f"({shown(quoted.span.exact, 40)}) without lying inside it: quote inside "
                    "the span, or outside it"
                )
        # the last floor change at or before the quote (turns are sorted by offset); found
        # by bisection, so that locating every claim stays linear in the article's claims
        at = bisect.bisect_right(self.turns, start, key=lambda turn: turn[0])
        return (self.turns[at - 1][1] if at else self.editorial_voice), None

    def cites_at(self, sentences: Sequence[tuple[int, int]], start: int, end: int) -> list[int]:
        """The references marked in the sentence(s) ``[start, end)`` lies in.

        ``sentences`` are in text order and do not overlap (as ``sentence_spans`` gives
        them), as are the citation markers: both are bisected, not scanned, so that the
        cost per claim does not grow with the article."""
        numbers: set[int] = set()
        markers = self.citations
        here = bisect.bisect_right(sentences, start, key=lambda sentence: sentence[1])
        while here < len(sentences) and sentences[here][0] < end:
            s, e = sentences[here]
            at = bisect.bisect_left(markers, s, key=lambda marker: marker.start)
            while at < len(markers) and markers[at].start < e:
                if markers[at].end <= e:
                    numbers.update(markers[at].numbers)
                at += 1
            here += 1
        return sorted(numbers)


# ---------------------------------------------------------------- the text


_GRAM, _STRIDE = 8, 8
"""``find_quote`` looks a quote up by the 8-character pieces of the text that start at every
8th offset: any quote of 15 characters or more holds one of them (at its offset 0…7)."""


def find_quote(text: str, exact: str) -> list[int]:
    """Every start offset of ``exact`` in ``text``, overlapping occurrences included.

    Quotes of 15 characters or more are looked up in an index of the text (built once per
    text), not found by scanning it: a scan per claim made loading an article quadratic in
    its claims. Each candidate is checked in full, so the index can only narrow the search.
    """
    if not exact:
        return []
    if len(exact) < _GRAM + _STRIDE - 1:
        starts, at = [], text.find(exact)
        while at != -1:
            starts.append(at)
            at = text.find(exact, at + 1)
        return starts
    index = _gram_index(text)
    found: set[int] = set()
    for offset in range(_STRIDE):  # an occurrence at p holds a piece at its offset -p mod 8
        # of the pieces at offset, offset + 8…, the rarest in the text gives the candidates
        at, fewest = offset, -1
        for piece in range(offset, len(exact) - _GRAM + 1, _STRIDE):
            count = len(index.get(exact[piece : piece + _GRAM], ()))
            if fewest < 0 or count < fewest:
                at, fewest = piece, count
            if count <= 1:  # none rarer: stop looking
                break
        found.update(
            sampled - at
            for sampled in index.get(exact[at : at + _GRAM], ())
            if sampled >= at and text.startswith(exact, sampled - at)
        )
    return sorted(found)


@functools.lru_cache(maxsize=2)
def _gram_index(text: str) -> dict[str, list[int]]:
    """Offset of each 8-character piece of ``text`` starting at a multiple of 8."""
    index: dict[str, list[int]] = {}
    for at in range(0, len(text) - _GRAM + 1, _STRIDE):
        index.setdefault(text[at : at + _GRAM], []).append(at)
    return index


def span_at(text: str, start: int, end: int) -> TextSpan:
    """A quote selector for ``text[start:end]`` with its surrounding context."""
    return TextSpan(
        exact=text[start:end],
        start=start,
        end=end,
        prefix=text[max(0, start - QUOTE_CONTEXT) : start],
        suffix=text[end : end + QUOTE_CONTEXT],
    )


def sentence_spans(text: str, end: int) -> list[tuple[int, int]]:
    """Sentences of ``text[:end]``: split at line breaks and sentence-final punctuation."""
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text[:end]):
        start = line.start()
        for boundary in _SENTENCE_END.finditer(line.group()):
            before = line.group()[: boundary.start()]
            if before.endswith(_ABBREVIATIONS):
                continue
            spans.append((start, line.start() + boundary.start()))
            start = line.start() + boundary.end()
        spans.append((start, line.end()))
    return spans


def _marker_numbers(body: str) -> tuple[int, ...]:
    """``¹⁰–¹⁴`` → 10…14; ``1,4`` → 1, 4; ``6 and 9`` → 6, 9."""
    numbers: list[int] = []
    for part in re.split(r"\s*(?:,|and)\s*", body.translate(_SUPERSCRIPT_DIGITS)):
        bounds = [int(n) for n in re.split(r"\s*[–-]\s*", part.strip())]
        numbers.extend(range(bounds[0], bounds[-1] + 1))
    return tuple(numbers)


def citation_spans(
    text: str, style: str = "superscript-brackets", start: int = 0, end: int | None = None
) -> list[CitationMarker]:
    """The citation markers of ``text[start:end]`` in ``style`` (``CITATION_STYLES``)."""
    pattern = CITATION_STYLES[style]
    return [
        CitationMarker(m.start(), m.end(), _marker_numbers(m.group(1)))
        for m in pattern.finditer(text, start, len(text) if end is None else end)
    ]


def citation_markers(fragment: str, style: str = "superscript-brackets") -> list[int]:
    """Reference numbers marked in ``fragment``; ``[¹⁰–¹⁴]`` expands to 10…14."""
    return [n for marker in citation_spans(fragment, style) for n in marker.numbers]


def number_tokens(text: str, start: int, end: int) -> Iterator[tuple[int, int, Decimal]]:
    """Numbers printed in ``text[start:end]``: (start, end, value)."""
    for match in NUMBER_TOKEN.finditer(text, start, end):
        yield match.start(), match.end(), Decimal(match.group().replace(",", ""))


def unique(text: str, exact: str, reader: Reader, what: str, line: int | None = None) -> int | None:
    """The one offset of ``exact`` in ``text``; a problem when it is missing or ambiguous.

    A missing one's problem says which passage of the text is closest and the first
    character where they differ (``kg.hints``): a ’ typed as ', a – as -, ₅₀ as 50."""
    starts = find_quote(text, exact)
    if len(starts) == 1:
        return starts[0]
    if not starts:
        where = shown_path(reader.source) if reader.source else "the article text"
        hint = near_miss_hint(text, exact, where)
        reader.fail(f"{what} not found in the article text: {shown(exact)}; {hint}", line)
    else:
        reader.fail(
            f"{what} is ambiguous: it occurs {len(starts)} times (at offsets "
            f"{', '.join(map(str, starts[:5]))}); lengthen it: {shown(exact)}",
            line,
        )
    return None


# ---------------------------------------------------------------- article.yaml


def load_article_metadata(
    directory: Path,
    entities: Mapping[str, Entity],
    vocabulary: Vocabulary,
    problems: list[Problem],
) -> Article | None:
    """``article.yaml`` and its text, without claims; ``None`` (with problems) if unusable."""
    meta_path = directory / "article.yaml"
    meta = Reader(meta_path, read_yaml(meta_path), problems, "article metadata")
    if not meta.ok:
        return None
    meta.known_keys(ARTICLE_KEYS)
    if isinstance(text_key := meta.record.get("text"), str) and text_key:
        meta.source = directory / text_key
    form_name = meta.record.get("form", DEFAULT_FORM)
    form = meta.term(form_name, vocabulary.forms, "form")
    required = REQUIRED_KEYS + FORM_REQUIRED_KEYS.get(str(form_name), ())
    for key in required:
        if key not in meta.record:
            why = "every article gives it" if key in REQUIRED_KEYS else f"form {form_name} needs it"
            meta.fail(f"missing required key '{key}' ({why}; see docs/curation.md)")
    article_id = meta.string("id", required=False)
    text_name = meta.string("text", required=False)
    expected_sha = meta.string("sha256", required=False)
    if not (article_id and text_name and expected_sha):
        return None
    text_path = directory / text_name
    try:
        raw = text_path.read_bytes()
        text = raw.decode("utf-8")
    except OSError as error:
        meta.fail(f"cannot read the article text {text_path}: {error.strerror}")
        return None
    except UnicodeDecodeError as error:
        meta.fail(f"the article text {text_path} is not UTF-8: {error}")
        return None
    actual_sha = hashlib.sha256(raw).hexdigest()
    if actual_sha != expected_sha:
        meta.fail(
            f"the source text changed: {text_path} has SHA-256 {actual_sha}, "
            f"article.yaml pins {expected_sha}; every offset would be wrong",
            meta.line_of("sha256"),
        )
        return None

    for key in ("publisher", "editorial_voice"):
        if key in meta.record:
            meta.entity(meta.record[key], entities, key)
    interviewees = _interviewees(meta, entities)
    for key in ("title", "year", "url", "language"):
        meta.string(key, required=False)
    if (year := meta.record.get("year")) is not None and not re.fullmatch(r"[0-9]{4}", str(year)):
        meta.fail(f"'year' must be a four-digit year, got {shown(year)}", meta.line_of("year"))
    reference_list, style, entry_style = _reference_list(text, meta)
    body_end = reference_list[0] if reference_list else len(text)
    sections = _load_sections(text, meta, reference_list)
    references = _load_references(text, meta, reference_list, entry_style)
    citations: tuple[CitationMarker, ...] = ()
    if style is not None:
        citations = tuple(
            m
            for m in citation_spans(text, style)
            if not (reference_list and reference_list[0] <= m.start < reference_list[1])
        )
    turns = _speaker_turns(text, meta, entities, sections)
    spans = _speaker_spans(text, meta, entities, sections)
    if not meta.ok or form is None:
        return None
    return Article(
        id=article_id,
        directory=directory,
        text=text,
        sha256=actual_sha,
        form=form,
        form_class=vocabulary.fabio_classes.get(form),
        metadata={
            k: v
            for k in ("title", "year", "url", "language")
            if isinstance(v := meta.record.get(k), str)
        },
        publisher=meta.record["publisher"],
        interviewees=interviewees,
        editorial_voice=meta.record["editorial_voice"],
        body_end=body_end,
        sections=sections,
        references=references,
        reference_list=reference_list,
        citations=citations,
        turns=tuple(sorted(turns)),
        speaker_spans=spans,
        text_path=text_path,
    )


def _interviewees(meta: Reader, entities: Mapping[str, Entity]) -> tuple[str, ...]:
    raw = meta.record.get("interviewee")
    if raw is None:
        return ()
    names = raw if isinstance(raw, list) else [raw]
    if not names:
        meta.fail("'interviewee' must name at least one person", meta.line_of("interviewee"))
    return tuple(n for n in names if meta.entity(n, entities, "interviewee"))


def _reference_list(
    text: str, meta: Reader
) -> tuple[tuple[int, int] | None, str | None, str | None]:
    """The reference list's extent, citation style and entry style (``None`` without one)."""
    raw = meta.record.get("reference_list")
    if "body_ends_at" in meta.record:
        if raw is not None:
            meta.fail(
                "give 'reference_list' or the older 'body_ends_at', not both",
                meta.line_of("body_ends_at"),
            )
            return None, None, None
        raw = {"starts_with": meta.record["body_ends_at"], **LEGACY_REFERENCE_LIST}
    if raw is None:
        if meta.record.get("references"):
            meta.fail(
                "'references' needs a 'reference_list' (where the list starts and how the "
                "text cites it)",
                meta.line_of("references"),
            )
        return None, None, None
    r = Reader(meta.file, raw, meta.problems, "the reference list", meta.source)
    r.known_keys(REFERENCE_LIST_KEYS)
    heading = r.string("starts_with")
    start = unique(text, heading, r, "reference_list.starts_with") if heading else None
    end: int | None = len(text)
    if start is not None and (after := r.string("ends_before", required=False)):
        found = [at for at in [text.find(after, start)] if at != -1]
        if not found:
            r.fail(
                f"reference_list.ends_before is not printed after the list's start: {shown(after)}"
            )
            end = None
        else:
            end = found[0]
    entry_style = r.string("entry_style")
    style = r.string("citation_style")
    if entry_style is not None and entry_style not in ENTRY_STYLES:
        r.fail(
            f"unknown entry_style {shown(entry_style)} (expected one of: {', '.join(ENTRY_STYLES)})"
        )
    if style is not None and style not in CITATION_STYLES:
        r.fail(
            f"unknown citation_style {shown(style)} (expected one of: {', '.join(CITATION_STYLES)})"
        )
    meta.ok = meta.ok and r.ok
    if not r.ok or start is None or end is None:
        return None, None, None
    return (start, end), style, entry_style


def _load_sections(
    text: str, meta: Reader, reference_list: tuple[int, int] | None
) -> tuple[Section, ...]:
    raw = meta.record.get("sections")
    if "sections" in meta.record and (not isinstance(raw, list) or not raw):
        meta.fail("'sections' must be a non-empty list", meta.line_of("sections"))
    starts: list[tuple[int, str, str]] = []
    for record in raw if isinstance(raw, list) else []:
        reader = Reader(meta.file, record, meta.problems, "a section", meta.source)
        reader.known_keys(SECTION_KEYS)
        section_id, title = reader.string("id"), reader.string("title")
        marker = reader.string("starts_with")
        start = unique(text, marker, reader, "section start") if marker else None
        if start is not None and reference_list and reference_list[0] <= start < reference_list[1]:
            reader.fail("a section cannot start inside the reference list")
        if reader.ok and section_id and title and start is not None:
            starts.append((start, section_id, title))
        meta.ok = meta.ok and reader.ok
    starts.sort()
    sections = []
    for index, (start, section_id, title) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(text)
        if reference_list and start < reference_list[0] < end:
            end = reference_list[0]
        sections.append(Section(section_id, title, start, end))
    return tuple(sections)


def _load_references(
    text: str, meta: Reader, reference_list: tuple[int, int] | None, entry_style: str | None
) -> tuple[Reference, ...]:
    if reference_list is None or entry_style is None:
        return ()
    list_start, list_end = reference_list
    entries = {
        int(m.group(1)): (m.start(2), m.end(2))
        for m in ENTRY_STYLES[entry_style].finditer(text, list_start, list_end)
    }
    references = []
    for record in records(meta.file, meta.record.get("references"), meta.problems):
        reader = Reader(meta.file, record, meta.problems, "a reference")
        reader.known_keys(REFERENCE_KEYS)
        number = reader.integer(reader.record.get("number"), "reference number")
        if number is None:
            continue
        if number not in entries:
            reader.fail(
                f"reference {number} has no entry in the reference list ({entry_style} entries: "
                f"{', '.join(map(str, sorted(entries))) or 'none found'})"
            )
            continue
        entry = span_at(text, *entries[number])
        fields = {k: v for k, v in reader.record.items() if k != "number"}
        for key, value in fields.items():
            if not isinstance(value, str) or value not in entry.exact:
                reader.fail(f"reference {number}: {key} {shown(value)} is not printed in its entry")
        if reader.ok:
            references.append(Reference(number, entry, fields))
        meta.ok = meta.ok and reader.ok
    return tuple(references)


def _speaker_turns(
    text: str, meta: Reader, entities: Mapping[str, Entity], sections: Sequence[Section]
) -> list[tuple[int, str]]:
    """(offset, speaker) where the floor changes: a section heading or a speaker label."""
    voice = meta.record.get("editorial_voice")
    turns = [(section.start, str(voice)) for section in sections]
    labels = meta.record.get("speaker_labels")
    if labels is None:
        return turns
    if not isinstance(labels, dict):
        meta.fail(
            "'speaker_labels' must map a label such as 'Name:' to an entity id",
            meta.line_of("speaker_labels"),
        )
        return turns
    for label, speaker in labels.items():
        line = labels.key_lines.get(label) if hasattr(labels, "key_lines") else None
        if meta.entity(speaker, entities, f"speaker label {shown(label)}") is None:
            continue
        found = list(re.finditer(r"^" + re.escape(label), text, re.MULTILINE))
        if not found:
            meta.fail(f"speaker label {shown(label)} opens no paragraph of the text", line)
        turns += [(match.start(), speaker) for match in found]
    return sorted(turns)


def _speaker_spans(
    text: str, meta: Reader, entities: Mapping[str, Entity], sections: Sequence[Section]
) -> tuple[SpeakerSpan, ...]:
    """Quoted spans inside paragraphs, each with its speaker and the words attributing it."""
    spans: list[SpeakerSpan] = []
    for record in records(meta.file, meta.record.get("speaker_spans"), meta.problems):
        r = Reader(meta.file, record, meta.problems, "a speaker span", meta.source)
        r.known_keys(SPEAKER_SPAN_KEYS)
        exact, attribution = r.string("quote"), r.string("attribution")
        speaker = r.entity(r.record.get("speaker"), entities, "speaker span")
        start = unique(text, exact, r, "speaker span quote") if exact else None
        if start is None or exact is None or attribution is None or speaker is None:
            meta.ok = False
            continue
        end = start + len(exact)
        paragraph_start = text.rfind("\n", 0, start) + 1
        paragraph_end = text.find("\n", end)
        paragraph_end = len(text) if paragraph_end == -1 else paragraph_end
        said = [
            at
            for at in find_quote(text[paragraph_start:paragraph_end], attribution)
            if not (start <= paragraph_start + at < end)
        ]
        if len(said) != 1:
            r.fail(
                f"the attribution {shown(attribution)} must occur once in the span's paragraph, "
                f"outside the span (found {len(said)})"
            )
        if not any(s.start <= start and end <= s.end for s in sections):
            r.fail("a speaker span must lie inside one section")
        for other in spans:
            if start < other.span.end and other.span.start < end:
                r.fail(
                    f"speaker span overlaps the one for {shown(other.speaker)}: "
                    f"{shown(other.span.exact)}"
                )
        if r.ok:
            at = paragraph_start + said[0]
            spans.append(
                SpeakerSpan(
                    span_at(text, start, end), speaker, span_at(text, at, at + len(attribution))
                )
            )
        meta.ok = meta.ok and r.ok
    return tuple(sorted(spans, key=lambda s: s.span.start))


# ---------------------------------------------------------------- coverage.yaml


def load_exclusions(path: Path, article: Article, problems: list[Problem]) -> tuple[Exclusion, ...]:
    """The numbers ``coverage.yaml`` leaves out of the claims on purpose, with reasons."""
    if not path.exists():
        return ()
    text = article.text
    exclusions = []
    for record in records(path, read_yaml(path), problems):
        r = Reader(path, record, problems, "a coverage exclusion", article.text_path)
        r.known_keys(EXCLUSION_KEYS)
        number = r.decimal(r.record.get("number"), "number")
        exact, reason = r.string("quote"), r.string("reason")
        start = unique(text, exact, r, "quote") if exact else None
        if start is None or number is None or not reason:
            continue
        span = span_at(text, start, start + len(exact or ""))
        if not any(v == number for _, _, v in number_tokens(text, span.start, span.end)):
            r.fail(f"number {number} is not printed in the quote {shown(exact)}")
        if r.ok:
            exclusions.append(Exclusion(number, span, reason, Located(path, r.line or 0)))
    return tuple(exclusions)
