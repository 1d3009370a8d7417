"""Places and firms that are also names: left alone where they name a place or a firm, masked where a
person cue says they name a person (fedflm.protect.deid_places, the firm cues of deid_context)."""

from __future__ import annotations

import pytest

from fedflm.protect.deid import Deidentifier
from fedflm.protect.deid_case import lower, upper
from fedflm.protect.deid_context import firm_cue
from fedflm.protect.deid_lexicon import HELDOUT_LOCALES, build_lexicon
from fedflm.protect.deid_places import (_TOWN_LISTS, _locales, _provider_lists, generated_city, names_a_place,
                                        regions, towns)

from deid_support import persons


@pytest.mark.parametrize("span,expected", [
    ("Salamanca", True),            # a Spanish province; in the lexicon only as a surname
    ("SALAMANCA", True),
    ("San Bernardino", True),       # a town of two words ("Bernardino" is a given name, "San" is not)
    ("naantali", True),             # a one-word town that is no name
    ("Montreal", True),             # a real city: a time-zone city of Faker's date-time provider
    ("Addis Ababa", True),          # a capital
    ("Manila", False),              # a capital that is also a known name: stays a person
    ("Victoria", False),            # a state, but a given name first
    ("Roth", False),                # a one-word town that is a surname: stays a person
    ("Maria Lopez", False),
    ("Li", False),                  # too short to be sure
    ("Villafranca del Cid", True),  # an unknown word, a Romance particle and more
    ("Andrea del Sarto", False),    # ... after a given name: a person
    ("Bremen Ohlenhof", True),      # a region and an unknown word: a district
    ("Bremen Smith", False),        # ... a known surname after it stays a person
])
def test_names_a_place(span: str, expected: bool) -> None:
    # Prepare
    lex = build_lexicon()
    # Execute / Assert
    assert names_a_place(span, lex.is_first, lex.is_name) is expected


def test_gazetteer_holds_no_held_out_locale() -> None:
    # Prepare: towns listed only by the held-out locales (the evaluation's own places)
    training = set().union(*(_provider_lists(loc, _TOWN_LISTS) for loc in _locales()))
    held_only = set().union(*(_provider_lists(loc, _TOWN_LISTS) for loc in HELDOUT_LOCALES)) - training
    # Execute / Assert
    assert not set(_locales()) & set(HELDOUT_LOCALES)
    assert held_only, "the held-out locales list towns of their own"
    assert not held_only & towns()
    assert "salamanca" in regions() and "naantali" in towns()


@pytest.mark.parametrize("case", [str, lower, upper])
@pytest.mark.parametrize("text", [
    "the branch in San Bernardino is closed",
    "We drove through Grumello del Monte on Sunday.",
    "Salamanca called about the loan",
    "I work for Wolters Kluwer",
    "Johnson and Sons sent the invoice",
    "Rossi e Figli shipped the order",
    "Invoice from Weber & Söhne attached",
])
def test_places_and_firms_that_are_also_names_are_left_alone(deid: Deidentifier, case, text: str) -> None:
    # Execute
    out, counts = deid.redact(case(text))
    # Assert
    assert out == case(text) and not counts


@pytest.mark.parametrize("case", [str, lower, upper])
@pytest.mark.parametrize("text,expected", [
    ("Mr. Salamanca called about the loan", "Mr. <PERSON> called about the loan"),
    ("My name is Naantali", "My name is <PERSON>"),
    ("Dear Mr. Bernardino, thanks", "Dear Mr. <PERSON>, thanks"),
    ("I work for Maria Garcia", "I work for <PERSON>"),           # a given name first: an employer who is a person
    ("I work for Mr. Lindqvist", "I work for Mr. <PERSON>"),
    ("Ana Lutz and Sons sent the invoice", "<PERSON> and Sons sent the invoice"),
    ("Mr. Johnson and Sons sent the invoice", "Mr. <PERSON> and Sons sent the invoice"),
    ("Hi Virginia, your card is ready", "Hi <PERSON>, your card is ready"),  # a state, but a given name
])
def test_the_same_words_with_a_person_cue_are_masked(deid: Deidentifier, case, text: str, expected: str) -> None:
    # Prepare
    want = case(expected).replace("<person>", "<PERSON>")
    # Execute / Assert
    assert deid.redact(case(text))[0] == want


@pytest.mark.parametrize("text,name,expected", [
    ("I work for Wolters Kluwer", "Wolters Kluwer", True),
    ("She used to work for Brennan Holloway", "Brennan Holloway", True),
    ("He was employed by Tarvo Quellin", "Tarvo Quellin", True),
    ("Johnson and Sons sent the invoice", "Johnson", True),
    ("Rossi e Figli shipped it", "Rossi e Figli", True),          # the tail inside the span
    ("i visited johnson and sons", "johnson", False),             # lower-case "sons": his children
    ("I work with Wolters every day", "Wolters", False),
])
def test_firm_cue_for_employers_and_family_firms(text: str, name: str, expected: bool) -> None:
    # Prepare
    start = text.index(name)
    # Execute / Assert
    assert firm_cue(text, start, start + len(name)) is expected


@pytest.mark.parametrize("case", [str, lower, upper])
@pytest.mark.parametrize("text", [
    "Payment to Hartmann Lindqvist KGaA is late",
    "Invoice from Oliveira Santos Ltda attached",
])
def test_legal_forms_of_other_countries_name_firms(deid: Deidentifier, case, text: str) -> None:
    # Execute
    out, counts = deid.redact(case(text))
    # Assert
    assert out == case(text) and not counts


