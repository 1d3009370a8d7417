"""fedflm's learned PII detector: a small spaCy NER model shipped inside the package.

The model (``fedflm/data/deid_model/``, a few MB) was trained by
``simulations/train_deid_ner.py`` on synthetic, case-augmented data
(:mod:`fedflm.data.deid_train_data`); it finds PERSON and STREET_ADDRESS spans
in any letter case. It is pinned: :func:`load_model` refuses a model directory
whose SHA-256 (over every file, names included) differs from
:data:`MODEL_SHA256`. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from fedflm.errors import DeidError

MODEL_DIR = Path(__file__).resolve().parent / "deid_model"
MODEL_SHA256 = ""


def model_sha256(path: Path = MODEL_DIR) -> str:
    """SHA-256 over the sorted relative file names and contents of the model directory."""
    digest = hashlib.sha256()
    files = sorted(p for p in Path(path).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for p in files:
        digest.update(p.relative_to(path).as_posix().encode() + b"\0")
        digest.update(p.read_bytes())
    return digest.hexdigest()


@lru_cache(maxsize=2)
def load_model(path: Path = MODEL_DIR, expected_sha256: str | None = None):
    """The spaCy pipeline at ``path``, after checking its hash against the pinned one."""
    expected = MODEL_SHA256 if expected_sha256 is None else expected_sha256
    if not Path(path).is_dir():
        raise DeidError(f"learned de-identification model missing at {path}; reinstall fedflm "
                        f"or use --deid-engine patterns")
    actual = model_sha256(Path(path))
    if actual != expected:
        raise DeidError(f"learned de-identification model at {path} has SHA-256 {actual}, "
                        f"expected the pinned {expected}: refusing to use it")
    import spacy
    return spacy.load(path)


def ner_spans(nlp, texts: list[str], batch_size: int = 256) -> list[list[tuple[int, int, str]]]:
    """(start, end, label) of every entity the model finds, per text."""
    return [[(e.start_char, e.end_char, e.label_) for e in doc.ents]
            for doc in nlp.pipe(texts, batch_size=batch_size)]
