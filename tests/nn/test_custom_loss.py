"""Custom losses (an object with value_and_grad(output, target)) in fit and evaluate, and
check_grad's finite differences."""

import numpy as np
import pytest

import steepest
from steepest import nn


class LogCosh:
    """mean(log(cosh(p - y))), its gradient tanh(p - y) / N."""

    def value_and_grad(self, output, target):
        d = output.astype(np.float64) - target
        return np.mean(np.log(np.cosh(d))), np.tanh(d) / d.size


class HalfGradient(LogCosh):
    def value_and_grad(self, output, target):
        value, grad = super().value_and_grad(output, target)
        return value, grad / 2


class Mse:
    def value_and_grad(self, output, target):
        d = output - target
        return float(np.mean(np.square(d, dtype=np.float64))), 2 * d / d.size


def regression(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)).astype(np.float32)
    return X, X @ np.array([1.0, -2.0, 0.5], np.float32) + 0.1


def test_fit_with_a_custom_loss_takes_the_built_in_steps():
    X, y = regression()
    a = nn.Sequential(nn.Dense(3, 1, seed=0))
    b = nn.Sequential(nn.Dense(3, 1, seed=0))
    ha = a.fit(X, y, loss=Mse(), optimizer="sgd", epochs=3, batch_size=16, seed=1)
    hb = b.fit(X, y, loss="mse", optimizer="sgd", epochs=3, batch_size=16, seed=1)
    np.testing.assert_allclose(ha["loss"], hb["loss"], rtol=1e-6)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-6, atol=1e-7)
    assert a.evaluate(X, y, loss=Mse()) == pytest.approx(b.evaluate(X, y, loss="mse"),
                                                         rel=1e-6)


def test_a_custom_loss_learns():
    X, y = regression()
    model = nn.Sequential(nn.Dense(3, 1, seed=0))
    history = model.fit(X, y, loss=LogCosh(), optimizer=steepest.optim.Adam(
        model.parameters(), lr=0.05), epochs=30, batch_size=8, seed=0, metric="r2")
    assert history["loss"][-1] < 0.1 * history["loss"][0] and history["r2"][-1] > 0.9


def test_optional_attributes():
    class Positions(LogCosh):
        time_order = True
        name = "positions"

        def targets(self, y, outputs, dtype, name="y"):
            return np.asarray(y, dtype=dtype).reshape(-1, outputs) * 2

    loss = nn.losses.get(Positions())
    assert loss.kind == "positions" and loss.time_order and not loss.classification
    X, y = regression()
    model = nn.Sequential(nn.Dense(3, 1, seed=0))
    with pytest.raises(ValueError, match="pass shuffle=False"):
        model.fit(X, y, loss=Positions())
    model.fit(X, y, loss=Positions(), shuffle=False)


def test_a_gradient_of_the_wrong_shape_changes_nothing():
    class Flat(LogCosh):
        def value_and_grad(self, output, target):
            value, grad = super().value_and_grad(output, target)
            return value, grad.ravel()

    X, y = regression()
    model = nn.Sequential(nn.Dense(3, 1, seed=0))
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match="must have the output's shape"):
        model.fit(X, y, loss=Flat(), batch_size=8)
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, b)


def test_check_grad():
    rng = np.random.default_rng(0)
    out, y = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    assert nn.check_grad(LogCosh(), out, y) < 1e-7
    with pytest.raises(AssertionError, match="relative error 0.5 > 1e-05 at output"):
        nn.check_grad(HalfGradient(), out, y)
    # the built-in losses (float64 kernels) pass it too
    for loss, target in ((nn.MSELoss(), y), (nn.HuberLoss(0.5), y),
                         (nn.CrossEntropyLoss(), np.array([0, 1, 1, 0, 1, 0])),
                         (nn.BCEWithLogitsLoss(), rng.uniform(0, 1, (6, 2)))):
        assert nn.check_grad(loss, out, target) < 1e-6
    with pytest.raises(ValueError, match="output must be"):
        nn.check_grad(LogCosh(), np.ones(3), np.ones(3))


def test_bad_loss_objects():
    X, y = regression()
    with pytest.raises(ValueError, match="an object with value_and_grad"):
        nn.Sequential(nn.Dense(3, 1)).fit(X, y, loss=object())
    assert isinstance(steepest.nn.losses.get(LogCosh()), nn.CustomLoss)
