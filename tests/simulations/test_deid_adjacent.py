"""simulations/deid_adjacent.py: the one-word name sentences of ``lone`` (a tuning set)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "simulations"))

from simulations.deid_adjacent import LONE_TEMPLATES, lone  # noqa: E402


def test_lone_sentences_hold_one_gold_person_word_of_the_given_pools_in_each_kind_in_turn() -> None:
    # Prepare
    names = (["Ildikó", "Ramunė"], ["Kovács", "Tamm"])
    known = (["Anna", "Mark"], ["Nguyen", "Smith"])
    # Execute
    records = lone(40, 3, names, known)
    # Assert
    assert [r.locale.split("/")[0] for r in records[:4]] == list(LONE_TEMPLATES)
    for rec in records:
        (gold,) = rec.gold
        word = rec.text[gold.start:gold.end]
        assert gold.entity == "PERSON" and word in sum(names + known, [])
        assert " " not in word and rec.text.replace(word, "{}", 1) in {
            t.replace("{f1}", "{}").replace("{l1}", "{}") for ts in LONE_TEMPLATES.values() for t in ts}
    assert {w for r in records for w in [r.text[r.gold[0].start:r.gold[0].end]]} & set(names[0] + names[1])
