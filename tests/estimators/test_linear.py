"""LinearRegressor and LogisticClassifier: the steps they take against NumPy, penalties,
stopping, callbacks, partial_fit and warm starts."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from steepest.estimators import LinearRegressor, LogisticClassifier  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.standard_normal((600, 6))
W = np.array([1.5, -2.0, 0.0, 0.0, 0.7, 0.0])
Y = X @ W + 0.3 + 0.05 * RNG.standard_normal(600)


def test_one_full_batch_step_is_gradient_descent_on_the_mean_loss():
    """From zeros, one SGD step on the whole batch: w = -lr * 2/n X^T (0 - y), b likewise."""
    lr = 0.05
    est = LinearRegressor(penalty=None, lr=lr, batch_size=None, epochs=1, shuffle=False,
                          seed=0).fit(X, Y)
    x, y = X.astype(np.float32).astype(np.float64), Y.astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(est.coef_, lr * 2 * x.T @ y / len(x), rtol=1e-5)
    np.testing.assert_allclose(est.intercept_, [lr * 2 * y.mean()], rtol=1e-5)
    assert est.loss_curve_ == [pytest.approx(np.mean(y ** 2), rel=1e-6)]


def test_l1_step_is_the_soft_threshold_of_the_sgd_step():
    lr, alpha = 0.05, 0.4
    plain = LinearRegressor(penalty=None, lr=lr, batch_size=None, epochs=1, shuffle=False)
    l1 = LinearRegressor(penalty="l1", alpha=alpha, lr=lr, batch_size=None, epochs=1,
                         shuffle=False)
    w = plain.fit(X, Y).coef_.astype(np.float64)
    expected = np.sign(w) * np.maximum(np.abs(w) - lr * alpha, 0)
    np.testing.assert_allclose(l1.fit(X, Y).coef_, expected, rtol=1e-5, atol=1e-7)
    assert (l1.coef_ == 0).sum() >= 1


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("batch_size", [None, 1, 32])
def test_recovers_the_coefficients(optimizer, batch_size):
    lr = {("sgd", None): 0.2, ("sgd", 1): 0.002, ("sgd", 32): 0.02}.get(
        (optimizer, batch_size), 0.05 if batch_size != 1 else 0.002)
    est = LinearRegressor(penalty=None, optimizer=optimizer, lr=lr, batch_size=batch_size,
                          epochs=300 if batch_size is None else 40, tol=None, seed=0)
    est.fit(X, Y)
    np.testing.assert_allclose(est.coef_, W, atol=0.03)
    np.testing.assert_allclose(est.intercept_, [0.3], atol=0.03)
    assert est.score(X, Y) > 0.99


def test_l1_and_elasticnet_zero_the_irrelevant_weights_exactly():
    for penalty in ("l1", "elasticnet"):
        est = LinearRegressor(penalty=penalty, alpha=0.05, l1_ratio=0.9, lr=0.02, epochs=30,
                              tol=None, seed=0).fit(X, Y)
        assert set(np.flatnonzero(est.coef_ == 0)) == {2, 3, 5}, (penalty, est.coef_)
    none = LinearRegressor(penalty=None, lr=0.02, epochs=30, tol=None, seed=0).fit(X, Y)
    assert np.count_nonzero(none.coef_ == 0) == 0


def test_l2_shrinks_the_weights():
    norms = [np.linalg.norm(LinearRegressor(penalty="l2", alpha=a, lr=0.02, epochs=30,
                                            tol=None, seed=0).fit(X, Y).coef_)
             for a in (0.0, 0.1, 1.0)]
    assert norms[0] > norms[1] > norms[2]


def test_robust_losses_resist_outliers():
    y = Y.copy()
    y[::20] += 50.0  # 5% gross outliers
    errors = {loss: np.abs(LinearRegressor(loss=loss, penalty=None, lr=0.01, epochs=60,
                                           tol=None, seed=0).fit(X, y).coef_ - W).max()
              for loss in ("mse", "mae", "huber")}
    assert errors["mae"] < 0.1 and errors["huber"] < 0.1 < errors["mse"]


def test_multi_output_regression():
    Y2 = np.column_stack([Y, -2 * Y])
    est = LinearRegressor(penalty=None, lr=0.02, epochs=40, tol=None, seed=0).fit(X, Y2)
    assert est.coef_.shape == (2, 6) and est.predict(X).shape == (600, 2)
    np.testing.assert_allclose(est.coef_[1], -2 * W, atol=0.05)


def test_binary_and_multinomial_classification_with_any_labels():
    logits = X @ np.array([[2.0, 0, 0, 0, 0, 0], [0, 2.0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]).T
    labels3 = np.array(["down", "flat", "up"])[logits.argmax(1)]
    labels2 = np.where(X[:, 0] > 0, 1, -1)
    for y, n_classes in ((labels2, 2), (labels3, 3)):
        clf = LogisticClassifier(seed=0).fit(X, y)
        assert list(clf.classes_) == sorted(set(y))
        proba = clf.predict_proba(X)
        assert proba.shape == (600, n_classes)
        np.testing.assert_allclose(proba.sum(1), 1.0)
        assert (clf.classes_[proba.argmax(1)] == clf.predict(X)).all()
        assert clf.score(X, y) > 0.93
        z = clf.decision_function(X)
        if n_classes == 2:
            assert clf.coef_.shape == (1, 6) and z.shape == (600,)
            np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-z)))
        else:
            assert clf.coef_.shape == (3, 6) and z.shape == (600, 3)


def test_callbacks_see_every_epoch_and_can_stop():
    seen = []

    def stop_at_third(epoch, logs):
        seen.append((epoch, sorted(logs)))
        return epoch == 2

    est = LinearRegressor(tol=None, early_stopping=True, callbacks=[stop_at_third], seed=0)
    est.fit(X, Y)
    assert est.n_iter_ == 3 and len(est.loss_curve_) == 3
    assert seen == [(e, ["loss", "lr", "val_loss"]) for e in range(3)]


def test_early_stopping_validates_on_the_last_rows_and_keeps_the_best_epoch():
    est = LinearRegressor(lr=0.05, early_stopping=True, validation_fraction=0.2,
                          n_iter_no_change=3, seed=0).fit(X, Y)
    tail = slice(480, None)  # ceil(0.2 * 600) = 120 last rows
    mse = np.mean((est.predict(X[tail]) - Y[tail]) ** 2)
    assert est.validation_loss_curve_[est.best_epoch_] == pytest.approx(mse, rel=1e-4)
    assert min(est.validation_loss_curve_) == est.validation_loss_curve_[est.best_epoch_]
    assert est.n_iter_ < 100  # stopped


def test_partial_fit_continues_like_fit():
    """Two partial_fit calls are the two epochs of a fit (the optimizer's state kept)."""
    fit = LinearRegressor(optimizer="adam", lr=0.01, epochs=2, tol=None, seed=3).fit(X, Y)
    part = LinearRegressor(optimizer="adam", lr=0.01, epochs=2, tol=None, seed=3)
    part.partial_fit(X, Y).partial_fit(X, Y)
    assert part.coef_.tobytes() == fit.coef_.tobytes()
    assert part.loss_curve_ == fit.loss_curve_
    clf = LogisticClassifier(seed=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, X[:, 0] > 0)
    clf.partial_fit(X[:300], X[:300, 0] > 0, classes=[False, True])
    clf.partial_fit(X[300:], X[300:, 0] > 0)
    assert clf.score(X, X[:, 0] > 0) > 0.9
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :5], X[:, 0] > 0)


