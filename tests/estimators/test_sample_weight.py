"""fit(X, y, sample_weight=) and partial_fit's: a batch's loss is sum_i w_i l_i / sum_i w_i, so
integer weights are repeated rows (in one full batch), equal weights are no weights, the
validation loss of early stopping is weighted too, and bad weights raise and change nothing."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from steepest.estimators import (LinearRegressor, LogisticClassifier, MLPClassifier,  # noqa: E402
                                 MLPRegressor, SequenceRegressor)

RNG = np.random.default_rng(5)
X = RNG.standard_normal((40, 5))
Y = X @ np.array([1.0, -0.5, 0.2, 0.0, 0.8]) + 0.1 * RNG.standard_normal(40)
LABELS = np.where(X[:, 0] + 0.3 * RNG.standard_normal(40) > 0, "up", "down")
LABELS3 = np.array(["a", "b", "c"])[RNG.integers(0, 3, 40)]

ESTIMATORS = [
    (lambda **k: LinearRegressor(lr=0.05, **k), Y),
    (lambda **k: LinearRegressor(optimizer="adam", loss="huber", **k), Y),
    (lambda **k: LogisticClassifier(**k), LABELS),
    (lambda **k: LogisticClassifier(optimizer="adam", **k), LABELS3),
    (lambda **k: MLPRegressor(hidden_layer_sizes=(7,), **k), Y),
    (lambda **k: MLPClassifier(hidden_layer_sizes=(7,), **k), LABELS3),
    (lambda **k: SequenceRegressor(model="gru", hidden_size=4, num_layers=1, **k), Y),
]
IDS = ["sgd", "adam-huber", "logistic", "logistic3", "mlp", "mlp-classifier", "gru"]


def outputs(est, X):
    return est.decision_function(X) if hasattr(est, "decision_function") else est.predict(X)


@pytest.mark.parametrize("make,y", ESTIMATORS, ids=IDS)
def test_integer_weights_are_repeated_rows(make, y):
    """In one full batch (no shuffling can tell them apart) a row of weight k is k copies of it
    and a row of weight 0 is no row: the two fits agree to float32 rounding."""
    w = RNG.integers(0, 4, len(X))
    w[:3] = [0, 1, 2]
    kw = dict(batch_size=None, epochs=15, tol=None, seed=3)
    weighted = make(**kw).fit(X, y, sample_weight=w)
    repeated = make(**kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(outputs(weighted, X), outputs(repeated, X), rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=2e-5)


@pytest.mark.parametrize("make,y", ESTIMATORS, ids=IDS)
def test_equal_weights_are_no_weights(make, y):
    """Mini-batches, shuffled: weights all equal (any value) give the unweighted fit, bitwise."""
    kw = dict(batch_size=8, epochs=3, seed=1)
    plain = make(**kw).fit(X, y)
    for w in (np.ones(len(X)), np.full(len(X), 2.5), [3] * len(X)):
        np.testing.assert_array_equal(outputs(make(**kw).fit(X, y, sample_weight=w), X),
                                      outputs(plain, X))


def test_weights_move_the_solution_to_the_weighted_mean():
    """Targets +1 and -1 on the same (zero) features, weighted 3 : 1: the intercept goes to the
    weighted mean, 0.5, where the unweighted fit goes to 0."""
    x = np.zeros((64, 2))
    y = np.where(np.arange(64) % 2 == 0, 1.0, -1.0)
    w = np.where(y > 0, 3.0, 1.0)
    kw = dict(optimizer="adam", lr=0.02, penalty=None, batch_size=16, epochs=150, tol=None,
              seed=0)
    assert LinearRegressor(**kw).fit(x, y, sample_weight=w).intercept_[0] == \
        pytest.approx(0.5, abs=0.03)
    assert LinearRegressor(**kw).fit(x, y).intercept_[0] == pytest.approx(0.0, abs=0.03)


@pytest.mark.parametrize("make,y", [ESTIMATORS[0], ESTIMATORS[4]], ids=["linear", "mlp"])
def test_validation_loss_is_weighted(make, y):
    """early_stopping's validation rows (the last 25%) keep their weights: the last
    validation loss is sum_i w_i l_i / sum_i w_i of the final model's predictions there."""
    w = RNG.uniform(0.1, 3.0, len(X))
    est = make(early_stopping=True, validation_fraction=0.25, tol=None, epochs=4, batch_size=8,
               seed=2).fit(X, y, sample_weight=w)
    x_val, y_val, w_val = X[-10:], y[-10:], w[-10:]
    pred = est.predict(x_val).astype(np.float64)
    want = np.sum(w_val * (pred - y_val.astype(np.float32)) ** 2) / w_val.sum()
    assert est.validation_loss_curve_[-1] == pytest.approx(want, rel=1e-5)


