"""Company names by legal-form tail, firm word or surname list (fedflm.protect.deid_company)."""

from __future__ import annotations

import pytest

from fedflm.protect.deid import Deidentifier
from fedflm.protect.deid_case import lower, upper
from fedflm.protect.deid_company import (before_premises, cued_surname_list, has_company_head, has_company_tail,
                                        in_surname_list)
from fedflm.protect.deid_context import lone_double_surname
from fedflm.protect.deid_organisation import contact_cue

from deid_support import persons


@pytest.mark.parametrize("text,name,cased,expected", [
    ("Why is there a payment to Johansen A/S here?", "Johansen A/S", True, True),        # tail in the span
    ("Why is there a payment to Johansen A/S here?", "Johansen", True, True),            # tail after it
    ("a letter from konečný a.s. about my loan", "konečný", False, True),                # dotted, any case
    ("The merchant Pianka Sp.j. declined my card.", "Pianka", True, True),
    ("The merchant Thomsen & Kjeldsen ApS declined it.", "Thomsen", True, True),         # "&" walk
    ("the refund from paolini, geraci e agnesi s.r.l. is late", "paolini, geraci", False, True),  # A, B e C
    ("Payment to Peltonen Ky failed.", "Peltonen", True, True),                          # short: as written
    ("payment to peltonen ky failed.", "peltonen", False, False),                        # ... not lower case
    ("send it to maria as well", "maria", False, False),                                 # "as" is no "AS"
    ("SEND IT TO MARIA AS WELL", "MARIA", False, False),
    ("Regards, Anna Berg, Acme GmbH", "Anna Berg", True, False),                         # comma only: signature
    ("Anna Berg and Acme GmbH called", "Anna Berg", True, False),                        # "and" without comma
    ("john smith from acme ltd called", "john smith", False, False),                     # "from" stops the walk
])
def test_has_company_tail(text: str, name: str, cased: bool, expected: bool) -> None:
    # Prepare
    start = text.index(name)
    # Execute / Assert
    assert has_company_tail(text, start, start + len(name), cased) is expected


@pytest.mark.parametrize("text,name,surnames,expected", [
    ("a payment to gustafsson ab failed", "gustafsson", True, True),       # lone surnames: short tail counts
    ("A PAYMENT TO HERNANDEZ GROUP FAILED", "HERNANDEZ", True, True),
    ("a payment to gustafsson ab failed", "gustafsson", False, False),     # not known as surnames only
    ("send it to garcia as well", "garcia", True, False),                  # "as", "me": English words
])
def test_short_tails_after_lone_surnames_in_any_case(text: str, name: str, surnames: bool, expected: bool) -> None:
    # Prepare
    start = text.index(name)
    # Execute / Assert
    assert has_company_tail(text, start, start + len(name), False, surnames) is expected


@pytest.mark.parametrize("text,name,expected", [
    ("I got a letter from Spółdzielnia Pęksa today.", "Spółdzielnia Pęksa", True),   # head in the span
    ("I got a letter from Laboratorios Reynoso today.", "Reynoso", True),            # head before it
    ("i got a letter from grupo alvarez today", "alvarez", True),                     # any case
    ("Holding Anna Berg by the hand, we walked", "Anna Berg", False),                # English word: no head
    ("I got a letter from Grupo today.", "Grupo", False),                              # the head alone
])
def test_has_company_head(text: str, name: str, expected: bool) -> None:
    # Prepare
    start = text.index(name)
    # Execute / Assert
    assert has_company_head(text, start, start + len(name)) is expected


SURNAMES = {"hawkins", "richardson", "santana", "dunn", "sampson", "nunez", "smith", "baker", "cook", "lena", "murdoch",
            "harris", "burton", "jones", "mitchell", "williams", "owens", "duran", "oneal", "clark", "romero", "hall"}
GIVEN_ONLY = {"anna", "lena", "ola"}


