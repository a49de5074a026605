"""LBFGS on the Rosenbrock function (float64): torch parity, convergence, state, conventions.

Parity: both optimizers get the same loss and gradient (computed here in NumPy) at each
evaluation, so only the L-BFGS arithmetic differs. Measured max |x_ours - x_torch| over the
trajectories below: strong Wolfe 2e-14 (2-D), 2e-10 (6-D); fixed step 1e-15 (2-D), 1e-11
(6-D). Not bitwise because torch's ``p.add_(d, alpha=t)`` rounds once (a fused multiply-add)
where NumPy's ``p += t * d`` rounds twice, and the Rosenbrock valley amplifies that ulp over
many iterations. The numbers of function evaluations are equal: every branch of both line
searches went the same way.
"""

import numpy as np
import pytest

from steepest.optim import LBFGS


def rosenbrock(x):
    """Chained Rosenbrock: sum 100 (x[i+1] - x[i]**2)**2 + (1 - x[i])**2, and its gradient."""
    f = np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return f, g


def closure_for(x):
    def closure():
        f, g = rosenbrock(x)
        return f, [g]
    return closure


def start(n):
    return np.array([-1.2, 1.0] * (n // 2))


CASES = [  # (dimension, steps, options, tolerance on |x - x_torch|)
    (2, 8, dict(line_search_fn="strong_wolfe"), 1e-12),
    (6, 8, dict(line_search_fn="strong_wolfe", history_size=5, max_iter=10), 1e-8),
    (2, 5, dict(lr=0.1), 1e-12),
    (6, 5, dict(lr=0.1, history_size=3, max_iter=10), 1e-9),
]


@pytest.mark.parametrize("n, steps, options, tol", CASES)
def test_follows_torch(n, steps, options, tol):
    torch = pytest.importorskip("torch")
    x = start(n)
    ours = LBFGS([x], **options)
    xt = torch.tensor(start(n))
    theirs = torch.optim.LBFGS([xt], **options)

    def torch_closure():
        f, g = rosenbrock(xt.numpy().copy())
        xt.grad = torch.from_numpy(g)
        return f

    for _ in range(steps):
        loss = ours.step(closure_for(x))
        torch_loss = theirs.step(torch_closure)
        np.testing.assert_allclose(x, xt.numpy(), rtol=0, atol=tol)
        assert loss == pytest.approx(float(torch_loss), rel=1e-8, abs=1e-9)
    state, torch_state = ours.state[0], theirs.state[xt]
    assert state["func_evals"] == torch_state["func_evals"]
    assert state["n_iter"] == torch_state["n_iter"]
    assert len(state["old_dirs"]) == len(torch_state["old_dirs"])


@pytest.mark.parametrize("line_search_fn", ["strong_wolfe", None])
def test_converges_on_rosenbrock(line_search_fn):
    x = start(2)
    opt = LBFGS([x], lr=1 if line_search_fn else 0.5, max_iter=200,
                tolerance_change=1e-14, line_search_fn=line_search_fn)
    for _ in range(5):
        opt.step(closure_for(x))
    np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-6)
    assert rosenbrock(x)[0] < 1e-12


def test_state_dict_resumes_bitwise():
    x, y = start(6), start(6)
    opt = LBFGS([x], history_size=4, max_iter=5, line_search_fn="strong_wolfe")
    for _ in range(3):
        opt.step(closure_for(x))
    saved = opt.state_dict()
    assert saved["param_groups"][0]["params"] == [0] and saved["state"][0]["n_iter"] > 0
    y[...] = x
    resumed = LBFGS([y], history_size=4, max_iter=5, line_search_fn="strong_wolfe")
    resumed.load_state_dict(saved)
    for _ in range(3):
        opt.step(closure_for(x))
        resumed.step(closure_for(y))
        assert np.array_equal(x, y)
    assert opt.state[0]["func_evals"] == resumed.state[0]["func_evals"]


def test_grad_attribute_convention_and_several_params():
    """Two parameter objects with ``.grad``; float32 runs in float32."""
    class Param:
        def __init__(self, data):
            self.data, self.grad = data, None

    a, b = Param(np.array([-1.2, 1.0, -1.2], np.float32)), Param(np.array([[1.0]], np.float32))

    def closure():
        f, g = rosenbrock(np.concatenate([a.data, b.data.ravel()]).astype(np.float64))
        a.grad, b.grad = g[:3].astype(np.float32), g[3:].reshape(1, 1).astype(np.float32)
        return f

    opt = LBFGS([a, b], max_iter=100, line_search_fn="strong_wolfe")
    first = opt.step(closure)
    for _ in range(3):
        loss = opt.step(closure)
    assert loss < 1e-6 * first
    assert opt.state[0]["d"].dtype == np.float32 and a.data.dtype == np.float32


def test_bad_arguments():
    x = start(2)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        LBFGS([x], lr=-1.0)
    with pytest.raises(ValueError, match="only 'strong_wolfe'"):
        LBFGS([x], line_search_fn="backtracking")
    with pytest.raises(ValueError, match="parameter groups"):
        LBFGS([{"params": [x]}, {"params": [np.zeros(2)]}])
    with pytest.raises(ValueError, match="must return \\(loss, grads\\)"):
        LBFGS([x]).step(lambda: 1.0)
