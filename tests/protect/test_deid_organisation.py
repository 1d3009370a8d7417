"""People next to company, place, venue and title words stay masked (fedflm.protect.deid_organisation)."""

from __future__ import annotations

import pytest

from fedflm.protect.deid import Deidentifier
from fedflm.protect.deid_case import lower, upper
from fedflm.protect.deid_company import has_company_tail, in_surname_list, third_of_list
from fedflm.protect.deid_works import named_before, quoted_title

from deid_support import persons


@pytest.mark.parametrize("text,person", [
    ("Please call Vanesa Boldù, Rios da Mota S.A., about my card.", "Vanesa Boldù"),   # head before a comma
    ("Contact Laura Fischer, Fischer & Sohn KG", "Laura"),                             # ... a given name first
    ("The payment to Damijan Hanka, Ochoabury, bounced.", "Damijan Hanka"),           # a Faker city after it
    ("Fort Worth branch refused Ibolya Derežić yesterday.", "Ibolya Derežić"),        # a run-on model span
    ("FORT WORTH BRANCH REFUSED IBOLYA DEREŽIĆ YESTERDAY.", "IBOLYA DEREŽIĆ"),
    ("Please pay Gregor Asplund AS agreed.", "Gregor Asplund"),                       # "as agreed", not "AS"
    ('why does it say "refund to seaborn aden"?', "seaborn aden"),                     # naming word in the quote
    ('WHY DOES IT SAY "REFUND TO SEABORN ADEN"?', "SEABORN ADEN"),
    ('my friend "atila rüütel" sent me money.', "atila rüütel"),                       # person noun before it
    ('"tiberiu vugdelija" is the name on the card.', "tiberiu vugdelija"),
    ("the refund for gençay kaasik hotel booking was late.", "gençay kaasik"),        # naming word before a venue
    ("MY FRIEND SÜZER KISELA STUDIOS ACCOUNT IS BLOCKED.", "SÜZER KISELA"),
    ("i called novak, kovacs and horvath about the refund.", "novak kovacs horvath"),  # surnames after a cue
    ("PLEASE PAY JÁUREGUI, PALLADIO AND TAPP TODAY.", "JÁUREGUI PALLADIO TAPP"),
    ("I called Novak, Kovacs and Horvath about the refund.", "Novak Kovacs Horvath"),  # the third name too
    ("i called sárközi, pušková and murin about the refund.", "sárközi pušková murin"),
    ("I lent Nura Holík and Co-workers money.", "Nura Holík"),                         # co-workers: no "& Co" tail
    ("I LENT NURA HOLÍK AND CO-WORKERS MONEY.", "NURA HOLÍK"),
    ("i gave pătru špišić stadium tickets and paid by card.", "pătru špišić"),        # a recipient before a venue
    ("I GAVE PĂTRU ŠPIŠIĆ STADIUM TICKETS AND PAID BY CARD.", "PĂTRU ŠPIŠIĆ"),
    ("I paid John Smith for the movers.", "John Smith"),                             # firm head nouns
    ("I paid John Smith movers money.", "John Smith"),
    ("Maria Lopez from Red Ball Movers called me.", "Maria Lopez"),
    ("Contact İlsu Šurková, Stoll Jungfer GmbH & Co. KG for the invoice.", "İlsu Šurková"),  # "& Co." no list
    ("Please pay Ana Lutz, Infocommerce Group and Tom Berg today.", "Ana Lutz Tom Berg"),   # given names
    ("Dear Jones, Acme Group and Smith, my card is blocked.", "Jones Smith"),                # a cue opens the list
    ("Please pay Jones, Acme Group and Smith today.", "Jones Smith"),
])
def test_people_next_to_firm_and_place_words_are_masked(deid: Deidentifier, text: str, person: str) -> None:
    # Execute
    red = deid.redact(text)[0]
    # Assert
    assert not [w for w in person.split() if w in red], red


@pytest.mark.parametrize("case,text", [
    (str, "Transfer to Johansen AS failed again."),               # a firm's "AS" before a verb (short: as written)
    *[(case, text) for case in (str, lower, upper) for text in (
        "The transfer from Rio Grande do Sul did not arrive.",    # a place: no split at "rio"
        "Can I withdraw cash in Västra Götalands län without a fee?",   # "län" is no English word
        "Why is there a payment to Paolini, Geraci e Agnesi s.r.l. on my statement?")],
    (str, "Villafranca: White, Willis and Hoffman, Lucid and Loveland Technologies."),  # no cue: no third name
    (str, "Why is there a payment to Nura Holík and Co. on my statement?"),  # "and Co." still makes a firm
    *[(case, "I gave Wembley Stadium tickets to my son.") for case in (str, lower, upper)],  # a venue after "gave"
])
def test_firms_and_places_stay(deid: Deidentifier, case, text: str) -> None:
    # Execute / Assert
    assert deid.redact(case(text))[0] == case(text)


@pytest.mark.parametrize("text,expected", [
    ("Please pay Gregor Asplund AS agreed.", False),
    ("Transfer to Johansen AS failed again.", True),
    ("Why is there a payment to Johansen AS on my statement?", True),
])
def test_as_phrase_is_no_tail(text: str, expected: bool) -> None:
    # Prepare
    name = text.split(" AS")[0].split()[-1]
    start = text.index(name)
    # Execute / Assert
    assert has_company_tail(text, start, start + len(name), True) is expected


