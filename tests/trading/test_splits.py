"""WalkForward: scikit-learn's TimeSeriesSplit where they coincide, rolling windows, purging,
and use inside scikit-learn's model selection."""

import numpy as np
import pytest

from steepest.trading import WalkForward

sklearn = pytest.importorskip("sklearn")
from sklearn.model_selection import TimeSeriesSplit  # noqa: E402


def folds(splitter, n):
    return [(tr.tolist(), te.tolist()) for tr, te in splitter.split(np.zeros((n, 1)))]


@pytest.mark.parametrize("n", [20, 37, 100])
@pytest.mark.parametrize("n_splits", [2, 3, 5])
@pytest.mark.parametrize("gap", [0, 2])
@pytest.mark.parametrize("test_size", [None, 3])
def test_expanding_is_time_series_split(n, n_splits, gap, test_size):
    ours = WalkForward(n_splits=n_splits, test_size=test_size, gap=gap)
    theirs = TimeSeriesSplit(n_splits=n_splits, test_size=test_size, gap=gap)
    assert folds(ours, n) == folds(theirs, n)
    assert ours.get_n_splits() == theirs.get_n_splits()


def test_one_split_holds_out_the_last_period():
    """TimeSeriesSplit needs n_splits >= 2; one walk-forward split is a plain hold-out."""
    assert folds(WalkForward(n_splits=1, gap=1), 10) == [(list(range(4)), list(range(5, 10)))]


@pytest.mark.parametrize("train_size", [4, 10])
def test_rolling_is_time_series_split_with_max_train_size(train_size):
    ours = WalkForward(n_splits=4, train_size=train_size, expanding=False, gap=1)
    theirs = TimeSeriesSplit(n_splits=4, max_train_size=train_size, gap=1)
    assert folds(ours, 50) == folds(theirs, 50)


def test_stepping_folds_train_strictly_before_test():
    splitter = WalkForward(train_size=20, test_size=5, step=5, gap=3, expanding=False)
    got = list(splitter.split(np.zeros(50)))
    assert len(got) == splitter.get_n_splits(np.zeros(50)) == 5  # tests at 23, 28, ..., 43
    for k, (train, test) in enumerate(got):
        assert len(train) == 20 and len(test) == 5
        assert test[0] == 23 + 5 * k and train[-1] == test[0] - 4  # 3 samples purged
    expanding = list(WalkForward(train_size=20, test_size=5).split(np.zeros(50)))
    assert [len(tr) for tr, _ in expanding] == [20, 25, 30, 35, 40, 45]


def test_inside_scikit_learn():
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV, cross_val_score

    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.1 * rng.standard_normal(120)
    scores = cross_val_score(Ridge(), X, y, cv=WalkForward(n_splits=4, gap=1))
    assert len(scores) == 4 and np.all(scores > 0.9)
    search = GridSearchCV(Ridge(), {"alpha": [0.1, 100.0]},
                          cv=WalkForward(train_size=40, test_size=20)).fit(X, y)
    assert search.best_params_ == {"alpha": 0.1}


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_splits=0), "n_splits must be an int >= 1"),
    (dict(n_splits=50), "too few"),
    (dict(), "give train_size and test_size"),
    (dict(train_size=10, test_size=5, expanding=False, n_splits=2), None),
    (dict(train_size=45, test_size=10), "too few"),
    (dict(n_splits=3, step=2), "give step or n_splits"),
    (dict(n_splits=3, train_size=5), "rolling window"),
    (dict(test_size=5, expanding=False), "needs train_size"),
    (dict(n_splits=2, gap=-1), "gap must be an int >= 0"),
])
def test_bad_arguments(kwargs, message):
    splitter = WalkForward(**kwargs)
    if message is None:
        assert len(folds(splitter, 50)) == 2
        return
    with pytest.raises(ValueError, match=message):
        folds(splitter, 50)
