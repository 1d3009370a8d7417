"""More tuning records from presidio-research's dev part: its templates refilled with its own values.

The dev part of presidio-research's set (the templates :func:`simulations.bench_deid.presidio_split`
gives to development) had become too easy to guide precision work: 0.998 on its 522 records, against
0.938 on the held-out part. The held-out false spans are names, firms and places masked in contexts the
dev records never put them in. This module makes more dev-like records: each one is a dev template
(the record's ``masked`` text) whose slots are filled with values drawn from OTHER dev records of the
same type, so a firm or a place stands in sentences it was not written into. Neither a held-out
template nor a held-out value is ever read.

Presidio's generator wrote some records all in lower case (its ``masked`` template keeps the case):
their values go into no pool of whole values, since their case is lost, and each new record is written
in lower case as often as dev records are.

A slot that is a piece of a longer value (an address written over several same-type slots, a postcode
after a city) keeps the values its own template gave it: a street name alone in a sentence is no
address. Every other slot draws from the pool of whole values of its type.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from dataclasses import dataclass

from fedflm.protect.deid_synth import Gold, Record

SLOT = re.compile(r"\{\{(\w+)\}\}")
_JOIN = re.compile(r"[\s,]*")
_PIECE_TYPES = frozenset({"STREET_ADDRESS", "ZIP_CODE", "GPE"})


@dataclass(frozen=True)
class Template:
    """A dev template: its text, and each slot's (type, start, end) in that text."""
    tid: int
    text: str
    slots: tuple[tuple[str, int, int], ...]

    def is_piece(self, k: int) -> bool:
        """Slot k joins a neighbouring slot with only spaces or commas between them, and either both
        have one type or it is an address part: its values only make sense in this template."""
        kind, start, end = self.slots[k]
        for j in (k - 1, k + 1):
            if 0 <= j < len(self.slots):
                other, s, e = self.slots[j]
                gap = self.text[e:start] if j < k else self.text[end:s]
                if _JOIN.fullmatch(gap) and (other == kind or kind in _PIECE_TYPES):
                    return True
        return False


def dev_templates(data: list[dict], dev: list[int]) -> tuple[dict[int, Template], dict, dict, float]:
    """Templates of the dev records, whole-value pools per type, piece pools per (template, slot), and
    the share of dev records written in lower case."""
    templates: dict[int, Template] = {}
    whole: dict[str, list[str]] = {}
    pieces: dict[tuple[int, int], list[str]] = {}
    lowered = 0
    for i in dev:
        rec = data[i]
        tpl = templates.setdefault(rec["template_id"], Template(
            rec["template_id"], rec["masked"],
            tuple((m.group(1), m.start(), m.end()) for m in SLOT.finditer(rec["masked"]))))
        spans = sorted(rec["spans"], key=lambda s: s["start_position"])
        if [s["entity_type"] for s in spans] != [s[0] for s in tpl.slots]:
            raise ValueError(f"presidio record {i}: spans do not match the slots of its template")
        text, _ = fill(tpl, [sp["entity_value"] for sp in spans])
        if text != rec["full_text"] and text.lower() != rec["full_text"]:
            raise ValueError(f"presidio record {i}: its template and values do not rebuild its text")
        lower = text != rec["full_text"]
        lowered += lower
        for k, sp in enumerate(spans):
            if tpl.is_piece(k):
                pieces.setdefault((tpl.tid, k), []).append(sp["entity_value"])
            elif not lower:
                whole.setdefault(sp["entity_type"], []).append(sp["entity_value"])
    return templates, whole, pieces, lowered / len(dev)


def fill(tpl: Template, values: list[str]) -> tuple[str, list[tuple[int, int, str]]]:
    """The template's text with each slot replaced by its value, and the labelled spans."""
    out, spans, at = [], [], 0
    for (kind, start, end), value in zip(tpl.slots, values):
        out.append(tpl.text[at:start])
        pos = sum(len(p) for p in out)
        spans.append((pos, pos + len(value), kind))
        out.append(value)
        at = end
    out.append(tpl.text[at:])
    return "".join(out), spans


def recombined(path, dev: list[int], n: int, seed: int, scored: frozenset[str]) -> tuple[list[Record], list[list]]:
    """n records (and every labelled span of each, of any type) from the dev templates; gold holds
    the ``scored`` types only, as the benchmark scores them."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        data = json.load(fh)
    templates, whole, pieces, lower_share = dev_templates(data, dev)
    rng = random.Random(seed)
    ids = sorted(templates)
    records, labels = [], []
    for _ in range(n):
        tpl = templates[rng.choice(ids)]
        values = [rng.choice(pieces[(tpl.tid, k)] if tpl.is_piece(k) else whole[kind])
                  for k, (kind, _, _) in enumerate(tpl.slots)]
        text, spans = fill(tpl, values)
        if rng.random() < lower_share:
            text = text.lower()
        records.append(Record(text, tuple(Gold(s, e, t) for s, e, t in spans if t in scored), "en"))
        labels.append(spans)
    return records, labels