@pytest.mark.parametrize("text,expected", [
    ("a payment to dunn, sampson and nunez failed", True),        # a partnership
    ("i called dunn, sampson and nunez about it", False),         # people after a contact verb
    ("dear dunn, sampson and nunez, my card", False),             # ... or a person cue
])
def test_surname_list_after_a_cue(text: str, expected: bool) -> None:
    # Prepare
    from fedflm.protect.deid_organisation import contact_cue
    start = text.index("dunn")
    # Execute
    found = in_surname_list(text, start, start + 4, False, lambda w: w.lower() in {"dunn", "sampson", "nunez"},
                            lambda w: False, contact_cue)
    # Assert
    assert found is expected


@pytest.mark.parametrize("text,name,expected", [
    ('to see " simone , " and', "simone", True),                  # a title
    ('why does it say "refund to seaborn aden"?', "seaborn aden", False),
    ('my friend "atila rüütel" sent me money.', "atila rüütel", False),
    ('"tiberiu vugdelija" is the name on the card.', "tiberiu vugdelija", False),
])
def test_quoted_names(text: str, name: str, expected: bool) -> None:
    # Prepare
    start = text.index(name)
    # Execute / Assert
    assert quoted_title(text, start, start + len(name), lambda w: False) is expected


def test_named_before() -> None:
    # Execute / Assert
    assert named_before("my friend x", 10) and named_before("the refund for x", 15)
    assert not named_before("i gave x", 7)
    assert named_before("i gave x", 7, recipients=True)  # the venue rule's cue: i gave X stadium tickets


@pytest.mark.parametrize("text,cued,expected", [
    ("I called Novak, Kovacs and Horvath about it", True, "Novak, Kovacs and Horvath"),
    ("I called Novak, Kovacs and Horvath about it", False, "Novak, Kovacs"),     # no cue: left alone
    ("I called Novak, Kovacs and the kids", True, "Novak, Kovacs"),              # an English word
    ("I called Novak, Kovacs and horvath", True, "Novak, Kovacs"),               # lower case among capitals
])
def test_third_of_list(text: str, cued: bool, expected: str) -> None:
    # Prepare
    start, end = text.index("Novak"), text.index("Kovacs") + len("Kovacs")
    # Execute
    got = third_of_list(text, start, end, True, lambda t, pos: cued)
    # Assert
    assert text[start:got] == expected


@pytest.mark.parametrize("text", [
    "The big three are White, Willis and Hoffman, Biovia and Opencounter.",                 # a partnership in the list
    "The big three are White, Willis and Hoffman, Henderson, Hicks and Brown and Acme.",
    "The big three are Infocommerce Group, Henderson, Hicks and Brown and Jones, Mitchell and Williams.",  # Jones: a surname
])
def test_firm_lists_holding_a_firm_name_no_person(deid: Deidentifier, text: str) -> None:
    # Execute / Assert
    assert persons(deid, text) == []


@pytest.mark.parametrize("text", [
    "During 2001, Symcat invested heavily in new microprocessor designs.",   # an unknown word before a firm verb
    "During friday, Thinknum went public.",
    "Alice Goldberg is from Golden Helix",                                    # what a named person is from
    "NATO\n\n30866 Ránargata 87 Apt. 652, Tallinn, Estonia 02151",            # an acronym atop an address
    "Datamarket\n\n77009 P.O. Box 255\n Suite 966",                          # a trade prefix (issue 18i)
    "alexander spent a year at t rowe price as the assistant.",             # an initial after a firm cue
    "The big three are Bekins, Blackrock and Symcat.",                      # fused English words in a list
    "During 2014, stillwater supercomputing inc. invested heavily.",        # a lower-case firm, cased text
    "I need those SkullCandy lol",                                         # a camel-case brand
    "GuitarNews : the weekend read is out",
])
def test_firms_by_what_surrounds_them_no_person(deid: Deidentifier, text: str) -> None:
    # Execute
    got = persons(deid, text)
    # Assert
    assert not [p for p in got if p.lower() in ("symcat", "thinknum", "golden helix", "nato", "datamarket", "rowe",
                                                "bekins, blackrock", "stillwater", "skullcandy lol",
                                                "guitarnews")]


@pytest.mark.parametrize("text,person", [
    ("During 2001, Maria Symons invested heavily in new microprocessor designs.", "Maria Symons"),  # known names
    ("Symons invested heavily in bonds last year.", "Symons"),
    ("This is from John Smith", "John Smith"),                          # "This": an English word before "is from"
    ("The call was from Anna Kowalski yesterday", "Anna Kowalski"),
    ("Pinabel Marcil is from Maria Lopez's team", "Pinabel Marcil Maria Lopez"),  # a given name opens it
    ("I sent Anna Rowe the price list", "Anna Rowe"),
    ("Please send the money to Peter Rowe today.", "Peter Rowe"),
    ("Please transfer to JONAS KOWALSKI now.", "JONAS KOWALSKI"),        # shouted known names, no acronym
    ("Dear ANNA, the payment went through.", "ANNA"),
    ("My name is Dataweave and I need help.", "Dataweave"),             # a person cue before a firm-shaped word
    ("Please pay Maria VanDyke today.", "Maria VanDyke"),                # camel-case surnames
    ("I called Anna MacLean about the refund.", "Anna MacLean"),
    ("Please pay Peter McDonald today.", "Peter McDonald"),
])
def test_people_next_to_firm_verbs_and_from_are_masked(deid: Deidentifier, text: str, person: str) -> None:
    # Execute
    red = deid.redact(text)[0]
    # Assert
    assert not [w for w in person.split() if w in red], red
