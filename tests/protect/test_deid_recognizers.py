"""De-identification unit cases per entity type (international formats included)."""

from __future__ import annotations

import pytest

from fedflm.errors import DeidError
from fedflm.protect.deid import DeidConfig, Deidentifier
from fedflm.protect.deid_case import lower, upper
from fedflm.protect.deid_lexicon import NameLexicon
from fedflm.protect.deid_recognizers import (LexiconPersonRecognizer, SimpleUrlRecognizer, given_after_comma,
                                          iban_checksum_ok, luhn_ok)


CASES = [
    # e-mail
    ("mail me at jane.doe+news@example.co.uk today", "mail me at <EMAIL> today"),
    # phones: international and national notations
    ("Call +44 20 7946 0958 now", "Call <PHONE> now"),
    ("Call +49 (0)30 1234567 now", "Call <PHONE> now"),
    ("Call (+358) 083778353 now", "Call <PHONE> now"),
    ("Call 0316/83778353 now", "Call <PHONE> now"),
    ("Call +1-636-208-3778x35337 now", "Call <PHONE> now"),
    ("Call +33 (0)3 67 77 83 53 now", "Call <PHONE> now"),
    ("Call 079 360 83 77 now", "Call <PHONE> now"),
    ("Call 00420 602 837 783 now", "Call <PHONE> now"),
    ("Call +81 3-1234-5678 now", "Call <PHONE> now"),
    ("Call (555) 123-4567 now", "Call <PHONE> now"),
    ("Call +55 45 2415-8683 now", "Call <PHONE> now"),
    ("Call 07835 337406 now", "Call <PHONE> now"),
    ("Call 5551234567 ext. 204 now", "Call <PHONE> now"),
    ("Call 07835337406 now", "Call <PHONE> now"),
    ("Call (555) 123-4567 ext 12 now", "Call <PHONE> now"),
    # IBANs of several countries (published example IBANs), compact and grouped
    ("IBAN DE89370400440532013000 ok", "IBAN <IBAN> ok"),
    ("IBAN GB82 WEST 1234 5698 7654 32 ok", "IBAN <IBAN> ok"),
    ("IBAN FR1420041010050500013M02606 ok", "IBAN <IBAN> ok"),
    ("IBAN NL91ABNA0417164300 ok", "IBAN <IBAN> ok"),
    ("IBAN ES9121000418450200051332 ok", "IBAN <IBAN> ok"),
    ("IBAN IT60X0542811101000000123456 ok", "IBAN <IBAN> ok"),
    ("IBAN CH9300762011623852957 ok", "IBAN <IBAN> ok"),
    ("IBAN PL61109010140000071219812874 ok", "IBAN <IBAN> ok"),
    ("IBAN BE68539007547034 ok", "IBAN <IBAN> ok"),
    # credit cards (Luhn-valid test numbers), incl. Mastercard 2-series and Amex grouping
    ("card 4111111111111111 ok", "card <CREDIT_CARD> ok"),
    ("card 5500 0000 0000 0004 ok", "card <CREDIT_CARD> ok"),
    ("card 3782 822463 10005 ok", "card <CREDIT_CARD> ok"),
    ("card 2221-0000-0000-0009 ok", "card <CREDIT_CARD> ok"),
    # every issued length 12-19 (Luhn-valid numbers in issuer ranges for their length)
    ("card 501800000009 ok", "card <CREDIT_CARD> ok"),               # Maestro, 12
    ("card 4222222222222 ok", "card <CREDIT_CARD> ok"),              # Visa, 13
    ("card 30569309025904 ok", "card <CREDIT_CARD> ok"),             # Diners, 14
    ("card 378282246310005 ok", "card <CREDIT_CARD> ok"),            # Amex, 15 compact
    ("card 6011 0009 9013 9424 ok", "card <CREDIT_CARD> ok"),        # Discover, 16
    ("card 6759 6498 2643 8453 3 ok", "card <CREDIT_CARD> ok"),      # Maestro, 17
    ("card 630400000000000000 ok", "card <CREDIT_CARD> ok"),         # Maestro, 18
    ("card 4111 1111 1111 1111 003 ok", "card <CREDIT_CARD> ok"),    # Visa, 19
    # IBANs in lower case, compact and grouped
    ("iban de89370400440532013000 ok", "iban <IBAN> ok"),
    ("iban gb82 west 1234 5698 7654 32 ok", "iban <IBAN> ok"),
    # SSN
    ("SSN 536-90-4399 ok", "SSN <SSN> ok"),
    ("my ssn is 536904399 ok", "my ssn is <SSN> ok"),
    ("SSN 078-05-1120 ok", "SSN <SSN> ok"),  # a published sample number gets no exemption
    ("SSN 123-45-6789 ok", "SSN <SSN> ok"),
    # IP v4 / v6
    ("from 192.168.10.25 and 2001:db8::ff00:42:8329 ok", "from <IP> and <IP> ok"),
    # street addresses with apartments and line breaks, several conventions
    ("Ship to 1600 Pennsylvania Avenue NW, Apt 5B\nWashington, DC 20500 please", "Ship to <ADDRESS> please"),
    ("Ship to Flat 3\n12 High Street\nLondon\nSW1A 1AA please", "Ship to <ADDRESS> please"),
    ("Ship to Hauptstraße 5, Whg. 12\n10115 Berlin please", "Ship to <ADDRESS> please"),
    ("Ship to 12, rue de la Paix\n75002 Paris please", "Ship to <ADDRESS> please"),
    ("Ship to Calle Mayor 3, 2ºB\n28013 Madrid please", "Ship to <ADDRESS> please"),
    ("Ship to Via Roma 12, int. 4\n00184 Roma (RM) please", "Ship to <ADDRESS> please"),
    ("Ship to ul. Sokola 36/08\n29-783 Bolesławiec please", "Ship to <ADDRESS> please"),
    ("Ship to Keizersgracht 123-A\n1015 CJ Amsterdam please", "Ship to <ADDRESS> please"),
    ("Ship to 221B Baker Street, London NW1 6XE please", "Ship to <ADDRESS> please"),
    ("Ship to 350 Fifth Avenue, Suite 3300, New York, NY 10118 please", "Ship to <ADDRESS> please"),
    # military, Iberian and Brazilian forms, multi-line
    ("Ship to PSC 1234, Box 5678\nAPO AE 09876 please", "Ship to <ADDRESS> please"),
    ("Ship to Unit 6232 Box 8601, DPO AP 12345 please", "Ship to <ADDRESS> please"),
    ("Ship to USNS Brown\nFPO AE 12345 please", "Ship to <ADDRESS> please"),
    ("Ship to C/ Mayor, 12, 3º B, 28013 Madrid please", "Ship to <ADDRESS> please"),
    ("Ship to Avenida da Liberdade, 245, 4º Esq., 1250-143 Lisboa please", "Ship to <ADDRESS> please"),
    ("Ship to Rua Augusta, 1500 - Consolação, São Paulo - SP, 01304-001 please", "Ship to <ADDRESS> please"),
    # persons
    ("My name is Maria Garcia.", "My name is <PERSON>."),
    ("Dear Mr. Okafor, thanks.", "Dear Mr. <PERSON>, thanks."),
    ("Jean-Luc Picard called.", "<PERSON> called."),
    ("Account holder: Smith, John", "Account holder: <PERSON>"),
    ("I spoke with Anna Kowalska yesterday.", "I spoke with <PERSON> yesterday."),
    # dates
    ("born on 30 June 1997 ok", "born on <DATE> ok"),
    ("born on 1997-06-30 ok", "born on <DATE> ok"),
]

