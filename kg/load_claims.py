"""Stage 1, the claims — ``claims/*.yaml`` read against their article.

Each record becomes a typed ``Claim``: its quote found in the text (refused when missing,
ambiguous, in the reference list or across a section or speaker boundary), its speaker,
section and citations derived from the text, and every entity, term and unit it names
resolved. Numbers keep the form the curator copied from the text; a number printed
without its leading zero (``P=.003``) is the number 0.003 with its printed form kept.
What the text does not state is left out, and stays absent: the loader never asks for
context. What a claim must carry is the shapes' business (``ontology/shapes.ttl``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from rdflib import URIRef

from kg.curated import ID_PATTERN, Entity, Located, Reader, Vocabulary, unknown_keys
from kg.errors import Problem, shown
from kg.load_article import Article, TextSpan, span_at, unique

NOT_REACHED = "not_reached"
"""The token for a median or CI limit the text says was not reached (``[11.1, not_reached]``)."""

VALUE_KEYS = (
    "value", "range", "less_than", "at_most", "greater_than", "at_least", "none_reported",
    "not_reached", "ratio",
)  # fmt: skip
CLAIM_KEYS = (
    "id", "type", "quote", "about", "statistic", "endpoint", *VALUE_KEYS, "unit", "ci",
    "ci_level", "numerator", "denominator", "context", "relation", "dose", "role", "phase",
    "registry_id", "direction", "derived_from", "derivation", "across_trials", "across_drugs",
    "caveat", "cites", "note",
)  # fmt: skip
ENTITY_CONTEXT_KEYS = (
    "trial", "arm", "comparator", "assessor", "population", "subgroup", "assay", "target",
)  # fmt: skip
CONTEXT_KEYS = (
    "trial", "arm", "comparator", "assessor", "population", "subgroup", "assay", "analysis",
    "analysis_stage", "target", "grade", "grade_at_least", "any_grade", "ae_attribution",
    "sidedness", "time_point", "threshold", "year", "data_cutoff",
)  # fmt: skip
DOSE_KEYS = (
    "drug", "amount", "unit", "frequency", "schedule", "on_period", "off_period",
    "cycle_length", "route",
)  # fmt: skip
ROLE_KEYS = ("person", "title", "of")
RELATION_KEYS = ("subject", "predicate", "object")
QUANTITY_KEYS = ("value", "unit")
TYPED_KEYS: Mapping[str, str] = {
    "dose": "Dosing", "role": "Role", "phase": "TrialFact", "registry_id": "TrialFact",
}  # fmt: skip
"""Keys that belong to one claim type (its shape checks them)."""
_BOUND_KEYS = ("less_than", "at_most", "greater_than", "at_least")


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class Quantity:
    """A number with its QUDT unit, as in a time point, a threshold or a dose."""

    value: Decimal
    unit: URIRef


@dataclass(frozen=True)
class RelationTriple:
    subject: str
    predicate: URIRef
    object: str


@dataclass(frozen=True)
class Dose:
    """How a drug is given, as far as the text says (every part but the drug optional)."""

    drug: str
    amount: Quantity | None = None
    frequency: URIRef | None = None
    schedule: URIRef | None = None
    on_period: Quantity | None = None
    off_period: Quantity | None = None
    cycle_length: Quantity | None = None
    route: URIRef | None = None

    def numbers(self) -> list[Decimal]:
        quantities = (self.amount, self.on_period, self.off_period, self.cycle_length)
        return [q.value for q in quantities if q is not None]


@dataclass(frozen=True)
class RoleStatement:
    """A person's role (a title as printed) and/or what it is held in (an affiliation)."""

    person: str
    title: str | None = None
    of: str | None = None