def test_partial_fit_takes_weights():
    w = RNG.uniform(0.0, 2.0, len(X))
    a = LinearRegressor(seed=0, shuffle=False, batch_size=None)
    b = LinearRegressor(seed=0, shuffle=False, batch_size=None, epochs=2, tol=None)
    for _ in range(2):
        a.partial_fit(X, Y, sample_weight=w)
    b.fit(X, Y, sample_weight=w)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    c = LogisticClassifier(seed=0).partial_fit(X, LABELS, classes=["down", "up"],
                                               sample_weight=w)
    assert c.classes_.tolist() == ["down", "up"]


@pytest.mark.parametrize("w,match", [
    (-np.ones(40), "[Nn]egative"),
    (np.ones(39), "shape|length|samples"),
    (np.r_[np.nan, np.ones(39)], "NaN|finite|infinity"),
    (np.zeros(40), "sum to 0|non-zero"),
    (np.r_[np.ones(30), np.zeros(10)][::-1], "training rows sum to 0"),
], ids=["negative", "shape", "nan", "zeros", "zero-training-rows"])
def test_bad_weights_raise_and_change_nothing(w, match):
    est = LinearRegressor(seed=0, early_stopping=True, validation_fraction=0.75).fit(X, Y)
    coef, curve = est.coef_.copy(), list(est.loss_curve_)
    with pytest.raises(ValueError, match=match):
        est.fit(X, Y, sample_weight=w)
    np.testing.assert_array_equal(est.coef_, coef)
    assert est.loss_curve_ == curve
    np.testing.assert_array_equal(est.predict(X), LinearRegressor(
        seed=0, early_stopping=True, validation_fraction=0.75).fit(X, Y).predict(X))


CLASSIFIERS = [lambda **k: LogisticClassifier(**k), lambda **k: LogisticClassifier(**k),
               lambda **k: MLPClassifier(hidden_layer_sizes=(7,), **k)]


@pytest.mark.parametrize("make,y", [(CLASSIFIERS[0], LABELS), (CLASSIFIERS[1], LABELS3),
                                    (CLASSIFIERS[2], LABELS3)], ids=["binary", "multi", "mlp"])
def test_class_weight_is_sample_weight_by_label(make, y):
    """class_weight={label: w} is the fit with sample_weight w[label of the row], bitwise, times
    any sample_weight given too; "balanced" is scikit-learn's n / (classes * rows of the class)."""
    from sklearn.utils.class_weight import compute_class_weight
    kw = dict(batch_size=8, epochs=3, seed=1)
    labels = np.unique(y)
    cw = {label: float(i + 1) / 2 for i, label in enumerate(labels)}
    by_row = np.array([cw[label] for label in y])
    np.testing.assert_array_equal(
        outputs(make(class_weight=cw, **kw).fit(X, y), X),
        outputs(make(**kw).fit(X, y, sample_weight=by_row), X))
    sw = RNG.uniform(0.5, 2.0, len(X))
    np.testing.assert_array_equal(
        outputs(make(class_weight=cw, **kw).fit(X, y, sample_weight=sw), X),
        outputs(make(**kw).fit(X, y, sample_weight=sw * by_row), X))
    balanced = dict(zip(labels, compute_class_weight("balanced", classes=labels, y=y)))
    np.testing.assert_array_equal(
        outputs(make(class_weight="balanced", **kw).fit(X, y), X),
        outputs(make(class_weight=balanced, **kw).fit(X, y), X))
    partial = {labels[0]: 3.0}  # the classes left out weigh 1
    np.testing.assert_array_equal(
        outputs(make(class_weight=partial, **kw).fit(X, y), X),
        outputs(make(**kw).fit(X, y, sample_weight=np.where(y == labels[0], 3.0, 1.0)), X))


@pytest.mark.parametrize("cw,match", [
    ({"sideways": 2.0}, "not a class"),
    ({"up": -1.0}, "finite number >= 0"),
    ({"up": np.nan}, "finite number >= 0"),
    ({"up": True}, "finite number >= 0"),
    ("balance", "None, 'balanced' or a dict"),
    ({"up": 0.0, "down": 0.0}, "sum to 0"),
], ids=["unknown-label", "negative", "nan", "bool", "misspelt", "all-zero"])
def test_bad_class_weight_raises_and_changes_nothing(cw, match):
    est = LogisticClassifier(seed=0).fit(X, LABELS)
    coef = est.coef_.copy()
    with pytest.raises(ValueError, match=match):
        est.set_params(class_weight=cw).fit(X, LABELS)
    np.testing.assert_array_equal(est.coef_, coef)
    with pytest.raises(ValueError, match="partial_fit"):
        LogisticClassifier(class_weight="balanced").partial_fit(X, LABELS, classes=["down", "up"])
