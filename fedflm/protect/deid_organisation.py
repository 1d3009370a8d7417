"""Person spans (and digit-less address spans) that name a company, a place or a work, not a person.

:class:`OrganisationJudge` decides, for one merged span of :class:`fedflm.protect.deid.Deidentifier`,
whether it stays, is dropped, or keeps only its head. It combines the cues of
:mod:`fedflm.protect.deid_context` (place and firm cues, designators, firm lists, titles), the country
list and the place gazetteer (:mod:`fedflm.protect.deid_places`), quoted titles and foreign phrases
(:mod:`fedflm.protect.deid_works`), and the name lexicon: a firm cue
before a known given name (``worked at Maria Garcia``) and a person cue before a place name
(``Mr. Salamanca``) leave a person.
"""

from __future__ import annotations

from collections.abc import Callable

import regex as re

from fedflm.protect.deid_address import countries
from fedflm.protect.deid_census import is_census_surname
from fedflm.protect.deid_company import before_premises, holds_surname_list, in_surname_list, names_a_company
from fedflm.protect.deid_context import (DESIGNATORS, FAMILY_TAIL_ANY_CASE, after_name_is_from, after_place_cue,
                                         before_firm_verb, camel_compound, ends_in_firm_word, firm_cue, in_firm_list,
                                         lone_double_surname, names_an_organisation, reads_as_acronym,
                                         reads_as_title)
from fedflm.protect.deid_dictionary import is_ordinary
from fedflm.protect.deid_lexicon import PARTICLES, NameLexicon
from fedflm.protect.deid_places import before_place_head, generated_city, names_a_place
from fedflm.protect.deid_recognizers import TITLES, person_cue_before
from fedflm.protect.deid_works import in_loan_phrase, named_before, numbered_title, quoted_title

LETTER_WORDS = re.compile(r"[^\W\d_]+")
_CUE_WINDOW = 30  # characters before a span searched for a person cue (the lexicon's window)
_CONNECTOR = re.compile(r"[ \t]+(?:from|at|with|for|by|of|in)[ \t]+", re.IGNORECASE)  # "Maria from Acme Inc"


