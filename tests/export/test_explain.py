"""Integrated-gradients explanations: completeness, the terminal and HTML views, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedflm.cli.main import main
from fedflm.export.explain import explain, html_page
from fedflm.export.predictor import open_model


@pytest.mark.parametrize("text", ["a gripping , beautiful film", "dull", "i want my two hours back , <b>now</b>"])
def test_attributions_sum_to_the_logit_change_from_the_baseline(exports: dict[str, Path], text: str) -> None:
    # Prepare
    model = open_model(exports["merged"])

    # Execute
    e = explain(model.torch_model, model.tokenizer, text, model.label_names, model.max_length, steps=64)

    # Assert: the completeness property of integrated gradients
    change = e.logit - e.baseline_logit
    assert abs(change) > 1e-3  # a property about a non-trivial change
    assert sum(e.scores) == pytest.approx(change, abs=1e-3 * max(1.0, abs(change)))
    assert len(e.tokens) == len(e.scores) and e.tokens[0] == "[CLS]"


def test_adapter_and_merged_explanations_agree(export_run_dir: Path, exports: dict[str, Path]) -> None:
    # Prepare
    merged, adapter = open_model(exports["merged"]), open_model(export_run_dir)

    # Execute
    a = explain(merged.torch_model, merged.tokenizer, "not bad at all", merged.label_names, steps=32)
    b = explain(adapter.torch_model, adapter.tokenizer, "not bad at all", adapter.label_names, steps=32)

    # Assert
    assert a.label == b.label
    assert a.scores == pytest.approx(b.scores, abs=1e-4)


def test_html_page_escapes_tokens_and_cli_writes_it(exports: dict[str, Path], tmp_path: Path, capsys) -> None:
    # Prepare
    from fedflm.export.explain import Explanation
    odd = Explanation(text="x", label="<b>pos</b>", probability=0.9, tokens=("[CLS]", "<i>", "[SEP]"),
                      scores=(0.0, 1.0, 0.0), logit=1.0, baseline_logit=0.0, delta=0.0)
    page = tmp_path / "e.html"

    # Execute
    rc = main(["predict", str(exports["merged"]), "a film", "--explain", "--explain-html", str(page)])

    # Assert
    rendered = html_page([odd])
    assert "&lt;i&gt;" in rendered and "<i>" not in rendered and "&lt;b&gt;pos" in rendered
    assert rc == 0 and "<span" in page.read_text()
    captured = capsys.readouterr()
    assert "[CLS]" in captured.out and "attributions sum to the logit change" in " ".join(captured.err.split())


@pytest.mark.parametrize("extra", [["--int8"], []])
def test_explain_is_refused_without_a_pytorch_fp32_model(exports: dict[str, Path], capsys, extra: list[str]) -> None:
    # Prepare: the int8 merged model, or the ONNX export
    target = exports["merged"] if extra else exports["onnx"]

    # Execute
    rc = main(["predict", str(target), "a film", "--explain", *extra])

    # Assert
    assert rc != 0 and "need the PyTorch fp32 model" in capsys.readouterr().err


def test_the_run_report_shows_the_servers_explained_examples(export_run_dir: Path, tmp_path: Path) -> None:
    # Prepare: the examples the server writes at the end of a run, in a copy of the run
    import json
    import shutil

    from fedflm.export.explain import run_examples
    from fedflm.report.html import write_report
    run = tmp_path / "run"
    shutil.copytree(export_run_dir, run)
    (run / "metrics.jsonl").write_text(json.dumps({"round": 0, "accuracy": 0.5}) + "\n")
    model = open_model(run)
    found = run_examples(model.torch_model, model.tokenizer, ["a film", "dull stuff"], model.label_names, 32)
    (run / "explanations.json").write_text(json.dumps(found))

    # Execute
    page = write_report(run).read_text()

    # Assert
    assert len(found["examples"]) == 2 and all(abs(e["delta"]) < 1e-3 for e in found["examples"])
    section = page.split('data-section="explanations"', 1)[1].split("</section>", 1)[0]
    assert section.count("<tr>") == 3 and "[CLS]" in section and "<span" in section