@dataclass(frozen=True)
class Claim:
    id: str
    type: URIRef
    quote: TextSpan
    about: tuple[str, ...]
    speaker: str
    section: str
    cites: tuple[int, ...]
    located: Located
    statistic: URIRef | None = None
    endpoint: str | None = None
    value: Decimal | None = None
    value_as_printed: str | None = None
    """The value or bound as printed when that is not its decimal form (``.003``)."""
    range: tuple[Decimal, Decimal] | None = None
    bounds: Mapping[str, Decimal] = field(default_factory=dict)
    none_reported: bool = False
    not_reached: bool = False
    ratio: tuple[Decimal, Decimal] | None = None
    unit: URIRef | None = None
    ci: tuple[Decimal | None, Decimal | None] | None = None
    """Lower and upper limit; ``None`` for a limit the text says was not reached."""
    ci_level: Decimal | None = None
    numerator: int | None = None
    denominator: int | None = None
    context_entities: Mapping[str, str] = field(default_factory=dict)
    analysis: URIRef | None = None
    analysis_stage: URIRef | None = None
    grades: tuple[int, ...] = ()
    grade_at_least: int | None = None
    any_grade: bool = False
    ae_attribution: URIRef | None = None
    sidedness: URIRef | None = None
    time_point: Quantity | None = None
    threshold: Quantity | None = None
    year: int | None = None
    data_cutoff: date | None = None
    relation: RelationTriple | None = None
    dose: Dose | None = None
    role: RoleStatement | None = None
    phases: tuple[int, ...] = ()
    registry_id: str | None = None
    direction: URIRef | None = None
    derived_from: tuple[str, ...] = ()
    derivation: URIRef | None = None
    across_trials: bool | None = None
    across_drugs: bool | None = None
    caveat: str | None = None
    note: str | None = None

    def numbers(self) -> list[Decimal]:
        """Every number the claim carries; each must be printed in its quote."""
        found: list[Decimal] = [d for d in (self.value, self.ci_level) if d is not None]
        found += list(self.range or ()) + list(self.ratio or ()) + list(self.bounds.values())
        found += [d for d in self.ci or () if d is not None]
        found += [Decimal(n) for n in (self.numerator, self.denominator) if n is not None]
        found += [Decimal(g) for g in self.grades]
        if self.grade_at_least is not None:
            found.append(Decimal(self.grade_at_least))
        found += [q.value for q in (self.time_point, self.threshold) if q is not None]
        if self.year is not None:
            found.append(Decimal(self.year))
        if self.data_cutoff is not None:
            found += [Decimal(self.data_cutoff.day), Decimal(self.data_cutoff.year)]
        found += self.dose.numbers() if self.dose else []
        found += [Decimal(p) for p in self.phases]
        return found


# ---------------------------------------------------------------- loading


def load_claims(
    article: Article,
    entities: Mapping[str, Entity],
    vocabulary: Vocabulary,
    sentences: Sequence[tuple[int, int]],
    records: Sequence[tuple[Path, Any]],
    problems: list[Problem],
) -> list[Claim]:
    """Every loadable claim of ``records`` (file, record); the others add problems."""
    claims: list[Claim] = []
    seen: dict[str, Located] = {}
    # Ids of every record, loadable or not: derived_from is checked against these, so one
    # broken claim is reported once, not again by every claim derived from it.
    curated_ids = {r.get("id") for _, r in records if isinstance(r, dict)}
    for path, record in records:
        claim = _load_claim(path, record, article, entities, vocabulary, sentences, problems)
        if claim is None:
            continue
        if claim.id in seen:
            first = seen[claim.id]
            problems.append(
                Problem(
                    path,
                    claim.located.line,
                    f"duplicate claim id (first at {first.file}:{first.line})",
                    claim.id,
                )
            )
            continue
        seen[claim.id] = claim.located
        claims.append(claim)
    for claim in claims:
        for source in claim.derived_from:
            if source not in curated_ids:
                problems.append(
                    Problem(
                        claim.located.file,
                        claim.located.line,
                        f"derived_from names unknown claim '{source}'",
                        claim.id,
                    )
                )
    return claims