class OrganisationJudge:
    """Judges merged spans with the name ``lexicon`` and the ``street`` words (street types)."""

    def __init__(self, lexicon: NameLexicon, street: frozenset[str]) -> None:
        self._lexicon = lexicon
        self._street = street

    def kept_parts(self, text: str, start: int, end: int, entity: str, cased: bool) -> list[tuple[int, int]]:
        """``[(start, end)]`` if ``text[start:end]`` names no company or place; ``[]`` if it does; but a
        person span that runs on from a person into a firm or a place keeps the person (each part
        judged again, in its context):

        * the head before a lower-case ``from``/``at``/... (``Bjørg Knutsen from Bauwens Inc``);
        * the head before a comma, if it holds two words and opens with a given name or names no firm
          on its own (``Vanesa Boldù, Rios da Mota S.A.``, ``Damijan Hanka, Ochoabury``, ``Laura
          Fischer, Fischer & Sohn KG``; ``Paolini, Geraci e Agnesi`` is one firm: a firm's partners
          are listed by one surname each);
        * the runs of words between English words (lower-case ones in text with capitals, ones that
          are no known name in text without: :meth:`_break`) (a model span ``Fort Worth branch
          refused Ibolya Derežić``), each holding a word that is no English word or a known name."""
        if not self.names_organisation(text, start, end, entity, cased):
            return [(start, end)]
        if entity != "PERSON":
            return []
        m = _CONNECTOR.search(text, start, end)
        if m is not None and not self.names_organisation(text, start, m.start(), entity, cased):
            return [(start, m.start())]
        comma = text.find(",", start, end)
        head = LETTER_WORDS.findall(text, start, comma) if comma > start else []
        if len(head) >= 2 and (self._lexicon.is_first(head[0]) and not _designator_end(head)
                               or not self.names_organisation(text, start, comma, entity, cased)):
            return [(start, comma)]
        runs = _runs(text, start, end, self._break(cased))
        if not cased and len(runs) < 2:
            return []  # "rio grande do sul": only a break between two runs splits text without capitals
        return [(s, e) for s, e in runs if (s, e) != (start, end)
                and self._name_run(text, s, e, cased) and not self.names_organisation(text, s, e, entity, cased)]

    def _break(self, cased: bool) -> Callable[[str], bool]:
        """What splits a run-on span into names: an English word of two or more letters, in text with
        capitals written in lower case, in text without one that is no known name; never a name particle
        (``Rio Grande do Sul``) or a foreign word of a place (``Västra Götalands län``, ``Rtyně v
        Podkrkonoší``)."""
        def english(w: str) -> bool:
            return len(w) >= 2 and w.lower() not in PARTICLES and is_ordinary(w.lower())
        if cased:
            return lambda w: w[:1].islower() and english(w)
        return lambda w: english(w) and not self._lexicon.is_name(w)

    def _name_run(self, text: str, start: int, end: int, cased: bool) -> bool:
        """A run that can be a name: in text with capitals a word of it is a known name or no English
        word; in text without, every word but the particles is no English word (``IBOLYA DEREŽIĆ``, not
        ``WORTH BRANCH`` of ``FORT WORTH BRANCH REFUSED ...``)."""
        words = [w for w in LETTER_WORDS.findall(text, start, end) if w.lower() not in PARTICLES]
        if cased:
            return any(self._lexicon.is_name(w) or not is_ordinary(w.lower()) for w in words)
        return bool(words) and not any(is_ordinary(w.lower()) for w in words)

    def names_organisation(self, text: str, start: int, end: int, entity: str, cased: bool) -> bool:
        """A person span, or an address span without a street word, that names a company (or a place)."""
        if entity == "STREET_ADDRESS" and any(w.lower() in self._street for w in LETTER_WORDS.findall(
                text, start, end)):
            return False
        person = entity == "PERSON"
        # a digit-less address without a street word is a name-like run the model took for an address
        named = person or entity == "STREET_ADDRESS" and not any(c.isdigit() for c in text[start:end])
        if named and (after_place_cue(text, start, end) or text[start:end].lower() in countries()):
            return True  # a place ("flew to Tarvona", "from Czech Republic")
        if (named and names_a_company(text, start, end, cased, self._surname_only)
                and not _person_cue(text, start) and not self._given_and_family(text, start, end)):
            return True  # a firm by its legal form or firm word: "Johansen A/S", "Spółdzielnia Pęksa"
        if person and in_surname_list(text, start, end, cased, self._surname, self._given_only,
                                      contact_cue, self._lexicon.is_name):
            return True  # a partnership: "Tomomi is from Hawkins, Richardson and Santana"
        if (person and before_premises(text, start, end) and not self._starts_with_given_name(text, start, end)
                and not _person_cue(text, start)):
            return True  # a firm's premises: "The Golden Helix office is at ..." (not "the Smith account")
        if person and self._place_name(text, start, end, cased):
            return True  # a place by the gazetteer ("we drove to San Bernardino")
        if person and lone_double_surname(text, start, end, TITLES, self._lexicon.is_first, cased,
                                          self._given_only):
            return True  # a firm: "During 1971, Mayo-Walters invested"
        if person and cased and reads_as_title(text[start:end]):
            return True  # a title: "an earlier song, \"Carry Me Back To Poland\""
        if person and not cased and quoted_title(text, start, end, self._lexicon.is_name):
            return True  # a title in lower-case text: "to see `` simone , '' and" (deid_works)
        if person and not cased and numbered_title(text, start, end):
            return True  # a numbered work opening a clause: "apollo 13 was released" (deid_works)
        if named and in_loan_phrase(text, start, end):
            return True  # a foreign phrase: "his usual modus operandi" (deid_works)
        if (person and cased and in_firm_list(text, start, end, is_ordinary, self._partnership, contact_cue,
                                         self._known)
                and not self._opens_with_person(text, start, end)):
            return True  # a list of firms: "Demystdata, Berkery Noyes Mandasoft" (not "John Smith")
        if person and ends_in_firm_word(text, start, end, is_ordinary) and not _person_cue(text, start):
            return True  # a coined firm word ends it: "Berkery Noyes Mandasoft" atop an address
        if (named and firm_cue(text, start, end) and not self._starts_with_given_name(text, start, end)
                and not _person_cue(text, start)):
            return True  # a firm: "which later became Credit Karma", "I work for Wolters Kluwer"
        if person and self._unknown_firm(text, start, end, cased):
            return True  # "During 2001, Symcat invested heavily", "Alice Goldberg is from Golden Helix", "NATO"
        return entity in ("PERSON", "STREET_ADDRESS") and names_an_organisation(
            text, start, end, cased=cased and person)

    def _place_name(self, text: str, start: int, end: int, cased: bool) -> bool:
        """True if the span is, as a whole, a place of the gazetteer, is followed by a venue's noun
        (``the chelsea hotel``) or is a city in Faker's shape (``East Jessica``, ``Pearsonborough``:
        :mod:`deid_places`), and no person cue stands right before it (``Mr. Salamanca``, ``my name
        is Naantali`` stay people); before a venue's noun, neither a naming word nor a person noun
        (``the refund for gençay kaasik hotel booking``, ``my friend süzer kisela studios account``)."""
        return ((names_a_place(text[start:end], self._lexicon.is_first, self._lexicon.is_name)
                 or before_place_head(text, start, end, cased, self._lexicon.is_name)
                 and not named_before(text, start, recipients=True)
                 or generated_city(text, start, end, cased, self._lexicon.is_name, is_ordinary,
                                   self._lexicon.is_last))
                and not _person_cue(text, start))

    def _unknown_firm(self, text: str, start: int, end: int, cased: bool) -> bool:
        """A firm or place by what surrounds it (issue 18i), with no person cue right before it: one word that
        is no known name before a verb phrase of business news (``Symcat invested heavily``; ``Maria Symons
        invested heavily`` and ``Symons invested heavily`` stay people), what a named person ``is from``
        unless it opens with a given name (``Alice Goldberg is from Golden Helix``; not ``... is from Maria
        Lopez``), or an acronym that is no known name (``NATO`` atop an address; ``Please pay SMITH`` stays)."""
        if _person_cue(text, start):
            return False
        words = LETTER_WORDS.findall(text, start, end)
        unknown = not any(map(self._known, words))
        camel = (any(camel_compound(w, is_ordinary, self._known) and not self._known(w) for w in words)
                 and not any(self._lexicon.is_first(w) for w in words))
        return (unknown and before_firm_verb(text, start, end) or camel
                or after_name_is_from(text, start, is_ordinary) and not self._starts_with_given_name(text, start, end)
                or reads_as_acronym(text, start, end, cased, self._known))

    def _known(self, word: str) -> bool:
        """A given name or surname of the lexicon or a census surname."""
        return self._surname(word) or self._lexicon.is_first(word)

    def _given_and_family(self, text: str, start: int, end: int) -> bool:
        """A span opening with a given name before a family firm's tail: a person, as for the firm
        cues (``Ana Lutz and Sons sent the invoice``)."""
        return (self._starts_with_given_name(text, start, end)
                and FAMILY_TAIL_ANY_CASE.search(text, start, min(len(text), end + _CUE_WINDOW)) is not None)

    def _surname_only(self, word: str) -> bool:
        """A known surname that is no given name (``Gustafsson``; not ``Johnson``)."""
        return self._lexicon.is_last(word) and not self._lexicon.is_first(word)

    def _partnership(self, text: str, first: int, last: int) -> bool:
        """``text[first:last]`` (a list, in text with capitals) holds a partnership's ``A, B and C``."""
        return holds_surname_list(text, first, last, True, self._surname, self._given_only, contact_cue,
                                  self._lexicon.is_name)

    def _opens_with_person(self, text: str, start: int, end: int) -> bool:
        """A name of a list that reads as a person's: it opens with a word known only as a given name, or
        with a given name and another word before any comma (``Ana Lutz``, ``Morgan Stanley``); a lone
        ``Jones`` or ``Coleman`` of a firm list is a surname there."""
        words = LETTER_WORDS.findall(text, start, _member_end(text, start, end))
        return bool(words) and (self._given_only(words[0]) or len(words) >= 2 and self._lexicon.is_first(words[0]))

    def _surname(self, word: str) -> bool:
        """A surname of the lexicon or of the US census, dictionary words included (``White`` of ``White,
        Willis and Hoffman``; capitals or the list shape, not the word, make it a name there)."""
        return self._lexicon.is_last(word) or is_census_surname(word)

    def _given_only(self, word: str) -> bool:
        """A known given name that is no surname (``Lena``; not ``Murray``, ``Morton``)."""
        return self._lexicon.is_first(word) and not self._lexicon.is_last(word)

    def _starts_with_given_name(self, text: str, start: int, end: int) -> bool:
        """True if the span opens with a word known only as a given name: after a firm cue that is
        still a person (``she married and became Maria Lopez``, ``worked at Maria Garcia``); the cue
        drops only name-like firms and surname lists (``Credit Karma``, ``Brennan Holloway``,
        ``Jones, Mitchell and Williams``: their first words are surnames too)."""
        first = _first_word(text, start, end)
        return bool(first) and self._given_only(first)


