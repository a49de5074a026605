"""The estimators inside scikit-learn's tools: Pipeline, GridSearchCV and cross_val_score over
walk-forward splits (steepest.trading.WalkForward and TimeSeriesSplit)."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.model_selection import (GridSearchCV, TimeSeriesSplit,  # noqa: E402
                                     cross_val_score)
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from steepest.estimators import (LinearRegressor, LogisticClassifier, MLPClassifier,  # noqa: E402
                                 MLPRegressor)
from steepest.trading import WalkForward  # noqa: E402

RNG = np.random.default_rng(1)
X = 10 + 3 * RNG.standard_normal((500, 4))  # unscaled: the pipeline scales
Y = (X - 10) @ np.array([0.5, -0.2, 0.0, 0.1]) + 0.05 * RNG.standard_normal(500)
UP = np.where(Y > 0, "up", "down")


def test_pipeline():
    pipe = make_pipeline(StandardScaler(), LinearRegressor(seed=0)).fit(X, Y)
    assert pipe.score(X, Y) > 0.95
    assert pipe[-1].n_features_in_ == 4


@pytest.mark.parametrize("cv", [WalkForward(n_splits=3), TimeSeriesSplit(n_splits=3)],
                         ids=["WalkForward", "TimeSeriesSplit"])
def test_grid_search_over_walk_forward_folds(cv):
    pipe = make_pipeline(StandardScaler(), LinearRegressor(epochs=20, seed=0))
    grid = {"linearregressor__lr": [1e-4, 1e-2], "linearregressor__optimizer": ["sgd", "adam"]}
    search = GridSearchCV(pipe, grid, cv=cv).fit(X, Y)
    assert len(search.cv_results_["params"]) == 4
    assert "split2_test_score" in search.cv_results_
    assert search.best_params_["linearregressor__lr"] == 1e-2  # 1e-4 is too slow in 20 epochs
    assert search.best_estimator_[-1].n_iter_ >= 1
    assert search.score(X, Y) > 0.95


@pytest.mark.parametrize("estimator, y", [
    (LogisticClassifier(seed=0), UP),
    (MLPClassifier(hidden_layer_sizes=(16,), epochs=30, lr=1e-2, seed=0), UP),
    (MLPRegressor(hidden_layer_sizes=(16,), epochs=30, lr=1e-2, seed=0), Y)])
def test_cross_val_score_walk_forward(estimator, y):
    for cv in (WalkForward(n_splits=4, gap=2), TimeSeriesSplit(n_splits=4, gap=2)):
        scores = cross_val_score(make_pipeline(StandardScaler(), estimator), X, y, cv=cv)
        assert scores.shape == (4,) and scores.min() > 0.8, scores


def test_search_with_parallel_workers():
    """GridSearchCV with n_jobs=2: the estimators travel to the workers and back pickled."""
    search = GridSearchCV(make_pipeline(StandardScaler(), LogisticClassifier(seed=0)),
                          {"logisticclassifier__penalty": ["l1", "l2"]},
                          cv=WalkForward(n_splits=2), n_jobs=2).fit(X, UP)
    assert search.best_estimator_.score(X, UP) > 0.9
