"""Presidio recognizers for what the stock ones miss: phones, addresses, names.

* :class:`IntlPhoneRecognizer` - international and national phone formats
  (``+44(0)117 496 0533``, ``0316/83778353``, ``(+358) 083778353``, ext.).
* :class:`~fedflm.protect.deid_address.StreetAddressRecognizer` - street
  addresses (own module).
* :class:`LexiconPersonRecognizer` - runs of capitalised tokens holding a known
  given name or surname, plus names after titles or cue phrases.

All are ``LocalRecognizer`` subclasses: they plug into a Presidio
``AnalyzerEngine`` as well as into :class:`fedflm.protect.deid.Deidentifier`.
"""

from __future__ import annotations

import regex as re

from presidio_analyzer import LocalRecognizer, RecognizerResult

from spacy.lang.en.stop_words import STOP_WORDS

from fedflm.protect.deid_chat import web_word
from fedflm.protect.deid_dictionary import is_ordinary
from fedflm.protect.deid_lexicon import COMMON_WORDS, KEY_WORDS, PARTICLES, NameLexicon
from fedflm.protect.deid_relation import (owner_of_personal, payee_cue_before, recipient, relation_cue_before,
                                          speaker_label)
from fedflm.protect.deid_words import mostly_words, name_heads, name_words, plain_word, unknown_words

_STOP = COMMON_WORDS | frozenset(STOP_WORDS)


class RegexRecognizer(LocalRecognizer):
    """Base: ``self.find(text)`` yields (start, end, score); ``CONTEXT`` words nearby boost it."""

    ENTITY = ""
    CONTEXT: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__(supported_entities=[self.ENTITY], name=type(self).__name__,
                         context=list(self.CONTEXT))

    def load(self) -> None:  # noqa: D102 - nothing to load
        pass

    def find(self, text: str):  # pragma: no cover - abstract
        raise NotImplementedError

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None) -> list[RecognizerResult]:
        return [RecognizerResult(self.ENTITY, s, e, score) for s, e, score in self.find(text)]


# ----------------------------------------------------------------- phones
_PHONE = re.compile(r"""
    (?<![\w+/.-])
    (?:
        (?:\(\s*(?:\+|00)\s?\d{1,3}\s*\)|(?:\+|00)\s?\d{1,3})[\s.-]?   # country code
        (?:\(0\)\s?)?
    )?
    (?:\(\d{1,5}\)[\s.-]?)?                                             # (area)
    \d{1,14}(?:[\s./-]{1,2}\(?\d{1,10}\)?){0,6}                         # groups
    (?:\s?(?:x|ext\.?|extension|\#)\s?\d{1,6})?
    (?![\w@-]|\.\d)
""", re.VERBOSE | re.IGNORECASE)
_DATE_SHAPE = re.compile(r"^(?:\d{1,4}[-./]\d{1,2}[-./]\d{1,4}|\d{1,2}[-./]\d{1,2})$")
_IP_SHAPE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_SSN_SHAPE = re.compile(r"^\d{3}-\d{2}-\d{4}$")
_TIME_NEXT = re.compile(r":\d\d")  # "2021-06-19 14:55": the last group is an hour, the whole a date-time
# "my zip code is 90010-170", "Postcode: 1234 567": a postal code, not a phone
_POSTCODE_BEFORE = re.compile(r"(?i:\b(?:zip|zip[ \t]*code|post[ \t]*code|postal[ \t]*code|cep|plz)"
                              r"[ \t]*(?:is|:|#|no\.?|number)?[ \t]*)$")


def compact_date(digits: str) -> bool:
    """True for 8 digits that read as a date of 1900-2099 (``19731116``, ``24011991``, ``06021996``)."""
    if len(digits) != 8 or not digits.isdigit():
        return False
    for y, m, d in ((digits[:4], digits[4:6], digits[6:]), (digits[4:], digits[2:4], digits[:2]),
                    (digits[4:], digits[:2], digits[2:4])):
        if 1900 <= int(y) <= 2099 and 1 <= int(m) <= 12 and 1 <= int(d) <= 31:
            return True
    return False