@pytest.mark.parametrize("text,name,cased,expected", [
    ("Tomomi is from Hawkins, Richardson and Santana", "Santana", True, True),
    ("Tomomi is from Hawkins, Richardson and Santana", "Hawkins, Richardson", True, True),
    ("a payment to dunn, sampson and nunez failed", "dunn, sampson", False, True),
    ("a payment to murdoch, harris and burton failed", "burton", False, True),          # one English word

    ("I met Anna, Lena and Ola at the bank", "Anna", True, False),                       # given names
    ("i met smith, baker and cook there", "smith", False, False),                        # English words
    ("Hawkins, Richardson, Dunn and Santana", "Santana", True, False),                   # four: not the shape
    ("Tomomi is from Hawkins, Richardson and Santana", "Tomomi", True, False),           # outside the list
    ("During 2017, Jones, Mitchell and Williams invested", "Williams", True, True),     # a date and comma before
    ("During Sunday, Hawkins, Richardson and Santana invested", "Santana", True, True),  # a weekday before
    ("Smith, Hawkins, Richardson and Santana", "Santana", True, False),                 # a surname before: four
    ("Hawkins, Richardson and Santana, which later became Acme", "Santana", True, True),  # a comma after
    ("Hawkins, Richardson and Santana, and Dunn called", "Santana", True, False),        # ", and": four names
    ("The owens, duran and oneal office is at 5 Main St", "owens, duran", True, True),   # lower case in cased text
    ("The Clark, Romero and Hall office is at 5 Main St", "The Clark", True, True),      # "The" opens the span
])
def test_in_surname_list(text: str, name: str, cased: bool, expected: bool) -> None:
    # Prepare
    start = text.index(name)
    # Execute
    found = in_surname_list(text, start, start + len(name), cased, lambda w: w.lower() in SURNAMES,
                            lambda w: w.lower() in GIVEN_ONLY)
    # Assert
    assert found is expected


@pytest.mark.parametrize("text,name,cased,expected", [
    ("During 1998, Gallogly-McPartland invested", "Gallogly-McPartland", True, True),    # a Mc-name
    ("payment to williams-morton failed", "williams-morton", False, True),               # lower case
    ("i spoke with anna williams-morton today", "williams-morton", False, False),        # given name before
    ("Ms. Williams-Morton called", "Williams-Morton", True, False),                      # title before
    ("I spoke with Anna-Lena today.", "Anna-Lena", True, False),                         # double given name
])
def test_lone_double_surname_any_case(text: str, name: str, cased: bool, expected: bool) -> None:
    # Prepare
    start = text.index(name)
    # Execute
    found = lone_double_surname(text, start, start + len(name), frozenset({"ms", "mr"}),
                                lambda w: w.lower() in GIVEN_ONLY, cased, lambda w: w.lower() in GIVEN_ONLY)
    # Assert
    assert found is expected


@pytest.mark.parametrize("case", [str, lower, upper])
@pytest.mark.parametrize("text", [
    "Why is there a payment to Johansen A/S on my statement?",
    "The merchant Thomsen & Kjeldsen ApS declined my card.",
    "I got a letter from Spółdzielnia Pęksa about my loan.",
    "The refund from Paolini, Geraci e Agnesi s.r.l. has not arrived yet.",
])
def test_companies_stay(deid: Deidentifier, case, text: str) -> None:
    # Execute / Assert
    assert deid.redact(case(text))[0] == case(text)


@pytest.mark.parametrize("text,expected", [
    ("Maria Garcia is from Hawkins, Richardson and Santana",
     "<PERSON> is from Hawkins, Richardson and Santana"),
    ("john smith from acme ltd called me", "<PERSON> from acme ltd called me"),              # no recall loss
    ("My name is Anna Lopez, I work for Kowalski Sp. z o.o.", "My name is <PERSON>, I work for Kowalski Sp. z o.o."),
    ("i spoke with anna williams-morton today", "i spoke with <PERSON> today"),
])
def test_people_next_to_companies(deid: Deidentifier, text: str, expected: str) -> None:
    # Execute / Assert
    assert deid.redact(text)[0] == expected