def _load_claim(
    path: Path,
    record: Any,
    article: Article,
    entities: Mapping[str, Entity],
    vocabulary: Vocabulary,
    sentences: Sequence[tuple[int, int]],
    problems: list[Problem],
) -> Claim | None:
    r = Reader(path, record, problems, "a claim", article.text_path)
    if not r.ok:
        return None
    claim_id = r.string("id")
    r.claim_id = claim_id
    if claim_id and not ID_PATTERN.match(claim_id):
        r.fail("claim id must be lowercase letters, digits and hyphens")
    r.known_keys(CLAIM_KEYS)
    type_name = r.string("type")
    for key, owner in TYPED_KEYS.items():
        if key in r.record and type_name != owner:
            r.fail(f"'{key}' belongs on a claim of type {owner}, not {type_name}")
    claim_type = r.term(type_name, vocabulary.claim_types, "claim type") if type_name else None
    quote, speaker, section = _locate(r, article)
    about = tuple(e for e in r.strings("about", required=True) if r.entity(e, entities, "about"))

    fields: dict[str, Any] = {}
    if (name := r.record.get("statistic")) is not None:
        fields["statistic"] = r.term(name, vocabulary.statistics, "statistic")
    if (name := r.record.get("endpoint")) is not None:
        fields["endpoint"] = r.entity(name, entities, "endpoint")
    _read_value(r, fields)
    if (name := r.record.get("unit")) is not None:
        fields["unit"] = r.term(name, vocabulary.units, "unit")
    if (ci := r.record.get("ci")) is not None:
        fields["ci"] = _interval(r, ci)
    if (level := r.record.get("ci_level")) is not None:
        fields["ci_level"] = r.decimal(level, "ci_level")
    for key in ("numerator", "denominator"):
        if (count := r.record.get(key)) is not None:
            fields[key] = r.integer(count, key)
    _read_context(r, fields, entities, vocabulary)
    if (relation := r.record.get("relation")) is not None:
        fields["relation"] = _read_relation(r, relation, entities, vocabulary)
    if (dose := r.record.get("dose")) is not None:
        fields["dose"] = _read_dose(r, dose, entities, vocabulary)
    if (role := r.record.get("role")) is not None:
        fields["role"] = _read_role(r, role, entities)
    if (phase := r.record.get("phase")) is not None:
        phases = phase if isinstance(phase, list) else [phase]
        fields["phases"] = tuple(p for p in (r.integer(x, "phase") for x in phases) if p)
    fields["registry_id"] = r.string("registry_id", required=False)
    if (name := r.record.get("direction")) is not None:
        fields["direction"] = r.term(name, vocabulary.directions, "direction")
    fields["derived_from"] = r.strings("derived_from")
    if (name := r.record.get("derivation")) is not None:
        fields["derivation"] = r.term(name, vocabulary.derivations, "derivation")
    fields["across_trials"] = r.boolean("across_trials")
    fields["across_drugs"] = r.boolean("across_drugs")
    if (caveat := r.string("caveat", required=False)) is not None:
        fields["caveat"] = caveat
        if caveat not in article.text:
            r.fail(f"caveat is not printed in the article: {shown(caveat)}")
    fields["note"] = r.string("note", required=False)
    cites = _cites(r, article, sentences, quote) if quote is not None else ()

    if not (r.ok and claim_id and claim_type and quote and speaker and section):
        return None
    return Claim(
        id=claim_id,
        type=claim_type,
        quote=quote,
        about=about,
        speaker=speaker,
        section=section,
        cites=cites,
        located=Located(path, r.line or 0),
        **fields,
    )


def _locate(r: Reader, article: Article) -> tuple[TextSpan | None, str | None, str | None]:
    """The claim's quote in the text, who says it and in which section."""
    exact = r.string("quote")
    start = unique(article.text, exact, r, "quote") if exact else None
    if start is None or exact is None:
        return None, None, None
    quote = span_at(article.text, start, start + len(exact))
    if article.in_reference_list(quote.start, quote.end):
        r.fail("quote lies in the reference list: claims quote the article's body")
        return quote, None, None
    section = article.section_of(quote.start, quote.end)
    if section is None:
        r.fail(
            "quote does not lie inside one section: the sections of article.yaml start at "
            + ", ".join(f"{s.id} (offset {s.start})" for s in article.sections)
        )
    speaker, problem = article.speaker_of(quote.start, quote.end)
    if problem:
        r.fail(problem)
    return quote, speaker, section.id if section else None


def _cites(
    r: Reader, article: Article, sentences: Sequence[tuple[int, int]], quote: TextSpan
) -> tuple[int, ...]:
    marked = article.cites_at(sentences, quote.start, quote.end)
    cites = tuple(marked)
    if (narrowed := r.record.get("cites")) is not None:
        numbers = [
            r.integer(n, "cites") for n in (narrowed if isinstance(narrowed, list) else [narrowed])
        ]
        for n in numbers:
            if n is not None and n not in marked:
                r.fail(
                    f"cites reference {n}, which is not marked in the claim's own sentence "
                    f"(marked there: {marked or 'none'})"
                )
        cites = tuple(sorted(n for n in numbers if n is not None))
    known = {ref.number for ref in article.references}
    for n in cites:
        if n not in known:
            r.fail(f"cites reference {n}, which is not in the reference list")
    return cites


