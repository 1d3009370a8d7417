"""Labelled PII evaluation records generated with Faker, and their scoring.

Values come from Faker's locale providers (names, addresses, phones, IBANs,
cards, SSNs, IPs, e-mails, dates) in many locales and formats; fedflm only
writes the carrier sentences. Each record keeps the gold character span and
type of every value it holds.

Scoring (:func:`score`):
* recall of a type = share of its gold values whose letters and digits are all
  covered by masked spans (of any type): a partly masked value counts as missed;
* precision of a type = share of masked spans of that type that overlap a gold
  value of the same type.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable

LOCALES = ("en_US", "en_GB", "en_CA", "en_AU", "en_IE", "en_NZ", "en_IN", "de_DE", "de_AT", "de_CH",
           "fr_FR", "fr_CH", "fr_CA", "es_ES", "es_MX", "it_IT", "nl_NL", "nl_BE", "pt_BR", "pt_PT",
           "pl_PL", "sv_SE", "da_DK", "fi_FI", "cs_CZ", "no_NO")
# names from these locales measure recall on names the lexicon never saw
from fedflm.protect.deid_lexicon import HELDOUT_LOCALES  # noqa: E402  (re-exported)
from fedflm.protect.deid_forms import pick_form  # noqa: E402

TEMPLATES: dict[str, tuple[str, ...]] = {
    "PERSON": ("My name is {}.", "Please contact {} for details.", "{} called about the refund.",
               "Patient {} was admitted yesterday.", "Dear {},", "I spoke with {} yesterday.",
               "Signed, {}", "Account holder: {}", "Hi {}, your order has shipped.",
               "The transfer from {} did not arrive.", "Regards,\n{}", "Mr. {} asked for a call back."),
    "EMAIL_ADDRESS": ("Email me at {}.", "my email is {}", "Contact: {}", "send the invoice to {} please"),
    "PHONE_NUMBER": ("Call me at {}.", "my number is {}", "Phone: {}", "You can reach me on {} after 5pm.",
                     "Tel. {}", "mobile {} (evenings)"),
    "CREDIT_CARD": ("My card number is {}.", "it was charged to {} twice", "Card: {}"),
    "US_SSN": ("SSN: {}", "my social security number is {}", "SSN {} is on file."),
    "IBAN_CODE": ("IBAN: {}", "please send it to {}", "the transfer to account {} failed"),
    "IP_ADDRESS": ("logged in from {} today", "IP address {} was blocked", "the server at {} is down"),
    "STREET_ADDRESS": ("I live at {}.", "Ship to:\n{}", "My address is {}, please update it.",
                       "Address: {}", "We moved to {} last week.", "{}"),
    "DATE_TIME": ("born on {}", "on {} I ordered a new card", "Date: {}"),
}
FILLERS = ("I still have not received my new card.", "Why was I charged a fee?",
           "The app keeps crashing when I open it.", "Thanks for the quick help!",
           "Can you check this please?", "It has been three weeks now.")
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%B %d, %Y", "%d %B %Y", "%m/%d/%Y")


@dataclass(frozen=True)
class Gold:
    start: int
    end: int
    entity: str


@dataclass(frozen=True)
class Record:
    text: str
    gold: tuple[Gold, ...]
    locale: str


def _group4(s: str, sep: str) -> str:
    return sep.join(s[i:i + 4] for i in range(0, len(s), 4))


class NamePool:
    """Given names and surnames to draw from instead of a Faker locale's (e.g. held-out lists)."""

    def __init__(self, firsts: list[str], lasts: list[str], rng: random.Random) -> None:
        self._firsts, self._lasts, self._rng = firsts, lasts, rng

    def first_name(self) -> str:
        return self._rng.choice(self._firsts)

    def last_name(self) -> str:
        return self._rng.choice(self._lasts)


def _person(f, rng: random.Random) -> str:
    return pick_form(rng.random(), [(0.6, lambda: f"{f.first_name()} {f.last_name()}"),
                                    (0.75, lambda: f"{f.first_name()} {f.first_name()} {f.last_name()}"),
                                    (0.9, lambda: f"{f.last_name()}, {f.first_name()}"),
                                    (1.0, f.first_name)])


