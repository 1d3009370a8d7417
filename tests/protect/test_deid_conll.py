"""CoNLL gold and person scores of de-identification spans (fedflm.protect.deid_conll; used by
simulations/bench_deid_wnut.py on WNUT-17). A hand-written snippet; every count is worked out by hand."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from fedflm.errors import DataError
from fedflm.protect.deid import Span
from fedflm.protect.deid_conll import gold_spans, read_conll, score_person, sentence_text

SNIPPET = (
    "hi\tO\nmaria\tB-person\ngonzalez\tI-person\nat\tO\nacme\tB-corporation\n\n"      # 1: a person, a firm
    "I\tO\nflew\tO\nto\tO\nSan\tB-location\nDiego\tI-location\n\n"                      # 2: no person
    "ok\tO\nthanks\tO\r\n\n\n"                                                           # 3: no person, CRLF, 2 blanks
    "Bob\tB-person\nand\tO\nAlice\tI-person\n"                                           # 4: I- after O opens a span
)


@pytest.fixture()
def sentences(tmp_path: Path) -> list:
    path = tmp_path / "mini.conll"
    path.write_text(SNIPPET, encoding="utf-8")
    return read_conll(path)


def test_read_conll_sentences_tokens_and_spans(sentences: list) -> None:
    # Execute
    texts = [sentence_text(s.tokens) for s in sentences]
    # Assert
    assert [len(s.tokens) for s in sentences] == [5, 5, 2, 3]
    assert texts[0] == ("hi maria gonzalez at acme", [(0, 2), (3, 8), (9, 17), (18, 20), (21, 25)])
    assert texts[2][0] == "ok thanks"
    assert gold_spans(sentences[0].tags) == [(1, 3, "person"), (4, 5, "corporation")]
    assert gold_spans(sentences[1].tags) == [(3, 5, "location")]
    assert gold_spans(sentences[3].tags) == [(0, 1, "person"), (2, 3, "person")]


@pytest.mark.parametrize("line", ["maria B-person", "maria\tB-Person", "maria\tX", "\tO", "a\tO\tO"])
def test_read_conll_rejects_a_malformed_line_naming_it(tmp_path: Path, line: str) -> None:
    # Prepare
    path = tmp_path / "bad.conll"
    path.write_text(f"hi\tO\n\n{line}\n", encoding="utf-8")
    # Execute / Assert
    with pytest.raises(DataError, match=r"bad\.conll: line 3: expected 'token<TAB>tag'"):
        read_conll(path)


def test_score_person_counts(sentences: list) -> None:
    # Prepare: sentence 1: PERSON over "gonzalez" only and PERSON over "acme" (a false span on a firm);
    # 2: PERSON over "San Diego" (false, on a place); 3: nothing; 4: ADDRESS over "Bob", PERSON over "and Alice"
    texts = [sentence_text(s.tokens)[0] for s in sentences]
    spans = [[Span(9, 17, "PERSON", 1.0), Span(21, 25, "PERSON", 1.0)],
             [Span(10, 19, "PERSON", 1.0)],
             [],
             [Span(0, 3, "STREET_ADDRESS", 1.0), Span(4, 13, "PERSON", 1.0)]]
    # Execute
    sc = score_person(sentences, texts, spans)
    f = sc.figures()
    # Assert: gold person tokens maria, gonzalez, Bob, Alice; as PERSON: gonzalez, Alice; any: + Bob
    assert (sc.gold_tokens, sc.gold_tokens_person, sc.gold_tokens_any) == (4, 2, 3)
    # gold person spans: "maria gonzalez" (PERSON overlaps, not full), "Bob" (address: any, full), "Alice"
    assert (sc.gold_spans, sc.gold_spans_person, sc.gold_spans_any, sc.gold_spans_full) == (3, 2, 3, 2)
    # tokens masked as PERSON: gonzalez, acme, San, Diego, and, Alice -> 2 true
    assert (sc.pred_tokens, sc.pred_tokens_true) == (6, 2)
    assert sc.false_tokens == Counter({"location": 2, "corporation": 1, "O": 1})
    # PERSON spans: gonzalez (true), acme (corporation), San Diego (location), "and Alice" (true)
    assert (sc.pred_spans, sc.pred_spans_true) == (4, 2)
    assert sc.false_spans == Counter({"corporation": 1, "location": 1})
    assert (sc.no_person, sc.no_person_changed) == (2, 1)
    assert f["token_recall"] == pytest.approx(0.5) and f["token_precision"] == pytest.approx(2 / 6)
    assert f["span_recall_full"] == pytest.approx(2 / 3) and f["no_person_changed_per_1000"] == pytest.approx(500)


def test_score_person_refuses_a_text_that_does_not_match_its_tokens(sentences: list) -> None:
    # Execute / Assert
    with pytest.raises(DataError, match="does not match its tokens"):
        score_person(sentences[:1], ["hi maria"], [[]])
