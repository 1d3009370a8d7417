"""--init-from: a continued run starts from the earlier global model and the owners' epsilon accumulates;
an incompatible label mapping is refused before any process starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fedflm.cli.main import main
from one_actor import ONE_ACTOR


def _csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("text,label\n" + "".join(f'"{t}",{y}\n' for t, y in rows), encoding="utf-8")
    return path


def test_a_new_label_is_refused_without_the_flag(export_run_dir: Path, tiny_model_dir: Path, sst2_sample,
                                                 tmp_path: Path, capsys) -> None:
    # Prepare: the earlier run knows negative/positive; this data adds "mixed"
    rows = [(t.replace('"', "'"), ("negative", "positive", "mixed")[i % 3]) for i, (t, _) in enumerate(sst2_sample[:90])]
    data = _csv(tmp_path / "three.csv", rows)

    # Execute
    rc = main(["simulate", "--dataset", str(data), "--model", str(tiny_model_dir), "--clients", "2", "--rounds", "1",
               "--out", str(tmp_path / "next"), "--init-from", str(export_run_dir), "--quiet"])

    # Assert
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1
    assert "labels the earlier model does not know: ['mixed']" in err[0] and "--allow-new-labels" in err[0]
    assert not (tmp_path / "next" / "summary.json").exists()


def test_an_unfinished_earlier_run_is_refused(tmp_path: Path, capsys) -> None:
    # Prepare
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "INCOMPLETE").write_text("run started; not finished\n")

    # Execute
    rc = main(["simulate", "--dataset", "sst2", "--clients", "2", "--rounds", "1", "--samples-per-client", "20",
               "--out", str(tmp_path / "next"), "--init-from", str(tmp_path / "old"), "--quiet"])

    # Assert
    assert rc != 0 and "that run did not finish" in capsys.readouterr().err


@pytest.mark.slow
def test_a_continued_run_keeps_the_model_and_epsilon_accumulates(sim_run_dp, tiny_model_dir: Path,
                                                                  tmp_path: Path) -> None:
    # Prepare: the same owners, one more round, a cumulative target above what they spent
    import fedflm
    before = sim_run_dp.run_dir
    spent = {p.stem: json.loads(p.read_text().splitlines()[-1])["epsilon"] for p in (before / "ledgers").glob("*.jsonl")}
    final_before = json.loads((before / "summary.json").read_text())["final"]

    # Execute
    after = fedflm.simulate({
        "dataset": "sst2", "model": str(tiny_model_dir),
        "clients": 2, "rounds": 1, "partition": "iid", "samples_per_client": 48, "eval_samples": 64, "max_length": 32,
        "batch_size": 16, "prepare": True, "dp": "sample", "epsilon": 6.0, "out": str(tmp_path / "continued"),
        "seed": 5, "init_from": str(before)}, resources=ONE_ACTOR).run_dir

    # Assert: round 0 of the continued run is the earlier final model (same labels, same outputs)
    round0 = json.loads((after / "metrics.jsonl").read_text().splitlines()[0])
    assert round0["round"] == 0 and round0["loss"] == pytest.approx(final_before["loss"], abs=1e-6)
    assert json.loads((after / "init_from.json").read_text())["labels_added"] == []
    for owner, eps_before in spent.items():
        entries = [json.loads(line) for line in (after / "ledgers" / f"{owner}.jsonl").read_text().splitlines()]
        assert len({e["run_id"] for e in entries}) == 2  # the earlier run's entries, then this run's
        assert eps_before < entries[-1]["epsilon"] <= 6.0 + 1e-6
    # the earlier run's own state is untouched
    assert all(len(p.read_text().splitlines()) == 2 for p in (before / "ledgers").glob("*.jsonl"))


def test_server_start_refuses_an_unfinished_earlier_run_before_starting_anything(tmp_path: Path, capsys) -> None:
    # Prepare
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "INCOMPLETE").write_text("run started; not finished\n")

    # Execute
    rc = main(["server", "start", "--insecure", "--out", str(tmp_path / "srv"), "--init-from", str(tmp_path / "old")])

    # Assert
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1 and "that run did not finish" in err[0]
    assert not (tmp_path / "srv").exists()
