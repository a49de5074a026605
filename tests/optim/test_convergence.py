"""Every optimizer converges on a convex quadratic and on the 2-D Rosenbrock function, in float32
and float64, and keeps the dtype (and the identity) of its parameters and state. Table-driven, in
the style of optax's alias tests: one table of optimizer configurations (with a learning rate per
problem), one table of problems (with a fixed start, a step budget and a loss threshold).

Thresholds were set by measuring the final loss of every (configuration, problem, dtype) and
keeping a margin of more than 50x: on the quadratic (initial loss 204) the worst measured final
loss is 1.1e-8 (AdamW: its decoupled decay moves the minimum slightly), on Rosenbrock (initial
loss 24.2) 1.2e-8 (AdamW with AMSGrad); most end below 1e-12 (float32) or far lower (float64).

The element-wise rules are not all made for these budgets: an entry of the table may give
(lr, steps, threshold) for a problem instead of an lr. Measured final losses (worst dtype) and the
thresholds chosen (>30x): RMSprop on Rosenbrock 2e-5 after 20000 steps (1e-3), centered with
momentum 2.9e-6 (1e-4); Adadelta on Rosenbrock 9.8e-3 after 5000 steps (0.5: it is slow there);
NAdam / NAdamW on Rosenbrock 1.8e-6 / 2.4e-6 (1e-4); Rprop on Rosenbrock 3.1e-7 after 20000
(1e-5); ASGD 1e-7 after 20000 (1e-5); RAdamW (decoupled decay 1e-5 moves the minimum) 1e-5
after 20000 (1e-3); Lion, a sign method whose iterates end in a band of width
~lr around the minimum: 1.2e-6 on the quadratic after 20000 steps at lr 3e-4 (1e-4), 1e-5 on
Rosenbrock after 50000 at 1e-4 (1e-3). The others reach the default threshold (1e-6) with a
margin of >100x.
"""

import numpy as np
import pytest

import steepest

# -- problems --------------------------------------------------------------------------------
# Each returns (loss, gradient) computed in the dtype of x.

_CURVATURE = np.linspace(1.0, 10.0, 10)  # condition number 10
_CENTER = np.linspace(-1.0, 1.0, 10)


def quadratic(x):
    """0.5 * sum(a_i (x_i - c_i)^2): convex, minimum 0 at c."""
    a, c = _CURVATURE.astype(x.dtype), _CENTER.astype(x.dtype)
    d = x - c
    return float(0.5 * np.sum(a * d * d)), a * d


def rosenbrock(x):
    """(1 - x)^2 + 100 (y - x^2)^2: a curved valley, minimum 0 at (1, 1)."""
    a, b = x[0], x[1]
    r = b - a * a
    grad = np.array([-2 * (1 - a) - 400 * a * r, 200 * r], dtype=x.dtype)
    return float((1 - a) ** 2 + 100 * r * r), grad


# name -> (function, start, steps, threshold on the final loss)
PROBLEMS = {
    "quadratic": (quadratic, np.full(10, 3.0), 500, 1e-6),
    "rosenbrock": (rosenbrock, np.array([-1.2, 1.0]), 5000, 1e-6),
}

