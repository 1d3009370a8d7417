"""Tuning positives for recall next to company, place, title and venue words (issue 18, recall side).

The precision rules (``deid_company``, ``deid_places``, ``deid_works``, ``deid_shout``,
``deid_organisation``, ``deid_context``) drop person-looking spans that name firms and places; a
person written next to such a word must still be masked (``I SPOKE WITH PETER BROWN FROM ACME LTD``,
``Contact Laura Fischer, Fischer & Sohn KG``). :func:`adjacent` writes bank / support sentences in
which a person stands next to a Faker company, a city or state, a legal-form word, a venue noun, a
quotation, a place prefix, a compass word, or in a list of three surnames after a person cue. Only
the person is gold (kind ``PERSON``); the template's kind is kept in ``Record.locale`` as
``kind/locale``. Templates written here for evaluation; they are not training data.

:func:`lone` writes sentences naming one person by one word (a given name or a surname) after the cues
that mark it in bank text, or opening a sentence before a verb (:data:`LONE_TEMPLATES`).

Persons: half from the held-out lists (:func:`fedflm.protect.deid_lexicon.heldout_names`, as
``deid_synth`` uses them), half from the name lexicon (names the rules know), as ``First Last`` or,
in the list kind, surnames.
"""

from __future__ import annotations

import random

from fedflm.protect.deid_synth import Gold, Record, seeded_fakers, state_name

# {p}: the person; {c}: a Faker company; {city}, {state}; {first}: a given name of the same pool
ADJACENT_TEMPLATES: dict[str, tuple[str, ...]] = {
    "company": ("I spoke with {p} from {c} about the refund.", "{c} sent a letter to {p} about my loan.",
                "Contact {p}, {c} for the invoice.", "{p} at {c} says the payment went through.",
                "The transfer to {p} of {c} failed.", "Please call {p}, {c}, about my card.",
                "My salary was paid by {p} for {c}.", "{p} ({c}) asked for my account number."),
    "city": ("My landlord {p} in {city} has not received the rent.", "I sent money to {p} in {city}.",
             "{p} from {city} says the transfer is missing.", "The payment to {p}, {city}, bounced.",
             "I paid {p} in {state} twice.", "{p} of {state} is my beneficiary."),
    "legal": ("Please pay {p} AS agreed.", "PLEASE PAY {p} AS SOON AS POSSIBLE", "I added {p} as a payee.",
              "The refund for {p} was late.", "I lent {p} and Co-workers money."),
    "venue": ("I met {p} at the hotel and paid the bill.", "The refund for {p} hotel booking was late.",
              "{p} beach house rent was charged twice.", "I paid {p} at the airport.",
              "My friend {p} studios account is blocked.", "I gave {p} stadium tickets and paid by card."),
    "quote": ("{p} said \"the card is blocked\".", "My friend \"{p}\" sent me money.",
              "The payee is '{p}' on my statement.", "\"{p}\" is the name on the card.",
              "Why does it say \"refund to {p}\"?"),
    "prefix": ("I sent money to {p} in San Diego.", "My brother {p} lives in Santa Monica.",
               "Fort Worth branch refused {p} yesterday.", "{p} flew to Las Vegas with my card.",
               "Saint Jude's Hospital billed {p} twice."),
    "compass": ("{first} West called about my card.", "Please pay {first} North today.",
                "I sent money to {first} South yesterday.", "{first} East says the transfer failed.",
                "The refund for {first} West was late.", "My tenant {first} North has not paid."),
    "list": ("I called {l1}, {l2} and {l3} about the refund.", "Dear {l1}, {l2} and {l3}, my card is blocked.",
             "I spoke with {l1}, {l2} and {l3} yesterday.", "Please pay {l1}, {l2} and {l3} today.",
             "Mr. {l1}, {l2} and {l3} signed the form."),
}