def _value(kind: str, f, us, rng: random.Random, names=None) -> str:
    makers: dict[str, Callable[[], str]] = {
        "PERSON": lambda: _person(names or f, rng),
        "EMAIL_ADDRESS": lambda: rng.choice([f.email, f.free_email, f.company_email])(),
        "PHONE_NUMBER": lambda: f.phone_number(),
        "CREDIT_CARD": lambda: _card(us, rng),
        "US_SSN": lambda: us.ssn(),
        "IBAN_CODE": lambda: _iban(f, us, rng),
        "IP_ADDRESS": lambda: rng.choice([us.ipv4, us.ipv4_private, us.ipv6])(),
        "STREET_ADDRESS": lambda: _address(f, rng),
        "DATE_TIME": lambda: f.date_object().strftime(rng.choice(_DATE_FORMATS)),
    }
    return makers[kind]().strip()


def _card(us, rng: random.Random) -> str:
    number = us.credit_card_number(card_type=rng.choice(["visa16", "mastercard", "amex", "discover"]))
    return rng.choice([number, _group4(number, " "), _group4(number, "-")]) if len(number) == 16 else number


def _iban(f, us, rng: random.Random) -> str:
    try:
        value = f.iban()
    except AttributeError:
        value = us.iban()
    return _group4(value, " ") if rng.random() < 0.4 else value


def _address(f, rng: random.Random) -> str:
    value = f.address()
    return value.replace("\n", ", ") if rng.random() < 0.4 else value


def generate(n: int, seed: int = 0, locales: tuple[str, ...] = LOCALES,
             kinds: tuple[str, ...] = tuple(TEMPLATES),
             names: tuple[list[str], list[str]] | None = None) -> list[Record]:
    """``n`` records, each with 1-3 PII values (and maybe a filler sentence).

    ``names``: (given names, surnames) to draw persons from instead of the locale's,
    e.g. :func:`fedflm.protect.deid_lexicon.heldout_names`.
    """
    from faker import Faker  # dev/bench dependency, imported on use
    rng = random.Random(seed)
    pool = NamePool(names[0], names[1], random.Random(seed + 1)) if names else None
    fakers = {loc: Faker(loc) for loc in locales}
    us = Faker("en_US")
    for i, fk in enumerate([*fakers.values(), us]):
        fk.seed_instance(seed * 1000 + i)
    records = []
    for _ in range(n):
        loc = rng.choice(locales)
        parts: list[str] = []
        gold: list[Gold] = []
        pos = 0
        for k in range(rng.randint(1, 3)):
            if k and rng.random() < 0.3:
                parts.append(rng.choice(FILLERS) + " ")
                pos += len(parts[-1])
            kind = rng.choice(kinds)
            template = rng.choice(TEMPLATES[kind])
            value = _value(kind, fakers[loc], us, rng, pool)
            head, tail = template.split("{}")
            gold.append(Gold(pos + len(head), pos + len(head) + len(value), kind))
            parts.append(head + value + tail + " ")
            pos += len(parts[-1])
        records.append(Record("".join(parts).rstrip(" "), tuple(gold), loc))
    return records


def case_variants(records: list[Record]) -> dict[str, list[Record]]:
    """Each record as written, all lower case and all upper case (spans unchanged: same length)."""
    from fedflm.protect.deid_case import lower, upper
    return {name: [Record(fn(r.text), r.gold, r.locale) for r in records]
            for name, fn in (("as written", str), ("lower", lower), ("upper", upper))}


def score(records: list[Record], predicted: list[list]) -> dict[str, dict[str, float]]:
    """Per type: recall, precision, support; ``predicted[i]`` holds spans with start/end/entity."""
    hit, support, tp, npred = (defaultdict(int) for _ in range(4))
    for rec, spans in zip(records, predicted):
        covered = [False] * len(rec.text)
        for sp in spans:
            for c in range(sp.start, sp.end):
                covered[c] = True
        for g in rec.gold:
            support[g.entity] += 1
            if all(covered[c] for c in range(g.start, g.end) if rec.text[c].isalnum()):
                hit[g.entity] += 1
        for sp in spans:
            npred[sp.entity] += 1
            if any(g.entity == sp.entity and g.start < sp.end and sp.start < g.end for g in rec.gold):
                tp[sp.entity] += 1
    table = {}
    for kind in sorted(set(support) | set(npred)):
        table[kind] = {"support": support[kind], "recall": hit[kind] / support[kind] if support[kind] else float("nan"),
                       "predicted": npred[kind], "precision": tp[kind] / npred[kind] if npred[kind] else float("nan")}
    return table