class IntlPhoneRecognizer(RegexRecognizer):
    """Phone numbers with 7-15 digits in international or national notation."""

    ENTITY = "PHONE_NUMBER"

    def find(self, text: str):
        for m in _PHONE.finditer(text):
            s, e = m.span()
            cand = text[s:e].rstrip(" .-/")
            e = s + len(cand)
            digits = sum(c.isdigit() for c in cand)
            main = re.split(r"(?i)x|ext|#", cand)[0]
            main_digits = sum(c.isdigit() for c in main)
            if not 7 <= main_digits <= 15 or digits > 21:
                continue
            if _DATE_SHAPE.match(cand) or _IP_SHAPE.match(cand) or _SSN_SHAPE.match(cand):
                continue
            if _TIME_NEXT.match(text, e) or compact_date(cand):
                continue  # a date with its time, or a date written without separators
            if _POSTCODE_BEFORE.search(text, max(0, s - 24), s):
                continue
            plus = "+" in cand or cand.startswith("00") or "(" in cand
            grouped = any(c in cand for c in " -./()")
            if not plus and not grouped and main_digits not in (8, 9, 10, 11):
                continue
            yield s, e, 0.7 if (plus or grouped) else 0.5


# ----------------------------------------------------------------- persons
_TOKEN = re.compile(r"[^\W\d_](?:[^\W\d_]|['’](?=[^\W\d_])|-(?=[^\W\d_]))*\.?")
TITLES = frozenset(
    "mr mrs ms miss mx dr prof professor sir dame madam lady lord herr frau fr hr mme mlle m sr sra "
    "srta dña don doña sig sig.ra dott ing pan pani dhr mevr mw rev fr father sister brother "
    "capt captain col sgt lt gen".split())
_GREETINGS = frozenset("dear hi hello hey attn regards thanks cheers sincerely".split())
#: how a speaker names themself or someone is named (``my name is``, ``I'm``, ``call me``): the strongest cues
_NAMING = r"name\s+is|named|called|i\s+am|i'm|this\s+is|calls?\s+me"
_CUES = re.compile(r"(?i:\b(?:" + _NAMING + r"|signed|regards|sincerely|thanks|cheers|dear|hi|hello|hey|attn|"
                   r"contact|patient|customer|client|applicant|employee|tenant|holder|owner)[:,]?\s+)$")
_LAST_COMMA = re.compile(r"(\p{Lu}[\w'’-]+(?:[ \t]+\p{Lu}[\w'’-]+)?),[ \t]$")
_LAST_COMMA_PART = re.compile(r"((?:(?:da|de|del|van|von|di|le|la|dos|das)[ \t]+)+\p{Lu}[\w'’-]+),[ \t]$")


def _name_like(word: str) -> bool:
    """Capitalised and not all capitals (``I``, ``US``, ``SWIFT`` are not names here)."""
    return word[:1].isupper() and not word.isupper() and re.split("['’]", word)[0] != "I"


def self_next_cap(toks: list, j: int) -> bool:
    """True if tokens after j are particles followed by a capitalised token."""
    k = j
    while k < len(toks) and toks[k][2].lower() in PARTICLES:
        k += 1
    return k < len(toks) and k - j <= 3 and toks[k][2][:1].isupper()


_POSSESSIVE = re.compile(r"['’]s$")
_SPEAKER = re.compile(r"[ \t]*:")  # "Ubul: What a wife." - a speaker's name before a colon
# what a person does after her given name opens a sentence ("Maria called me", "Anna from Wells Fargo
# said"): a given name that is also a dictionary word (maria, anna, grace, mark) is a name there
_PERSON_ACT = (r"[ \t]+(?:called|phoned|rang|e-?mailed|texted|messaged|said|says|told|asked|sent|paid|wrote|replied"
               r"|answered|promised|helped)(?![\w'’])")
_PERSON_VERB = re.compile(_PERSON_ACT + r"|[ \t]+(?:from|and|&)[ \t]+\p{Lu}")
_SURNAME_ACT = re.compile(_PERSON_ACT)  # a surname of the lists opening a sentence: a verb only ("Sales and Marketing")


def _initial(word: str) -> bool:
    """A middle initial (``D`` of ``Faina D. Yefremova``; the token's dot is already stripped)."""
    return len(word) == 1 and word.isupper()


