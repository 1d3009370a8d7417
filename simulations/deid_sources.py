"""Which rule of the de-identifier found each masked span: a tuning aid for simulations/tune_deid.py.

``Deidentifier.analyze`` merges the spans of many sources; to hand-label its mistakes one needs to know
which source to fix. :func:`sources` re-runs each source of a text on its own (the same calls
``analyze`` makes) and names, for each final span, the sources whose spans overlap it:

* ``lexicon`` (LexiconPersonRecognizer on the text), ``lexicon_view`` (on the re-cased view),
  ``address`` / ``address_view``, the other pattern recognizers by class name;
* ``model`` (the learned model on the text), ``model_view`` (its one-word spans on the re-cased view);
* ``lone`` (:mod:`deid_lone`), ``cue:<name>`` (:mod:`deid_cue`);
* ``grown`` when no source overlaps (a further mention, a surname or given name the span grew over).

Scratch output only: :func:`dump_changed` writes texts, which must never be committed.
"""

from __future__ import annotations

from fedflm.protect.deid import Deidentifier, Span
from fedflm.protect.deid_case import case_view
from fedflm.protect.deid_case import is_cased
from fedflm.protect.deid_cue import CUES, cue_names
from fedflm.protect.deid_lone import lone_names, view_model_names


def _name(rec, view: bool) -> str:
    base = {"LexiconPersonRecognizer": "lexicon", "StreetAddressRecognizer": "address"}.get(
        type(rec).__name__, type(rec).__name__)
    return base + ("_view" if view else "")


def raw_sources(deid: Deidentifier, text: str) -> list[tuple[int, int, str]]:
    """(start, end, source) of every span each source finds in ``text`` before merging and judging."""
    has_digit = any(c.isdigit() for c in text)
    out = [(sp.start, sp.end, _name(rec, False)) for rec in deid._recognizers
           for sp in deid._run(rec, text, text, has_digit)]
    for rec in deid._cased:
        view = deid._view(rec, text, has_digit)
        if view is not None:
            out += [(sp.start, sp.end, _name(rec, True)) for sp in deid._run(rec, view, text, has_digit)]
    if deid._nlp is not None:
        doc = deid._nlp(text)
        out += [(s, e, "model") for ent in doc.ents
                for s, e, _ in deid._model_spans(text, ent.start_char, ent.end_char, ent.label_)]
        if not is_cased(text) and (view := case_view(text, deid._vocab)):
            found = view_model_names(deid._nlp, [(text, view)], deid._vocab, deid._model_spans)[0]
            out += [(s, e, "model_view") for s, e, _ in found]
    out += [(s, e, "lone") for s, e in lone_names(text, deid._lexicon, deid._vocab)]
    for cue in CUES:
        out += [(s, e, f"cue:{cue}") for s, e in cue_names(text, deid._lexicon, deid._vocab, (cue,))]
    return out


def sources(deid: Deidentifier, text: str, spans: list[Span]) -> list[tuple[Span, list[str]]]:
    """Each final span of ``text`` with the sources whose raw spans overlap it (``grown`` if none)."""
    raw = raw_sources(deid, text)
    out = []
    for sp in spans:
        names = sorted({name for s, e, name in raw if s < sp.end and sp.start < e})
        out.append((sp, names or ["grown"]))
    return out


def dump_changed(deid: Deidentifier, texts: list[str], spans: list[list[Span]], path: str) -> None:
    """Write ``index<TAB>text<TAB>span|entity|sources;...`` for each changed text to ``path`` (scratch)."""
    with open(path, "w", encoding="utf-8") as fh:
        for i, (text, found) in enumerate(zip(texts, spans)):
            if found:
                parts = [f"{text[sp.start:sp.end]}|{sp.entity}|{'+'.join(names)}"
                         for sp, names in sources(deid, text, found)]
                fh.write(f"{i}\t{text}\t{'; '.join(parts)}\n")
