"""SequenceRegressor and SequenceClassifier on windows (n, T, F): they learn an AR series,
read (n, T) as one feature, take new models as one row of MODELS, refuse bad input."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from steepest import nn  # noqa: E402
from steepest.estimators import SequenceClassifier, SequenceRegressor, sequence  # noqa: E402


def windows(n=1500, T=12, seed=0):
    """Windows of an AR(2) series s (one feature: s; a second: s^2) and the next value."""
    rng = np.random.default_rng(seed)
    s = np.zeros(n + T + 1)
    for t in range(2, len(s)):
        s[t] = 0.6 * s[t - 1] - 0.3 * s[t - 2] + rng.standard_normal()
    X = np.lib.stride_tricks.sliding_window_view(s[:-1], T)[:n]
    return X, s[T:T + n]


def test_regressor_learns_the_series():
    X, y = windows()
    X3 = np.stack([X, X ** 2], axis=-1)
    est = SequenceRegressor(hidden_size=16, epochs=15, lr=1e-2, seed=0).fit(X3[:1200], y[:1200])
    assert est.model_.layers[0].get_config()["class"] == "TCNBlock"
    # beats the mean (R^2 = 0); the AR(2)'s explainable share is R^2 = 0.28
    assert est.score(X3[1200:], y[1200:]) > 0.1


def test_classifier_learns_the_direction():
    X, y = windows()
    labels = np.where(y > 0, "up", "down")
    est = SequenceClassifier(hidden_size=16, epochs=15, lr=1e-2, seed=0).fit(X[:1200],
                                                                            labels[:1200])
    assert list(est.classes_) == ["down", "up"]
    assert est.score(X[1200:], labels[1200:]) > 0.6
    proba = est.predict_proba(X[1200:])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_a_2d_x_is_one_feature():
    X, y = windows(300)
    a = SequenceRegressor(hidden_size=4, epochs=2, seed=1).fit(X, y)
    b = SequenceRegressor(hidden_size=4, epochs=2, seed=1).fit(X[:, :, None], y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X[:, :, None]))


def test_a_model_is_one_row_of_models(monkeypatch):
    def last_step_dense(n_features, n_outputs, est, rng):
        return [nn.LastStep(), nn.Dense(n_features, n_outputs, seed=0)]

    monkeypatch.setitem(sequence.MODELS, "last", last_step_dense)
    X, y = windows(200)
    est = SequenceRegressor(model="last", epochs=1, seed=0).fit(X, y)
    assert [type(layer).__name__ for layer in est.model_.layers] == ["LastStep", "Dense"]


@pytest.mark.parametrize("change,match", [
    (dict(model="lstmm"), "model must be one of"),
    (dict(hidden_size=0), "hidden_size must be an int >= 1"),
    (dict(kernel_size=1.5), "kernel_size"),
    (dict(dropout=1.0), "dropout"),
])
def test_bad_parameters(change, match):
    X, y = windows(50)
    with pytest.raises(ValueError, match=match):
        SequenceRegressor(**change).fit(X, y)


def test_bad_windows():
    X, y = windows(50)
    with pytest.raises(ValueError, match="Found array with dim 4|windows X"):
        SequenceRegressor(epochs=1).fit(X[:, :, None, None], y)
    est = SequenceRegressor(epochs=1, seed=0).fit(np.stack([X, X], -1), y)
    with pytest.raises(ValueError, match="features"):
        est.predict(np.stack([X, X, X], -1))
