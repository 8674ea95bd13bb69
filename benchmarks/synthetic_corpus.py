"""Deterministic synthetic corpora for claimkg's scale benchmarks (not part of the package).

The bundled corpus is one article of 179 claims, too small to show how loading, building,
validation and queries scale. This writes corpora of any size that `kg build` accepts as they
are: the real entities, external evidence and mappings, plus invented interviews with the real
article's claim-type mix and vocabulary. The same arguments give byte-identical files.

The trials grow with the corpus, as in a real literature. A pool of ``max(5, articles // 5)``
trials — the five real ones (LEONARDA-1, LEONARDA-2, PALOMA-3, MONALEESA-3, DAWNA-1) and
invented ones named in letters only (``SYNTH-ALPHA-KILO``), each with an experimental arm
(one of the five real CDK4/6 inhibitors plus fulvestrant or letrozole) and a placebo arm — is
written to ``entities/synthetic-trials.yaml``. Each article is mostly about one primary trial,
dealt out so that every trial is the primary trial of about five articles (article 1, and
every pool-size-th article after it, is about LEONARDA-1), and mentions two comparator trials
drawn from the pool. Why: had every article reported on the same five trials, the queries that
join claims across the corpus on a trial, its arms and an endpoint (``arms-side-by-side.rq``,
``check-proportions.rq``, …) would return a cross product growing with the square of the
corpus; with the pool, each trial gathers about the same number of claims at any corpus size,
and join results grow linearly.

    .venv/bin/python benchmarks/synthetic_corpus.py OUT --articles 1000 --claims 100 [--seed 0]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TypeAlias

import yaml

from kg.resources import data_dir

REAL_MIX: dict[str, int] = {
    "Measurement": 38,
    "Comparison": 12,
    "Relation": 34,
    "QualitativeStatement": 46,
    "Interpretation": 44,
    "PublicationEvent": 5,
}
"""The claim types of the real article (corpus/lerociclib-leonarda1-interview, 179 claims)."""

OWN_MAPPING_PREFIXES = ("claimkg:", "claimkgv:")
ARTICLE_DIR = re.compile(r"^synthetic-[0-9]{5}$")
SHARED_DOIS = 30
"""DOIs ``10.5555/synthetic.1`` … ``.30`` are shared: several articles cite the same work."""

Value: TypeAlias = str | list[str] | dict[str, "Value"]

_FIELD_ORDER = (
    "statistic", "endpoint", "value", "range", "less_than", "at_most", "greater_than",
    "at_least", "none_reported", "unit", "ci", "ci_level", "context", "relation", "direction",
    "derived_from", "derivation", "across_trials", "across_drugs", "caveat", "cites", "note",
)  # fmt: skip
_CONTEXT_ORDER = (
    "trial", "arm", "comparator", "assessor", "population", "subgroup", "assay", "analysis",
    "target", "grade", "time_point", "threshold", "year",
)  # fmt: skip
_ENTITY_CONTEXT = frozenset(
    ("trial", "arm", "comparator", "assessor", "population", "subgroup", "assay", "target")
)
_TEXT_FIELDS = frozenset(("caveat", "note"))
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")

PUBLISHER, INTERVIEWEE = "oncology-frontier", "binghe-xu"
EDITOR_LABEL, INTERVIEWEE_LABEL = "Oncology Frontier:", "Academician Binghe Xu:"
OPENING = (
    "This synthetic interview was written by claimkg's corpus generator: it names the "
    "drugs, targets and trials of the bundled corpus, and every figure in it is invented."
)
CAVEAT = "cross-trial comparisons are inherently challenging and subject to bias"


# ---------------------------------------------------------------- the vocabulary in use


@dataclass(frozen=True)
class _Trial:
    id: str
    name: str
    arm: str
    control: str
    drug: str
    partner: str
    population: str | None = None


# MONARCH 2 is left out: the "2" of its name would be a number that no claim carries.
_REAL_TRIALS = (
    _Trial("leonarda-1", "LEONARDA-1", "leonarda-1-lerociclib-arm", "leonarda-1-placebo-arm",
           "lerociclib", "fulvestrant", "leonarda-1-population"),
    _Trial("leonarda-2", "LEONARDA-2", "leonarda-2-lerociclib-arm", "leonarda-2-placebo-arm",
           "lerociclib", "letrozole"),
    _Trial("paloma-3", "PALOMA-3", "paloma-3-palbociclib-arm", "paloma-3-placebo-arm",
           "palbociclib", "fulvestrant"),
    _Trial("monaleesa-3", "MONALEESA-3", "monaleesa-3-ribociclib-arm", "monaleesa-3-placebo-arm",
           "ribociclib", "fulvestrant"),
    _Trial("dawna-1", "DAWNA-1", "dawna-1-dalpiciclib-arm", "dawna-1-placebo-arm",
           "dalpiciclib", "fulvestrant"),
)  # fmt: skip
_PRIMARY_WEIGHT, _COMPARATORS = 4, 2
"""An article's primary trial is drawn 4 times as often as each of its 2 comparator trials."""
ARTICLES_PER_TRIAL = 5
"""The trial pool holds ``max(5, articles // ARTICLES_PER_TRIAL)`` trials."""
TRIALS_FILE = "synthetic-trials.yaml"
"""The entities file (in ``OUT/entities/``) defining the invented trials and their arms."""
# Invented trial names are letters only: no digit of a name ends up in a quote (cf. MONARCH 2).
_CODE_WORDS = (
    "ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL", "INDIA",
    "JULIETT", "KILO", "LIMA", "MIKE", "NOVEMBER", "OSCAR", "PAPA", "QUEBEC", "ROMEO",
    "SIERRA", "TANGO", "UNIFORM", "VICTOR", "WHISKEY", "XRAY", "YANKEE", "ZULU",
)  # fmt: skip
_PARTNERS = ("fulvestrant", "fulvestrant", "letrozole")
_DRUGS = ("lerociclib", "palbociclib", "ribociclib", "abemaciclib", "dalpiciclib")
_TARGETS = (
    ("cdk4-cyclin-d1", "CDK4/cyclin D1"), ("cdk6-cyclin-d3", "CDK6/cyclin D3"),
    ("cdk9-cyclin-t", "CDK9/cyclin T"), ("cdk4", "CDK4"), ("cdk6", "CDK6"),
)  # fmt: skip
_ADVERSE_EVENTS = (
    ("neutropenia", "neutropenia"), ("leukopenia", "leukopenia"), ("diarrhea", "diarrhea"),
    ("nausea", "nausea"), ("vomiting", "vomiting"), ("fatigue", "fatigue"),
    ("stomatitis", "stomatitis"), ("alopecia", "alopecia"),
    ("liver-function-abnormality", "liver function abnormalities"),
    ("qt-prolongation", "QT interval prolongation"),
)  # fmt: skip
_TOXICITIES = (
    ("hematologic-toxicity", "hematologic toxicity"),
    ("gastrointestinal-toxicity", "gastrointestinal toxicity"),
    ("liver-toxicity", "liver toxicity"),
)
_BASELINE = (
    ("liver-metastases", "had liver metastases"),
    ("visceral-metastases", "had visceral metastases"),
    ("primary-endocrine-resistance", "had primary endocrine resistance"),
    ("metastases-four-or-more-organs", "had metastases involving four or more organs"),
    ("first-line-chemotherapy-recurrent-metastatic",
     "had received first-line chemotherapy for recurrent or metastatic disease"),
)  # fmt: skip
_SUBGROUPS = (
    ("subgroup-liver-metastases", "patients with liver metastases"),
    ("subgroup-primary-endocrine-resistance", "patients with primary endocrine resistance"),
    ("subgroup-four-or-more-metastatic-organs", "patients with four or more metastatic organs"),
    ("subgroup-prior-chemotherapy-advanced",
     "patients who had received chemotherapy during the recurrent or metastatic phase"),
)  # fmt: skip
_ASSESSMENTS = (
    ("investigator-assessment", "according to investigator assessment", "PrimaryEndpointAnalysis"),
    ("bicr", "as assessed by the Blinded Independent Central Review (BICR)",
     "KeySecondaryEndpointAnalysis"),
)  # fmt: skip
_SECTION_TITLES = (
    "Current Landscape and Challenges of CDK4/6 Inhibitors in HR+/HER2− Breast Cancer",
    "Mechanism of Action, Potency and Distribution",
    "Efficacy Across Trials and Patient Subgroups",
    "Safety Profiles and the Management of Adverse Events",
    "Trial Design and Real-World Patient Populations",
    "Global Impact and the Outlook for Breast Cancer Research",
)
_QUESTIONS = (
    "Could you walk us through these findings?",
    "How would you evaluate these results?",
    "What do these data mean for clinical practice?",
    "How do you see the place of CDK4/6 inhibitors today?",
    "Which of these observations surprised you most?",
)
_AUTHORS = (
    "Abbott, Lena", "Brennan, Omar", "Castillo, Mei", "Dubois, Anika", "Eriksen, Tomas",
    "Fujimoto, Rui", "Garcia, Elena", "Hughes, Priya", "Ivanova, Sofia", "Jensen, Karl",
    "Kowalski, Ada", "Lindqvist, Noor", "Moreau, Ines", "Nakamura, Ken", "Okafor, Chidi",
)  # fmt: skip
_VENUES = (
    "Journal of Synthetic Oncology", "Synthetic Breast Cancer Research",
    "Annals of Generated Evidence", "Benchmark Medicine",
)  # fmt: skip
_TOPICS = (
    "CDK4/6 inhibition in HR+/HER2− advanced breast cancer",
    "continuous dosing of a CDK4/6 inhibitor with fulvestrant",
    "hematologic toxicity of CDK4/6 inhibitors",
    "tumor distribution of an oral CDK4/6 inhibitor",
    "endocrine resistance in metastatic breast cancer",
    "subgroup analyses of randomized breast cancer trials",
)


