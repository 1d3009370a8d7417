"""Titles of works and borrowed foreign phrases (fedflm.protect.deid_works): left alone in lower-case
reviews, while a name in quoted speech, a possessive in quotes and names outside quotes stay masked."""

from __future__ import annotations

import pytest

from fedflm.protect.deid import Deidentifier
from fedflm.protect.deid_lexicon import build_lexicon
from fedflm.protect.deid_works import in_loan_phrase, numbered_title, quoted_title

from deid_support import persons


@pytest.mark.parametrize("text,word,expected", [
    ("to see `` simone , '' and consider a dvd rental instead", "simone", True),
    ("war scenes since `` saving private ryan '' .", "ryan", True),
    ("the basic plot of `` lilo '' could have been pulled", "lilo", True),
    ('tracy: "i\'m roberto\'s daughter".', "roberto", False),        # speech: a pronoun
    ('marv albert voice , " and here comes defrozen ! "', "defrozen", False),  # speech: "!"
    ('david mark confesses , " buhari is a formidable opponent .":', "buhari", False),  # speech: a verb
    ("they are no \" tyler ' s waffles \" waffles .", "tyler", False),  # a possessive: named after someone
    ("`` one two three four five six seven simone ''", "simone", False),  # too long for a title
    ("i saw simone yesterday", "simone", False),                     # no quotation at all
    ('pay "maria lopez" today please', "maria lopez", False),        # a full name of the name lists
    ('the beneficiary "kovacs" did not get it', "kovacs", False),    # a naming word before the quote
    ('i sent it to " simone " yesterday', "simone", False),          # "to" names a recipient
])
def test_quoted_title(text: str, word: str, expected: bool) -> None:
    # Prepare
    start = text.index(word)
    # Execute / Assert
    assert quoted_title(text, start, start + len(word), build_lexicon().is_name) is expected


@pytest.mark.parametrize("text,span,expected", [
    ("uses his usual modus operandi of crucifixion", "modus operandi", True),
    ("a nagging sense of deja vu", "deja", True),
    ("plenty of sturm und drung , but", "sturm und", True),          # as misspelt in a review
    ("kicking around a raison d'etre that", "raison d'etre", True),
    ("a review by modus smith", "modus smith", False),
    ("too many bona fide groaners", "bona", True),
    ("mazel tov to a film about a family", "mazel tov", True),
    ("the avant garde director of broadway", "garde", True),
    ("gave the director carte blanche", "blanche", True),
    ("mixes the cornpone and the cosa nostra , it finds", "cosa nostra", True),
    ("i paid bona smith yesterday", "bona", False),                 # no phrase: a surname
    ("the acres of haute couture ca n't quite conceal", "haute couture", True),
    ("as deep as a petri dish and as", "petri", True),               # a noun named after a person
    ("I paid Anna Petri yesterday", "Petri", False),                # no noun after it: a surname
])
def test_in_loan_phrase(text: str, span: str, expected: bool) -> None:
    # Prepare
    start = text.index(span)
    # Execute / Assert
    assert in_loan_phrase(text, start, start + len(span)) is expected


@pytest.mark.parametrize("text,span,expected", [
    ("when i heard that apollo 13 was going to be released", "apollo", True),
    ("the color sense of stuart little 2 is its pleasure", "stuart little", True),
    ("please pay maria 50 today", "maria", False),                  # an amount: no verb after it
    ("send john 20 euros", "john", False),
    ("apollo 13 , the film", "apollo", False),
])
def test_numbered_title(text: str, span: str, expected: bool) -> None:
    # Prepare
    start = text.index(span)
    # Execute / Assert
    assert numbered_title(text, start, start + len(span)) is expected


@pytest.mark.parametrize("text", [
    "might want to take a reality check before you pay the full ticket price to see `` simone , '' and "
    "consider a dvd rental instead",
    "a wishy-washy melodramatic movie that shows us plenty of sturm und drung , but explains little",
    "steven uses his usual modus operandi of crucifixion through juxtaposition .",
    "a nagging sense of deja vu",
    "the pacing is often way off and there are too many bona fide groaners among too few laughs .",
    "could i have been more geeked when i heard that apollo 13 was going to be released in imax format",
])
def test_titles_and_phrases_are_left_alone(deid: Deidentifier, text: str) -> None:
    # Execute / Assert
    assert persons(deid, text) == []


@pytest.mark.parametrize("text,name", [
    ("the basic plot of `` lilo '' could have been pulled from a vintage shirley temple script",
     "shirley temple"),                                             # outside the quotes: still a name
    ('mika: "who are you?" tracy:"i\'m roberto\'s daughter".', "roberto"),
    ("it was written by michael moore , not by anyone else", "michael moore"),
    ('pay "maria lopez" today please', "maria lopez"),
    ('the beneficiary "john smith" did not get it', "john smith"),
    ("i paid bona smith yesterday", "bona smith"),
])
def test_names_outside_titles_stay_masked(deid: Deidentifier, text: str, name: str) -> None:
    # Execute / Assert
    assert name in persons(deid, text)


@pytest.mark.parametrize("text,name", [
    ("please pay maria lopez 50 today", "maria lopez"),            # an amount after the name: no verb
    ("I sent Maria 50 today", "Maria"),
])
def test_a_name_before_an_amount_stays_masked(deid: Deidentifier, text: str, name: str) -> None:
    # Prepare
    start = text.index(name)
    # Execute
    spans = deid.analyze(text)
    # Assert
    assert any(sp.start <= start and start + len(name) <= sp.end for sp in spans)