NEGATIVES = [
    "How do I locate my card?",
    "it 's a charming and often affecting journey .",
    "I paid 25 euros on 2 occasions",
    "Transfer 1000 to savings",
    "Can I use Apple Pay in the US?",
    "Why is my top-up of 100 GBP still pending?",
    "Is there any place I cannot use my card?",
    "Is there any place I've not used it?",
    "Can I top-up via Apple Pay?",
    # (a number before words: no address; this SST-2 row opened with an author's name, "natalie babbitt",
    # now masked in lower case: tests/protect/test_deid_lone.py)
    "the gentle , endearing 1975 children 's novel",
]


@pytest.mark.parametrize("text,expected", CASES)
def test_pii_is_replaced_by_typed_placeholder(deid: Deidentifier, text: str, expected: str) -> None:
    # Execute
    redacted, counts = deid.redact(text)
    # Assert
    assert redacted == expected
    assert sum(counts.values()) == expected.count("<")


@pytest.mark.parametrize("text", NEGATIVES)
def test_ordinary_text_is_left_alone(deid: Deidentifier, text: str) -> None:
    # Execute / Assert
    assert deid.redact(text) == (text, {})


def test_counts_per_type_never_values(deid: Deidentifier) -> None:
    # Prepare
    texts = ["Call +44 20 7946 0958 or mail a@b.org", "My name is Maria Garcia.", "nothing here"]
    # Execute
    out, counts = deid.redact_batch(texts)
    # Assert
    assert dict(counts) == {"PHONE_NUMBER": 1, "EMAIL_ADDRESS": 1, "PERSON": 1}
    assert out[2] == "nothing here"


