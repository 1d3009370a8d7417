"""A lone capitalised word is a person after a cue of contact, relation, authorship, speech, a record's
name, a line-start speaker label, between a verb of giving and a possessive determiner, or as the owner
of what only a person has (fedflm.protect.deid_relation, used by LexiconPersonRecognizer). Firms,
form fields and ordinary words in the same places stay unmasked."""

from __future__ import annotations

import pytest

from fedflm.protect.deid_relation import owner_of_personal, recipient, relation_cue_before, speaker_label

from deid_support import persons


@pytest.mark.parametrize("before,expected", [
    ("Follow up with ", True), ("I spoke to ", True), ("have you heard ", False),
    ("as the assistant to ", True), ("top-flight tennis player ", True), ("Passenger booking clerk ", True),
    ("my brother ", True), ("arranged and sung by ", True), ('adolescence," says ', True),
    ("Maybe it's under ", True), ("please change it to ", True), ("update my surname to ", True),
    ("What's your last name? ", True),
    ("I sent money to ", False), ("paid by ", False), ("with ", False), ("to ", False),  # firms stand there too
    ("the playerbase ", False), ("brotherhood ", False),                                  # whole words only
])
def test_relation_cue_before(before: str, expected: bool) -> None:
    # Execute / Assert
    assert relation_cue_before(before) is expected


@pytest.mark.parametrize("text,word,ordinary,expected", [
    ('Walker: "Who are you?"', "Walker", True, True),            # dialogue: a quotation follows
    ("x\nNielsen: Remember me, Ley?", "Nielsen", False, True),   # chat line, no dictionary word
    ("Date: December 04, 2018", "Date", True, False),             # a form's field
    ("Note: Remember the fee", "Note", True, False),              # a dictionary word without a quotation
    ('I said Walker: "hi"', "Walker", True, False),               # not at a line's start
])
def test_speaker_label(text: str, word: str, ordinary: bool, expected: bool) -> None:
    # Prepare
    start = text.index(word)
    # Execute / Assert
    assert speaker_label(text, start, start + len(word), ordinary) is expected


@pytest.mark.parametrize("text,word,expected", [
    ("Amy had given Éva his address", "Éva", True),
    ("I owe Koppány my thanks", "Koppány", True),
    ("I gave Koppány the keys", "Koppány", False),      # no possessive determiner after it
    ("I sent Revolut my documents", "Revolut", False),  # sending is no cue: firms are sent things
])
def test_recipient(text: str, word: str, expected: bool) -> None:
    # Prepare
    start = text.index(word)
    # Execute / Assert
    assert recipient(text, start, start + len(word)) is expected


@pytest.mark.parametrize("after,expected", [
    ("'s address:", True), ("'s song was", True), ("’s wife", True),
    ("'s app is down", False), ("'s fees", False), ("'s addressee", False),
])
def test_owner_of_personal(after: str, expected: bool) -> None:
    # Execute / Assert
    assert owner_of_personal("Vsevolod" + after, len("Vsevolod")) is expected


@pytest.mark.parametrize("text,name", [
    ("Follow up with Khadzhiyev in a couple of months.", "Khadzhiyev"),
    ("I told Quionia about the fee yesterday.", "Quionia"),
    ("Halldór spent a year there as the assistant to Pálffy, and then left.", "Pálffy"),
    ("The Border Force have detained top-flight tennis player Goldberg over visa disputes.", "Goldberg"),
    ("Please correct it to Passenger booking clerk Gerth?", "Gerth"),
    ("Maybe it's under McDowell", "McDowell"),
    ("The name in the account is not correct, please change it to Mourik", "Mourik"),
    ('Heather: "Who are you?"\nMagnusson: "I\'m her daughter".', "Heather"),
    ("Valida Ibragimova had given Éva his address: 3485 Benedum Drive", "Éva"),
    ("As promised, here's Vsevolod's address: apt. 169", "Vsevolod"),
    ("I spoke with Szymańska at your branch, can you call me back?", "Szymańska"),  # a bank customer's message
    ("My landlord Okonkwo wants the rent by transfer.", "Okonkwo"),
])
def test_cued_word_is_masked(deid, text: str, name: str) -> None:
    # Execute
    found = persons(deid, text)
    # Assert
    assert name in found


@pytest.mark.parametrize("text", [
    "Date: December 04, 2018",
    "I spoke with Support twice and nobody helped.",
    "I sent money to Revolut yesterday.",
    "Revolut's app is down again.",
    "Please correct it to Passenger booking clerk.",
    "Can I pay with Apple Pay?",
])
def test_no_person_without_a_name(deid, text: str) -> None:
    # Execute / Assert
    assert persons(deid, text) == []


@pytest.mark.parametrize("text,name", [
    ("follow up with dzhambek in a couple of months.", "dzhambek"),
    ("i told lebatelier about the fee yesterday.", "lebatelier"),
    ("the name in the account is not correct, please change it to quionia", "quionia"),
    ("FOLLOW UP WITH DZHAMBEK IN A COUPLE OF MONTHS.", "DZHAMBEK"),
])
def test_cued_word_without_capitals_is_masked(deid, text: str, name: str) -> None:
    # Execute
    found = persons(deid, text)
    # Assert
    assert name in found


@pytest.mark.parametrize("text", [
    "i spoke with support twice and nobody helped.",
    "the film is directed by someone who loves it.",
    "please change it to dollars.",
])
def test_no_person_without_capitals(deid, text: str) -> None:
    # Execute / Assert
    assert persons(deid, text) == []


@pytest.mark.parametrize("text,name", [
    ("Please pay Tomasini 200 euros today.", "Tomasini"),        # a surname of the lists after a payment verb
    ("Please pay Tomasini today.", "Tomasini"),
    ("I met Sabih to pay back the loan.", "Sabih"),              # bare "met"
    ("Your agent Szymańska told me it was fixed.", "Szymańska"),  # a bank's agent
    ("Nguyen called me about the transfer.", "Nguyen"),          # a surname of the lists opening a sentence
    ("Kowalski paid the rent late again.", "Kowalski"),
])
def test_payee_contact_and_opening_surnames_are_masked(deid, text: str, name: str) -> None:
    # Execute / Assert (masked as a person, or within an address: "Tomasini 200" reads as a street)
    assert name not in deid.redact(text)[0]


@pytest.mark.parametrize("text", [
    "Please pay the rent today.", "Revolut sent me a code.", "Monzo called me about fraud.",
    "I paid Netflix twice.", "The transfer to savings failed.",
])
def test_payment_and_opening_cues_leave_firms_and_words(deid, text: str) -> None:
    # Execute / Assert
    assert persons(deid, text) == []
