"""The trading losses' C++ kernels (Sharpe, Sortino, REINFORCE): against their NumPy oracles
(steepest.reference.trading) in float32 and float64, against float64 finite differences, bad
input refused with nothing written, and training with them in ``fit``."""

import numpy as np
import pytest

from steepest import nn, optim
from steepest.nn import functional as F
from steepest.reference import trading as ref

TOLERANCE = {np.float32: dict(rtol=2e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}
RATIOS = {"sharpe": ref.sharpe_loss, "sortino": ref.sortino_loss}


def finite_differences(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in range(x.size):
        up, down = x.copy(), x.copy()
        up.flat[i] += h
        down.flat[i] -= h
        g.flat[i] = (f(up) - f(down)) / (2 * h)
    return g


def positions_and_returns(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    p = (rng.standard_normal((n, 1)) * 0.5).astype(dtype)
    r = (rng.standard_normal((n, 1)) * 0.01 + 0.001).astype(dtype)
    return p, r


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", RATIOS)
@pytest.mark.parametrize("cost", [0.0, 1e-3])
@pytest.mark.parametrize("n", [2, 3, 17, 64, 257])
def test_ratio_loss_matches_its_reference(dtype, kind, cost, n):
    p, r = positions_and_returns(n, dtype, seed=n)
    value, grad = F.ratio_loss(kind, p, r, cost=cost, periods_per_year=8760)
    expected, expected_grad = RATIOS[kind](p.ravel(), r.ravel(), cost, 8760)
    assert grad.dtype == dtype and grad.shape == p.shape
    assert value == pytest.approx(expected, rel=TOLERANCE[dtype]["rtol"])
    scale = np.abs(expected_grad).max()
    np.testing.assert_allclose(grad.ravel(), expected_grad, rtol=TOLERANCE[dtype]["rtol"],
                               atol=TOLERANCE[dtype]["atol"] * scale)
    assert F.ratio_loss(kind, p, r, grad=False, cost=cost, periods_per_year=8760) == (value, None)


@pytest.mark.parametrize("kind", RATIOS)
@pytest.mark.parametrize("cost", [0.0, 2e-3])
def test_ratio_loss_gradient_against_finite_differences(kind, cost):
    p, r = positions_and_returns(23, np.float64, seed=5)
    p[4] = p[3]  # a position that does not change: |p_i - p_(i-1)| is at its kink, sign 0
    _, grad = F.ratio_loss(kind, p, r, cost=cost)
    expected = finite_differences(lambda x: F.ratio_loss(kind, x, r, cost=cost)[0], p)
    keep = np.ones(23, bool)
    keep[3:5] = cost == 0  # the kink's one-sided derivatives differ: compare elsewhere
    np.testing.assert_allclose(grad.ravel()[keep], expected.ravel()[keep], rtol=1e-6,
                               atol=1e-8 * np.abs(expected).max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 2), (9, 4), (64, 3), (33, 17)])
def test_reinforce_loss_matches_its_reference(dtype, shape):
    rng = np.random.default_rng(shape[0])
    z = rng.standard_normal(shape).astype(dtype)
    taken = np.column_stack([rng.integers(0, shape[1], shape[0]),
                             rng.standard_normal(shape[0])]).astype(dtype)
    value, grad = F.reinforce_loss(z, taken)
    expected, expected_grad = ref.reinforce_loss(z, taken[:, 0].astype(int), taken[:, 1])
    assert value == pytest.approx(expected, rel=TOLERANCE[dtype]["rtol"], abs=1e-7)
    np.testing.assert_allclose(grad, expected_grad, **TOLERANCE[dtype])
    assert F.reinforce_loss(z, taken, grad=False) == (value, None)


def test_reinforce_gradient_against_finite_differences():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((7, 5))
    taken = np.column_stack([rng.integers(0, 5, 7), rng.standard_normal(7)])
    _, grad = F.reinforce_loss(z, taken)
    expected = finite_differences(lambda x: F.reinforce_loss(x, taken)[0], z)
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-9)


def test_the_losses_do_not_depend_on_the_thread_count(num_threads):
    p, r = positions_and_returns(1001, np.float32)
    z = np.random.default_rng(0).standard_normal((1001, 3)).astype(np.float32)
    taken = np.column_stack([np.arange(1001) % 3, np.linspace(-1, 1, 1001)]).astype(np.float32)
    results = []
    for n in (1, 2):
        with num_threads(n):
            results.append((F.ratio_loss("sharpe", p, r, cost=1e-3),
                            F.reinforce_loss(z, taken)))
    (s1, r1), (s2, r2) = results
    assert s1[0] == s2[0] and r1[0] == r2[0]
    assert np.array_equal(s1[1], s2[1]) and np.array_equal(r1[1], r2[1])


def _ratio_cases():
    p, r = positions_and_returns(8, np.float64)
    return [
        (dict(pred=p[:1], target=r[:1]), ValueError, "at least 2 rows"),
        (dict(pred=p, target=r[:7]), ValueError, "8 positions but target 7"),
        (dict(pred=p.astype(np.float32), target=r), TypeError, "target"),
        (dict(pred=p, target=r, cost=-1.0), ValueError, "cost"),
        (dict(pred=p, target=r, cost=np.inf), ValueError, "cost"),
        (dict(pred=p, target=r, eps=0.0), ValueError, "eps"),
        (dict(pred=p, target=r, periods_per_year=0), ValueError, "periods_per_year"),
        (dict(pred=p, target=r, cost="1"), TypeError, "cost"),
        (dict(pred=p, target=r, grad=p), ValueError, "overlaps"),
        (dict(pred=p, target=r, grad=np.zeros((8, 2))), ValueError, "shape"),
        (dict(pred=p[::2], target=r[::2]), ValueError, "contiguous"),
    ]


