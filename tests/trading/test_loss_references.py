"""The NumPy oracles of the trading losses against float64 central finite differences."""

import numpy as np
import pytest

from steepest.reference import trading as T


def finite_differences(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in range(x.size):
        up, down = x.copy(), x.copy()
        up.flat[i] += h
        down.flat[i] -= h
        g.flat[i] = (f(up) - f(down)) / (2 * h)
    return g


@pytest.mark.parametrize("loss", [T.sharpe_loss, T.sortino_loss])
@pytest.mark.parametrize("cost", [0.0, 1e-3])
@pytest.mark.parametrize("n", [2, 11, 64])
def test_ratio_losses(loss, cost, n):
    rng = np.random.default_rng(n)
    p, r = rng.standard_normal(n) * 0.5, rng.standard_normal(n) * 0.01 + 0.001
    value, grad = loss(p, r, cost)
    expected = finite_differences(lambda x: loss(x, r, cost)[0], p)
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-8 * np.abs(expected).max())
    R = p * r - cost * np.abs(np.diff(p, prepend=p[0]))
    sd = np.sqrt(np.mean((R - R.mean()) ** 2) + 1e-12)
    if loss is T.sharpe_loss:
        assert value == pytest.approx(-np.sqrt(252) * R.mean() / sd)


def test_reinforce():
    rng = np.random.default_rng(0)
    z, a, adv = rng.standard_normal((9, 4)), rng.integers(0, 4, 9), rng.standard_normal(9)
    value, grad = T.reinforce_loss(z, a, adv)
    expected = finite_differences(lambda x: T.reinforce_loss(x, a, adv)[0], z)
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-9)
    log_p = z - np.log(np.exp(z).sum(1, keepdims=True))
    assert value == pytest.approx(-np.mean(adv * log_p[np.arange(9), a]))
