"""fedflm predict: the same labels from every format, batch files, de-identification, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fedflm.cli.main import main
from fedflm.export.predictor import open_model

TEXTS = ["a gripping , beautiful film", "dull and far too long", "it is a movie", "the best of the year",
         "i want my two hours back", "not bad at all", "an utter mess", "charming"]


def test_predict_gives_the_same_labels_on_every_format(export_run_dir: Path, exports: dict[str, Path]) -> None:
    # Prepare
    sources = [export_run_dir, exports["adapter"], exports["merged"], exports["onnx"]]

    # Execute
    probs = [open_model(s).probabilities(TEXTS, batch_size=3) for s in sources]

    # Assert
    labels = [p.argmax(1).tolist() for p in probs]
    assert len(set(labels[0])) == 2, "the fixture model should not predict one class only"
    assert all(lab == labels[0] for lab in labels[1:])
    for p in probs[1:]:
        np.testing.assert_allclose(p, probs[0], atol=1e-4)


def test_predict_cli_prints_labels_and_throughput(exports: dict[str, Path], capsys) -> None:
    # Execute
    rc = main(["predict", str(exports["onnx"]), *TEXTS[:2]])

    # Assert
    out = capsys.readouterr()
    assert rc == 0
    assert "dull and far too long" in out.out and ("positive" in out.out or "negative" in out.out)
    assert "2 texts in" in out.err and "texts/s" in out.err


def test_batch_mode_reads_csv_and_writes_jsonl(exports: dict[str, Path], tmp_path: Path, capsys) -> None:
    # Prepare
    src = tmp_path / "in.csv"
    src.write_text("id,review\n" + "".join(f'{i},"{t}"\n' for i, t in enumerate(TEXTS)), encoding="utf-8")
    dst = tmp_path / "out.jsonl"
    expected = open_model(exports["merged"]).probabilities(TEXTS)

    # Execute
    rc = main(["predict", str(exports["merged"]), "--input", str(src), "--text-column", "review",
               "--output", str(dst), "--batch-size", "3"])

    # Assert
    rows = [json.loads(line) for line in dst.read_text().splitlines()]
    assert rc == 0 and [r["text"] for r in rows] == TEXTS
    assert [r["label"] for r in rows] == [("negative", "positive")[k] for k in expected.argmax(1)]
    np.testing.assert_allclose([r["p_positive"] for r in rows], expected[:, 1], atol=1e-5)
    assert "predictions written" in capsys.readouterr().err


def test_length_sorted_batches_give_the_same_probabilities_in_input_order(exports: dict[str, Path]) -> None:
    # Prepare: texts of very different token counts, in no length order; record the batch shapes
    from dataclasses import replace

    from fedflm.export.predictor import pad
    plain = open_model(exports["onnx"])
    shapes: list[tuple[int, int]] = []
    model = replace(plain, run=lambda batch: (shapes.append(tuple(batch["input_ids"].shape)), plain.run(batch))[1])
    texts = [" ".join([TEXTS[1]] * 4), TEXTS[7], " ".join([TEXTS[0]] * 2), TEXTS[3], " ".join([TEXTS[4]] * 3),
             TEXTS[2]]

    # Execute
    by_length = model.probabilities(texts, batch_size=2)
    sorted_shapes, shapes[:] = list(shapes), []
    given = model.probabilities(texts, batch_size=2, by_length=False)
    one_by_one = np.concatenate([plain.probabilities([t]) for t in texts])

    # Assert: the same numbers in the caller's order, with fewer padded tokens
    np.testing.assert_allclose(by_length, one_by_one, atol=1e-5)
    np.testing.assert_allclose(given, one_by_one, atol=1e-5)
    assert [w for _, w in sorted_shapes] == sorted(w for _, w in sorted_shapes)
    assert sum(n * w for n, w in sorted_shapes) < sum(n * w for n, w in shapes)
    ids = [model.tokenizer(t)["input_ids"] for t in TEXTS[:3]]
    padded = pad(ids, model.tokenizer.pad_token_id)
    ref = model.tokenizer(TEXTS[:3], padding=True, return_tensors="pt")
    assert padded["input_ids"].tolist() == ref["input_ids"].tolist()
    assert padded["attention_mask"].tolist() == ref["attention_mask"].tolist()


@pytest.mark.parametrize(("content", "suffix", "message"), [
    ("id,body\n1,hi\n", ".csv", "no column 'text'"),
    ('{"text": "ok"}\n{"text": 3}\n', ".jsonl", "row 2: column 'text' must be text"),
    ('{"text": "ok"}\n{"other": "x"}\n', ".jsonl", "row 2: column 'text' is missing"),
    ("text\n", ".xlsx", "unknown file type"),
])
def test_bad_input_files_give_one_clear_line(exports: dict[str, Path], tmp_path: Path, capsys,
                                             content: str, suffix: str, message: str) -> None:
    # Prepare
    src = tmp_path / f"in{suffix}"
    src.write_text(content)

    # Execute
    rc = main(["predict", str(exports["onnx"]), "--input", str(src)])

    # Assert
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1 and message in err[0] and str(src) in err[0]


@pytest.mark.slow  # loads the de-identification NER model
def test_a_deidentified_model_deidentifies_its_inputs(make_export_run, capsys) -> None:
    # Prepare: a run whose owners de-identified their text (--prepare)
    from fedflm.export.predict_io import deidentify
    run = make_export_run(prepare=True)
    text = "write to jane.doe@example.com about the film"

    # Execute
    rc_on = main(["predict", str(run), text])
    err_on = capsys.readouterr().err
    rc_off = main(["predict", str(run), text, "--no-deid"])
    err_off = capsys.readouterr().err

    # Assert
    assert open_model(run).deid is True
    assert "jane.doe@example.com" not in deidentify([text])[0]
    assert rc_on == rc_off == 0
    assert "de-identified the inputs" in err_on and "--no-deid" in err_off