def test_entity_subset_masks_only_those(tmp_path) -> None:
    # Prepare
    only_email = Deidentifier(DeidConfig(entities=("EMAIL_ADDRESS",)))
    # Execute
    out, _ = only_email.redact("Maria Garcia: maria@example.org")
    # Assert
    assert out == "Maria Garcia: <EMAIL>"


@pytest.mark.parametrize("kwargs,match", [({"entities": ("NOPE",)}, "unknown entity"),
                                          ({"engine": "gpt"}, "engine must be one of"),
                                          ({"threshold": 1.5}, "threshold must be in")])
def test_config_validation_names_the_value(kwargs: dict, match: str) -> None:
    # Execute / Assert
    with pytest.raises(DeidError, match=match):
        DeidConfig(**kwargs)


def test_checksums_golden() -> None:
    # Assert: published valid examples pass, one-digit changes fail
    assert iban_checksum_ok("GB82WEST12345698765432") and not iban_checksum_ok("GB82WEST12345698765433")
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")


def test_spacy_engine_finds_persons_outside_the_lexicon() -> None:
    # Prepare: a name in no lexicon, recognisable only from context by NER
    nlp_deid = Deidentifier(DeidConfig(engine="spacy"))
    # Execute
    out, counts = nlp_deid.redact("Yesterday Zorblatt Quexington signed the contract in London.")
    # Assert
    assert "Zorblatt" not in out and counts["PERSON"] >= 1


@pytest.mark.parametrize("text,end,expected", [
    ("account holder: vörös, yepelek it has", 21, "vörös, yepelek"),     # unknown given name: taken
    ("Kovaľová, Justína Mr. Sezal", 8, "Kovaľová, Justína"),
    ("macdowell , whose southern charm", 9, "macdowell"),                # a vocabulary word: left
    ("smith, reliable as ever", 5, "smith"),                             # a dictionary word: left
    ("dana, 42 euros", 4, "dana"),                                       # not followed by a word
])
def test_a_given_name_after_a_comma_joins_the_surname(text: str, end: int, expected: str) -> None:
    # Prepare
    vocab = frozenset({"whose", "southern", "charm", "mail", "me", "at"})
    # Execute
    new_end = given_after_comma(text, end, vocab)
    # Assert
    assert text[:new_end].split(": ")[-1] == expected


@pytest.mark.parametrize("text,expected", [
    ("i spoke with slota, laurynas yesterday.", ["slota, laurynas"]),       # neither is a word
    ("i spoke with Slota, Laurynas yesterday.", ["Slota, Laurynas"]),
    ("stultifyingly, bewilderingly bad", []),                              # dictionary words
    ("yes, laurynas called", []),                                          # vocabulary word first
    ("pay O'neil, Iban de89", []),                                         # inside a name; a key word
])
def test_strict_view_reads_two_unknown_words_around_a_comma_as_a_name(text: str, expected: list) -> None:
    # Prepare: an empty lexicon, so only the comma pair can fire
    rec = LexiconPersonRecognizer(NameLexicon(frozenset(), frozenset()), strict=True,
                                  vocab=frozenset({"i", "spoke", "with", "yesterday", "yes", "called", "bad"}))
    # Execute
    found = [text[s:e] for s, e, _ in rec._comma_pairs(text)]
    # Assert
    assert found == expected