def _pair(r: Reader, value: Any, what: str) -> tuple[Decimal, Decimal] | None:
    if not isinstance(value, list) or len(value) != 2:
        r.fail(f"'{what}' must be a list of two numbers [low, high], got {shown(value)}")
        return None
    low, high = r.decimal(value[0], what), r.decimal(value[1], what)
    return (low, high) if low is not None and high is not None else None


def _interval(r: Reader, value: Any) -> tuple[Decimal | None, Decimal | None] | None:
    """``ci: [lower, upper]``; either limit may be ``not_reached``."""
    if not isinstance(value, list) or len(value) != 2:
        r.fail(f"'ci' must be a list of two numbers [lower, upper], got {shown(value)}")
        return None
    limits = [None if v == NOT_REACHED else r.decimal(v, "ci") for v in value]
    if any(v is None and raw != NOT_REACHED for v, raw in zip(limits, value, strict=True)):
        return None  # a limit that is neither a number nor not_reached (already reported)
    return limits[0], limits[1]


def _printed(r: Reader, raw: Any, what: str) -> tuple[Decimal | None, str | None]:
    """The number ``raw`` denotes, and its printed form when that is not the number's."""
    number = r.decimal(raw, what)
    return number, (raw if number is not None and raw != str(number) else None)


def _read_value(r: Reader, fields: dict[str, Any]) -> None:
    given = [k for k in VALUE_KEYS if k in r.record]
    if len(given) > 1:
        r.fail(f"give one value form, not several: {', '.join(given)}")
        return
    if not given:
        return
    key = given[0]
    raw = r.record[key]
    if key == "value":
        fields["value"], fields["value_as_printed"] = _printed(r, raw, "value")
    elif key == "range":
        fields["range"] = _pair(r, raw, "range")
    elif key == "ratio":
        if not isinstance(raw, list) or len(raw) != 2:
            r.fail(f'\'ratio\' must be the two terms of a:b, e.g. ["2", "1"], got {shown(raw)}')
        else:
            first, second = r.decimal(raw[0], "ratio"), r.decimal(raw[1], "ratio")
            fields["ratio"] = (first, second) if first is not None and second is not None else None
    elif key in ("none_reported", "not_reached"):
        if raw != "true":
            r.fail(f"'{key}' can only be true, got {shown(raw)}")
        fields[key] = True
    else:
        bound, fields["value_as_printed"] = _printed(r, raw, key)
        if bound is not None:
            fields["bounds"] = {key: bound}


def _quantity(r: Reader, raw: Any, what: str, units: Mapping[str, URIRef]) -> Quantity | None:
    if isinstance(raw, dict) and not set(raw) <= set(QUANTITY_KEYS):
        unknown_keys(r, raw, QUANTITY_KEYS, what=what)
        return None
    if not isinstance(raw, dict) or set(raw) != set(QUANTITY_KEYS):
        r.fail(f"'{what}' must be a mapping with 'value' and 'unit', got {shown(raw)}")
        return None
    value = r.decimal(raw["value"], f"{what} value")
    unit = r.term(raw["unit"], units, "unit")
    return Quantity(value, unit) if value is not None and unit is not None else None


def _mapping(r: Reader, raw: Any, what: str, keys: Sequence[str]) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        r.fail(f"'{what}' must be a mapping, got {shown(raw)}")
        return None
    unknown_keys(r, raw, keys, what=what)
    return raw