# one name word alone, as bank and support messages write it: {f1} a given name, {l1} a surname; the kind
# says what marks it (what the session-23 closing note found missed: `Nguyen called me`, `my wife anna`)
LONE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "opening": ("{l1} called me about the transfer.", "{l1} sent me the money yesterday.",
                "{f1} paid the rent late again.", "{f1} said I should contact you.", "{l1} emailed me the invoice."),
    "relation": ("My landlord {l1} has not received the rent.", "Please send the new card to my wife {f1}.",
                 "My daughter {f1} needs her own account.", "I owe my colleague {l1} for the tickets.",
                 "My brother {f1} lost his card."),
    "contact": ("I spoke to {l1} at your branch yesterday.", "I called {f1} about the refund.",
                "Your agent {l1} told me it was fixed.", "I met {f1} to pay back the loan.",
                "Follow up with {l1} about my complaint."),
    "payee": ("Please pay {l1} 200 euros today.", "I sent money to {f1} by mistake.",
              "The transfer to {l1} bounced.", "Why was {f1} charged twice?", "Refund {l1} for the duplicate payment."),
}


def lone(n: int, seed: int, names: tuple[list[str], list[str]], lexicon_names: tuple[list[str], list[str]]) -> list[Record]:
    """``n`` sentences, the :data:`LONE_TEMPLATES` kinds in turn, each holding one given name or surname
    alone; ``names``: held-out (given names, surnames), ``lexicon_names``: the lexicon's, drawn half each."""
    from fedflm.protect.deid_lexicon import _latin
    rng = random.Random(seed)
    kinds = tuple(LONE_TEMPLATES)
    out: list[Record] = []
    while len(out) < n:
        kind = kinds[len(out) % len(kinds)]
        firsts, lasts = names if rng.random() < 0.5 else lexicon_names
        values = {"f1": rng.choice(firsts), "l1": rng.choice(lasts)}
        if not all(_latin(v) for v in values.values()):
            continue
        text, gold = _fill(rng.choice(LONE_TEMPLATES[kind]), values)
        out.append(Record(text, gold, f"{kind}/lone"))
    return out


def adjacent(n: int, seed: int, names: tuple[list[str], list[str]], lexicon_names: tuple[list[str], list[str]],
             locales: tuple[str, ...]) -> list[Record]:
    """``n`` sentences, the template kinds in turn, each holding one person (three in ``list``);
    ``names``: held-out (given names, surnames), ``lexicon_names``: the lexicon's, drawn half each."""
    from fedflm.protect.deid_lexicon import _latin
    rng = random.Random(seed)
    fakers, us = seeded_fakers(locales, seed)
    kinds = tuple(ADJACENT_TEMPLATES)
    out: list[Record] = []
    while len(out) < n:
        kind = kinds[len(out) % len(kinds)]
        loc = rng.choice(locales)
        firsts, lasts = names if rng.random() < 0.5 else lexicon_names
        template = rng.choice(ADJACENT_TEMPLATES[kind])
        values = {"p": f"{rng.choice(firsts)} {rng.choice(lasts)}", "first": rng.choice(firsts),
                  "c": fakers[loc].company(), "city": fakers[loc].city(), "state": state_name(fakers[loc], us),
                  "l1": rng.choice(lasts), "l2": rng.choice(lasts), "l3": rng.choice(lasts)}
        if not all(_latin(v) for v in values.values()):
            continue
        text, gold = _fill(template, values)
        out.append(Record(text, gold, f"{kind}/{loc}"))
    return out


_PERSON_SLOTS = {"p": None, "l1": None, "l2": None, "l3": None, "f1": None}
_COMPASS = ("West", "North", "South", "East")


def _fill(template: str, values: dict[str, str]) -> tuple[str, tuple[Gold, ...]]:
    """The template filled; gold: each person slot (``{first} West``: the given name with its compass word)."""
    import string

    text, gold = "", []
    for literal, field, _, _ in string.Formatter().parse(template):
        text += literal
        if field is None:
            continue
        start = len(text)
        text += values[field]
        if field in _PERSON_SLOTS:
            gold.append(Gold(start, len(text), "PERSON"))
        elif field == "first":
            tail = next(w for w in _COMPASS if template.find("{first} " + w) >= 0)
            gold.append(Gold(start, len(text) + 1 + len(tail), "PERSON"))
    return text, tuple(gold)
