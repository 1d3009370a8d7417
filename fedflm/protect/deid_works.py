"""Name-like words that are the title of a work or a borrowed foreign phrase, not a person.

Reviews and casual text written all in lower case name films and books in quotation marks
(``to see `` simone , '' and``, ``the basic plot of `` lilo ''``) and borrow foreign phrases
(``his usual modus operandi``, ``a nagging sense of deja vu``, ``sturm und drung``) whose words the
name lists hold or the re-cased view takes for an unknown name. Written with capitals, a title is
capitalised word by word and :func:`deid_context.reads_as_title` judges it; in lower-case text
there are no capitals to go by, but the quotation marks and the phrase remain.

* :func:`quoted_title`: a span that lies wholly inside a short double quotation (`` ... '',
  "...", “...”; at most :data:`MAX_TITLE_WORDS` words between the marks) in text without
  capitals is a title, unless the quotation reads as speech or chat (a personal pronoun, a form of
  ``be``, ``! ? . :`` or ``@``: ``"i'm roberto's daughter"``, ``" and here comes defrozen ! "``,
  ``" buhari is a formidable opponent ."``) or the span is a possessive
  (``" tyler ' s waffles "``: a product named after someone), or the quotation holds a full name
  (two or more words, all of the name lists: ``pay "maria lopez" today``), or a naming word stands
  right before it (:data:`NAMING_WORDS`: ``the beneficiary "john smith"``, ``sent to "kovacs"``): a
  privacy tool errs toward masking a name written in quotes. Only double quotes: single ones also
  quote people's names as words (`` ` chris rock , ' ` anthony hopkins ' ``), and apostrophes would
  open false quotations.
* :func:`in_loan_phrase`: a span inside one of :data:`LOAN_PHRASES` or :data:`EPONYM_NOUNS` (``petri dish``)
  is no name, in any case.
* :func:`numbered_title`: a span followed by a small number and then a verb opens a clause as a
  numbered work (``apollo 13 was released``, ``stuart little 2 is``); a person written with a number
  after it is paid or sent that amount (``pay maria 50 today``), with no verb after the number.

Measured on SST-2 *train* (simulations/tune_deid.py --dump, hand-labelled; issue-18b notes).
"""

from __future__ import annotations

from collections.abc import Callable

import regex as re

#: most words a quotation may hold and still be read as a title (``saving private ryan``,
#: ``austin powers in goldmember``); quoted speech runs longer
MAX_TITLE_WORDS = 6
_QUOTE = re.compile(r"(?:``|\"|“)([^`\"“”\n]*?)(?:''|\"|”)")
_WORDS = re.compile(r"[^\W\d_]+")
_SPEECH = re.compile(r"[!?.:@]|(?<![\w'’])(?:i|i'm|im|me|my|mine|we|us|our|you|your|he|she|him|his|her|they|them"
                     r"|their|is|are|was|were|am)(?![\w'’])", re.IGNORECASE)
#: words that, right before a quotation, say it names someone (payment and contact words of bank and
#: support messages; hand list): the quotation is then a name, never a title
NAMING_WORDS = frozenset("to from pay paid payee beneficiary holder name named recipient sender contact "
                         "dear signed by for account customer client patient".split())
_WORD_BEFORE = re.compile(r"([^\W\d_]+)[\s:,]*$")
#: people a message names by their relation to the writer (hand list): ``my friend "atila rüütel"``
PERSON_NOUNS = frozenset("friend brother sister mother father mom mum dad son daughter wife husband partner "
                         "colleague boss landlord landlady tenant neighbour neighbor cousin uncle aunt".split())
#: verbs whose first object is a person (hand list): ``i gave pătru špišić stadium tickets``
RECIPIENT_VERBS = frozenset("gave give gives lent lend lends owe owes owed".split())
_NAME_AFTER = re.compile(r"\s+(?:is|was)\s+(?:the|my|his|her|our|their)\s+(?:name|payee|beneficiary|recipient)\b",
                         re.IGNORECASE)
_POSSESSIVE_AFTER = re.compile(r"\s?['’]\s?s(?!\w)", re.IGNORECASE)