class LexiconPersonRecognizer(RegexRecognizer):
    """Names: capitalised runs with a known given name / surname, or after a title or cue."""

    ENTITY = "PERSON"

    def __init__(self, lexicon: NameLexicon, strict: bool = False, vocab: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.lexicon = lexicon
        self.strict = strict  # for re-cased views: capitals there are not evidence of a name
        self.vocab = vocab  # ordinary words: a capitalised word outside it after a cue is a name
        if strict and vocab:
            name_heads(lexicon, vocab)  # built once here (0.04 s), not on the first text (deid_words)

    def find(self, text: str):
        toks = [(m.start(), m.end(), m.group(0).rstrip(".")) for m in _TOKEN.finditer(text)]
        if self.strict:  # on a re-cased view no handle, hashtag or web address is part of a name run
            toks = [t for t in toks if not web_word(text, t[0], t[1])]
        i = 0
        while i < len(toks):
            j = self._run_end(text, toks, i)
            if j > i:
                span = self._judge(text, toks, i, j)
                if span:
                    yield self._with_surname_before(text, span)
                i = j
            else:
                i += 1
        if self.strict:
            yield from self._comma_pairs(text)

    def _comma_pairs(self, text: str):
        """``Surname, Given`` of two words that are neither vocabulary nor dictionary words
        (``slota, laurynas``): on the re-cased view, where capitals say nothing."""
        for m in _COMMA_PAIR.finditer(text):
            if all(w.lower() not in self.vocab and w.lower() not in KEY_WORDS and not is_ordinary(w)
                   for w in m.group(1, 2)):
                yield m.start(), m.end(), 0.6

    @staticmethod
    def _run_end(text: str, toks: list, i: int) -> int:
        """Index after the run of capitalised tokens (particles allowed inside) starting at i."""
        if not _name_like(toks[i][2]):
            return i
        j = i + 1
        while j < len(toks) and not _POSSESSIVE.search(toks[j - 1][2]):  # "Yefremova's Tales" ends
            gap = text[toks[j - 1][1]:toks[j][0]]
            if gap not in (" ", "-", ". ", " '") and not (gap == ", " and False):
                break
            word = toks[j][2]
            if _name_like(word):
                j += 1
            elif _initial(word) and j + 1 < len(toks) and _name_like(toks[j + 1][2]) \
                    and text[toks[j][1]:toks[j + 1][0]] == " ":
                j += 1  # a middle initial: "Faina D. Yefremova", "Tamara T Stanković"
            elif word.lower() in PARTICLES and self_next_cap(toks, j):
                j += 1
            else:
                break
        return j

    def _judge(self, text: str, toks: list, i: int, j: int):
        words = [t[2] for t in toks[i:j]]
        # strip a leading title: it stays visible, the name after it is masked
        titled = False
        while words and words[0].lower().rstrip(".") in TITLES | _GREETINGS and len(words) > 1:
            words, i, titled = words[1:], i + 1, True
        # "Call Maria Garcia": a leading unknown word before a given name is not part of the name
        while len(words) > 2 and not self.lexicon.is_name(words[0]) and self.lexicon.is_first(words[1]):
            words, i = words[1:], i + 1
        if self.strict:  # a verb after the name: "janice beard falters" (deid_words)
            words = words[:name_words(words, self.lexicon)]
            j = i + len(words)
        if not words:
            return None
        words = [_POSSESSIVE.sub("", w) for w in words if not _initial(w)] or words  # initials: neutral
        known = [self.lexicon.is_name(w) for w in words]
        firsts = [self.lexicon.is_first(w) for w in words]
        before = text[max(0, toks[i][0] - 30):toks[i][0]]
        sentence_start = not before.strip() or before.rstrip()[-1:] in ".!?:\n\"'(" and \
            not before.rstrip().endswith(",")
        cue = bool(_CUES.search(before)) or titled or self._title_before(before)
        s, e = toks[i][0], toks[j - 1][1]
        if text[e - 1:e] == "." and len(toks[j - 1][2]) > 1:
            e -= 1
        e -= len(_POSSESSIVE.search(text[s:e]).group(0)) if _POSSESSIVE.search(text[s:e]) else 0
        if self.strict and cue and not any(known) and all(map(is_ordinary, words)):
            return None  # "now i'm unemployed": a cue before a dictionary word is no name
        if self.strict and not cue:
            after_surname = len(words) == 1 and firsts[0] and bool(re.search(r"\p{Lu}[\w'’-]+,[ \t]$", before))
            # known names that are all plain words ("red bridge", "constant mindset") are not enough
            plain = [plain_word(w, self.vocab, self.lexicon) for w in words]  # "constant mindset" (deid_words)
            accept = (len(words) >= 2 and (firsts[0] or all(known) and not mostly_words(plain, firsts))
                      and not all(plain)) \
                or after_surname or unknown_words(words, self.vocab, self.lexicon, strict=True) or len(words) == 1 and (
                    self.vocab and words[0].lower() not in self.vocab and not is_ordinary(words[0])
                    and words[0].lower() not in _STOP and (relation_cue_before(before) or recipient(text, s, e))) \
                or self._cued_given_name(text, words, before, e, sentence_start)
            return (s, e, 0.85) if accept else None
        if unknown_words(words, self.vocab, self.lexicon):
            return s, e, 0.6
        if not cue and len(words) >= 2 and not any(firsts) and all(map(is_ordinary, words)):
            return None  # dictionary words, none a given name: "Princess Royal", "Green Park"
        if len(words) >= 2 and (any(known) or cue) and sum(known) * 2 >= len(words) - 1:
            return s, e, 0.85
        if len(words) >= 2 and cue:
            return s, e, 0.6
        oov = bool(self.vocab) and words[0].lower() not in self.vocab
        if len(words) == 1 and cue and (known[0] or titled or oov) and words[0].lower() not in _STOP:
            return s, e, 0.8
        if len(words) == 1 and (known[0] or oov and not is_ordinary(words[0])) and words[0].lower() not in _STOP \
                and not self.strict and (
                relation_cue_before(before) or known[0] and (speaker_label(text, s, e, is_ordinary(words[0]))
                                                             or payee_cue_before(before))
                or recipient(text, s, e) or not sentence_start and owner_of_personal(text, e)):
            return s, e, 0.8  # "Follow up with Khadzhiyev", "tennis player Key", "Walker: ..." (deid_relation)
        if len(words) == 1 and firsts[0] and not sentence_start and words[0].lower() not in _STOP:
            return s, e, 0.6
        if len(words) == 1 and sentence_start and words[0].lower() not in _STOP and not is_ordinary(words[0]) \
                and (firsts[0] or oov and _SPEAKER.match(text, e)):
            return s, e, 0.6  # "Lisa: Remember me", "Nicole is from ...": a given name, not a word
        if len(words) == 1 and sentence_start and words[0].lower() not in _STOP and (
                firsts[0] and _PERSON_VERB.match(text, e) or known[0] and _SURNAME_ACT.match(text, e)):
            return s, e, 0.6  # "Maria called me", "Mark from Barclays said": a dictionary word as a name
        if len(words) == 1 and known[0] and _POSSESSIVE.search(toks[j - 1][2]) and not sentence_start \
                and words[0].lower() not in _STOP and not is_ordinary(words[0]):
            return s, e, 0.6  # "though Quintero's song": a known surname's possessive
        return None

    def _cued_given_name(self, text: str, words: list[str], before: str, end: int, sentence_start: bool) -> bool:
        """On a re-cased view: one given name of the lists that no vocabulary holds, even a dictionary word
        (anna, emma, maria), after a relation or contact cue (``my wife anna``, ``i spoke to maria``) or
        opening a sentence before a person verb (``maria called me``): the cue says a name, as capitals would."""
        low = words[0].lower() if len(words) == 1 else ""
        return (bool(low) and bool(self.vocab) and self.lexicon.is_first(low) and low not in self.vocab
                and low not in _STOP and (relation_cue_before(before) or sentence_start
                                          and bool(_PERSON_VERB.match(text, end))))

    def _with_surname_before(self, text: str, span: tuple) -> tuple:
        """Extend ``First`` to ``Last, First`` when a known surname precedes with a comma."""
        start, end, score = span
        before = text[max(0, start - 40):start]
        m = _LAST_COMMA_PART.search(before) or _LAST_COMMA.search(before)
        last = m.group(1).split()[-1] if m else ""
        if m and _name_like(last) and last.lower() not in _STOP | _GREETINGS and \
                not _CUES.search(before[:m.start(1)]) or (m and self.lexicon.is_last(last)):
            start -= len(before) - m.start(1)
        return start, end, score

    @staticmethod
    def _title_before(before: str) -> bool:
        m = re.search(r"([^\W\d_]+)\.?\s+$", before)
        return bool(m) and m.group(1).lower() in TITLES


#: the naming cues alone (and the typographic ``I’m``): strong enough that an unknown lower-case word after
#: one is a name even in text that uses capitals elsewhere (``My name is krithika``; WNUT-17 dev)
_SELF_NAMING = re.compile(r"(?i:\b(?:" + _NAMING + r"|i’m)[:,]?\s+)$")


def names_someone_before(before: str) -> bool:
    """True if ``before``, the text right before a span, ends in ``my name is``, ``I'm``, ``call me``,
    ``named`` or ``this is``: a lower-case word after it is written that way, not because it is no name."""
    return bool(_SELF_NAMING.search(before))


def person_cue_before(before: str) -> bool:
    """True if ``before``, the text right before a span, ends in a person cue: a title (``Mr.``,
    ``Dr``) or a cue phrase (``my name is``, ``Dear``, ``patient``, ``calls me``)."""
    return bool(_CUES.search(before)) or LexiconPersonRecognizer._title_before(before)


_COMMA_PAIR = re.compile(r"(?<![\w@.'’-])([^\W\d_]{3,})[ \t]?,[ \t]+([^\W\d_]{3,})(?![\w@-]|\.\w)")
_GIVEN_AFTER_COMMA = re.compile(r"[ \t]?,[ \t]+([^\W\d_]{2,}(?:[-'’][^\W\d_]+)*)(?![\w@.-]\w)")


def given_after_comma(text: str, end: int, vocab: frozenset[str]) -> int:
    """End of ``Surname, Given`` when a name span ending at ``end`` is followed by ``, word`` and
    that word is neither corpus vocabulary nor an English dictionary word; else ``end``.

    ``account holder: vörös, yepelek it has`` -> the span ``vörös`` grows to ``vörös, yepelek``;
    ``macdowell, whose charm`` stays as it is.
    """
    m = _GIVEN_AFTER_COMMA.match(text, end)
    if not m:
        return end
    word = m.group(1)
    return m.end(1) if word.lower() not in vocab and not is_ordinary(word) else end


# ------------------------------------------------------- extra patterns
_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|December|"
           "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Januar|Februar|März|Mai|Juni|Juli|Oktober|"
           "Dezember|janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre|"
           "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre")
