"""simulations/deid_recombine.py: dev templates refilled with dev values, never held-out ones."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "simulations"))  # bench_deid's own imports

from simulations.bench_deid import PRESIDIO, _PRESIDIO_TYPES, presidio_split  # noqa: E402
from simulations.deid_recombine import dev_templates, fill, recombined  # noqa: E402


def _data() -> list[dict]:
    with gzip.open(PRESIDIO, "rt", encoding="utf-8") as fh:
        return json.load(fh)


def test_filling_a_template_with_its_own_values_rebuilds_each_dev_record() -> None:
    # Prepare
    data, (dev, _) = _data(), presidio_split()
    templates, _, _, lower_share = dev_templates(data, dev)
    # Execute / Assert
    for i in dev:
        rec = data[i]
        values = [s["entity_value"] for s in sorted(rec["spans"], key=lambda s: s["start_position"])]
        text, spans = fill(templates[rec["template_id"]], values)
        assert rec["full_text"] in (text, text.lower())
        assert sorted(spans) == sorted((s["start_position"], s["end_position"], s["entity_type"])
                                       for s in rec["spans"])
    assert 0.0 < lower_share < 0.1  # a few records all in lower case


def test_recombined_records_use_dev_templates_and_values_only() -> None:
    # Prepare
    data, (dev, held) = _data(), presidio_split()
    dev_values = {s["entity_value"].lower() for i in dev for s in data[i]["spans"]}
    held_only = {s["entity_value"].lower() for i in held for s in data[i]["spans"]} - dev_values
    dev_texts = {data[i]["masked"].lower() for i in dev}
    # Execute
    records, labels = recombined(PRESIDIO, dev, 400, 5, frozenset(_PRESIDIO_TYPES))
    # Assert
    assert len(records) == 400 and len({r.text for r in records}) > 300
    for rec, labs in zip(records, labels):
        values = [rec.text[s:e].lower() for s, e, _ in labs]
        assert all(v in dev_values for v in values) and not any(v in held_only for v in values)
        assert len(held_only) > 500
        masked, at = [], 0
        for s, e, t in sorted(labs):
            masked += [rec.text[at:s], "{{" + t + "}}"]
            at = e
        assert ("".join(masked) + rec.text[at:]).lower() in dev_texts
        assert {(g.start, g.end, g.entity) for g in rec.gold} == {x for x in labs if x[2] in _PRESIDIO_TYPES}