@pytest.mark.parametrize("text", [
    "Logged at 2021-06-19 14:55:28 by the system.",
    "Logged at 08/08/1999 21:29 by the system.",
    "Logged at 10.10.1994 04:02:57 by the system.",
    "Logged at 27-06-90 01:12 by the system.",
    "Born 19731116, registered 24011991, moved 06021996.",
])
def test_dates_with_times_or_without_separators_are_not_phones(deid: Deidentifier, text: str) -> None:
    # Execute
    spans = deid.analyze(text)
    # Assert
    assert not [s for s in spans if s.entity == "PHONE_NUMBER"]


@pytest.mark.parametrize("text,expected", [
    ("call me on 45127788 today", "call me on <PHONE> today"),          # 8 digits, not a date
    ("card 213172524033115 is lost", "card <CREDIT_CARD> is lost"),      # JCB 15 digits (2131)
    ("card 180072524033116 is lost", "card <CREDIT_CARD> is lost"),      # JCB 15 digits (1800)
])
def test_eight_digit_phones_and_fifteen_digit_jcb(deid: Deidentifier, text: str, expected: str) -> None:
    # Execute / Assert
    assert deid.redact(text)[0] == expected


@pytest.mark.parametrize("text,expected", [
    ("fans of Whopping Shootouts", []),                     # a dictionary word and a rare word
    ("fans of Fervently Held beliefs", []),                 # a dictionary word and an irregular form
    ("fans of Tarvo Quellin", ["Tarvo Quellin"]),           # neither is a dictionary word
    ("fans of Bayman İnönü", ["Bayman İnönü"]),             # a dictionary word, but written non-English
])
def test_strict_view_needs_two_non_dictionary_words_for_an_unknown_name(text: str, expected: list) -> None:
    # Prepare: an empty lexicon and a vocabulary without the candidate words, so only the
    # "two unknown words" rule can fire, on a re-cased view (capitals say nothing there)
    rec = LexiconPersonRecognizer(NameLexicon(frozenset(), frozenset()), strict=True,
                                  vocab=frozenset({"fans", "of", "beliefs"}))
    # Execute
    found = [text[s:e] for s, e, _ in rec.find(text)]
    # Assert
    assert found == expected


@pytest.mark.parametrize("text,expected", [
    ("it was a film of whopping shootouts and prickly indie charm .",
     "it was a film of whopping shootouts and prickly indie charm ."),
    ("a fervently held belief , academic skullduggery and all .",
     "a fervently held belief , academic skullduggery and all ."),
    ("the new film by tarvo quellin is slow .", "the new film by <PERSON> is slow ."),
    ("a film by bayman inönü , shot in winter .", "a film by <PERSON> , shot in winter ."),
])
def test_lower_case_rare_words_are_left_alone_and_unknown_names_masked(deid: Deidentifier, text: str,
                                                                       expected: str) -> None:
    # Execute / Assert
    assert deid.redact(text)[0] == expected


@pytest.mark.parametrize("case", [str, lower, upper])
@pytest.mark.parametrize("text,expected", [
    ("My zip code is 90010-170", "My zip code is 90010-170"),                  # a postal code, not a phone
    ("my postcode: 1234 567, thanks", "my postcode: 1234 567, thanks"),
    ("zip 90010-170, phone 0783 533 7406", "zip 90010-170, phone <PHONE>"),    # the phone after it still is
    ("My code is 0783 533 7406", "My code is <PHONE>"),                        # no postal cue
])
def test_a_number_after_a_postcode_cue_is_no_phone(deid: Deidentifier, case, text: str, expected: str) -> None:
    # Execute / Assert
    assert deid.redact(case(text))[0] == case(expected).replace("<phone>", "<PHONE>")