@pytest.mark.parametrize("case", range(len(_ratio_cases())))
def test_bad_ratio_input_is_refused_and_writes_nothing(case):
    kwargs, error, words = _ratio_cases()[case]
    kwargs.setdefault("grad", np.full(kwargs["pred"].shape, 7.0, kwargs["pred"].dtype))
    before = {k: v.copy() for k, v in kwargs.items() if isinstance(v, np.ndarray)}
    with pytest.raises(error, match=words):
        F.ratio_loss("sharpe", **kwargs)
    for k, v in before.items():
        np.testing.assert_array_equal(kwargs[k], v)
    with pytest.raises(ValueError, match="kind"):
        F.ratio_loss("calmar", *positions_and_returns(8, np.float64))


@pytest.mark.parametrize("taken, words", [
    ([[0, 1.0], [3, 1.0]], r"target\[1, 0\]"),  # out of range
    ([[0, 1.0], [1.5, 1.0]], r"target\[1, 0\]"),  # not a whole number
    ([[np.nan, 1.0], [1, 1.0]], r"target\[0, 0\]"),
    ([[0, 1.0]], r"\(2, 2\)"),  # a row short
    ([[0, 1.0, 2.0], [1, 1.0, 2.0]], r"\(2, 2\)"),
])
def test_bad_reinforce_input_is_refused_and_writes_nothing(taken, words):
    z = np.zeros((2, 3))
    grad = np.full_like(z, 7.0)
    with pytest.raises(ValueError, match=words):
        F.reinforce_loss(z, np.array(taken, np.float64), grad=grad)
    assert (grad == 7.0).all()


def test_loss_objects_by_name_and_options():
    assert type(nn.losses.get("sharpe")) is nn.SharpeLoss
    assert type(nn.losses.get("sortino")) is nn.SortinoLoss
    assert type(nn.losses.get("reinforce")) is nn.ReinforceLoss
    loss = nn.SharpeLoss(cost=1e-3, periods_per_year=8760)
    assert loss.time_order and not nn.SharpeLoss().time_order
    p, r = positions_and_returns(16, np.float64)
    value, grad = loss.value_and_grad(p, r)
    assert loss(p, r) == value
    assert value == pytest.approx(ref.sharpe_loss(p.ravel(), r.ravel(), 1e-3, 8760)[0], rel=1e-12)
    for bad, error in [(dict(cost=-0.1), ValueError), (dict(periods_per_year=True), TypeError),
                       (dict(eps=float("nan")), ValueError)]:
        with pytest.raises(error):
            nn.SortinoLoss(**bad)


def _momentum_series(n, seed=0):
    """Returns whose sign follows the last one's 70% of the time: a position equal to a feature
    (the last return) earns a positive Sharpe ratio."""
    rng = np.random.default_rng(seed)
    r = np.empty(n)
    r[0] = 0.01
    for t in range(1, n):
        r[t] = abs(rng.normal(0.0005, 0.01)) * (np.sign(r[t - 1]) if rng.random() < 0.7
                                                  else -np.sign(r[t - 1]))
    X = np.column_stack([r[:-1] / 0.01, rng.standard_normal(n - 1)])  # the signal and noise
    return X, r[1:]


@pytest.mark.parametrize("loss", ["sharpe", "sortino", nn.SharpeLoss(cost=1e-4)])
def test_fit_raises_the_sharpe_ratio(loss):
    X, y = _momentum_series(1500)
    model = nn.Sequential(nn.Dense(2, 8, seed=0), nn.Tanh(), nn.Dense(8, 1, seed=1), nn.Tanh())
    returns = y.reshape(-1, 1).astype(np.float32)
    before = -nn.SharpeLoss()(model.predict(X), returns)
    model.fit(X, y, loss=loss, optimizer="adam", epochs=30, batch_size=250, shuffle=False)
    after = -nn.SharpeLoss()(model.predict(X), returns)
    assert after > before + 3 and after > 3  # annualized (252); the sign of the signal: 4.8


def test_fit_with_a_cost_refuses_shuffled_batches_before_any_change():
    X, y = _momentum_series(200)
    model = nn.Sequential(nn.Dense(2, 1, seed=0))
    before = model.state_dict()
    with pytest.raises(ValueError, match="shuffle=False"):
        model.fit(X, y, loss=nn.SharpeLoss(cost=1e-3), epochs=1)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_fit_with_reinforce_learns_the_better_action():
    """A contextual bandit: the feature's sign says which of two actions pays; actions drawn
    uniformly, advantage = reward - mean reward. The trained policy prefers the paying one."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 1))
    action = rng.integers(0, 2, 2000)
    reward = np.where(action == (X[:, 0] > 0), 1.0, 0.0)
    y = np.column_stack([action, reward - reward.mean()])
    model = nn.Sequential(nn.Dense(1, 2, seed=0))
    model.fit(X, y, loss="reinforce", optimizer=optim.Adam(model.parameters(), lr=0.05),
              epochs=20, batch_size=100)
    chosen = model.predict(X).argmax(1)
    assert np.mean(chosen == (X[:, 0] > 0)) > 0.95
    with pytest.raises(ValueError, match=r"y\[0, 0\] = 2.0"):
        model.fit(X[:3], np.array([[2, 1.0], [0, 1.0], [1, 1.0]]), loss="reinforce")
