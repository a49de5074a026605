"""walk_forward(): per-fold models, out-of-sample predictions in time order, no look-ahead."""

import numpy as np
import pytest

from steepest import nn
from steepest.trading import WalkForward, walk_forward


def data(n=240, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4))
    y = X @ np.array([0.5, -1.0, 0.25, 0.0]) + 0.05 * rng.standard_normal(n)
    return X, y


def mlp(fold):
    return nn.Sequential(nn.Dense(4, 16, seed=10 + fold), nn.ReLU(), nn.Dense(16, 1, seed=20 + fold))


FIT = dict(loss="mse", optimizer="adam", epochs=150, batch_size=16, seed=0)


def test_steepest_model_per_fold_in_time_order():
    X, y = data()
    splitter = WalkForward(n_splits=4, gap=2)
    result = walk_forward(mlp, X, y, splitter, fit=FIT)
    tests = [te for _, te in splitter.split(X)]
    np.testing.assert_array_equal(result.index, np.concatenate(tests))
    np.testing.assert_array_equal(result.fold, np.repeat(np.arange(4), [len(t) for t in tests]))
    assert result.predictions.shape == (len(result.index), 1)
    assert len({id(m) for m in result.models}) == 4
    assert [s["fold"] for s in result.scores] == [0, 1, 2, 3]
    assert result.scores[-1]["mse"] < 0.1 * np.var(y)  # it learned the linear map
    again = walk_forward(mlp, X, y, splitter, fit=FIT)  # same seeds, same result
    np.testing.assert_array_equal(again.predictions, result.predictions)


def test_warm_start_keeps_one_model():
    X, y = data()
    result = walk_forward(lambda: mlp(0), X, y, WalkForward(train_size=120, test_size=40),
                          fit=FIT, refit=False)
    assert len({id(m) for m in result.models}) == 1 and len(result.models) == 3


def test_scikit_learn_estimator_and_custom_score():
    from sklearn.linear_model import Ridge

    X, y = data()
    result = walk_forward(Ridge, X, y, WalkForward(n_splits=3),
                          score=lambda t, p: {"corr": float(np.corrcoef(t, p)[0, 1])})
    assert all(s["corr"] > 0.95 for s in result.scores)


def test_a_splitter_that_looks_ahead_is_refused():
    from sklearn.model_selection import KFold

    X, y = data(60)
    with pytest.raises(ValueError, match="not before its test"):
        walk_forward(lambda: mlp(0), X, y, KFold(3), fit=FIT)


def test_progress_bar(capsys):
    X, y = data(90)
    walk_forward(lambda: mlp(0), X, y, WalkForward(n_splits=2), fit=dict(FIT, epochs=1),
                 verbose=1)
    assert "walk-forward" in capsys.readouterr().err
