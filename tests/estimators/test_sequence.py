"""SequenceRegressor and SequenceClassifier on windows (n, T, F) of a synthetic return series."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.model_selection import GridSearchCV  # noqa: E402

from steepest.estimators import SequenceClassifier, SequenceRegressor  # noqa: E402
from steepest.trading import WalkForward  # noqa: E402


def ar_windows(n=1500, steps=12, seed=0):
    """Windows of an AR(2) series r_t = 0.6 r_{t-1} - 0.3 r_{t-2} + e_t (unit noise), with a
    second, pure-noise feature; y is the next value: predictable, R^2 about 0.3."""
    rng = np.random.default_rng(seed)
    r = rng.standard_normal(n + steps)
    for t in range(2, len(r)):
        r[t] += 0.6 * r[t - 1] - 0.3 * r[t - 2]
    noise = rng.standard_normal(len(r))
    X = np.stack([np.stack([r[i:i + steps], noise[i:i + steps]], axis=1) for i in range(n)])
    return X, r[steps:steps + n]


X, Y = ar_windows()
TRAIN = 1200


@pytest.mark.parametrize("model", ["tcn", "lstm", "gru", "transformer"])
def test_regressor_predicts_the_next_value_better_than_the_mean(model):
    reg = SequenceRegressor(model=model, hidden_size=16, num_layers=1, epochs=8, lr=3e-3,
                            seed=0).fit(X[:TRAIN], Y[:TRAIN])
    assert reg.n_features_in_ == 2 and reg.n_outputs_ == 1
    assert reg.predict(X[TRAIN:]).shape == (len(X) - TRAIN,)
    assert reg.score(X[TRAIN:], Y[TRAIN:]) > 0.15  # R^2 of the mean: 0


def test_classifier_predicts_the_direction_with_any_labels():
    up = np.where(Y > 0, "up", "down")
    clf = SequenceClassifier(hidden_size=16, epochs=8, lr=3e-3, seed=0).fit(X[:TRAIN], up[:TRAIN])
    assert list(clf.classes_) == ["down", "up"]
    assert clf.score(X[TRAIN:], up[TRAIN:]) > 0.6
    proba = clf.predict_proba(X[TRAIN:])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (clf.classes_[proba.argmax(axis=1)] == clf.predict(X[TRAIN:])).all()


def test_a_2d_X_is_windows_of_one_step():
    flat = X[:300, -1, :]
    a = SequenceRegressor(hidden_size=4, epochs=2, seed=0).fit(flat, Y[:300])
    b = SequenceRegressor(hidden_size=4, epochs=2, seed=0).fit(flat[:, None, :], Y[:300])
    np.testing.assert_array_equal(a.predict(flat), b.predict(flat[:, None, :]))
    assert a.n_features_in_ == b.n_features_in_ == 2


def test_windows_of_another_length_predict_and_other_features_raise():
    reg = SequenceRegressor(hidden_size=4, epochs=1, seed=0).fit(X[:200], Y[:200])
    assert reg.predict(X[:5, -4:]).shape == (5,)  # the model is causal: any length
    with pytest.raises(ValueError, match="X has 3 features, but SequenceRegressor is "
                                         "expecting 2 features"):
        reg.predict(np.zeros((5, 12, 3)))
    with pytest.raises(ValueError):
        reg.predict(np.zeros((5, 12, 2, 1)))
    with pytest.raises(ValueError):
        SequenceRegressor().fit(np.full((5, 12, 2), np.nan), np.zeros(5))


def test_partial_fit_continues_and_grid_search_runs_on_walk_forward_folds():
    reg = SequenceRegressor(hidden_size=8, seed=0)
    reg.partial_fit(X[:400], Y[:400])
    first = {k: v.copy() for k, v in reg.model_.state_dict().items()}
    reg.partial_fit(X[:400], Y[:400])
    assert reg.n_iter_ == 2
    assert any((reg.model_.state_dict()[k] != v).any() for k, v in first.items())
    search = GridSearchCV(SequenceRegressor(hidden_size=8, epochs=3, seed=0),
                          {"lr": [1e-5, 3e-3]}, cv=WalkForward(n_splits=2)).fit(X[:600], Y[:600])
    assert search.best_params_ == {"lr": 3e-3}


@pytest.mark.parametrize("param, value", [
    ("model", "rnn"), ("hidden_size", 0), ("num_heads", 0), ("dim_feedforward", 0), ("num_layers", 0), ("kernel_size", 0),
    ("dropout", 1.0), ("optimizer", "lbfgs"), ("loss", "cross_entropy")])
def test_bad_parameters_raise_naming_them(param, value):
    with pytest.raises(ValueError, match=param):
        SequenceRegressor(**{param: value}).fit(X[:50], Y[:50])


def test_transformer_width_must_split_into_heads():
    with pytest.raises(ValueError, match="multiple of num_heads"):
        SequenceRegressor(model="transformer", hidden_size=10, num_heads=4).fit(X[:50], Y[:50])