@pytest.mark.parametrize("case", [str, lower, upper])
@pytest.mark.parametrize("text,expected", [
    ("The restaurant is at 9816 214 Pavlou Drandaki", "The restaurant is at <ADDRESS>"),  # building + house
    ("Please return to 94941 2505 Heatherleigh Suite today", "Please return to <ADDRESS> today"),
    ("call 0783 533 7406 Pavlou Drandaki", "call <PHONE> <ADDRESS>"),  # a phone: a leading 0 and 3 groups
])
def test_two_numbers_right_before_a_street_are_its_house_number(deid: Deidentifier, case, text: str,
                                                                expected: str) -> None:
    # Execute
    redacted = deid.redact(case(text))[0]
    # Assert
    assert redacted == case(expected).replace("<address>", "<ADDRESS>").replace("<phone>", "<PHONE>")


@pytest.mark.parametrize("text", ["TRAILER : HTTP://BIT.LY/BHULUM", "GO TO WWW.EXAMPLE.COM NOW",
                                  "trailer : http://bit.ly/bhulum"])
def test_web_address_in_any_case_is_a_url(text: str) -> None:
    # Prepare
    url = text.split()[-1] if "://" in text else "WWW.EXAMPLE.COM"
    # Execute
    found = [(text[s:e]) for s, e, _ in SimpleUrlRecognizer().find(text)]
    # Assert
    assert found == [url]


@pytest.mark.parametrize("text, expected", [
    ("Maria called me yesterday", "<PERSON> called me yesterday"),
    ("Anna sent the money to the wrong account", "<PERSON> sent the money to the wrong account"),
    ("Mark from Barclays called about my loan", "<PERSON> from Barclays called about my loan"),
    ("Emma said I should contact you", "<PERSON> said I should contact you"),
    ("Anna and Maria share the account", "<PERSON> and <PERSON> share the account"),
])
def test_a_dictionary_word_given_name_opening_a_sentence_before_a_person_verb_is_masked(
        deid: Deidentifier, text: str, expected: str) -> None:
    # Execute / Assert: maria, anna, mark, emma are dictionary words too, so a capital that opens a
    # sentence said nothing; a verb of what a person does (or "from <Firm>") right after says a name
    assert deid.redact(text)[0] == expected


@pytest.mark.parametrize("text", ["Mark the date in your calendar", "Sales and Marketing called back",
                                  "Will the transfer arrive today?", "Grace period ends on Monday"])
def test_a_sentence_opening_word_without_a_person_verb_after_it_stays(deid: Deidentifier, text: str) -> None:
    assert deid.redact(text)[0] == text


@pytest.mark.parametrize("text, expected", [
    ("please send it to my wife anna", "please send it to my wife <PERSON>"),
    ("my daughter emma needs a card", "my daughter <PERSON> needs a card"),
    ("i spoke to maria about the refund", "i spoke to <PERSON> about the refund"),
    ("maria called me yesterday", "<PERSON> called me yesterday"),
    ("MY DAUGHTER EMMA NEEDS A CARD", "MY DAUGHTER <PERSON> NEEDS A CARD"),
    ("ANNA SENT THE MONEY", "<PERSON> SENT THE MONEY"),
])
def test_a_dictionary_word_given_name_after_a_cue_is_masked_in_text_without_capitals(
        deid: Deidentifier, text: str, expected: str) -> None:
    # Execute / Assert: capitals say nothing here; the relation or contact cue, or a person verb after a
    # sentence-opening given name, does
    assert deid.redact(text)[0] == expected


@pytest.mark.parametrize("text", ["my friend will call you back", "i spoke to support about the refund",
                                  "my sister said the card was blocked", "MY BOSS SAID NO"])
def test_a_cue_before_a_word_that_is_no_given_name_masks_nothing_in_text_without_capitals(
        deid: Deidentifier, text: str) -> None:
    assert deid.redact(text)[0] == text
