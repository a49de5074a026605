"""SAM / ASAM around a base optimizer, on a diagonal quadratic L(w) = sum(a * w**2) / 2.

The expected step is computed here from the equations of the docstring (Foret et al. 2021;
Kwon et al. 2021) with NumPy: e = rho T**2 g / ||T g||, then the base step with grad L(w + e).
"""

import numpy as np
import pytest

import steepest
from steepest.optim import SAM

A = [np.array([1.0, 4.0, 0.5]), np.array([[2.0, 0.1], [3.0, 1.0]])]


def quadratic(params):
    """A closure returning (loss, grads) for plain arrays, counting its calls."""
    calls = []

    def closure():
        calls.append([p.copy() for p in params])
        loss = sum(float(np.sum(a * p * p)) / 2 for a, p in zip(A, params))
        return loss, [a * p for a, p in zip(A, params)]
    return closure, calls


def make_params():
    rng = np.random.default_rng(0)
    return [rng.standard_normal(a.shape) for a in A]


@pytest.mark.parametrize("adaptive", [False, True])
def test_one_step_follows_the_equations(adaptive):
    rho, eta, lr = 0.1, 0.01, 0.05
    params = make_params()
    w = [p.copy() for p in params]
    closure, calls = quadratic(params)
    sam = SAM(steepest.optim.SGD(params, lr=lr), rho=rho, adaptive=adaptive, eta=eta)
    loss = sam.step(closure)

    g = [a * x for a, x in zip(A, w)]
    T = [np.abs(x) + eta if adaptive else np.ones_like(x) for x in w]
    norm = np.sqrt(sum(np.sum((t * gi) ** 2) for t, gi in zip(T, g)))
    e = [rho * t * t * gi / (norm + 1e-12) for t, gi in zip(T, g)]  # eps = 1e-12
    g_sam = [a * (x + ei) for a, x, ei in zip(A, w, e)]
    expected = [x - lr * gs for x, gs in zip(w, g_sam)]

    assert loss == pytest.approx(sum(np.sum(a * x * x) / 2 for a, x in zip(A, w)), rel=1e-15)
    assert len(calls) == 2
    for c, x in zip(calls[0], w):
        assert np.array_equal(c, x)  # first evaluation at w
    for c, x, ei in zip(calls[1], w, e):
        np.testing.assert_allclose(c, x + ei, rtol=1e-14)  # second at w + e
    for p, x in zip(params, expected):
        np.testing.assert_allclose(p, x, rtol=1e-14, atol=1e-15)


def test_parameters_restored_exactly_before_the_base_step():
    params = make_params()
    w = [p.copy() for p in params]
    closure, _ = quadratic(params)
    SAM(steepest.optim.SGD(params, lr=0.0), rho=0.5).step(closure)
    assert all(np.array_equal(p, x) for p, x in zip(params, w))


@pytest.mark.parametrize("adaptive, rho", [(False, 0.05), (True, 0.5)])
def test_converges(adaptive, rho):
    """To a neighbourhood of the minimum: the perturbation keeps its size rho there."""
    params = make_params()
    closure, _ = quadratic(params)
    sam = SAM(steepest.optim.SGD(params, lr=0.1, momentum=0.5), rho=rho, adaptive=adaptive)
    first = sam.step(closure)
    for _ in range(300):
        loss = sam.step(closure)
    assert loss < 1e-3 * first
    assert max(np.abs(p).max() for p in params) < 0.1


def test_grad_attribute_convention_and_wrapping():
    class Param:
        def __init__(self, data):
            self.data, self.grad = data, None

    params = [Param(p) for p in make_params()]
    ref_params = make_params()

    def closure():
        for a, p in zip(A, params):
            p.grad = a * p.data
        return sum(float(np.sum(a * p.data ** 2)) / 2 for a, p in zip(A, params))

    ref_closure, _ = quadratic(ref_params)
    sam = SAM(steepest.optim.Adam(params, lr=0.01), rho=0.05)
    ref = SAM(steepest.optim.Adam(ref_params, lr=0.01), rho=0.05)
    for _ in range(5):
        sam.step(closure)
        ref.step(ref_closure)
    assert all(np.array_equal(p.data, q) for p, q in zip(params, ref_params))
    assert sam.param_groups is sam.optimizer.param_groups
    assert set(sam.state_dict()["optimizer"]["state"]) == {0, 1}


def test_bad_closure():
    params = make_params()
    sam = SAM(steepest.optim.SGD(params, lr=0.1))
    with pytest.raises(ValueError, match="must return \\(loss, grads\\)"):
        sam.step(lambda: 1.0)
    with pytest.raises(ValueError, match="expected 2 gradients"):
        sam.step(lambda: (1.0, [np.zeros(3)]))
    with pytest.raises(ValueError, match="Invalid rho"):
        SAM(steepest.optim.SGD(params, lr=0.1), rho=-1.0)