def test_warm_start_continues_from_the_fitted_weights():
    est = LinearRegressor(lr=0.01, epochs=3, tol=None, warm_start=True, seed=0).fit(X, Y)
    first = est.loss_curve_[-1]
    est.fit(X, Y)
    assert len(est.loss_curve_) == 6 and est.n_iter_ == 3  # the curve goes on
    assert est.loss_curve_[3] < first * 1.01
    cold = LinearRegressor(lr=0.01, epochs=3, tol=None, seed=0).fit(X, Y)
    assert cold.fit(X, Y).loss_curve_[0] > first * 2


@pytest.mark.parametrize("param, value", [
    ("lr", 0.0), ("lr", "big"), ("epochs", 0), ("batch_size", 0), ("penalty", "l3"),
    ("alpha", -1.0), ("l1_ratio", 1.5), ("optimizer", "newton"), ("loss", "hinge"),
    ("validation_fraction", 1.0), ("n_iter_no_change", 0), ("tol", -1.0), ("seed", -1),
    ("callbacks", [3]), ("delta", 0.0)])
def test_bad_parameters_raise_naming_them_at_fit(param, value):
    est = LinearRegressor(**{param: value})  # __init__ stores it unchecked
    assert est.get_params()[param] is value
    with pytest.raises(ValueError, match=param):
        est.fit(X, Y)
    assert not hasattr(est, "coef_")


def test_divergence_is_an_error():
    with pytest.raises(ValueError, match="diverged"):
        LinearRegressor(lr=10.0, seed=0).fit(100 + X, Y)


def test_penalty_with_a_rule_without_weight_decay():
    with pytest.raises(ValueError, match="weight_decay"):
        LinearRegressor(optimizer="rprop").fit(X, Y)
    LinearRegressor(optimizer="rprop", penalty="l1", lr=1e-3, epochs=2).fit(X, Y)


def test_bad_data_leaves_a_fitted_estimator_as_it_was():
    for est, y, bad_y in ((LinearRegressor(seed=0), Y, np.array(["a"] * 600)),
                          (LogisticClassifier(seed=0), X[:, 0] > 0, Y)):
        est.fit(X, y)
        before = {k: v.copy() if isinstance(v, np.ndarray) else v
                  for k, v in vars(est).items() if k.endswith("_") and not k.startswith("_")}
        expected = est.predict(X)
        X_nan = X[:, :5].copy()
        X_nan[3, 1] = np.nan
        for bad in ((X_nan, y), (X[:, :5], bad_y)):
            with pytest.raises(ValueError):
                est.fit(*bad)
        assert est.n_features_in_ == 6
        for k, v in before.items():
            assert np.array_equal(getattr(est, k), v), k
        np.testing.assert_array_equal(est.predict(X), expected)


def test_early_stopping_needs_training_rows():
    est = LinearRegressor(seed=0).fit(X, Y)
    coef = est.coef_.copy()
    with pytest.raises(ValueError, match="validation_fraction"):
        est.set_params(early_stopping=True, validation_fraction=0.9).fit(X[:3], Y[:3])
    assert est.n_features_in_ == 6 and np.array_equal(est.coef_, coef)
