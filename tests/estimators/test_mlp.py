"""MLPRegressor and MLPClassifier: learning, schedules, dropout and weight decay, early
stopping, partial_fit and warm starts."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_digits  # noqa: E402

from steepest import nn  # noqa: E402
from steepest.estimators import MLPClassifier, MLPRegressor  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.uniform(-2, 2, (800, 2))
Y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2


def test_regressor_learns_a_nonlinear_function():
    est = MLPRegressor(hidden_layer_sizes=(32, 32), lr=1e-2, batch_size=32, epochs=60,
                       seed=0).fit(X, Y)
    assert est.score(X, Y) > 0.95
    assert isinstance(est.model_, nn.Sequential)
    assert [type(layer).__name__ for layer in est.model_.layers] == [
        "Dense", "ReLU", "Dense", "ReLU", "Dense"]


def test_classifier_on_digits_with_string_labels():
    data = load_digits()
    X_d, labels = data.data / 16.0, np.array([f"digit {k}" for k in data.target])
    clf = MLPClassifier(hidden_layer_sizes=(64,), lr=3e-3, batch_size=64, epochs=30,
                        seed=0).fit(X_d[:1400], labels[:1400])
    assert clf.classes_[0] == "digit 0" and len(clf.classes_) == 10
    assert clf.score(X_d[1400:], labels[1400:]) > 0.9
    proba = clf.predict_proba(X_d[1400:])
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert (clf.classes_[proba.argmax(1)] == clf.predict(X_d[1400:])).all()


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "gelu", "leaky_relu", "identity"])
def test_activations(activation):
    est = MLPRegressor(hidden_layer_sizes=(8,), activation=activation, dropout=0.1, epochs=2,
                       seed=0).fit(X, Y)
    names = [type(layer).__name__ for layer in est.model_.layers]
    expected = {"tanh": "Tanh", "sigmoid": "Sigmoid", "gelu": "GELU", "leaky_relu": "LeakyReLU"}
    assert names == ["Dense"] + ([expected[activation]] if activation in expected else []) + [
        "Dropout", "Dense"]


def lrs(**params):
    seen = []
    MLPRegressor(hidden_layer_sizes=(4,), epochs=9, tol=None, seed=0, lr=0.1,
                 callbacks=[lambda epoch, logs: seen.append(logs["lr"])], **params).fit(X, Y)
    return seen


def test_lr_schedules_step_per_epoch():
    assert lrs() == [0.1] * 9
    assert lrs(lr_schedule="step") == pytest.approx([0.1] * 3 + [0.01] * 3 + [0.001] * 3)
    cosine = lrs(lr_schedule="cosine")
    assert cosine == pytest.approx([0.05 * (1 + np.cos(np.pi * t / 9)) for t in range(9)])
    assert lrs(lr_schedule="linear") == pytest.approx([0.1 * (1 - t / 9) for t in range(9)])


def test_weight_decay_shrinks_the_weights_not_the_biases():
    def norms(decay):
        est = MLPRegressor(hidden_layer_sizes=(16,), weight_decay=decay, lr=1e-2, epochs=20,
                           tol=None, seed=0).fit(X, Y)
        return sum(np.linalg.norm(p.data) for n, p in est.model_.named_parameters()
                   if n.endswith("weight"))
    assert norms(1.0) < 0.8 * norms(0.0)


def test_early_stopping_keeps_the_best_epoch():
    est = MLPRegressor(hidden_layer_sizes=(16,), lr=0.05, early_stopping=True,
                       n_iter_no_change=3, epochs=200, seed=0).fit(X, Y)
    tail = slice(720, None)  # the last ceil(0.1 * 800) rows validate
    mse = np.mean((est.predict(X[tail]) - Y[tail]) ** 2)
    assert est.validation_loss_curve_[est.best_epoch_] == pytest.approx(mse, rel=1e-4)
    assert est.validation_loss_curve_[est.best_epoch_] == min(est.validation_loss_curve_)
    assert est.n_iter_ < 200


def test_partial_fit_continues_like_fit():
    kw = dict(hidden_layer_sizes=(8,), dropout=0.2, epochs=3, tol=None, seed=5)
    fit = MLPClassifier(**kw).fit(X, X[:, 0] > 0)
    part = MLPClassifier(**kw)
    for _ in range(3):
        part.partial_fit(X, X[:, 0] > 0, classes=[False, True])
    assert part.loss_curve_ == fit.loss_curve_
    np.testing.assert_array_equal(part.predict_proba(X), fit.predict_proba(X))


def test_warm_start_keeps_the_weights():
    est = MLPRegressor(hidden_layer_sizes=(8,), epochs=5, tol=None, warm_start=True, seed=0)
    before = est.fit(X, Y).model_
    weights = before.state_dict()
    est.set_params(epochs=1).fit(X, Y)
    assert est.model_ is before and len(est.loss_curve_) == 6
    assert any((weights[k] != v).any() for k, v in est.model_.state_dict().items())


@pytest.mark.parametrize("param, value", [
    ("hidden_layer_sizes", (3, 0)), ("hidden_layer_sizes", "big"), ("activation", "softmax"),
    ("dropout", 1.0), ("weight_decay", -1.0), ("lr_schedule", "warm"),
    ("optimizer", "lbfgs"), ("loss", "cross_entropy")])
def test_bad_parameters_raise_naming_them(param, value):
    with pytest.raises(ValueError, match=param):
        MLPRegressor(**{param: value}).fit(X, Y)