_WRITTEN_DATE = re.compile(rf"""
    \b(?:\d{{1,2}}(?:st|nd|rd|th|\.)?\s+(?:of\s+|de\s+)?(?i:{_MONTHS})\.?,?\s+(?:de\s+)?\d{{4}}
    |(?i:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})\b
""", re.VERBOSE)


class WrittenDateRecognizer(RegexRecognizer):
    """Dates with a written month: ``30 June 1997``, ``December 04, 1993``, ``3. März 2001``."""

    ENTITY = "DATE_TIME"

    def find(self, text: str):
        for m in _WRITTEN_DATE.finditer(text):
            yield m.start(), m.end(), 0.6


def iban_checksum_ok(candidate: str) -> bool:
    """ISO 13616 mod-97 check of an IBAN (spaces ignored)."""
    s = candidate.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    digits = "".join(str(int(c, 36)) for c in moved)
    return int(digits) % 97 == 1


def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_URL = re.compile(r"\b(?i:https?://|ftp://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")  # any case: shouted text writes HTTP://


class SimpleUrlRecognizer(RegexRecognizer):
    """URLs with a scheme or ``www.`` (Presidio's needs the public-suffix list and is slow)."""

    ENTITY = "URL"

    def find(self, text: str):
        for m in _URL.finditer(text):
            yield m.start(), m.end(), 0.6
