"""Cues that mark one word as a person: contact, relation, authorship, speech, a record's name.

:class:`~fedflm.protect.deid_recognizers.LexiconPersonRecognizer` takes a lone capitalised word as a name
only after a naming cue (``my name is``, ``Dear``, ``patient``) or, with no cue, when it is a given name of
the lists away from a sentence start. A surname alone, or a name of no list (``Follow up with Khadzhiyev``,
``tennis player Goldberg``), was left unmasked, though the words before it say it names someone. Bank and
support text names people the same way:

* a verb of contact or meeting, with its preposition (``follow up with``, ``spoke to``, ``told``;
  not ``heard``: ``heard Jpeg cry`` on WNUT-17 dev is a dog);
* a relation or role noun right before the name (``my brother Tomas``, ``the assistant to Nielsen``,
  ``booking clerk Gerth``, ``tennis player Key``);
* a verb of authorship with ``by`` (``written by``, ``signed by``, ``referred by``);
* a quotation's speaker (``…," says Schwarz``);
* a record held under a name (``it's under McDowell``, ``booked under``) or a name changed to another
  (``change it to Mourik``, ``update my surname to``);
* the name asked for (``What's your last name? Amy``).

The recognizer still asks the word to be a name of the lists or no vocabulary word, and the firm and place
judge (:mod:`deid_organisation`) still drops what names a company or a place. Words a bank sends money to
(``sent to``, ``paid``, ``by``, ``with`` alone) are no cue here: firms stand there as often as people.
On the re-cased view of text without capitals (``follow up with dzhambek``) the word must also be no
dictionary word, since capitals say nothing there (``spoke with support``).

:func:`speaker_label` is the line-start ``Name:`` of a dialogue or chat log: a name of the lists before a
colon opens the line even when it is also a dictionary word (``Walker: "Who are you?"``); ``Note:``,
``Total:`` are no names of the lists.
"""

from __future__ import annotations

import regex as re

from fedflm.protect.deid_works import PERSON_NOUNS, RECIPIENT_VERBS

_CONTACT = (r"follow(?:ed|ing|s)?\s+up\s+with|(?:spoke|speak|speaking|talk|talked|talking|chat|chatted|meet|met"
            r"|meeting|check|checked|checking|consult|consulted)\s+(?:with|to)"
            r"|(?:speak|spoke|talk|talked|write|wrote|reply|replied|report|reported|reports|married|engaged)\s+to"
            r"|ask|asked|tell|told|thank|thanked|phone|phoned|rang|e-?mailed|texted|messaged|remind|reminded"
            r"|visit|visited|met|meet")
# deid_works' relation nouns (one list for both rules) and the roles a bank, a record or a news text names people by
_RELATION = ("|".join(sorted(PERSON_NOUNS)) + r"|spouse|nephew|niece|grand(?:son|daughter|mother|father|ma|pa)"
             r"|co-?worker|manager|fianc[eé]e?|girlfriend|boyfriend|room-?mate|flatmate|assistant|secretary|lawyer"
             r"|attorney|accountant|advis[eo]r|clerk|teller|officer|representative|player|singer|actor|actress"
             r"|author|writer|director|coach|doctor|nurse|teacher|guarantor|caretaker|agent|banker|broker|cashier"
             r"|client")
_BY = r"(?:written|sung|signed|performed|arranged|composed|directed|painted|narrated|recommended|referred)\s+by"
_SAID = r"[,.!?][\"”]\s*(?:says|said|asks|asked|adds|added|explains|explained|writes|wrote)"
_UNDER = r"(?:it's|it’s|it\s+is|is|booked|registered|listed|reserved|filed)\s+under"
_CHANGED = (r"(?:change|changed|update|updated|correct|corrected)\s+(?:it|that|this|(?:the|my|his|her)"
            r"\s+(?:last\s+|family\s+|first\s+|sur)?name)\s+to")
_ASKED = r"name\?"
_CUE = re.compile(r"(?:(?<![\w'’-])(?i:" + "|".join((_CONTACT, _BY, _UNDER, _CHANGED, _ASKED)) + r"|(?:"
                  + _RELATION + r")(?:\s+(?:to|of))?)|" + _SAID + r")[ \t]+$")
_LINE_START = re.compile(r"(?:^|\n)[ \t]*$")
_QUOTE_AFTER = re.compile(r"[ \t]*:[ \t]*[\"“]")  # a line of dialogue: Walker: "Who are you?"
_WORDS_AFTER = re.compile(r"[ \t]*:[ \t]*\p{Lu}\p{Ll}")  # a line of chat: Nielsen: Remember me


def relation_cue_before(before: str) -> bool:
    """True if ``before``, the text right before a capitalised word, ends in one of the module's cues."""
    return bool(_CUE.search(before))


# a payment's other party, in bank messages (``Please pay Tomasini``, ``sent money to Kovács``, ``the
# transfer to Tamm``): a firm stands there as often (``I sent money to Revolut``), so only a name of the
# lists counts there (the recognizer checks), never a word of no list
_PAYEE = re.compile(r"(?<![\w'’-])(?i:pay|paid|repay|repaid|(?:sent|send|sending|transfer|transferred|wire|wired)"
                    r"\s+(?:\S+\s+)?to|transfer\s+to|refund|refunded|reimburse|reimbursed)[ \t]+$")


def payee_cue_before(before: str) -> bool:
    """True if ``before`` ends in a verb of payment with its preposition (:data:`_PAYEE`)."""
    return bool(_PAYEE.search(before))


def speaker_label(text: str, start: int, end: int, ordinary: bool) -> bool:
    """True if ``text[start:end]`` opens its line before a colon and a quotation (``Walker: "Who are
    you?"``) or, for a word that is no dictionary word (``ordinary`` False), a capitalised word
    (``Nielsen: Remember me``); a form's field (``Date: 21 August``, ``Note: see``) is none."""
    if not _LINE_START.search(text, max(0, start - 40), start):
        return False
    return bool(_QUOTE_AFTER.match(text, end) or not ordinary and _WORDS_AFTER.match(text, end))


# deid_works' verbs whose first object is a person, and more of them
_RECIPIENT_BEFORE = re.compile(r"(?<![\w'’-])(?i:" + "|".join(sorted(RECIPIENT_VERBS)) + r"|given|giving|showed|shown"
                               r"|show|promised|handed)[ \t]+$")
_OWNED_AFTER = re.compile(r"[ \t]+(?:his|her|my|your|their|our)(?![\w'’])")
_PERSONAL = re.compile(r"['’]s[ \t]+(?i:address|phone|number|e-?mail|account|card|details|birthday|signature|wife"
                       r"|husband|partner|daughter|son|mother|father|mom|mum|dad|brother|sister|family|friend|boss"
                       r"|house|flat|home|song|songs|book|books|poem|poems|novel|novels|letter|letters)(?![\w'’-])")


def recipient(text: str, start: int, end: int) -> bool:
    """True if ``text[start:end]`` stands between a verb of giving and a possessive determiner, the person
    given something (``had given Éva his address``, ``I owe Koppány my thanks``)."""
    return bool(_RECIPIENT_BEFORE.search(text, max(0, start - 20), start)) and bool(_OWNED_AFTER.match(text, end))


def owner_of_personal(text: str, end: int) -> bool:
    """True if a possessive at ``end`` owns what only a person has or writes (``here's Vsevolod's
    address``, ``Baader's song``, ``Tomas's wife``), not a firm's goods (``Revolut's app``)."""
    return bool(_PERSONAL.match(text, end))
