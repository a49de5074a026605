"""The estimators benchmark runs end to end at tiny sizes and reports what it promises (its
timings are not checked: speed is measured in benchmarks, never asserted)."""

import pytest

pytest.importorskip("sklearn")

from steepest.__main__ import main as steepest_main  # noqa: E402
from steepest.bench import estimators  # noqa: E402


def test_measure_rows():
    linear, mlp = estimators.measure(rows=3000, features=5, test_rows=1000, epochs=3,
                                     mlp_epochs=2, repeats=1, threads=1)
    assert [r["estimator"] for r in linear] == ["steepest LinearRegressor",
                                                "sklearn SGDRegressor"]
    assert [r["estimator"] for r in mlp] == ["steepest MLPClassifier", "sklearn MLPClassifier"]
    for r in linear:
        assert r["epoch_s"] > 0 and r["epochs"] == 3 and r["threads"] == 1
        assert 0.2 < r["test_mse"] < 0.3  # at the noise floor (variance 0.25)
    for r in mlp:
        assert r["fit_s"] > 0 and 0.8 < r["accuracy"] <= 1


def test_command(capsys, tmp_path):
    out = tmp_path / "r.json"
    assert steepest_main(["bench", "estimators", "--rows", "2000", "--features", "4",
                          "--test-rows", "500", "--epochs", "1", "--mlp-epochs", "1",
                          "--repeats", "1", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "SGDRegressor" in text and "sklearn MLPClassifier" in text and out.is_file()
