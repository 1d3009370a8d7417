"""Person names found by word lists and cues rather than by capitals or the model.

One entry point, :func:`word_list_names`, for the rules that find a name by what the word is or what stands
before it: lone known names and cue-marked names in text without capitals (:mod:`deid_lone`,
:mod:`deid_cue`; in text with capitals only where the name itself is written in lower case), compass-word
surnames after a contact or payment cue (:mod:`deid_compass`) and cued lists of three surnames
(:mod:`deid_company`). :class:`fedflm.protect.deid.Deidentifier` adds them to its person spans.
"""

from __future__ import annotations

from fedflm.protect.deid_company import cued_surname_list
from fedflm.protect.deid_compass import cued_compass_names
from fedflm.protect.deid_cue import cue_names
from fedflm.protect.deid_lexicon import NameLexicon
from fedflm.protect.deid_lone import lone_names
from fedflm.protect.deid_organisation import contact_cue


def word_list_names(text: str, lexicon: NameLexicon, vocab: frozenset[str], cased: bool) -> list[tuple[int, int]]:
    """(start, end) of the names these rules find in ``text``; ``cased``: :func:`deid_case.is_cased` of it."""
    listed = [(s, e) for s, e in lone_names(text, lexicon, vocab) + cue_names(text, lexicon, vocab)
              if not cased or text[s:e].islower()]
    # Pay Aistis West; Please pay Demirel, Mikulák and Senková
    return listed + cued_compass_names(text, vocab, cased) + cued_surname_list(text, cased, contact_cue)
