"""Synthetic training data for fedflm's learned PII detector (names and street addresses).

Values come from Faker's providers in the *training* locales only: the locales in
:data:`fedflm.protect.deid_lexicon.HELDOUT_LOCALES` are never used here nor in the
name lexicon, so that evaluation can use names nothing was fitted on. Carrier
sentences are the templates below, written for training and distinct from the
evaluation templates in :mod:`fedflm.protect.deid_synth`. Every example is
augmented over case (as written, all lower, all upper, first letter only) and
formatting (one line, several lines, comma separated).

Negative examples (no PII) are sentences from the *train* splits of the
built-in SST-2 and Banking77 copies; their dev/test splits are what the
benchmark measures false positives on.

Hard negatives (:data:`HARD_TEMPLATES`): firm names (Faker ``company()`` of the
training locales, and coined firm words built here from :data:`_FIRM_STEMS` and
:data:`_FIRM_ENDINGS`) and place names (Faker ``city()``, ``country()``,
``state()``) in carrier sentences written for this purpose, left unlabelled, so
the model learns that a capitalised run naming a firm or a place is no person or
address. Some of them also hold a person, who alone is labelled
(``{P} from {O} called about the loan``), and some put a person where a place
often stands (``i put it in {P} account``), so that ``in X`` is not learned as a
place by itself.
"""

from __future__ import annotations

import csv
import gzip
import random

from fedflm.data.builtin_files import builtin_file
from fedflm.protect.deid_case import capitalize, lower, upper
from fedflm.protect.deid_forms import pick_form
from fedflm.protect.deid_lexicon import HELDOUT_LOCALES, faker_locales

LABELS = ("PERSON", "STREET_ADDRESS")

