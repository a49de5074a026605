"""``steepest bench loop`` runs end to end and writes its JSON (timings are not checked)."""

import json

import pytest

pytest.importorskip("torch")

from steepest.__main__ import main  # noqa: E402


def test_bench_loop_times_every_variant(tmp_path, capsys):
    assert main(["bench", "loop", "--steps", "2", "--block", "1", "--load", "0,1",
                 "--out", str(tmp_path)]) == 0
    assert "TCN" in capsys.readouterr().out
    (path,) = tmp_path.glob("bench-loop-*.json")
    report = json.loads(path.read_text())
    assert [(r["model"], r["busy_processes"]) for r in report["results"]] == [
        ("TCN", 0), ("LSTM-2", 0), ("TCN", 1), ("LSTM-2", 1)]
    for row in report["results"]:
        assert set(row["optimizer_step_seconds"]) == {
            "torch-fused", "steepest.torch", "steepest.torch-1t"}
        assert all(t > 0 for t in row["training_step_seconds"].values())
    assert 40_000 < report["results"][0]["params"] < 50_000


@pytest.mark.parametrize("args", [["--load", "x"], ["--steps", "0"], ["--load", "-1"]])
def test_bench_loop_rejects_bad_arguments(args):
    with pytest.raises(SystemExit):
        main(["bench", "loop", *args])