@pytest.mark.parametrize("case", [str, lower, upper])
def test_a_person_running_on_into_a_firm_keeps_the_person_masked(deid: Deidentifier, case) -> None:
    # Prepare: the model reads "Bjørg Knutsen from Bauwens" as one name; "Inc" makes it a firm
    text = case("Bjørg Knutsen from Bauwens Inc called me about the loan")
    # Execute
    out, counts = deid.redact(text)
    # Assert: the firm is what follows "from"; the person before it stays masked
    assert out == "<PERSON>" + text[len("Bjørg Knutsen"):]
    assert counts == {"PERSON": 1}


@pytest.mark.parametrize("span,expected", [
    ("san diego", True), ("Los Angeles", True), ("fort worth", True),   # a place prefix first
    ("miami beach", True),                                              # a place's noun last
    ("john beach", False),                                              # a given name first: a person
    ("santa", False),                                                   # one word: no prefix rule
])
def test_place_prefixes_and_heads(span: str, expected: bool) -> None:
    # Prepare
    lex = build_lexicon()
    # Execute / Assert
    assert names_a_place(span, lex.is_first, lex.is_name) is expected


@pytest.mark.parametrize("text", [
    "does n't tell you anything except that the chelsea hotel today is populated by whiny artistes .",
    "that begins with the everyday lives of naval personnel in san diego and ends with scenes so true",
    # a venue whose first word is a name-list word, owning what follows (session 24; masked before)
    "as the voice-over hero in columbia pictures ' perverse idea of an animated holiday movie",
])
def test_places_and_venues_in_lower_case_reviews(deid: Deidentifier, text: str) -> None:
    # Execute / Assert
    assert persons(deid, text) == []


@pytest.mark.parametrize("text,name", [
    ("nicolas cage checked into the hotel late", "nicolas cage"),       # the noun not right after the name
    ("we met john beach at the airport", "john beach"),                 # "beach" after a given name: a surname
    ("i'm moving in with santiago lopez next week", "santiago lopez"),
    # a person followed by a venue's noun as an object: no "the", no capitalised head, name-list words
    ("I sent John pictures of the receipt", "John"),
    ("I sent Maria Lopez pictures of the receipt", "Maria Lopez"),
    ("i sent maria lopez pictures of the receipt", "maria lopez"),
])
def test_persons_near_place_words_stay_masked(deid: Deidentifier, text: str, name: str) -> None:
    # Execute / Assert
    assert name in persons(deid, text)


NAMES = {"jessica", "pearson", "martyn", "nadia", "anna", "hill", "jacques", "melville", "héctor"}
SURNAMES = {"pearson", "hill", "melville"}


@pytest.mark.parametrize("text,name,cased,expected", [
    ("My card was declined in Pearsonborough.", "Pearsonborough", True, True),   # name + glued ending
    ("my card was declined in jacquesmouth.", "jacquesmouth", False, True),      # any case
    ("I spoke with Melville today.", "Melville", True, False),                   # itself a known name
    ("Is there a branch in Nadia Ville?", "Nadia Ville", True, True),            # separate suffix
    ("Is there a branch in San Héctor los bajos?", "San Héctor", True, True),    # several words after it
    ("I spoke with Anna Hill today.", "Anna Hill", True, False),                 # the suffix is a surname
    ("Is there a branch in East Jessica?", "East Jessica", True, True),          # prefix, text with capitals
    ("I am travelling to Port Martyn next month.", "Martyn", True, True),        # prefix right before it
    ("is there a branch in east jessica?", "jessica", False, False),             # lower case: "east" is a word
])
def test_generated_city(text: str, name: str, cased: bool, expected: bool) -> None:
    # Prepare
    start = text.index(name)
    # Execute
    found = generated_city(text, start, start + len(name), cased, lambda w: w.lower() in NAMES,
                           lambda w: w.lower() in {"east", "hill", "north"}, lambda w: w.lower() in SURNAMES)
    # Assert
    assert found is expected


def test_gazetteer_reads_code_and_name_pairs() -> None:
    # Execute
    found = regions()
    # Assert: de_CH cantons and pt_BR estados are (code, name) pairs
    assert {"appenzell innerrhoden", "rio grande do sul", "são paulo"} <= found
    assert "ai" not in found and "sp" not in found


@pytest.mark.parametrize("case", [str, lower, upper])
@pytest.mark.parametrize("text", [
    "My card was declined in Jacquesmouth.",
    "Payments to Appenzell Innerrhoden are blocked, why?",
    "The transfer from Rio Grande do Sul is still pending.",
])
def test_faker_cities_and_states_are_left_alone(deid: Deidentifier, case, text: str) -> None:
    # Execute / Assert
    assert deid.redact(case(text))[0] == case(text)


@pytest.mark.parametrize("text,expected", [
    ("Is there a branch in East Jessica?", "Is there a branch in East Jessica?"),
    ("Mr. Pearsonborough called about the refund.", "Mr. <PERSON> called about the refund."),  # a person cue
    ("I spoke with Maria Garcia in Port Martyn.", "I spoke with <PERSON> in Port Martyn."),
])
def test_faker_city_shapes_in_text_with_capitals(deid: Deidentifier, text: str, expected: str) -> None:
    # Execute / Assert
    assert deid.redact(text)[0] == expected


@pytest.mark.parametrize("text,kept", [
    ("The Princess Royal arrived this morning from Villafranca del Cid.", []),   # a Romance place
    ("We moved on from Bremen Ohlenhof last year.", []),                           # a region's district
    ("I sent money to Geta Krištof in San Diego.", ["Geta Krištof"]),             # a small town's name: a person
    ("Please pay Andrea del Sarto today.", ["Andrea del Sarto"]),
])
def test_place_shapes(deid, text: str, kept: list[str]) -> None:
    # Execute / Assert
    assert persons(deid, text) == kept
