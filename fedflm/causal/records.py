"""Causal-LM records: the file formats, a reader that names the bad row, and a generator.

Formats (UTF-8):

* ``.jsonl`` -- one JSON object per line, either ``{"instruction": ..., "response": ...}``
  (optional ``"input"``: appended to the instruction after a blank line) -- the loss is on the
  response tokens only -- or ``{"text": ...}`` (plain text: the loss is on every token).
* ``.txt`` -- plain text, one record per paragraph (records separated by a blank line).

One record is one privacy unit under DP-SGD, however many sequences it is split into.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from fedflm.errors import DataError
from fedflm.jsonl import iter_json_objects, read_text_file

__all__ = ["LMRecord", "read_records", "synthetic_records", "write_jsonl"]


@dataclass(frozen=True)
class LMRecord:
    """An instruction and its response; ``prompt`` is "" for plain text (loss on all of it)."""

    prompt: str
    response: str

    def __post_init__(self) -> None:
        if not self.response.strip():
            raise DataError("a record needs a non-empty response (or text), got an empty one")


def _from_json(obj: dict, where: str) -> LMRecord:
    if "text" in obj and "response" not in obj:
        text = obj["text"]
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{where}: column 'text' must be a non-empty string, got {text!r:.60}")
        return LMRecord("", text)
    for key in ("instruction", "response"):
        if not isinstance(obj.get(key), str) or not obj[key].strip():
            raise DataError(f"{where}: column {key!r} must be a non-empty string, got {obj.get(key)!r:.60}")
    extra = obj.get("input") or ""
    if not isinstance(extra, str):
        raise DataError(f"{where}: column 'input' must be a string, got {extra!r:.60}")
    prompt = obj["instruction"] + (f"\n\n{extra}" if extra.strip() else "")
    return LMRecord(prompt, obj["response"])


def read_records(path: str | Path) -> list[LMRecord]:
    """All records of a ``.jsonl`` or ``.txt`` file; a bad line raises one DataError naming it."""
    path, text = read_text_file(path)
    if path.suffix == ".txt":
        records = [LMRecord("", p.strip()) for p in text.split("\n\n") if p.strip()]
    elif path.suffix == ".jsonl":
        records = [_from_json(obj, f"{path}: line {row}") for row, obj in iter_json_objects(text.splitlines(), path)]
    else:
        raise DataError(f"{path}: unknown causal-LM data format {path.suffix!r} (use .jsonl or .txt)")
    if not records:
        raise DataError(f"{path}: no records")
    return records


def write_jsonl(records: list[LMRecord], path: str | Path) -> Path:
    """Write records in the ``.jsonl`` format above (plain text as ``{"text": ...}``)."""
    path = Path(path)
    rows = [{"text": r.response} if not r.prompt else {"instruction": r.prompt, "response": r.response}
            for r in records]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


_WORDS = ("apple", "river", "stone", "cloud", "green", "tiger", "lamp", "paper", "seven", "bread",
          "music", "north", "glass", "honey", "quiet", "train", "sugar", "winter", "orange", "field")
_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _task(rng: random.Random) -> LMRecord:
    kind = rng.randrange(4)
    words = rng.sample(_WORDS, rng.randint(3, 5))
    if kind == 0:
        return LMRecord("Reverse the order of these words: " + " ".join(words), " ".join(reversed(words)))
    if kind == 1:
        return LMRecord("Sort these words alphabetically: " + ", ".join(words), ", ".join(sorted(words)))
    if kind == 2:
        digits = [rng.randrange(10) for _ in range(rng.randint(2, 4))]
        return LMRecord("Spell out each digit of " + "".join(map(str, digits)) + ".",
                        " ".join(_ONES[d] for d in digits))
    word = rng.choice(_WORDS)
    return LMRecord(f"How many letters are in the word '{word}'?",
                    f"The word '{word}' has {_ONES[len(word)] if len(word) < 10 else len(word)} letters.")


def synthetic_records(n: int, seed: int = 0) -> list[LMRecord]:
    """``n`` seeded instruction/response records of four deterministic tasks (reverse, sort,
    spell digits, count letters): learnable, free of personal data, no licence attached."""
    if n < 1:
        raise DataError(f"synthetic_records needs n >= 1, got {n}")
    rng = random.Random(seed)
    return [_task(rng) for _ in range(n)]