# {P} person, {A} address, {N} a number-like value (not labelled: patterns handle those)
TRAIN_TEMPLATES = (
    "hi, {P} here. my card was blocked", "hello this is {P}, i need help with a transfer",
    "Good morning, my name's {P} and I can't log in", "{P} - account closure request",
    "pls help {P} cant see the refund", "From: {P}\nSubject: lost card",
    "the payment to {P} bounced back", "I sent 200 EUR to {P} on Monday, where is it?",
    "can you add {P} as a joint holder", "my husband {P} has a card on my account",
    "ask for {P} at the branch", "Kind regards\n{P}", "Best,\n{P}", "thx {P}",
    "Beneficiary name: {P}", "recipient: {P}", "Name on card: {P}", "{P} (customer since 2015)",
    "transfer from {P} still missing", "{P} wrote to you last week about the fee",
    "it says {P} on the statement but that's not me", "tell {P} to call me back",
    "our advisor {P} promised a refund", "Re: complaint by {P}", "I am {P}, date of birth on file",
    "forwarding on behalf of {P}", "{P} and {P2} both want access", "yo its {P} again lol",
    "my mum {P} needs a new pin", "URGENT!!! {P} CANNOT ACCESS ACCOUNT", "thanks so much {P}!",
    "who is {P}? i never paid them", "the merchant {P} charged me twice", "cc: {P}",
    "please deliver the card to {A}", "new address: {A}", "I moved to {A} last month",
    "send it to\n{A}", "{P}\n{A}", "Address {A}", "my address changed to {A}, update it pls",
    "card was sent to {A} but i live elsewhere", "Billing address: {A}", "ship to {A} asap",
    "I live at {A} and {P} lives with me", "statement address is {A}", "post it to {A}",
    "we are at {A}", "{P}, {A}", "Deliver to: {P}, {A}", "is {A} the right address?",
    "visit us at {A}", "home: {A}\nwork: {A2}", "my old address was {A}",
)
# firms {O}, cities {C}, countries {CO}, states / regions {S}: never labelled; {P} and {A} are (an address
# below a firm's name is still an address)
HARD_TEMPLATES = (
    "I used to work at {O} before I moved to {C}", "{O} charged my card twice this month",
    "the refund from {O} never reached my account", "is {O} a real merchant? never heard of them",
    "my salary from {O} is late again", "direct debit to {O} failed, why?", "why does {O} show on my statement",
    "Subject: your invoice from {O}", "{O} customer service told me to contact you",
    "shares of {O} dropped after the report", "She joined {O} in 2015 as an analyst",
    "{O} and {O2} merged last year", "{O} opened a new office in {C}", "our supplier {O} is based in {C}",
    "Sent from the {O} office", "{O}\n\n{A}", "{O}, {A}", "paid {O} for the flight to {C}",
    "the card was declined in {C} yesterday", "I'm travelling to {C} next week, will my card work there?",
    "does the app work in {CO}?", "can I use my card in {CO} and {CO2}?", "the ATM in {C} kept my card",
    "flight to {C} cancelled, refund please", "I grew up in {C}, {S}", "born in {C} but living in {CO} now",
    "moving from {CO} to {CO2} in the summer", "exchange rate for a transfer to {CO}?",
    "the {C} branch was closed today", "we have offices in {C}, {C2} and {C3}",
    "the conference in {C} was sponsored by {O}", "weather in {C} is awful lol", "any branches left in {S}?",
    "our headquarters moved to {C} this year", "{C} is lovely in spring", "Greetings from {C}!",
    "a charge from {O} in {CO}",
    "bought a subscription from {O}, cancel it", "{O} sent me a cheque, how do i deposit it",
    "Visit {C} and {C2} this autumn", "top up via {O} not working", "the tour covers {CO}, {CO2} and {CO3}",
    "{P} from {O} called me about the loan", "{P} works at {O} in {C}", "my friend {P} lives in {C} now",
    "I sent money to {P} in {CO}", "{P}, head of sales at {O}", "Dear {P}, thank you for choosing {O}",
    "{P} ({O})", "{P} moved to {C} last year", "hi, i'm {P} from {O}", "transfer to {P} via {O} failed",
    "{P}\n{O}\n{A}", "Regards, {P} | {O} | {C}", "{P} flew to {C} with my card",
    "i put the money in {P} account", "the card is in {P} name", "it's in {P}'s wallet",
    "we met in {P} office in {C}", "I believe in {P}", "payment from {P} in {C} is missing",
    "{P} has worked for {O} since 2019", "{P} started working for {O} in 2019", "{P} left {O} for a job in {C}",
    "{P}: did {O} ever reply?", "{P} grew up in {C} and studied in {C2}",
)
# coined firm words: a stem and an ending (``Brightlogic``, ``Novaware Systems``), never a name list's word
_FIRM_STEMS = ("Bright", "Blue", "Nova", "Quant", "Opti", "Terra", "Aero", "Veri", "Clear", "Peak", "Swift",
               "Iron", "Silver", "Green", "Omni", "Next", "Lumi", "Core", "Data", "Zeta", "Hexa", "Cloud",
               "Sun", "Flux", "Pixel", "Vertex", "Orbit", "Cobalt", "Amber", "Rapid", "Deep", "Smart")
_FIRM_ENDINGS = ("data", "soft", "ware", "works", "labs", "logic", "matics", "ly", "ify", "hub", "stack",
                 "wave", "point", "bridge", "base", "cloud", "pay", "flow", "line", "scape", "tech", "gen",
                 "sys", "mind", "sense", "forge", "grid", "path")
_FIRM_WORDS = ("Analytics", "Systems", "Solutions", "Capital", "Partners", "Technologies", "Media", "Health",
               "Logistics", "Foods", "Energy", "Bank", "Insurance", "Consulting", "Digital", "Group",
               "Ventures", "Studios", "Networks", "Ltd", "Inc", "AG", "GmbH", "SA", "LLC", "Holdings")
# numbers the pattern recognizers mask: present in training so the model leaves them (and their
# key words: IBAN, SSN, card) alone
NEGATIVE_TEMPLATES = (
    "my card number is {N}", "the reference is {N}", "call {N} please", "I paid {N} euros",
    "Top up of {N} GBP failed", "order {N} has not arrived", "PIN reset for card ending {N}",
    "IBAN {IBAN} ok", "iban: {IBAN}", "please pay {P}, IBAN {IBAN}", "SSN {SSN}", "my ssn is {SSN}",
    "card {CARD} was charged twice", "Call {PHONE} now", "tel {PHONE}", "email {EMAIL} please",
    "{P}, {PHONE}", "ip {IP} blocked", "Account: {IBAN}", "SWIFT {SWIFT} IBAN {IBAN}",
)


