"""The worked examples in examples/ run, on small sizes, and reach what they claim."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
if not EXAMPLES.is_dir():  # the tests run from an installed wheel, without the repository
    pytest.skip("examples/ is not beside these tests", allow_module_level=True)


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_momentum_one_weight(capsys):
    w, closed_form, results = load("momentum_one_weight").main()
    assert w == pytest.approx(closed_form, abs=1e-6)
    out = capsys.readouterr().out
    assert "step 0: gradient" in out and "least squares" in out
    for name in ("stochastic", "mini-batch", "steepest"):
        assert results[name][2] < 0.004  # noise variance 0.0025
    np.testing.assert_allclose(results["steepest"][0], results["mini-batch"][0], atol=0.01)


def test_direction_walk_forward(tmp_path):
    example = load("direction_walk_forward")
    bars = example.synthetic_bars(n=1200, seed=3)
    strategy, hold, result = example.main(bars, train_size=500, test_size=200, epochs=5,
                                          plot=tmp_path / "equity.png", quiet=True)
    assert len(result.scores) == 3 and len(strategy.returns) == 600  # 1132 windows
    assert set(np.unique(result.predictions)) <= {-1.0, 1.0}
    assert np.isfinite(strategy.metrics["sharpe_ratio"])
    assert (tmp_path / "equity.png").stat().st_size > 1000


def test_direction_walk_forward_with_a_tcn():
    example = load("direction_walk_forward")
    bars = example.synthetic_bars(n=1200, seed=3)
    strategy, _, result = example.main(bars, train_size=500, test_size=200, epochs=3,
                                       quiet=True, model="tcn")
    assert len(result.scores) == 3 and len(strategy.returns) == 600
    assert set(np.unique(result.predictions)) <= {-1.0, 1.0}
    assert np.isfinite(strategy.metrics["sharpe_ratio"])


def test_autoencoder_anomalies():
    precision, recall = load("autoencoder_anomalies").main(n_train=2000, n_test=2000,
                                                           epochs=30, quiet=True)
    assert recall > 0.9 and precision > 0.4  # 2% anomalies: chance would give precision 0.02


def test_sharpe_training():
    example = load("sharpe_training")
    bars = load("direction_walk_forward").synthetic_bars(n=1200, seed=3)
    results = example.main(bars, train_size=500, test_size=200, epochs=5, quiet=True)
    assert list(results) == ["mse", "sharpe", "buy and hold"]
    for bt in results.values():
        assert len(bt.returns) == 600 and np.isfinite(bt.metrics["sharpe_ratio"])
    assert results["sharpe"].metrics["turnover"] > 0  # it trades: the positions moved


def test_execution_policy_gradient():
    results = load("execution_policy_gradient").main(iterations=120, episodes=128,
                                                     test_episodes=2000, quiet=True)
    twap, learned = results["TWAP"], results["REINFORCE"]
    assert twap.mean() == pytest.approx(4.4, abs=1.5)  # eta V/H of impact, in bps, and noise
    assert np.mean(learned - twap) < -2  # paired: the same price paths


def test_optuna_walk_forward():
    optuna = pytest.importorskip("optuna")
    pytest.importorskip("sklearn")
    study, best, scores = load("optuna_walk_forward").main(n=1500, trials=8, epochs=8,
                                                          quiet=True)
    states = {t.state for t in study.trials}
    assert optuna.trial.TrialState.COMPLETE in states
    assert set(best) == {"hidden_layer_sizes", "lr", "weight_decay", "batch_size"}
    for s in scores.values():
        assert s.shape == (4,) and 0.4 < s.mean() < 1.0