def _read_context(
    r: Reader, fields: dict[str, Any], entities: Mapping[str, Entity], vocabulary: Vocabulary
) -> None:
    if "context" not in r.record:
        return
    context = _mapping(r, r.record["context"], "context", CONTEXT_KEYS)
    if context is None:
        return
    fields["context_entities"] = {
        key: context[key]
        for key in ENTITY_CONTEXT_KEYS
        if key in context and r.entity(context[key], entities, f"context.{key}")
    }
    terms = {
        "analysis": (vocabulary.analyses, "analysis"),
        "analysis_stage": (vocabulary.analysis_stages, "analysis stage"),
        "ae_attribution": (vocabulary.ae_attributions, "adverse event attribution"),
        "sidedness": (vocabulary.sidedness, "sidedness"),
    }
    for key, (allowed, what) in terms.items():
        if key in context:
            fields[key] = r.term(context[key], allowed, what)
    if "grade" in context:
        grades = context["grade"]
        if not isinstance(grades, list):
            grades = [grades]
        fields["grades"] = tuple(
            g for g in (r.integer(x, "grade") for x in grades) if g is not None
        )
    if "grade_at_least" in context:
        fields["grade_at_least"] = r.integer(context["grade_at_least"], "grade_at_least")
    if "any_grade" in context:
        if context["any_grade"] != "true":
            r.fail(f"'any_grade' can only be true, got {shown(context['any_grade'])}")
        fields["any_grade"] = True
    for key in ("time_point", "threshold"):
        if key in context:
            fields[key] = _quantity(r, context[key], key, vocabulary.units)
    if "year" in context:
        year = r.integer(context["year"], "year")
        if year is not None and not 1000 <= year <= 9999:
            r.fail(f"year must have four digits, got {year}")
        fields["year"] = year
    if "data_cutoff" in context:
        try:
            fields["data_cutoff"] = date.fromisoformat(str(context["data_cutoff"]))
        except ValueError:
            r.fail(
                f"data_cutoff must be an ISO date (2020-11-15), got {shown(context['data_cutoff'])}"
            )


def _read_relation(
    r: Reader, raw: Any, entities: Mapping[str, Entity], vocabulary: Vocabulary
) -> RelationTriple | None:
    if isinstance(raw, dict) and not set(raw) <= set(RELATION_KEYS):
        unknown_keys(r, raw, RELATION_KEYS, what="relation")
        return None
    if not isinstance(raw, dict) or set(raw) != set(RELATION_KEYS):
        r.fail(f"'relation' must have exactly subject, predicate and object, got {shown(raw)}")
        return None
    subject = r.entity(raw["subject"], entities, "relation subject")
    predicate = r.term(raw["predicate"], vocabulary.predicates, "relation predicate")
    obj = r.entity(raw["object"], entities, "relation object")
    if subject and predicate and obj:
        return RelationTriple(subject, predicate, obj)
    return None


def _read_dose(
    r: Reader, raw: Any, entities: Mapping[str, Entity], vocabulary: Vocabulary
) -> Dose | None:
    dose = _mapping(r, raw, "dose", DOSE_KEYS)
    if dose is None:
        return None
    if "drug" not in dose:
        r.fail("'dose' must name its drug (dose.drug)")
        return None
    drug = r.entity(dose["drug"], entities, "dose.drug")
    amount = None
    if ("amount" in dose) != ("unit" in dose):
        r.fail("a dose amount needs its unit, and a unit its amount (dose.amount, dose.unit)")
    elif "amount" in dose:
        amount = _quantity(
            r, {"value": dose["amount"], "unit": dose["unit"]}, "dose", vocabulary.units
        )

    def term(key: str, allowed: Mapping[str, URIRef], what: str) -> URIRef | None:
        return r.term(dose[key], allowed, what) if key in dose else None

    def period(key: str) -> Quantity | None:
        return _quantity(r, dose[key], f"dose.{key}", vocabulary.units) if key in dose else None

    frequency = term("frequency", vocabulary.frequencies, "dose frequency")
    schedule = term("schedule", vocabulary.schedules, "dosing schedule")
    route = term("route", vocabulary.routes, "route of administration")
    periods = period("on_period"), period("off_period"), period("cycle_length")
    if drug is None:
        return None
    return Dose(drug, amount, frequency, schedule, *periods, route)


def _read_role(r: Reader, raw: Any, entities: Mapping[str, Entity]) -> RoleStatement | None:
    role = _mapping(r, raw, "role", ROLE_KEYS)
    if role is None:
        return None
    person = r.entity(role.get("person"), entities, "role.person")
    title = role.get("title")
    if title is not None and (not isinstance(title, str) or not title):
        r.fail(f"'role.title' must be the words of the text, got {shown(title)}")
    of = r.entity(role["of"], entities, "role.of") if "of" in role else None
    return RoleStatement(person, title, of) if person else None