def _latin(name: str) -> bool:
    return all(ord(c) < 0x250 or not c.isalpha() for c in name)


def training_locales() -> list[str]:
    """Faker locales whose names and addresses may be trained on (all but the held-out ones)."""
    return [loc for loc in faker_locales() if loc not in HELDOUT_LOCALES]


class _Values:
    """Names and addresses from Faker, training locales only."""

    def __init__(self, rng: random.Random, seed: int) -> None:
        from faker import Faker
        self.rng = rng
        self.us = Faker("en_US")
        self.us.seed_instance(seed)
        self.fakers = []
        for i, loc in enumerate(training_locales()):
            try:
                fk = Faker(loc)
                fk.seed_instance(seed * 977 + i)
                if _latin(fk.name()):
                    self.fakers.append(fk)
            except (AttributeError, ImportError):
                continue

    def person(self) -> str:
        f, r = self.rng.choice(self.fakers), self.rng.random()
        first, last = f.first_name(), f.last_name()
        return pick_form(r, [(0.45, lambda: f"{first} {last}"), (0.55, lambda: f"{first} {f.first_name()} {last}"),
                             (0.65, lambda: f"{last}, {first}"), (0.75, lambda: f"{first[0]}. {last}"),
                             (0.85, f.name), (0.93, lambda: first), (1.0, lambda: last)])

    def address(self) -> str:
        f, r = self.rng.choice(self.fakers), self.rng.random()
        try:
            value = f.address() if r < 0.75 else self._extra_form(f)
        except AttributeError:
            value = self._extra_form(f)
        if not _latin(value):
            return self.address()
        return self._layout(value.strip())

    def _extra_form(self, f) -> str:
        r, n = self.rng.random(), self.rng.randint
        if r < 0.2:
            return (f"PSC {n(1000, 9999)}, Box {n(1000, 9999)}\nAPO {self.rng.choice(['AA', 'AE', 'AP'])} "
                    f"{n(9000, 96699):05d}")
        if r < 0.35:
            return f"Unit {n(1000, 9999)} Box {n(100, 9999)}\nDPO {self.rng.choice(['AA', 'AE', 'AP'])} {n(9000, 96699):05d}"
        if r < 0.6:
            street = self.rng.choice(["C/", "Calle", "Avda.", "Avenida", "Rua", "Praça", "Travessa", "Carrer"])
            return (f"{street} {f.last_name()}, {n(1, 300)}, {n(1, 9)}º {self.rng.choice('ABCD')}, "
                    f"{n(1000, 52999):05d} {f.city()}")
        if r < 0.8:
            return (f"Rua {f.first_name()} {f.last_name()}, {n(1, 3000)} - {f.city()}, "
                    f"{f.city()} - {self.rng.choice(['SP', 'RJ', 'MG', 'BA', 'PR'])}, {n(10000, 99999)}-{n(0, 999):03d}")
        return f"{n(1, 9999)} {f.last_name()} {self.rng.choice(['St', 'Rd', 'Ave', 'Blvd'])}\n{f.city()}"

    def firm(self) -> str:
        """A Faker company of a training locale (two in three) or a coined firm name."""
        f, r = self.rng.choice(self.fakers), self.rng.random()
        if r < 0.66:
            value = f.company()
            return value if _latin(value) else self.firm()
        word = self.rng.choice(_FIRM_STEMS) + self.rng.choice(_FIRM_ENDINGS)
        return word if r < 0.85 else f"{word} {self.rng.choice(_FIRM_WORDS)}"

    def place(self, kind: str) -> str:
        """A city, country or state (region) name from a training locale (en_US where one lacks it)."""
        f = self.rng.choice(self.fakers)
        for maker in (f, self.us):
            try:
                value = getattr(maker, kind)()
            except AttributeError:
                continue
            if _latin(value):
                return value
        return self.us.city()

    def _layout(self, value: str) -> str:
        return pick_form(self.rng.random(), [(0.35, lambda: value.replace("\n", ", ")),
                                             (0.45, lambda: value.replace("\n", " ")), (1.0, lambda: value)])