# ---------------------------------------------------------------- numbers as printed


def _tenths(n: int) -> str:
    return f"{n // 10}.{n % 10}"


def _hundredths(n: int) -> str:
    return f"{n // 100}.{n % 100:02d}"


def _thousandths(n: int) -> str:
    return f"{n // 1000}.{n % 1000:03d}"


def _superscript(n: int) -> str:
    return str(n).translate(_SUPERSCRIPT)


# ---------------------------------------------------------------- records


@dataclass
class _Claim:
    id: str
    type: str
    quote: str
    about: list[str]
    fields: dict[str, Value]


@dataclass
class _Unit:
    """One sentence of an article and the claims quoting it. Every quote contains the
    unit's tag (``cohort C-017``), which occurs once in the article: that is what makes
    each quote unique. The tag's digits follow a letter and a hyphen, so the loader does not
    read them as a number (as in LEONARDA-1)."""

    number: str
    tag: str
    body: str = ""
    claims: list[_Claim] = field(default_factory=list)
    editorial: bool = False
    sentence: str = ""

    def add(self, role: str, type_: str, quote: str, about: Sequence[str], **fields: Value) -> str:
        if unknown := set(fields) - set(_FIELD_ORDER):
            raise ValueError(f"unknown claim keys {sorted(unknown)}")
        claim_id = f"{role}-{self.number}"
        self.claims.append(_Claim(claim_id, type_, quote, list(about), fields))
        return claim_id


@dataclass(frozen=True)
class GeneratedCorpus:
    """What :func:`generate` wrote."""

    path: Path
    seed: int
    articles: int
    claims_per_article: int
    claims: int
    article_dirs: tuple[str, ...]
    claim_types: tuple[tuple[str, int], ...]
    """Claims per type in every article, in the order of :data:`REAL_MIX`."""
    trials: int
    """The size of the trial pool: the five real trials and the invented ones."""


def claim_mix(total: int) -> dict[str, int]:
    """``total`` claims split over the claim types in the real article's proportions
    (largest remainders; ties go to the type listed first)."""
    weight = sum(REAL_MIX.values())
    shares = {kind: divmod(total * w, weight) for kind, w in REAL_MIX.items()}
    counts = {kind: whole for kind, (whole, _) in shares.items()}
    order = sorted(REAL_MIX, key=lambda kind: -shares[kind][1])  # stable: ties keep REAL_MIX order
    for kind in order[: total - sum(counts.values())]:
        counts[kind] += 1
    return counts


# ---------------------------------------------------------------- one article's sentences