# Distractors: company and place names in bank / support sentences with no person in them (tuning
# negatives for person precision: Faker companies are mostly built from surnames, ``Wilson-Hodges``,
# ``Thomsen & Kjeldsen ApS``). Written for evaluation, distinct from the training HARD_TEMPLATES.
DISTRACTOR_TEMPLATES: dict[str, tuple[str, ...]] = {
    "company": ("Why is there a payment to {} on my statement?", "The refund from {} has not arrived yet.",
                "{} sent me an invoice I do not recognise.", "My salary from {} was not paid this month.",
                "Can I set up a direct debit to {}?", "The merchant {} declined my card.",
                "I bought a laptop from {} and want a chargeback.", "Transfer to {} failed again.",
                "{} says the payment went through, but I see nothing.", "Is {} a partner of your bank?",
                "Please block all payments to {}.", "I got a letter from {} about my loan."),
    "place": ("My card was declined in {}.", "I am travelling to {} next month.",
              "Can I withdraw cash in {} without a fee?", "I was charged twice for a hotel in {}.",
              "Is there a branch in {}?", "{} is where I opened the account.",
              "Payments to {} are blocked, why?", "Does my card work in {}?",
              "The transfer from {} is still pending.", "We moved from {} last year and need a new card."),
}
DISTRACTOR_KINDS = ("company", "city", "country", "state")
_STATE_MAKERS = ("state", "administrative_unit", "region", "province")


def _distractor_value(kind: str, f, us, locale: str, rng: random.Random) -> str:
    """A Faker company, city, country or state (a locale without states: en_US's). A locale's fixed
    city list is drawn from sorted: it_IT builds it through a set, whose order changes per process."""
    if kind == "city":
        import importlib
        listed = getattr(getattr(importlib.import_module(f"faker.providers.address.{locale}"), "Provider", None),
                         "cities", None)
        if isinstance(listed, list) and len(listed) > 1000:
            return rng.choice(sorted(set(listed)))
    if kind == "state":
        return state_name(f, us)
    return getattr(f, kind)()


def state_name(f, us) -> str:
    """A state, region or province of the Faker ``f``; ``us`` (en_US) for a locale without any."""
    maker = next((getattr(x, m) for x in (f, us) for m in _STATE_MAKERS if hasattr(x, m)), us.state)
    return maker()


def seeded_fakers(locales: tuple[str, ...], seed: int) -> tuple[dict, object]:
    """One Faker per locale and an en_US one, each seeded from ``seed`` (reproducible per process)."""
    from faker import Faker  # dev/bench dependency, imported on use

    fakers = {loc: Faker(loc) for loc in locales}
    us = Faker("en_US")
    for i, fk in enumerate([*fakers.values(), us]):
        fk.seed_instance(seed * 1000 + i)
    return fakers, us


def distractors(n: int, seed: int = 0, locales: tuple[str, ...] = LOCALES) -> list[Record]:
    """``n`` person-free sentences each holding one company, city, country or state of a Faker
    locale; the value's span is kept as gold of its kind (``company``, ``city``, ...): a masked span
    over it is a false one. Latin-script values only."""
    from fedflm.protect.deid_lexicon import _latin
    rng = random.Random(seed)
    fakers, us = seeded_fakers(locales, seed)
    records = []
    while len(records) < n:
        loc, kind = rng.choice(locales), DISTRACTOR_KINDS[len(records) % len(DISTRACTOR_KINDS)]
        value = " ".join(_distractor_value(kind, fakers[loc], us, loc, rng).split())
        if not _latin(value):
            continue
        head, tail = rng.choice(DISTRACTOR_TEMPLATES["company" if kind == "company" else "place"]).split("{}")
        records.append(Record(head + value + tail, (Gold(len(head), len(head) + len(value), kind),), loc))
    return records