# (name, class, hyperparameters, {problem: lr})
OPTIMIZERS = [
    ("sgd-momentum", "SGD", dict(momentum=0.9), {"quadratic": 0.01, "rosenbrock": 1e-3}),
    ("sgd-nesterov", "SGD", dict(momentum=0.9, nesterov=True),
     {"quadratic": 0.01, "rosenbrock": 1e-3}),
    ("sgd-dampening", "SGD", dict(momentum=0.95, dampening=0.5),
     {"quadratic": 0.02, "rosenbrock": 1e-3}),
    ("adam", "Adam", dict(), {"quadratic": 0.1, "rosenbrock": 0.03}),
    ("adam-amsgrad", "Adam", dict(amsgrad=True), {"quadratic": 0.1, "rosenbrock": 0.1}),
    ("adam-maximize", "Adam", dict(maximize=True), {"quadratic": 0.1, "rosenbrock": 0.05}),
    ("adamw", "AdamW", dict(weight_decay=1e-4), {"quadratic": 0.1, "rosenbrock": 0.03}),
    ("adamw-amsgrad", "AdamW", dict(weight_decay=1e-5, amsgrad=True),
     {"quadratic": 0.1, "rosenbrock": 0.05}),
    ("rmsprop", "RMSprop", dict(), {"quadratic": 0.03, "rosenbrock": (3e-4, 20000, 1e-3)}),
    ("rmsprop-centered-momentum", "RMSprop", dict(momentum=0.9, centered=True),
     {"quadratic": 0.01, "rosenbrock": (3e-4, 20000, 1e-4)}),
    ("adagrad", "Adagrad", dict(), {"quadratic": 1.0, "rosenbrock": (0.5, 20000, 1e-6)}),
    ("adadelta", "Adadelta", dict(), {"quadratic": (1.0, 5000, 1e-6),
                                      "rosenbrock": (0.1, 5000, 0.5)}),
    ("adamax", "Adamax", dict(), {"quadratic": 0.3, "rosenbrock": 0.03}),
    ("nadam", "NAdam", dict(), {"quadratic": 0.3, "rosenbrock": (0.01, 5000, 1e-4)}),
    ("nadamw", "NAdam", dict(decoupled_weight_decay=True, weight_decay=1e-5),
     {"quadratic": 0.3, "rosenbrock": (0.01, 5000, 1e-4)}),
    ("radam", "RAdam", dict(), {"quadratic": 0.3, "rosenbrock": (3e-3, 20000, 1e-6)}),
    ("radamw", "RAdam", dict(decoupled_weight_decay=True, weight_decay=1e-5),
     {"quadratic": 0.1, "rosenbrock": (3e-3, 20000, 1e-3)}),
    ("rprop", "Rprop", dict(), {"quadratic": 0.01, "rosenbrock": (0.01, 20000, 1e-5)}),
    ("asgd", "ASGD", dict(), {"quadratic": 0.03, "rosenbrock": (1e-3, 20000, 1e-5)}),
    ("lion", "Lion", dict(), {"quadratic": (3e-4, 20000, 1e-4),
                              "rosenbrock": (1e-4, 50000, 1e-3)}),
    # Trust-ratio rules take steps of about lr * ||p|| whatever the gradient, so at a constant
    # lr they circle the minimum at that distance: they run with lr_t = lr * 0.98**t. On the
    # 2-parameter Rosenbrock LAMB is normalized Adam, which does not reach 1e-6 in 5000 steps
    # (measured: 1.5e-4 at best), nor LARS (3e-5): not run there.
    ("lamb", "Lamb", dict(), {"quadratic": 0.1}),
    ("lamb-clamped", "Lamb", dict(max_weight_norm=10.0, bias_correction=False),
     {"quadratic": 0.1}),
    ("lars", "Lars", dict(trust_coefficient=1.0, exclude_1d=False), {"quadratic": 0.03}),
    ("lars-nesterov", "Lars", dict(trust_coefficient=1.0, exclude_1d=False, nesterov=True),
     {"quadratic": 0.03}),
    # exclude_1d on these 1-d parameters: plain momentum SGD, no trust ratio, constant lr
    ("lars-excluded", "Lars", dict(momentum=0.9), {"quadratic": 0.01, "rosenbrock": 1e-3}),
    # Adafactor's steps are relative to the parameters' RMS; on Rosenbrock it stalls near 0.02
    # in 5000 steps (lr 0.01 to 0.1): not run there.
    ("adafactor", "Adafactor", dict(), {"quadratic": 0.1}),
    ("adafactor-options", "Adafactor", dict(d=2.0, beta2_decay=-0.5, eps=(1e-6, 1e-3)),
     {"quadratic": 0.03}),
]
LR_DECAY = {"lamb": 0.98, "lamb-clamped": 0.98, "lars": 0.98, "lars-nesterov": 0.98}


def minimize(rule, hyper, lr, problem, dtype, steps=None, decay=1.0):
    """Runs the optimizer on the problem; returns (initial loss, final loss, x, optimizer)."""
    fn, start, default_steps, _ = PROBLEMS[problem]
    steps = steps or default_steps
    x = start.astype(dtype)
    opt = getattr(steepest.optim, rule)([x], lr=lr, **hyper)
    sign = -1.0 if hyper.get("maximize") else 1.0  # maximize -f
    initial, _ = fn(x)
    for t in range(steps):
        opt.param_groups[0]["lr"] = lr * decay**t
        _, grad = fn(x)
        opt.step([grad * grad.dtype.type(sign)])
    final, _ = fn(x)
    return initial, final, x, opt


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name, rule, hyper, lrs, problem",
                         [(*o, problem) for o in OPTIMIZERS for problem in o[3]],
                         ids=[f"{o[0]}-{problem}" for o in OPTIMIZERS for problem in o[3]])
def test_converges(name, rule, hyper, lrs, problem, dtype):
    lr, steps, threshold = lrs[problem], PROBLEMS[problem][2], PROBLEMS[problem][3]
    if isinstance(lr, tuple):
        lr, steps, threshold = lr
    initial, final, x, opt = minimize(rule, hyper, lr, problem, dtype, steps,
                                      LR_DECAY.get(name, 1.0))
    assert initial > 20
    assert final < threshold, f"{name} on {problem} ({np.dtype(dtype).name}): loss {final:.3g}"

    # dtype and identity kept: the optimizer updated the very array it was given, in place
    assert x.dtype == dtype
    assert opt.param_groups[0]["params"][0] is x
    state = opt.state[0]
    assert state, "no state was created"
    for key, value in state.items():
        if key == "step":  # a count, not a tensor of the parameter's dtype
            assert int(value) == steps
        elif key in opt.scalar_state:  # a float64 number per tensor (NAdam's mu_product)
            assert value.dtype == np.float64 and value.shape == ()
        else:
            assert isinstance(value, np.ndarray), key
            assert value.dtype == dtype, key
            assert value.shape == x.shape, key
            assert np.all(np.isfinite(value)), key