#: foreign phrases English uses as words whose parts the name lists hold or no dictionary does
#: (``modus``, ``operandi``, ``deja``, ``raison``, ``und``): a short hand list of phrases printed in
#: English dictionaries (Latin, French, German); accents optional, ``sturm und dr(a|u)ng`` as misspelt
LOAN_PHRASES = (
    r"modus operandi", r"modus vivendi", r"raison d['’ ]?[eê]tre", r"d[eé]j[aà] vu", r"sturm und dr[au]ng",
    r"joie de vivre", r"tour de force", r"coup de gr[aâ]ce", r"cause c[eé]l[eè]bre", r"enfant terrible",
    r"fin de si[eè]cle", r"mise[ -]en[ -]sc[eè]ne", r"cin[eé]ma v[eé]rit[eé]", r"nouvelle vague",
    r"belle [eé]poque", r"deus ex machina", r"magnum opus", r"persona non grata", r"alter ego",
    r"film noir", r"femme fatale", r"pi[eè]ce de r[eé]sistance", r"bon vivant", r"savoir[ -]faire",
    r"id[eé]e fixe", r"zeitgeist", r"doppelg[aä]nger", r"wunderkind", r"schadenfreude",
    # session 24: common loans whose words the name lists hold (bona, garde, blanche, vita, sera) or that the
    # web2 dictionary lacks (mazel tov); from a general list of English loan phrases, not from one text
    r"bona fides?", r"mazel tov", r"avant[ -]garde", r"carte blanche", r"dolce vita", r"que sera,? sera",
    r"noblesse oblige", r"hoi polloi", r"tabula rasa", r"carpe diem", r"mea culpa", r"b[eê]te noire",
    r"nom de (?:plume|guerre)", r"laissez[ -]faire", r"faux pas", r"de rigueur", r"ad nauseam", r"quid pro quo",
    r"non sequitur", r"esprit de corps", r"je ne sais quoi", r"c['’]est la vie", r"hors d['’ ]?(?:oe|œ)uvres?",
    r"cosa nostra", r"prima donnas?", r"sotto voce", r"al fresco", r"al dente", r"dolce far niente",
    r"hasta la vista", r"mano a mano", r"vox populi", r"bons? mots?", r"bon voyage", r"coup d['’ ]?[eé]tat",
    # session 25 (an SST-2 train check sample: ``the acres of haute couture``)
    r"haute couture", r"haute cuisine", r"nouveaux? riches?", r"art nouveau", r"art d[eé]co", r"cordon bleu",
    r"petit[ -]bourgeois", r"cr[eè]me de la cr[eè]me", r"objets? d['’ ]?art", r"trompe[ -]l['’ ]?(?:oe|œ)il",
)
#: common nouns named after a person: the name-list word before the noun head is no person in any case
#: (``as deep as a petri dish``: an SST-2 train check sample; the rest from general knowledge, hand list)
EPONYM_NOUNS = (
    r"petri dish(?:es)?", r"bunsen burners?", r"caesar salads?", r"ferris wheels?", r"molotov cocktails?",
    r"venn diagrams?", r"rubik['’]?s cubes?", r"graham crackers?", r"geiger counters?", r"richter scale",
    r"morse code", r"salisbury steaks?", r"eggs benedict", r"beef wellington", r"cobb salads?",
    r"achilles['’]? heel", r"pandora['’]?s box", r"murphy['’]?s law", r"occam['’]?s razor",
)
_LOAN = re.compile(r"(?<![\w'’])(?:" + "|".join(p.replace(" ", r"\s+") for p in LOAN_PHRASES + EPONYM_NOUNS)
                   + r")(?![\w'’])", re.IGNORECASE)


def quoted_title(text: str, start: int, end: int, is_name: Callable[[str], bool]) -> bool:
    """True if ``text[start:end]`` lies inside a double quotation of at most :data:`MAX_TITLE_WORDS`
    words that reads as no speech, holds no full name (by ``is_name``, the name lists), follows no
    naming word or person noun (before the quotation or, inside it, before the span: ``my friend
    "atila rüütel"``, ``"refund to seaborn aden"``), is not followed by ``is the name``, and is no
    possessive (the caller asks only for text without capitals)."""
    for m in _QUOTE.finditer(text):
        if m.start(1) <= start and end <= m.end(1):
            words = _WORDS.findall(m.group(1))
            return (len(words) <= MAX_TITLE_WORDS and not _SPEECH.search(m.group(1))
                    and not (len(words) > 1 and all(is_name(w.lower()) for w in words))
                    and not named_before(text, m.start()) and not named_before(text, start, m.start(1))
                    and not _NAME_AFTER.match(text, m.end()) and not _POSSESSIVE_AFTER.match(text, end))
        if m.start() > end:
            break
    return False


def named_before(text: str, pos: int, floor: int = 0, recipients: bool = False) -> bool:
    """True if the word right before ``pos`` (after ``floor``) is one of :data:`NAMING_WORDS` or
    :data:`PERSON_NOUNS` (``pay``, ``refund to``, ``my friend``), or with ``recipients`` of
    :data:`RECIPIENT_VERBS` (``i gave``: before a venue noun only; ``I gave "Hamlet" five stars`` is a title)."""
    m = _WORD_BEFORE.search(text, max(floor, pos - 40), pos)
    words = NAMING_WORDS | PERSON_NOUNS | (RECIPIENT_VERBS if recipients else frozenset())
    return bool(m) and m.group(1).lower() in words


def in_loan_phrase(text: str, start: int, end: int) -> bool:
    """True if ``text[start:end]`` lies inside a borrowed foreign phrase (:data:`LOAN_PHRASES`) or a common
    noun named after a person (:data:`EPONYM_NOUNS`)."""
    return any(m.start() <= start and end <= m.end() for m in _LOAN.finditer(text))


_NUMBERED = re.compile(r"[ \t]+(?:\d{1,3}|ii|iii|iv)[ \t]+(?:is|was|are|were|has|had|will|would|could|can|does|did"
                       r"|gets|got|makes|made|may|might|should|seems|looks|feels|plays|comes|goes)(?![\w'’-])",
                       re.IGNORECASE)


def numbered_title(text: str, start: int, end: int) -> bool:
    """True if ``text[start:end]`` is followed by a work's number (1-3 digits, ii-iv) and a verb."""
    return bool(_NUMBERED.match(text, end))
