"""Token-level NER gold in CoNLL form (e.g. WNUT-17), and person scores of de-identification spans on it.

Reading (:func:`read_conll`): one ``token<TAB>tag`` per line, a blank line between sentences, BIO tags
(``O``, ``B-person``, ``I-location``, ...). An ``I-`` tag that does not continue a span of its type opens
one (the conlleval convention). Each sentence's text is its tokens joined by single spaces
(:func:`sentence_text`), with every token's character offsets.

Scoring (:func:`score_person`), against predicted spans (anything with ``start``, ``end``, ``entity``):

* a token is *masked as X* when a predicted span of type X overlaps one of its characters, *masked*
  when a span of any type does;
* person recall: share of gold person tokens masked as PERSON (and masked at all); of gold person spans,
  the share a PERSON span overlaps (any overlap), the share any span overlaps, and the share whose
  letters and digits are all covered (simulations/bench_deid.py's measure);
* person precision: share of tokens masked as PERSON that are gold person tokens; the false ones are
  counted by their gold type (``O`` = no entity); PERSON spans likewise, by the gold types they overlap;
* sentences without a gold person, and how many of them any span changed.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from fedflm.errors import DataError

OUTSIDE = "O"
PERSON = "person"
_TAG = re.compile(r"^(?:O|([BI])-([a-z][a-z-]*))$")


@dataclass(frozen=True)
class Sentence:
    """Tokens and, per token, its BIO tag (``O``, ``B-person``, ...)."""

    tokens: tuple[str, ...]
    tags: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.tokens) != len(self.tags) or not self.tokens:
            raise DataError(f"a sentence needs one tag per token and at least one token, got "
                            f"{len(self.tokens)} tokens and {len(self.tags)} tags")


def read_conll(path: str | Path) -> list[Sentence]:
    """Sentences of a CoNLL file; a malformed line is one error naming the file, line and value."""
    path = Path(path)
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    lines = path.read_text(encoding="utf-8").split("\n")
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\r")
        if not line.strip():
            if tokens:
                sentences.append(Sentence(tuple(tokens), tuple(tags)))
                tokens, tags = [], []
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].strip() or not _TAG.match(parts[1]):
            raise DataError(f"{path}: line {number}: expected 'token<TAB>tag' with a BIO tag "
                            f"(O, B-type, I-type), got {line!r}")
        tokens.append(parts[0].strip())
        tags.append(parts[1])
    if tokens:
        sentences.append(Sentence(tuple(tokens), tuple(tags)))
    return sentences


def sentence_text(tokens: tuple[str, ...]) -> tuple[str, list[tuple[int, int]]]:
    """The tokens joined by single spaces, and each token's (start, end) in that text."""
    offsets, pos = [], 0
    for tok in tokens:
        offsets.append((pos, pos + len(tok)))
        pos += len(tok) + 1
    return " ".join(tokens), offsets


def token_types(tags: tuple[str, ...]) -> list[str]:
    """The entity type of each token (``O`` for none)."""
    return [OUTSIDE if t == OUTSIDE else t[2:] for t in tags]


def gold_spans(tags: tuple[str, ...]) -> list[tuple[int, int, str]]:
    """(first token, one past the last token, type) of every gold entity."""
    spans: list[tuple[int, int, str]] = []
    for i, tag in enumerate(tags):
        if tag == OUTSIDE:
            continue
        kind = tag[2:]
        if tag[0] == "I" and spans and spans[-1][1] == i and spans[-1][2] == kind:
            spans[-1] = (spans[-1][0], i + 1, kind)
        else:
            spans.append((i, i + 1, kind))
    return spans


@dataclass
class PersonScore:
    """Counts behind the person figures of one set of sentences (see the module docstring)."""

    sentences: int = 0
    gold_tokens: int = 0
    gold_tokens_person: int = 0
    gold_tokens_any: int = 0
    gold_spans: int = 0
    gold_spans_person: int = 0
    gold_spans_any: int = 0
    gold_spans_full: int = 0
    pred_tokens: int = 0
    pred_tokens_true: int = 0
    pred_spans: int = 0
    pred_spans_true: int = 0
    false_tokens: Counter = field(default_factory=Counter)
    false_spans: Counter = field(default_factory=Counter)
    no_person: int = 0
    no_person_changed: int = 0

    def figures(self) -> dict[str, float]:
        """Rates (NaN where a denominator is 0)."""
        def rate(a: int, b: int) -> float:
            return a / b if b else float("nan")
        return {"token_recall": rate(self.gold_tokens_person, self.gold_tokens),
                "token_recall_any": rate(self.gold_tokens_any, self.gold_tokens),
                "span_recall": rate(self.gold_spans_person, self.gold_spans),
                "span_recall_any": rate(self.gold_spans_any, self.gold_spans),
                "span_recall_full": rate(self.gold_spans_full, self.gold_spans),
                "token_precision": rate(self.pred_tokens_true, self.pred_tokens),
                "span_precision": rate(self.pred_spans_true, self.pred_spans),
                "no_person_changed_per_1000": 1000 * rate(self.no_person_changed, self.no_person)}


def _overlaps(a: tuple[int, int], b) -> bool:
    return a[0] < b.end and b.start < a[1]


def score_sentence(out: PersonScore, sent: Sentence, text: str, offsets: list[tuple[int, int]],
                   spans: list) -> None:
    """Adds one sentence's counts to ``out``; ``text`` is :func:`sentence_text`'s (or a same-length case view)."""
    types = token_types(sent.tags)
    persons = [sp for sp in spans if sp.entity == "PERSON"]
    as_person = [any(_overlaps(off, sp) for sp in persons) for off in offsets]
    as_any = [any(_overlaps(off, sp) for sp in spans) for off in offsets]
    covered = [False] * len(text)
    for sp in spans:
        covered[sp.start:sp.end] = [True] * (sp.end - sp.start)
    out.sentences += 1
    for kind, person, anything in zip(types, as_person, as_any):
        if kind == PERSON:
            out.gold_tokens += 1
            out.gold_tokens_person += person
            out.gold_tokens_any += anything
        if person:
            out.pred_tokens += 1
            out.pred_tokens_true += kind == PERSON
            if kind != PERSON:
                out.false_tokens[kind] += 1
    gold = gold_spans(sent.tags)
    for first, last, kind in gold:
        if kind != PERSON:
            continue
        out.gold_spans += 1
        out.gold_spans_person += any(as_person[first:last])
        out.gold_spans_any += any(as_any[first:last])
        start, end = offsets[first][0], offsets[last - 1][1]
        out.gold_spans_full += all(covered[c] for c in range(start, end) if text[c].isalnum())
    for sp in persons:
        hit = sorted({kind for first, last, kind in gold if _overlaps((offsets[first][0], offsets[last - 1][1]), sp)})
        out.pred_spans += 1
        out.pred_spans_true += PERSON in hit
        if PERSON not in hit:
            out.false_spans["+".join(hit) or OUTSIDE] += 1
    if PERSON not in types:
        out.no_person += 1
        out.no_person_changed += bool(spans)


def score_person(sentences: list[Sentence], texts: list[str], spans: list[list]) -> PersonScore:
    """Person counts over ``sentences``, their texts (as written or a same-length case view) and predicted spans."""
    out = PersonScore()
    for sent, text, ss in zip(sentences, texts, spans, strict=True):
        _, offsets = sentence_text(sent.tokens)
        if offsets[-1][1] != len(text):
            raise DataError(f"text of {len(text)} characters does not match its tokens ({offsets[-1][1]})")
        score_sentence(out, sent, text, offsets, ss)
    return out
