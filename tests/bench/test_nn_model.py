"""The nn benchmark runs end to end and reports what it promises (its timings are not checked:
speed is measured in benchmarks, never asserted)."""

import pytest

pytest.importorskip("sklearn")

from steepest.bench import nn_model  # noqa: E402


def test_measure_rows(capsys):
    rows = nn_model.measure(epochs=1, repeats=1, threads=1)
    names = [r["framework"] for r in rows]
    assert names[0] == "steepest" and set(names) <= {"steepest", "torch", "sklearn"}
    for r in rows:
        assert r["step_ms"] > 0 and r["train_s"] > 0 and r["threads"] == 1
        assert r["steps"] == 22  # ceil(1400 / 64) steps in the one epoch
        assert 0.5 < r["accuracy"] <= 1  # one epoch of the digits already beats chance well
    assert nn_model.main(["--frameworks", "steepest", "--epochs", "1", "--repeats", "1"]) == 0
    assert "steepest" in capsys.readouterr().out