_MEMBER_END = re.compile(r",|[ \t](?:and|&)[ \t]")


def _member_end(text: str, start: int, end: int) -> int:
    """End of the first name of a list in ``text[start:end]`` (at a comma or ``and``)."""
    m = _MEMBER_END.search(text, start, end)
    return m.start() if m else end


def _designator_end(words: list[str]) -> bool:
    """True if the last word is a legal form or an organisation noun (``Maria Lopez Ltd``)."""
    return words[-1].lower() in DESIGNATORS


_RUN_WORD = re.compile(r"[^\W\d_][\w'’.-]*")


def _runs(text: str, start: int, end: int, breaks: Callable[[str], bool]) -> list[tuple[int, int]]:
    """Runs of words of ``text[start:end]`` between words for which ``breaks(word)`` holds."""
    runs: list[tuple[int, int]] = []
    run: tuple[int, int] | None = None
    for m in _RUN_WORD.finditer(text, start, end):
        if breaks(m.group()):
            if run:
                runs.append(run)
            run = None
        else:
            run = (run[0] if run else m.start(), m.end())
    if run:
        runs.append(run)
    return [(s, e - 1 if text[e - 1] == "." else e) for s, e in runs]


_CONTACT = re.compile(r"(?<!\w)(?:called|phoned|rang|e-?mailed|texted|met|told|asked|thanked|pay|paid|"
                      r"(?:spoke|spoken|talked|speak|talk)[ \t]+(?:with|to))[ \t]+$", re.IGNORECASE)


def contact_cue(text: str, start: int) -> bool:
    """True if a person cue (``Dear``, ``Mr.``) or a verb of contact or payment (``I called``, ``spoke
    with``, ``pay``) stands right before ``start``: a list of surnames there names people
    (``I called Novak, Kovacs and Horvath``), not a partnership."""
    return _person_cue(text, start) or _CONTACT.search(text, max(0, start - _CUE_WINDOW), start) is not None


def _person_cue(text: str, start: int) -> bool:
    """True if a title or a cue phrase stands right before ``start`` (``Mr.``, ``my name is``)."""
    return person_cue_before(text[max(0, start - _CUE_WINDOW):start])


def _first_word(text: str, start: int, end: int) -> str:
    """The first run of letters of ``text[start:end]`` ("" if it holds none)."""
    m = LETTER_WORDS.search(text, start, end)
    return m.group() if m else ""