def case_variant(text: str, rng: random.Random) -> str:
    """As written (45 %), all lower (30 %), all upper (17 %), each word capitalised (8 %); length kept."""
    return pick_form(rng.random(), [(0.45, lambda: text), (0.75, lambda: lower(text)), (0.92, lambda: upper(text)),
                                    (1.0, lambda: " ".join(capitalize(w) for w in text.split(" ")))])


_UNLABELLED = {"{IBAN}": "iban", "{SSN}": "ssn", "{CARD}": "credit_card_number", "{PHONE}": "phone_number",
               "{EMAIL}": "email", "{IP}": "ipv4", "{SWIFT}": "swift"}


# firm and place slots of HARD_TEMPLATES: filled, never labelled
_HARD = {"{O}": "firm", "{O2}": "firm", "{C}": "city", "{C2}": "city", "{C3}": "city", "{CO}": "country",
         "{CO2}": "country", "{CO3}": "country", "{S}": "state"}


def _fill(template: str, vals: _Values, rng: random.Random) -> tuple[str, list[tuple[int, int, str]]]:
    out, spans, pos = [], [], 0
    slots = {"{P}": "PERSON", "{P2}": "PERSON", "{A}": "STREET_ADDRESS", "{A2}": "STREET_ADDRESS"}
    i = 0
    while i < len(template):
        slot = next((s for s in slots if template.startswith(s, i)), None)
        other = next((s for s in _UNLABELLED if template.startswith(s, i)), None)
        hard = next((s for s in _HARD if template.startswith(s, i)), None)
        if hard:
            value = vals.firm() if _HARD[hard] == "firm" else vals.place(_HARD[hard])
            out.append(value)
            pos += len(value)
            i += len(hard)
        elif other:
            value = str(getattr(vals.us, _UNLABELLED[other])())
            out.append(value)
            pos += len(value)
            i += len(other)
        elif slot:
            value = vals.person() if slots[slot] == "PERSON" else vals.address()
            spans.append((pos, pos + len(value), slots[slot]))
            out.append(value)
            pos += len(value)
            i += len(slot)
        elif template.startswith("{N}", i):
            value = str(rng.randint(1, 10**rng.randint(1, 9)))
            out.append(value)
            pos += len(value)
            i += 3
        else:
            out.append(template[i])
            pos += 1
            i += 1
    return "".join(out), spans


def builtin_negatives(n: int, rng: random.Random) -> list[str]:
    """``n`` sentences from the built-in Banking77 and SST-2 *train* splits (no PII labelled)."""
    texts: list[str] = []
    with gzip.open(builtin_file("banking77_train.csv.gz"), "rt", encoding="utf-8") as fh:
        texts += [r["text"] for r in csv.DictReader(fh)]
    with gzip.open(builtin_file("sst2_train.tsv.gz"), "rt", encoding="utf-8") as fh:
        next(fh)
        sst = [line.split("\t")[0].strip() for line in fh]
    texts += [t for t in sst if len(t.split()) >= 6]
    return rng.sample(texts, min(n, len(texts)))


def generate_training(n: int, seed: int = 0, negatives: int = 0,
                      hard: int = 0) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """``n`` labelled synthetic examples, ``hard`` firm / place sentences (only persons labelled)
    and ``negatives`` PII-free ones, shuffled."""
    rng = random.Random(seed)
    vals = _Values(rng, seed)
    data = []
    for _ in range(n):
        template = rng.choice(TRAIN_TEMPLATES if rng.random() < 0.85 else NEGATIVE_TEMPLATES)
        text, spans = _fill(template, vals, rng)
        data.append((case_variant(text, rng), spans))
    hard_rng = random.Random(seed + 7919)  # its own stream: the other examples stay as without it
    hard_vals = _Values(hard_rng, seed + 7919)
    for _ in range(hard):
        text, spans = _fill(hard_rng.choice(HARD_TEMPLATES), hard_vals, hard_rng)
        data.append((case_variant(text, hard_rng), spans))
    data += [(t if rng.random() < 0.7 else case_variant(t, rng), []) for t in builtin_negatives(negatives, rng)]
    rng.shuffle(data)
    return data