@pytest.mark.parametrize("text,found", [
    ("Please pay Demirel, Mikulák and Senková today.", ["Demirel", "Mikulák", "Senková"]),  # a payment verb
    ("Dear Devos, Nuyts and Pirson, my card is blocked.", ["Devos", "Nuyts", "Pirson"]),    # a person cue
    ("Payment to Demirel, Mikulák and Senková failed.", []),                               # no cue: maybe a firm
    ("I paid Visa, Mastercard and Amex.", []),                                            # English words
    ("please pay demirel, mikulák and senková today.", []),                               # no capitals: other rules
])
def test_cued_surname_list(text: str, found: list[str]) -> None:
    # Execute
    spans = cued_surname_list(text, any(c.isupper() for c in text), contact_cue)
    # Assert
    assert [text[s:e] for s, e in spans] == found


@pytest.mark.parametrize("text", ["Please pay Demirel, Mikulák and Senková today.",
                                  "Please pay Killilea, Knoers and Macháčková today."])
def test_cued_surname_list_is_masked(deid, text: str) -> None:
    # Execute
    red = deid.redact(text)[0]
    # Assert
    assert red.count("<PERSON>") >= 1 and not any(w in red for w in text.split()[2:5]), red


@pytest.mark.parametrize("text", [
    "During 2017, Jones, Mitchell and Williams invested heavily in new designs.",
    "During Tuesday, owens, duran and oneal invested heavily in new designs.",
    "The owens, duran and oneal office is at Suite 967",
    "The Clark, Romero and Hall office is at Suite 967",
])
def test_surname_list_firms_are_not_people(deid: Deidentifier, text: str) -> None:
    # Execute / Assert
    assert persons(deid, text) == []


@pytest.mark.parametrize("text,names", [
    ("I called owens, duran and oneal about the refund.", ["owens", "duran", "oneal"]),   # a contact cue
    ("Dear Jones, Mitchell and Williams, my card is blocked.", ["Jones", "Mitchell", "Williams"]),
    ("Please pay Hawkins, Richardson and Santana today.", ["Hawkins", "Richardson", "Santana"]),
])
def test_cued_surname_lists_stay_people(deid: Deidentifier, text: str, names: list[str]) -> None:
    # Execute
    red = deid.redact(text)[0]
    # Assert
    assert not [n for n in names if n in red], red


@pytest.mark.parametrize("text,name,expected", [
    ("The Golden Helix office is at 704 Redbud Drive", "Golden Helix", True),
    ("The American Red Ball Movers office is at PSC 0729", "The American Red Ball Movers", True),  # "The" in it
    ("the t rowe price office is at uss mahler", "t rowe price", True),
    ("Please check the Smith account.", "Smith", False),           # no premises noun
    ("I went to Maria Lopez office hours", "Maria Lopez", False),  # no "the" before it
    ("I visited the Smith family home.", "Smith", False),
])
def test_before_premises(text: str, name: str, expected: bool) -> None:
    # Prepare
    start = text.index(name)
    # Execute / Assert
    assert before_premises(text, start, start + len(name)) is expected


@pytest.mark.parametrize("text,kept", [
    ("The Golden Helix office is at Suite 967", []),                             # a firm's office
    ("Please check the Smith account.", ["Smith"]),                              # a person's account
    ("The Maria Lopez office called me.", ["Maria Lopez"]),                      # a given name first
    ("I paid Maria at the Golden Helix office.", ["Maria"]),
])
def test_premises_after_the_name_a_firm(deid: Deidentifier, text: str, kept: list[str]) -> None:
    # Execute / Assert
    assert persons(deid, text) == kept