class _ArticleWriter:
    """Draws the units (sentences with their claims) of one article from its own RNG."""

    def __init__(
        self, rng: random.Random, claims: int, references: int, trials: Sequence[_Trial]
    ) -> None:
        self.rng = rng
        self.trials = tuple(trials)
        self.trial_weights = (_PRIMARY_WEIGHT, *(1 for _ in trials[1:]))
        self.references = references
        self.width = max(3, len(str(claims)))  # one unit per claim at most
        self.serial = 0

    def unit(self, noun: str, letter: str) -> _Unit:
        self.serial += 1
        number = f"{self.serial:0{self.width}d}"
        return _Unit(number=number, tag=f"{noun} {letter}-{number}")

    def trial(self) -> _Trial:
        """One of the article's trials: its primary trial (the first) or a comparator."""
        return self.rng.choices(self.trials, weights=self.trial_weights)[0]

    def citation(self) -> str:
        """Citation markers for a sentence, or none (seven sentences in ten)."""
        rng, n = self.rng, self.references
        if rng.random() >= 0.3:
            return ""
        first, shape = rng.randint(1, n), rng.random()
        if shape < 0.15 and first < n:
            return f" [{_superscript(first)}–{_superscript(rng.randint(first + 1, n))}]"
        if shape < 0.3 and first < n:
            return f" [{_superscript(first)}][{_superscript(rng.randint(first + 1, n))}]"
        return f" [{_superscript(first)}]"

    def finish(self, unit: _Unit) -> _Unit:
        for claim in unit.claims:
            if unit.tag not in claim.quote or claim.quote not in unit.body:
                raise AssertionError(f"quote of {claim.id} is not a tagged part of its sentence")
        unit.sentence = f"{unit.body}{self.citation()}."
        return unit

    # -- measurements, with the comparisons and relations printed beside them

    def pfs_medians(self) -> _Unit:
        rng, t, u = self.rng, self.trial(), self.unit("cohort", "C")
        assessor, phrase, analysis = rng.choice(_ASSESSMENTS)
        high = rng.randint(700, 2400)
        low = rng.randint(250, min(high - 150, 1100))
        a, b = _hundredths(high), _hundredths(low)
        head = (
            f"In {u.tag} of {t.name}, {phrase}, the median PFS reached {a} months "
            f"in the {t.drug} group"
        )
        double = Decimal(a) > 2 * Decimal(b)
        if double:
            u.body = f"{head}, more than double the {b} months of the placebo group"
        else:
            u.body = f"{head}, compared with {b} months in the placebo group"
        pfs: dict[str, Value] = {"statistic": "Median", "endpoint": "progression-free-survival"}
        how: dict[str, Value] = {"assessor": assessor, "analysis": analysis}
        first = u.add(
            "pfs-median-experimental", "Measurement", head, [t.arm], **pfs, value=a, unit="MO",
            context={"trial": t.id, "arm": t.arm, **how},
        )  # fmt: skip
        second = u.add(
            "pfs-median-control", "Measurement", u.body, [t.control], **pfs, value=b, unit="MO",
            context={"trial": t.id, "arm": t.control, **how},
        )  # fmt: skip
        ratio: dict[str, Value] = (
            {"statistic": "Ratio", "endpoint": "progression-free-survival", "greater_than": "2",
             "unit": "UNITLESS", "note": "more than double: the ratio of the medians is above 2"}
            if double else {"endpoint": "progression-free-survival"}
        )  # fmt: skip
        u.add(
            "pfs-median-comparison", "Comparison", u.body, [t.arm], **ratio,
            context={"trial": t.id, "comparator": t.control, **how}, direction="Higher",
            derived_from=[first, second],
            derivation="RatioOfValues" if double else "ComparisonOfValues",
        )  # fmt: skip
        return u

    def hazard_ratio(self, risk_reduction: bool) -> _Unit:
        rng, t, u = self.rng, self.trial(), self.unit("cohort", "C")
        assessor, phrase, analysis = rng.choice(_ASSESSMENTS)
        hr = rng.randint(300, 850)
        low, high = hr - rng.randint(60, 160), hr + rng.randint(80, 260)
        rr = (1000 - hr + 5) // 10  # 1 − HR as a whole percentage
        with_ci = rng.random() < 0.7
        printed = f"HR {_thousandths(hr)}"
        if with_ci:
            printed += f", 95% CI {_thousandths(low)}–{_thousandths(high)}"
        op, p = rng.choice((("<", "0.0001"), ("<", "0.001"), ("=", f"0.00{rng.randint(1, 9)}")))
        if risk_reduction:
            head = (
                f"In {u.tag} of {t.name}, {phrase}, {t.drug} plus {t.partner} led to a {rr}% "
                f"reduction in the risk of disease progression or death"
            )
        else:
            head = (
                f"In {u.tag} of {t.name}, {phrase}, {t.drug} plus {t.partner} reduced the risk "
                f"of disease progression or death compared with placebo plus {t.partner}"
            )
        hr_quote = f"{head} ({printed}"
        p_quote = f"{hr_quote}, P {op} {p}"
        u.body = f"{p_quote})"
        pfs: dict[str, Value] = {"endpoint": "progression-free-survival"}
        context: dict[str, Value] = {
            "trial": t.id, "arm": t.arm, "comparator": t.control, "assessor": assessor,
            "analysis": analysis,
        }  # fmt: skip
        ci: dict[str, Value] = (
            {"ci": [_thousandths(low), _thousandths(high)], "ci_level": "95"} if with_ci else {}
        )
        hr_id = u.add(
            "pfs-hazard-ratio", "Measurement", hr_quote, [t.arm], statistic="HazardRatio", **pfs,
            value=_thousandths(hr), unit="UNITLESS", **ci, context=context,
        )  # fmt: skip
        p_value: dict[str, Value] = {"less_than": p} if op == "<" else {"value": p}
        u.add(
            "pfs-p-value", "Measurement", p_quote, [t.arm], statistic="PValue", **pfs,
            **p_value, unit="UNITLESS", context=context,
        )  # fmt: skip
        if risk_reduction:
            u.add(
                "pfs-risk-reduction", "Measurement", head, [t.arm], statistic="RiskReduction",
                **pfs, value=str(rr), unit="PERCENT", context=context, derived_from=[hr_id],
                derivation="OneMinusHazardRatio",
            )  # fmt: skip
        return u

    def response_rates(self) -> _Unit:
        rng, t, u = self.rng, self.trial(), self.unit("cohort", "C")
        endpoint, short = rng.choice(
            (("objective-response-rate", "ORR"), ("clinical-benefit-rate", "CBR"))
        )
        assessor, who = rng.choice((("investigator-assessment", "investigators"), ("bicr", "BICR")))
        high = rng.randint(150, 650)
        low = rng.randint(30, high - 50)
        head = f"In {u.tag} of {t.name}, as assessed by {who}, the {short} was {_tenths(high)}%"
        both = f"{head} vs. {_tenths(low)}%"
        u.body = f"{both} in the {t.drug} and placebo groups"
        rate: dict[str, Value] = {"statistic": "Proportion", "endpoint": endpoint}
        role = short.lower()
        first = u.add(
            f"{role}-experimental", "Measurement", head, [t.arm], **rate, value=_tenths(high),
            unit="PERCENT", context={"trial": t.id, "arm": t.arm, "assessor": assessor},
        )  # fmt: skip
        second = u.add(
            f"{role}-control", "Measurement", both, [t.control], **rate, value=_tenths(low),
            unit="PERCENT", context={"trial": t.id, "arm": t.control, "assessor": assessor},
        )  # fmt: skip
        u.add(
            f"{role}-comparison", "Comparison", u.body, [t.arm], **rate,
            context={"trial": t.id, "comparator": t.control, "assessor": assessor},
            direction="Higher", derived_from=[first, second], derivation="ComparisonOfValues",
        )  # fmt: skip
        return u

    def _ic50(self) -> str:
        rng = self.rng
        return str(rng.randint(1, 40)) if rng.random() < 0.5 else _tenths(rng.randint(5, 400))

    def ic50_pair(self) -> _Unit:
        rng, u = self.rng, self.unit("assay series", "A")
        drug = rng.choice(_DRUGS)
        (t1, l1), (t2, l2) = rng.sample(_TARGETS, 2)
        v1, v2 = self._ic50(), self._ic50()
        first = f"In {u.tag}, {drug} showed strong inhibitory activity against {l1}"
        second = f"{first} and {l2}"
        u.body = f"{second}, with IC₅₀ values of {v1} nM and {v2} nM, respectively"
        for target, quote in ((t1, first), (t2, second)):
            u.add(
                f"{drug}-inhibits-{target}", "Relation", quote, [drug, target],
                context={"assay": "in-vitro-study"},
                relation={"subject": drug, "predicate": "inhibits", "object": target},
            )  # fmt: skip
        for target, value in ((t1, v1), (t2, v2)):
            u.add(
                f"ic50-{target}", "Measurement", u.body, [drug], statistic="IC50",
                endpoint="inhibitory-activity", value=value, unit="NanoMOL-PER-L",
                context={"assay": "in-vitro-study", "target": target},
            )  # fmt: skip
        return u

    def ic50_single(self, relation: bool) -> _Unit:
        rng, u = self.rng, self.unit("assay series", "A")
        drug = rng.choice(_DRUGS)
        target, label = rng.choice(_TARGETS)
        value = self._ic50()
        if relation:
            head = f"In {u.tag}, {drug} inhibited {label}"
            u.body = f"{head} with an IC₅₀ of {value} nM"
            u.add(
                f"{drug}-inhibits-{target}", "Relation", head, [drug, target],
                context={"assay": "in-vitro-study"},
                relation={"subject": drug, "predicate": "inhibits", "object": target},
            )  # fmt: skip
        else:
            u.body = f"In {u.tag}, the IC₅₀ of {drug} against {label} was {value} nM"
        u.add(
            f"ic50-{target}", "Measurement", u.body, [drug], statistic="IC50",
            endpoint="inhibitory-activity", value=value, unit="NanoMOL-PER-L",
            context={"assay": "in-vitro-study", "target": target},
        )  # fmt: skip
        return u

    def safety_grades(self) -> _Unit:
        rng, t, u = self.rng, self.trial(), self.unit("cohort", "C")
        ae, label = rng.choice(_ADVERSE_EVENTS[:2])
        g34 = rng.randint(100, 700)
        g4 = rng.randint(5, g34 // 3)
        head = (
            f"In {u.tag} of {t.name}, the incidence of grade 3 or 4 {label} in the {t.drug} "
            f"group was {_tenths(g34)}%"
        )
        u.body = f"{head}, with grade 4 {label} occurring in only {_tenths(g4)}% of patients"
        for role, quote, value, grades in (
            ("grade-3-4", head, g34, ["3", "4"]),
            ("grade-4", u.body, g4, ["4"]),
        ):
            u.add(
                f"{ae}-{role}", "Measurement", quote, [t.arm], statistic="Proportion",
                endpoint=ae, value=_tenths(value), unit="PERCENT",
                context={"trial": t.id, "arm": t.arm, "grade": grades},
            )  # fmt: skip
        return u

    def discontinuation(self) -> _Unit:
        rng, t, u = self.rng, self.trial(), self.unit("cohort", "C")
        rate, low, high = rng.randint(3, 25), rng.randint(26, 60), rng.randint(80, 200)
        endpoint, previous = (
            "treatment-discontinuation-due-to-adverse-events",
            "previous-cdk4-6-inhibitor-trials",
        )
        head = (
            f"In {u.tag} of {t.name}, only {_tenths(rate)}% of patients in the {t.drug} group "
            f"discontinued treatment due to adverse events"
        )
        lower = f"{head}, a rate lower than those reported in previous CDK4/6i trials"
        u.body = f"{lower}, which ranged from {_tenths(low)}% to {_tenths(high)}%"
        first = u.add(
            "discontinuation-experimental", "Measurement", head, [t.arm], statistic="Proportion",
            endpoint=endpoint, value=_tenths(rate), unit="PERCENT",
            context={"trial": t.id, "arm": t.arm},
        )  # fmt: skip
        second = u.add(
            "discontinuation-previous-trials", "Measurement", u.body, [previous],
            statistic="Proportion", endpoint=endpoint, range=[_tenths(low), _tenths(high)],
            unit="PERCENT", context={"trial": previous},
        )  # fmt: skip
        u.add(
            "discontinuation-comparison", "Comparison", lower, [t.arm], statistic="Proportion",
            endpoint=endpoint, context={"trial": t.id, "arm": t.arm, "comparator": previous},
            direction="Lower", derived_from=[first, second], derivation="ComparisonOfValues",
            across_trials="true",
        )  # fmt: skip
        return u

    def measurement(self) -> _Unit:
        """One measurement alone in its sentence: baseline, enrolment, safety,
        pharmacokinetics, epidemiology or a single median."""
        rng, t = self.rng, self.trial()
        kind = rng.randrange(12)
        u = self.unit(*(("registry wave", "W") if kind in (8, 9, 10) else ("cohort", "C")))
        where = f"{u.tag} of {t.name}"
        trial: dict[str, Value] = {"trial": t.id}
        drug = rng.choice(_DRUGS)
        if kind == 0:
            endpoint, phrase = rng.choice(_BASELINE)
            p = _tenths(rng.randint(50, 600))
            u.body = f"In {where}, {p}% of patients {phrase} at baseline"
            population = {"population": t.population} if t.population else {}
            u.add(
                f"baseline-{endpoint}", "Measurement", u.body, [t.population or t.id],
                statistic="Proportion", endpoint=endpoint, value=p, unit="PERCENT",
                context={**trial, **population},
            )  # fmt: skip
        elif kind == 1:
            n = str(rng.randint(80, 700))
            u.body = f"A total of {n} patients were enrolled in {where}"
            population = {"population": t.population} if t.population else {}
            u.add(
                "enrolled-patients", "Measurement", u.body, [t.id], statistic="Count",
                endpoint="enrolled-patients", value=n, unit="NUM",
                context={**trial, **population},
            )  # fmt: skip
        elif kind == 2:
            ae, label = rng.choice(_ADVERSE_EVENTS)
            p = _tenths(rng.randint(20, 450))
            u.body = (
                f"In {where}, {label} of any grade occurred in {p}% of patients in the "
                f"{t.drug} group"
            )
            u.add(
                f"{ae}-any-grade", "Measurement", u.body, [t.arm], statistic="Proportion",
                endpoint=ae, value=p, unit="PERCENT", context={**trial, "arm": t.arm},
            )  # fmt: skip
        elif kind == 3:
            bound = str(rng.choice((10, 15, 20, 25)))
            u.body = (
                f"In {where}, gastrointestinal toxicities were observed in fewer than {bound}% "
                f"of patients treated with {t.drug}"
            )
            u.add(
                "gastrointestinal-toxicity", "Measurement", u.body, [t.arm],
                statistic="Proportion", endpoint="gastrointestinal-toxicity", less_than=bound,
                unit="PERCENT", context={**trial, "arm": t.arm},
            )  # fmt: skip
        elif kind == 4:
            endpoint, u.body, grade = rng.choice(
                (
                    ("febrile-neutropenia",
                     f"In {where}, no cases of febrile neutropenia were reported", {}),
                    ("treatment-discontinuation-due-to-neutropenia",
                     f"In {where}, no patients discontinued treatment due to neutropenia", {}),
                    ("diarrhea", f"In {where}, no grade 3 or 4 diarrhea was reported",
                     {"grade": ["3", "4"]}),
                )
            )  # fmt: skip
            u.add(
                f"none-{endpoint}", "Measurement", u.body, [t.id], statistic="Count",
                endpoint=endpoint, none_reported="true", unit="NUM", context={**trial, **grade},
            )  # fmt: skip
        elif kind == 5:
            ratio = str(rng.randint(5, 40))
            u.body = (
                f"In {u.tag}, tumor exposure to {drug} was {ratio} times higher than "
                f"plasma exposure"
            )
            u.add(
                "tumor-to-plasma-exposure", "Measurement", u.body, [drug], statistic="Ratio",
                endpoint="tumor-to-plasma-exposure", value=ratio, unit="UNITLESS",
            )  # fmt: skip
        elif kind == 6:
            hours, bound = rng.choice(("24", "48", "72")), rng.choice(("50", "100"))
            u.body = (
                f"At {hours} hours post-administration in {u.tag}, {drug} concentrations in "
                f"tumor tissues were more than {bound} times higher than in plasma"
            )
            u.add(
                "tumor-to-plasma-concentration", "Measurement", u.body, [drug],
                statistic="Ratio", endpoint="tumor-to-plasma-concentration", greater_than=bound,
                unit="UNITLESS", context={"time_point": {"value": hours, "unit": "HR"}},
            )  # fmt: skip
        elif kind == 7:
            hours, level = rng.choice(("24", "48", "72")), str(rng.randint(20, 150))
            u.body = (
                f"By {hours} hours in {u.tag}, tumor concentrations of {drug} reached "
                f"approximately {level} ng/mL"
            )
            u.add(
                "tumor-drug-concentration", "Measurement", u.body, [drug],
                statistic="Concentration", endpoint="tumor-drug-concentration", value=level,
                unit="NanoGM-PER-MilliL", context={"time_point": {"value": hours, "unit": "HR"}},
                note="approximately",
            )  # fmt: skip
        elif kind == 8:
            cases, year = rng.randint(100000, 499999), str(rng.randint(2018, 2023))
            u.body = (
                f"According to GLOBOCAN data reviewed in {u.tag}, there were {cases:,} new "
                f"cases of breast cancer in China in {year}"
            )
            u.add(
                "new-cases", "Measurement", u.body, ["breast-cancer", "china", "globocan"],
                statistic="Count", endpoint="new-cases", value=str(cases), unit="NUM",
                context={"population": "new-breast-cancer-cases-china", "year": year},
            )  # fmt: skip
        elif kind == 9:
            age, year = str(rng.randint(45, 62)), str(rng.randint(2018, 2023))
            u.body = (
                f"In {u.tag}, new breast cancer cases in China in {year} had a median age of "
                f"onset of {age} years"
            )
            u.add(
                "median-age-at-onset", "Measurement", u.body, ["breast-cancer", "china"],
                statistic="Median", endpoint="age-at-onset", value=age, unit="YR",
                context={"population": "new-breast-cancer-cases-china", "year": year},
            )  # fmt: skip
        elif kind == 10:
            low = rng.randint(2, 4)
            high = low + rng.randint(1, 2)
            u.body = (
                f"In {u.tag}, patients with advanced breast cancer had a median overall "
                f"survival of {low}–{high} years"
            )
            u.add(
                "median-overall-survival", "Measurement", u.body, ["advanced-breast-cancer"],
                statistic="Median", endpoint="overall-survival", range=[str(low), str(high)],
                unit="YR", context={"population": "advanced-breast-cancer-patients"},
            )  # fmt: skip
        else:
            assessor, phrase, analysis = rng.choice(_ASSESSMENTS)
            months = _hundredths(rng.randint(500, 2400))
            u.body = (
                f"In {where}, {phrase}, the median PFS in the {t.drug} group was {months} months"
            )
            u.add(
                "pfs-median", "Measurement", u.body, [t.arm], statistic="Median",
                endpoint="progression-free-survival", value=months, unit="MO",
                context={**trial, "arm": t.arm, "assessor": assessor, "analysis": analysis},
            )  # fmt: skip
        return u

    # -- comparisons stated without values

    def comparison(self) -> _Unit:
        rng, u = self.rng, self.unit("review", "R")
        kind = rng.randrange(6)
        drug = rng.choice(_DRUGS)
        class_: dict[str, Value] = {"comparator": "cdk4-6-inhibitors"}
        fields: dict[str, Value]
        direction = "Higher"
        if kind == 0:
            u.body = f"In {u.tag}, {drug} demonstrated greater potency than other CDK4/6 inhibitors"
            fields = {"endpoint": "potency", "context": class_}
        elif kind == 1:
            u.body = (
                f"In {u.tag}, {drug} had a much larger apparent volume of distribution "
                f"compared to other drugs"
            )
            fields = {
                "endpoint": "volume-of-distribution",
                "context": {"comparator": "other-drugs"},
            }
        elif kind == 2:
            toxicity, label = rng.choice(_TOXICITIES[:2])
            direction = rng.choice(("Higher", "Lower"))
            more = "more" if direction == "Higher" else "less"
            u.body = f"In {u.tag}, {drug} caused {more} {label} than other CDK4/6 inhibitors"
            fields = {"endpoint": toxicity, "context": class_}
        elif kind == 3:
            u.body = (
                f"In {u.tag}, {drug} has been linked to higher rates of grade 3 or 4 neutropenia "
                f"than other CDK4/6 inhibitors"
            )
            fields = {
                "statistic": "Proportion", "endpoint": "neutropenia",
                "context": {**class_, "grade": ["3", "4"]},
            }  # fmt: skip
        elif kind == 4:
            t = self.trial()
            toxicity, label = rng.choice(_TOXICITIES[:2])
            quote = (
                f"the data from {u.tag} of {t.name} suggest that {t.drug} may offer an overall "
                f"safety advantage in terms of {label}"
            )
            u.body = f"Although {CAVEAT}, {quote}"
            u.add(
                f"{t.drug}-safety-advantage-{toxicity}", "Comparison", quote, [t.drug],
                endpoint=toxicity, context={"trial": t.id, **class_}, direction="Lower",
                across_trials="true", across_drugs="true", caveat=CAVEAT,
                note="Hedged: “suggest”, “may offer”.",
            )  # fmt: skip
            return u
        else:
            other = rng.choice([d for d in _DRUGS if d != drug])
            u.body = (
                f"In {u.tag}, the objective response rate with {drug} was similar to that "
                f"with {other}"
            )
            fields = {"endpoint": "objective-response-rate", "context": {"comparator": other}}
            direction = "Similar"
        u.add(
            f"{drug}-comparison", "Comparison", u.body, [drug], **fields, direction=direction,
            across_drugs="true",
        )  # fmt: skip
        return u

    # -- relations

    def relation(self) -> _Unit:
        rng = self.rng
        kind = rng.randrange(9)
        drug = rng.choice(_DRUGS)
        context: dict[str, Value] = {}
        if kind == 0:
            u = self.unit("assay series", "A")
            predicate, obj, phrase = rng.choice(
                (
                    ("induces", "g1-arrest", "precisely induced G1 phase arrest"),
                    ("suppresses", "rb-phosphorylation", "suppressed Rb phosphorylation"),
                    ("inhibits", "tumor-cell-proliferation", "inhibited tumor cell proliferation"),
                )
            )
            u.body = f"In vitro studies in {u.tag} have shown that {drug} {phrase}"
            subject, about, context = drug, [drug, obj], {"assay": "in-vitro-study"}
        elif kind == 1:
            u = self.unit("assay series", "A")
            disease, label = rng.choice(
                (
                    ("breast-cancer", "breast cancer"),
                    ("non-small-cell-lung-cancer", "non-small cell lung cancer"),
                    ("prostate-cancer", "prostate cancer"),
                )
            )
            u.body = (
                f"In xenograft models of {label} studied in {u.tag}, daily oral administration "
                f"of {drug} significantly inhibited tumor growth"
            )
            subject, predicate, obj = drug, "inhibits", "tumor-growth"
            about, context = [drug, obj, disease], {"assay": "xenograft-model"}
        elif kind == 2:
            u = self.unit("review", "R")
            obj, phrase = rng.choice(
                (
                    ("cdk4", "work by blocking CDK4"),
                    ("cdk6", "work by blocking CDK6"),
                    ("g1-s-transition",
                     "halt the transition of tumor cells from the G1 phase to the S phase"),
                )
            )  # fmt: skip
            u.body = f"As summarized in {u.tag}, CDK4/6 inhibitors {phrase}"
            subject, predicate, about = "cdk4-6-inhibitors", "blocks", ["cdk4-6-inhibitors", obj]
        elif kind == 3:
            u = self.unit("review", "R")
            subject = rng.choice((*_DRUGS, "cdk4-6-inhibitors"))
            obj, label = rng.choice((*_ADVERSE_EVENTS, *_TOXICITIES))
            name = "CDK4/6 inhibitors have" if subject == "cdk4-6-inhibitors" else f"{subject} has"
            u.body = f"In {u.tag}, {name} been associated with {label}"
            predicate, about = "isAssociatedWith", [subject, obj]
        else:
            t = self.trial()
            u = self.unit("sub-study", "S")
            where = f"{u.tag} of {t.name}"
            subject, about = t.id, [t.id]
            if kind == 4:
                obj, label = rng.choice(
                    (("randomized", "randomized"), ("double-blind", "double-blind"),
                     ("phase-3", "phase III"))
                )  # fmt: skip
                u.body = f"In {where}, the study followed a {label} design"
                predicate = "hasDesignFeature"
            elif kind == 5:
                u.body = f"In {where}, investigators set out to evaluate the efficacy of {t.drug}"
                predicate, obj = "evaluates", t.drug
            elif kind == 6:
                assessor, phrase, _ = rng.choice(_ASSESSMENTS)
                primary = assessor == "investigator-assessment"
                predicate = "hasPrimaryEndpoint" if primary else "hasKeySecondaryEndpoint"
                role = "the primary endpoint" if primary else "a key secondary endpoint"
                u.body = f"In {where}, progression-free survival {phrase} was {role}"
                obj, context = "progression-free-survival", {"assessor": assessor}
            elif kind == 7:
                u.body = f"In {where}, {t.drug} was given in combination with {t.partner}"
                subject, predicate, obj = t.drug, "combinedWith", t.partner
                about, context = [t.drug], {"trial": t.id}
            else:
                u.body = f"In {where}, the {t.drug} arm also included {t.partner}"
                subject, predicate, obj = t.arm, "hasPart", t.partner
                about, context = [t.arm], {"trial": t.id}
            if obj not in about:
                about = [*about, obj]
        extra: dict[str, Value] = {"context": context} if context else {}
        u.add(
            f"{subject}-{predicate.lower()}-{obj}", "Relation", u.body, about, **extra,
            relation={"subject": subject, "predicate": predicate, "object": obj},
        )  # fmt: skip
        return u

    def design_features(self) -> _Unit:
        t, u = self.trial(), self.unit("sub-study", "S")
        head = f"In {u.tag} of {t.name}, the study followed a randomized"
        u.body = f"{head}, double-blind, phase III design"
        for feature, quote in (
            ("randomized", head),
            ("double-blind", f"{head}, double-blind"),
            ("phase-3", u.body),
        ):
            u.add(
                f"design-{feature}", "Relation", quote, [t.id, feature],
                relation={"subject": t.id, "predicate": "hasDesignFeature", "object": feature},
            )  # fmt: skip
        return u

    def associations(self, count: int) -> _Unit:
        rng, u = self.rng, self.unit("review", "R")
        drug = rng.choice(_DRUGS)
        events = rng.sample(_ADVERSE_EVENTS, count)
        labels = [label for _, label in events]
        u.body = (
            f"In {u.tag}, {', '.join(labels[:-1])} and {labels[-1]} were commonly seen with {drug}"
        )
        for ae, _ in events:
            u.add(
                f"{drug}-associated-{ae}", "Relation", u.body, [drug, ae],
                relation={"subject": drug, "predicate": "isAssociatedWith", "object": ae},
            )  # fmt: skip
        return u

    # -- qualitative statements

    def qualitative(self) -> _Unit:
        rng, t = self.rng, self.trial()
        kind = rng.randrange(10)
        u = self.unit("cohort", "C")
        where = f"{u.tag} of {t.name}"
        context: dict[str, Value] = {"trial": t.id}
        if kind == 0:
            u.body = (
                f"In {where}, {t.drug} combined with {t.partner} significantly prolonged "
                f"progression-free survival"
            )
            about = [t.arm, "progression-free-survival"]
        elif kind == 1:
            u.body = (
                f"In {where}, patients in the {t.drug} group experienced notably better "
                f"tumor responses"
            )
            about, context = [t.arm], {"trial": t.id, "arm": t.arm}
        elif kind == 2:
            u.body = (
                f"In {where}, neutropenia was effectively managed through dose interruption or "
                f"reduction and/or the use of granulocyte colony-stimulating factor (G-CSF)"
            )
            about = ["neutropenia", "g-csf"]
        elif kind == 3:
            age = str(rng.choice((60, 65, 70, 75)))
            u.body = f"In {where}, patients were stratified by age (<{age} or ≥{age} years)"
            about = [t.id, "subgroup-age"]
            context = {
                "trial": t.id, "subgroup": "subgroup-age",
                "analysis": "PrespecifiedSubgroupAnalysis",
                "threshold": {"value": age, "unit": "YR"},
            }  # fmt: skip
        elif kind == 4:
            subgroup, label = rng.choice(_SUBGROUPS)
            u.body = (
                f"In {where}, the PFS benefit of {t.drug} plus {t.partner} was consistently "
                f"observed in {label}"
            )
            about = [t.arm, "progression-free-survival"]
            context = {
                "trial": t.id, "arm": t.arm, "subgroup": subgroup,
                "analysis": "PrespecifiedSubgroupAnalysis",
            }  # fmt: skip
        elif kind == 5:
            u.body = (
                f"In {where}, the most common grade 3 or 4 treatment-related adverse events were "
                f"hematologic toxicities, primarily neutropenia and leukopenia"
            )
            about = ["hematologic-toxicity", "neutropenia", "leukopenia"]
            context = {"trial": t.id, "grade": ["3", "4"]}
        elif kind == 6:
            u.body = f"In {u.tag}, {t.drug} showed extensive tissue penetration"
            about, context = [t.drug, "tissue-penetration"], {}
        elif kind == 7:
            u.body = f"In {u.tag}, {t.drug} was described as a highly potent, selective oral drug"
            about, context = [t.drug, "potency"], {}
        elif kind == 8:
            u.body = f"In {u.tag}, the prognosis for patients with advanced breast cancer was poor"
            about = ["advanced-breast-cancer"]
            context = {"population": "advanced-breast-cancer-patients"}
        else:
            u.body = (
                f"In {u.tag}, adverse effects of CDK4/6 inhibitors led to treatment "
                f"interruptions or dose reductions"
            )
            about = ["cdk4-6-inhibitors", "adverse-event", "treatment-interruption",
                     "dose-reduction"]  # fmt: skip
            context = {}
        extra: dict[str, Value] = {"context": context} if context else {}
        u.add("statement", "QualitativeStatement", u.body, about, **extra)
        u.editorial = True
        return u

    def low_incidences(self, count: int) -> _Unit:
        rng, u = self.rng, self.unit("cohort", "C")
        others = rng.sample(_ADVERSE_EVENTS[2:8], count - 1)
        labels = ["grade 4 neutropenia", *(label for _, label in others)]
        u.body = (
            f"In {u.tag} of the phase I/II trial, continuous lerociclib with fulvestrant showed "
            f"low incidences of {', '.join(labels[:-1])} and {labels[-1]}"
        )
        context: dict[str, Value] = {
            "trial": "lerociclib-phase-1-2-trial",
            "population": "hr-positive-her2-negative-advanced-breast-cancer-patients",
        }
        u.add(
            "low-neutropenia", "QualitativeStatement", u.body,
            ["lerociclib", "fulvestrant", "neutropenia"], context={**context, "grade": ["4"]},
            note="low incidence",
        )  # fmt: skip
        for ae, _ in others:
            u.add(
                f"low-{ae}", "QualitativeStatement", u.body, ["lerociclib", "fulvestrant", ae],
                context=context, note="low incidence",
            )  # fmt: skip
        return u

    # -- interpretations

    def interpretation(self) -> _Unit:
        rng, t = self.rng, self.trial()
        kind = rng.randrange(8)
        u = self.unit("cohort", "C")
        where = f"{u.tag} of {t.name}"
        context: dict[str, Value] = {}
        if kind == 0:
            u.body = (
                f"The findings of {where} highlight the strong clinical efficacy of {t.drug} "
                f"in combination with {t.partner}"
            )
            about, context = [t.drug, t.partner], {"trial": t.id}
        elif kind == 1:
            u.body = f"In this context, {t.drug} stands out for its favorable safety in {u.tag}"
            about = [t.drug]
        elif kind == 2:
            u.body = (
                f"The patients of {where} reflect the complexity and severity commonly seen in "
                f"real-world clinical settings in China"
            )
            about, context = [t.id, "china"], {"trial": t.id}
        elif kind == 3:
            u.body = (
                f"With the accumulation of additional data from {u.tag}, {t.drug} is expected "
                f"to become a key treatment option for patients with HR+/HER2− advanced breast "
                f"cancer"
            )
            about = [t.drug, "hr-positive-her2-negative-advanced-breast-cancer"]
        elif kind == 4:
            u.body = (
                f"In {u.tag}, continuous dosing of {t.drug} allowed for sustained target "
                f"inhibition and antitumor activity"
            )
            about = [t.drug, "continuous-dosing", "antitumor-activity"]
        elif kind == 5:
            u.body = (
                f"As reviewed in {u.tag}, the emergence of CDK4/6 inhibitors has marked a "
                f"significant breakthrough in the treatment of HR+/HER2− advanced breast cancer"
            )
            about = ["cdk4-6-inhibitors", "hr-positive-her2-negative-advanced-breast-cancer"]
        elif kind == 6:
            u.body = (
                f"The design of {where} was well aligned with actual treatment scenarios, "
                f"increasing the clinical relevance of its findings"
            )
            about, context = [t.id], {"trial": t.id}
        else:
            u.body = (
                f"In {u.tag}, the development of more potent and less toxic CDK4/6 inhibitors "
                f"remained a critical area of research"
            )
            about = ["cdk4-6-inhibitors", "breast-cancer-patients"]
        extra: dict[str, Value] = {"context": context} if context else {}
        u.add("interpretation", "Interpretation", u.body, about, **extra)
        u.editorial = True
        return u

    def tolerability(self) -> _Unit:
        rng, u = self.rng, self.unit("cohort", "C")
        drug = rng.choice(_DRUGS)
        head = f"In {u.tag}, continuous dosing of {drug} led to better long-term tolerability"
        u.body = f"{head} and improved treatment adherence"
        u.add(
            "long-term-tolerability", "Interpretation", head,
            [drug, "continuous-dosing", "long-term-tolerability"],
        )  # fmt: skip
        u.add(
            "treatment-adherence", "Interpretation", u.body,
            [drug, "continuous-dosing", "treatment-adherence"],
        )  # fmt: skip
        return u

    # -- publication events

    def publication(self) -> _Unit:
        rng, t = self.rng, self.trial()
        kind = rng.randrange(3)
        u = self.unit("sub-study", "S")
        where = f"{u.tag} of {t.name}"
        context: dict[str, Value] = {"trial": t.id}
        if kind == 0:
            u.body = f"The results of {where} were recently published in Nature Communications"
            about = [t.id, "nature-communications"]
        elif kind == 1:
            u.body = f"We presented the early findings of {where} at the 2023 ASCO Annual Meeting"
            about = [t.id, "asco-annual-meeting-2023", INTERVIEWEE]
            context["year"] = "2023"
        else:
            u.body = (
                f"In January of this year, the final results of {where} were published in the "
                f"internationally renowned journal Nature Communications"
            )
            about = [t.id, "nature-communications"]
        u.add("publication", "PublicationEvent", u.body, about, context=context)
        return u


@dataclass(frozen=True)
class _Template:
    cost: dict[str, int]
    weight: int
    make: Callable[[_ArticleWriter], _Unit]


_M, _C, _R, _Q, _I, _P = REAL_MIX  # the claim type names
_TEMPLATES = (
    _Template({_M: 2, _C: 1}, 5, _ArticleWriter.pfs_medians),
    _Template({_M: 3}, 3, lambda w: w.hazard_ratio(risk_reduction=True)),
    _Template({_M: 2}, 2, lambda w: w.hazard_ratio(risk_reduction=False)),
    _Template({_M: 2, _C: 1}, 5, _ArticleWriter.response_rates),
    _Template({_M: 2, _R: 2}, 3, _ArticleWriter.ic50_pair),
    _Template({_M: 1, _R: 1}, 3, lambda w: w.ic50_single(relation=True)),
    _Template({_M: 1}, 1, lambda w: w.ic50_single(relation=False)),
    _Template({_M: 2}, 3, _ArticleWriter.safety_grades),
    _Template({_M: 2, _C: 1}, 3, _ArticleWriter.discontinuation),
    _Template({_M: 1}, 8, _ArticleWriter.measurement),
    _Template({_C: 1}, 3, _ArticleWriter.comparison),
    _Template({_R: 1}, 14, _ArticleWriter.relation),
    _Template({_R: 3}, 2, _ArticleWriter.design_features),
    _Template({_R: 2}, 2, lambda w: w.associations(2)),
    _Template({_R: 3}, 2, lambda w: w.associations(3)),
    _Template({_Q: 1}, 30, _ArticleWriter.qualitative),
    _Template({_Q: 3}, 2, lambda w: w.low_incidences(3)),
    _Template({_Q: 5}, 1, lambda w: w.low_incidences(5)),
    _Template({_I: 1}, 30, _ArticleWriter.interpretation),
    _Template({_I: 2}, 4, _ArticleWriter.tolerability),
    _Template({_P: 1}, 2, _ArticleWriter.publication),
)
"""What a sentence can hold: its claims by type and how often it is drawn (a weight)."""


def _draw_units(writer: _ArticleWriter, mix: dict[str, int]) -> list[_Unit]:
    """Units whose claims add up to exactly ``mix``: each draw picks, by weight, a template
    that fits the remaining budget (single-claim templates always fit)."""
    remaining = dict(mix)
    units = []
    while any(remaining.values()):
        fitting = [t for t in _TEMPLATES if all(remaining[k] >= n for k, n in t.cost.items())]
        template = writer.rng.choices(fitting, weights=[t.weight for t in fitting])[0]
        unit = writer.finish(template.make(writer))
        if Counter(c.type for c in unit.claims) != Counter(template.cost):
            raise AssertionError(f"a unit does not hold the claims {template.cost}")
        for kind, n in template.cost.items():
            remaining[kind] -= n
        units.append(unit)
    return units


# ---------------------------------------------------------------- one article's files


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's)."""
    return json.dumps(text, ensure_ascii=False)


def _flow(value: Value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return f"[{', '.join(value)}]"
    return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"


def _render_claims(header: str, claims: Iterable[_Claim]) -> str:
    lines = [header]
    for claim in claims:
        lines += [
            f"- id: {claim.id}",
            f"  type: {claim.type}",
            f"  quote: {_quoted(claim.quote)}",
            f"  about: {_flow(claim.about)}",
        ]
        for key in _FIELD_ORDER:
            if (value := claim.fields.get(key)) is None:
                continue
            if key == "context" and isinstance(value, dict):
                lines.append("  context:")
                lines += [f"    {k}: {_flow(value[k])}" for k in _CONTEXT_ORDER if k in value]
            elif key in _TEXT_FIELDS and isinstance(value, str):
                lines.append(f"  {key}: {_quoted(value)}")
            else:
                lines.append(f"  {key}: {_flow(value)}")
    return "\n".join(lines) + "\n"


def _claim_entities(claim: _Claim) -> set[str]:
    """The entity ids a claim names (about, endpoint, context, relation)."""
    found = set(claim.about)
    if isinstance(endpoint := claim.fields.get("endpoint"), str):
        found.add(endpoint)
    if isinstance(context := claim.fields.get("context"), dict):
        found |= {v for k, v in context.items() if k in _ENTITY_CONTEXT and isinstance(v, str)}
    if isinstance(relation := claim.fields.get("relation"), dict):
        found |= {v for k, v in relation.items() if k != "predicate" and isinstance(v, str)}
    return found


@dataclass(frozen=True)
class _Reference:
    number: int
    entry: str
    fields: dict[str, str]


@dataclass(frozen=True)
class _Section:
    id: str
    title: str
    starts_with: str
    units: tuple[_Unit, ...]


def _work(rng: random.Random, doi: str) -> dict[str, str]:
    """A cited work's bibliographic fields."""
    first, topic = rng.randint(1, 900), rng.choice(_TOPICS)
    return {
        "authors": f"{rng.choice(_AUTHORS)} et al.",
        "title": f"{topic[0].upper()}{topic[1:]}: a synthetic report.",
        "venue": rng.choice(_VENUES),
        "year": str(rng.randint(2010, 2024)),
        "volume": str(rng.randint(1, 60)),
        "issue": str(rng.randint(1, 12)),
        "pages": f"{first}-{first + rng.randint(5, 20)}",
        "doi": doi,
    }


def _references(rng: random.Random, seed: int, index: int, count: int) -> list[_Reference]:
    """An article's reference list: a tenth web pages, about a third works shared with other
    articles (the same DOI and fields wherever cited), the rest the article's own."""
    shared = iter(rng.sample(range(1, SHARED_DOIS + 1), min(count, SHARED_DOIS)))
    references = []
    for number in range(1, count + 1):
        draw = rng.random()
        if draw < 0.1:
            url = f"https://example.org/claimkg/synthetic/{index:05d}/reference-{number}"
            references.append(_Reference(number, f"{number}、{url}", {"url": url}))
            continue
        if draw < 0.45 and (k := next(shared, None)) is not None:
            work = _work(
                random.Random(f"claimkg-synthetic:{seed}:doi:{k}"), f"10.5555/synthetic.{k}"
            )
        else:
            work = _work(rng, f"10.5555/synthetic.{index * 100 + number}")
        entry = (
            f"{number}、{work['authors']} “{work['title']}” {work['venue']} vol. "
            f"{work['volume']},{work['issue']} ({work['year']}): {work['pages']}. doi:{work['doi']}"
        )
        references.append(_Reference(number, entry, work))
    return references


def _slug(title: str) -> str:
    return "-".join(re.findall(r"[a-z]+", title.lower())[:4])


def _article_files(
    seed: int, index: int, claims: int, pool: Sequence[_Trial], primary: int
) -> tuple[dict[str, str], set[str]]:
    """The files of article ``index`` (path in its folder → text) and the entity ids used.
    The article is mostly about trial ``pool[primary]`` and mentions comparators from ``pool``."""
    rng = random.Random(f"claimkg-synthetic:{seed}:article:{index}")
    n_references = min(15, 3 + claims // 12)
    # comparators: distinct trials of the pool other than the primary one
    drawn = rng.sample(range(len(pool) - 1), min(_COMPARATORS, len(pool) - 1))
    trials = [pool[primary], *(pool[i + (i >= primary)] for i in drawn)]
    writer = _ArticleWriter(rng, claims, n_references, trials)
    units = _draw_units(writer, claim_mix(claims))
    rng.shuffle(units)

    # The introduction (editorial voice) takes up to a tenth of the units, single
    # qualitative statements and interpretations; the sections share the rest.
    editorial = [u for u in units if u.editorial]
    intro = editorial[: min(len(editorial), round(len(units) / 10))]
    rest = [u for u in units if all(u is not i for i in intro)]
    n_sections = max(1, min(99, -(-claims // 35), len(rest)))
    titles = rng.sample(_SECTION_TITLES, len(_SECTION_TITLES))
    sections = [_Section("introduction", "Introduction", "This synthetic interview", tuple(intro))]
    for s in range(n_sections):
        chunk = rest[s * len(rest) // n_sections : (s + 1) * len(rest) // n_sections]
        sid, title = f"{s + 1:02d}", titles[s % len(titles)]
        sections.append(_Section(sid, title, f"{sid} {title}", tuple(chunk)))

    # The text: each heading, then the editor's question (sometimes with a statement of
    # its own), then the interviewee's answer in paragraphs of two to five sentences.
    paragraphs = [" ".join([OPENING, *(u.sentence for u in intro)])]
    for section in sections[1:]:
        answer = list(section.units)
        asked = [answer.pop(0)] if len(answer) > 1 and answer[0].editorial else []
        question = rng.choice(_QUESTIONS)
        paragraphs += [
            section.starts_with,
            " ".join([EDITOR_LABEL, *(u.sentence for u in asked), question]),
        ]
        label = [INTERVIEWEE_LABEL]
        while answer:
            size = rng.randint(2, 5)
            paragraphs.append(" ".join([*label, *(u.sentence for u in answer[:size])]))
            del answer[:size]
            label = []
    references = _references(rng, seed, index, n_references)
    text = (
        "\n\n".join(paragraphs)
        + "\n\n\nReferences :\n\n"
        + "\n\n".join(r.entry for r in references)
        + "\n"
    )
    sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    files = {
        "article.txt": text,
        "article.yaml": _render_article(index, seed, sha256, sections, references, rng),
        "coverage.yaml": _render_coverage(sections[1:]),
    }
    entities = {PUBLISHER, INTERVIEWEE}
    for number, section in enumerate(sections):
        if not (section_claims := [c for u in section.units for c in u.claims]):
            continue
        header = f"# Section {section.id}: {section.title} (synthetic, seed {seed})."
        files[f"claims/{number:02d}-{_slug(section.title)}.yaml"] = _render_claims(
            header, section_claims
        )
        for claim in section_claims:
            entities |= _claim_entities(claim)
    return files, entities


def _render_article(
    index: int,
    seed: int,
    sha256: str,
    sections: Sequence[_Section],
    references: Sequence[_Reference],
    rng: random.Random,
) -> str:
    title = f"Academician Binghe Xu on {rng.choice(_TOPICS)} (synthetic article {index:05d})"
    lines = [
        f"# A synthetic article (seed {seed}) written by benchmarks/synthetic_corpus.py.",
        f"id: synthetic-{index:05d}",
        "form: Interview",
        f"title: {_quoted(title)}",
        f"publisher: {PUBLISHER}",
        f"interviewee: {INTERVIEWEE}",
        "year: 2025",
        f'url: "https://example.org/claimkg/synthetic/{index:05d}"',
        "language: en",
        "text: article.txt",
        f"sha256: {sha256}",
        f"editorial_voice: {PUBLISHER}",
        "speaker_labels:",
        f'  "{EDITOR_LABEL}": {PUBLISHER}',
        f'  "{INTERVIEWEE_LABEL}": {INTERVIEWEE}',
        "reference_list:",
        '  starts_with: "References :"',
        "  entry_style: number-ideographic-comma",
        "  citation_style: superscript-brackets",
        "sections:",
    ]
    for section in sections:
        lines += [
            f"  - id: {_quoted(section.id)}",
            f"    title: {_quoted(section.title)}",
            f"    starts_with: {_quoted(section.starts_with)}",
        ]
    lines.append("references:")
    for reference in references:
        lines.append(f"  - number: {reference.number}")
        lines += [f"    {k}: {_quoted(v)}" for k, v in reference.fields.items()]
    return "\n".join(lines) + "\n"


def _render_coverage(sections: Iterable[_Section]) -> str:
    lines = ["# Numbers of the body that no claim carries: the numbers of the section headings."]
    for section in sections:
        lines += [
            f"- number: {_quoted(section.id)}",
            f"  quote: {_quoted(section.starts_with)}",
            "  reason: section number",
        ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the trial pool


def _code_name(k: int) -> str:
    """The ``k``-th invented trial name: ``SYNTH-ALPHA-ALPHA``, ``SYNTH-ALPHA-BRAVO``, …
    (two code words, then three, …)."""
    words, width = len(_CODE_WORDS), 2
    while k >= words**width:
        k -= words**width
        width += 1
    parts = []
    for _ in range(width):
        k, r = divmod(k, words)
        parts.append(_CODE_WORDS[r])
    return "-".join(["SYNTH", *reversed(parts)])


def trial_pool_size(articles: int) -> int:
    """How many trials (the five real ones included) a corpus of ``articles`` articles has."""
    return max(len(_REAL_TRIALS), articles // ARTICLES_PER_TRIAL)


def _trial_pool(seed: int, size: int) -> tuple[_Trial, ...]:
    """The five real trials, then ``size - 5`` invented ones with their arms."""
    rng = random.Random(f"claimkg-synthetic:{seed}:trials")
    pool = list(_REAL_TRIALS)
    for k in range(size - len(_REAL_TRIALS)):
        name = _code_name(k)
        trial_id, drug, partner = name.lower(), rng.choice(_DRUGS), rng.choice(_PARTNERS)
        pool.append(
            _Trial(trial_id, name, f"{trial_id}-{drug}-arm", f"{trial_id}-placebo-arm", drug,
                   partner)
        )  # fmt: skip
    return tuple(pool)


def _primaries(seed: int, pool_size: int, articles: int) -> list[int]:
    """Each article's primary trial (an index into the pool): the pool dealt out in a
    shuffled order, LEONARDA-1 first, so that every trial is the primary trial of
    ``articles / pool_size`` articles (rounded up or down)."""
    order = list(range(1, pool_size))
    random.Random(f"claimkg-synthetic:{seed}:primaries").shuffle(order)
    order.insert(0, 0)
    return [order[i % pool_size] for i in range(articles)]


def _render_trials(seed: int, trials: Iterable[_Trial]) -> str:
    """The entities file of the invented trials and their arms, in the form of
    corpus/entities/trials-and-people.yaml."""
    lines = [
        f"# Invented trials and their arms (seed {seed}), written by "
        "benchmarks/synthetic_corpus.py:",
        "# each is the primary trial of a handful of synthetic articles.",
    ]
    for t in trials:
        lines += [
            f"- id: {t.id}",
            "  type: ClinicalTrial",
            f"  label: {t.name}",
            f"- id: {t.arm}",
            "  type: TrialArm",
            f"  label: {t.name} {t.drug} plus {t.partner} arm",
            f"  parts: [{t.drug}, {t.partner}]",
            f"- id: {t.control}",
            "  type: TrialArm",
            f"  label: {t.name} placebo plus {t.partner} arm",
            f"  parts: [placebo, {t.partner}]",
        ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the corpus


def _shared_mappings(source: Path) -> str:
    """The bundled mappings (curie map, column header) without the rows about the real
    article's references (``claimkgref:``): those subjects do not exist here."""
    kept, header_seen = [], False
    for line in source.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith("#") or not header_seen:
            header_seen = header_seen or not line.startswith("#")
            kept.append(line)
        elif line.startswith(OWN_MAPPING_PREFIXES):
            kept.append(line)
    return "".join(kept)


def _entity_ids(directory: Path) -> set[str]:
    ids: set[str] = set()
    for path in sorted(directory.glob("*.yaml")):
        for record in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            if isinstance(record, dict) and "id" in record:
                ids.add(str(record["id"]))
    return ids


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


def generate(out: Path, articles: int, claims_per_article: int, seed: int = 0) -> GeneratedCorpus:
    """Write a corpus of ``articles`` synthetic articles of ``claims_per_article`` claims each
    at ``out``. What an earlier run wrote there (entities/, external-evidence/,
    mappings.sssom.tsv, synthetic-NNNNN/) is replaced; anything else is left alone."""
    if articles < 1 or claims_per_article < 1:
        raise ValueError("articles and claims per article must be at least 1")
    if articles > 99999:
        raise ValueError("at most 99999 articles (folder names have five digits)")
    corpus = data_dir("corpus")
    out.mkdir(parents=True, exist_ok=True)
    for child in sorted(out.iterdir()):
        if child.is_dir() and (
            child.name in ("entities", "external-evidence") or ARTICLE_DIR.match(child.name)
        ):
            shutil.rmtree(child)
    shutil.copytree(corpus / "entities", out / "entities")
    if (out / "entities" / TRIALS_FILE).exists():
        raise RuntimeError(f"the bundled entities already have a file named {TRIALS_FILE}")
    pool = _trial_pool(seed, trial_pool_size(articles))
    _write(out / "entities" / TRIALS_FILE, _render_trials(seed, pool[len(_REAL_TRIALS) :]))
    shutil.copytree(corpus / "external-evidence", out / "external-evidence")
    mappings = _shared_mappings(data_dir("ontology") / "mappings.sssom.tsv")
    _write(out / "mappings.sssom.tsv", mappings)

    known = _entity_ids(out / "entities")
    names = []
    primaries = _primaries(seed, len(pool), articles)
    for index in range(1, articles + 1):
        name = f"synthetic-{index:05d}"
        files, used = _article_files(seed, index, claims_per_article, pool, primaries[index - 1])
        if missing := used - known:
            raise RuntimeError(f"the corpus entities do not define {sorted(missing)}")
        for relative, text in files.items():
            _write(out / name / relative, text)
        names.append(name)
    return GeneratedCorpus(
        path=out,
        seed=seed,
        articles=articles,
        claims_per_article=claims_per_article,
        claims=articles * claims_per_article,
        article_dirs=tuple(names),
        claim_types=tuple(claim_mix(claims_per_article).items()),
        trials=len(pool),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("out", type=Path, metavar="OUT", help="corpus folder to write")
    parser.add_argument("--articles", type=int, required=True, help="number of articles")
    parser.add_argument("--claims", type=int, required=True, help="claims per article")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--force",
        action="store_true",
        help="write into a non-empty OUT (replacing what an earlier run wrote there)",
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    if out.exists() and not out.is_dir():
        parser.error(f"{out} is not a folder")
    if out.exists() and any(out.iterdir()) and not args.force:
        parser.error(f"{out} is not empty; pass --force to write into it anyway")
    start = time.perf_counter()
    try:
        result = generate(out, args.articles, args.claims, args.seed)
    except ValueError as error:
        parser.error(str(error))
    seconds = time.perf_counter() - start
    mix = ", ".join(f"{n} {kind}" for kind, n in result.claim_types)
    print(
        f"wrote {result.path}: {result.articles} article(s) × {result.claims_per_article} "
        f"claims = {result.claims} claims (seed {result.seed}) in {seconds:.1f} s"
    )
    print(f"  articles: {result.article_dirs[0]} … {result.article_dirs[-1]}")
    print(f"  claims per article: {mix}")
    print(
        f"  trials: {result.trials} ({len(_REAL_TRIALS)} real, "
        f"{result.trials - len(_REAL_TRIALS)} invented in entities/{TRIALS_FILE})"
    )
    print("  shared: entities/, external-evidence/, mappings.sssom.tsv")
    print(f"next: kg build --corpus {result.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
