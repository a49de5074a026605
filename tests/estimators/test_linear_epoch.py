"""The linear models' epoch kernel (_core.linear_epoch, csrc/nn/linear_epoch.cc): bitwise the
per-batch loop it replaces (weights, loss curve, the optimizer's state and counts), on every
SIMD target and thread count; the loop still runs what the kernel does not cover; bad
arguments to the binding raise and change nothing."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

import steepest  # noqa: E402
from steepest import _core  # noqa: E402
from steepest.estimators import LinearRegressor, LogisticClassifier, linear  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.standard_normal((301, 7))
Y = X @ RNG.standard_normal(7) + 0.3 + 0.1 * RNG.standard_normal(301)
Y2 = np.column_stack([Y, -0.5 * Y + X[:, 0]])
LABELS = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.3)


@pytest.fixture
def calls(monkeypatch):
    """Counts the calls of _core.linear_epoch."""
    count = [0]
    kernel = _core.linear_epoch

    def counting(*args):
        count[0] += 1
        return kernel(*args)

    monkeypatch.setattr(_core, "linear_epoch", counting)
    return count


def per_batch(monkeypatch):
    """The loop without the kernel: no rule is covered."""
    monkeypatch.setattr(linear, "_FUSED", {})


def snapshot(est):
    """What a fit leaves: weights, loss curve, the optimizer's state and step count (copies)."""
    return (est.coef_.copy(), est.intercept_.copy(), list(est.loss_curve_),
            est._optimizer.state_dict(), est._optimizer.applied_steps)


def same_fit(a, b):
    a, b = (snapshot(e) if not isinstance(e, tuple) else e for e in (a, b))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[2] == b[2]
    sa, sb = a[3]["state"], b[3]["state"]
    assert sa.keys() == sb.keys()
    for i in sa:
        assert sa[i].keys() == sb[i].keys()
        for key in sa[i]:
            np.testing.assert_array_equal(sa[i][key], sb[i][key])
    assert a[4] == b[4]


CASES = [
    (LinearRegressor, Y, dict()),
    (LinearRegressor, Y, dict(loss="mae", penalty=None, batch_size=1)),
    (LinearRegressor, Y, dict(loss="huber", delta=0.3, penalty="elasticnet", alpha=1e-2)),
    (LinearRegressor, Y, dict(optimizer="adam", lr=1e-2, penalty="l1", alpha=1e-2)),
    (LinearRegressor, Y, dict(optimizer="adamw", lr=1e-2, batch_size=None, shuffle=False)),
    (LinearRegressor, Y2, dict(optimizer="adam", batch_size=64, shuffle=False)),
    (LogisticClassifier, LABELS > 0, dict(penalty="l1", alpha=1e-3)),
    (LogisticClassifier, LABELS, dict(optimizer="adam", lr=1e-2, batch_size=50)),
    (LogisticClassifier, LABELS, dict(optimizer="adamw", penalty="elasticnet", alpha=1e-2)),
]


@pytest.mark.parametrize("cls,y,options", CASES)
def test_bitwise_the_per_batch_loop(cls, y, options, calls, monkeypatch, simd_target):
    fused = cls(seed=3, epochs=4, tol=None, **options).fit(X, y)
    # one call per epoch; a first epoch of one batch is the step that creates Adam's state
    first_step_alone = options.get("batch_size", 32) is None and "adam" in options["optimizer"]
    assert calls[0] == 4 - first_step_alone
    per_batch(monkeypatch)
    same_fit(fused, cls(seed=3, epochs=4, tol=None, **options).fit(X, y))
    assert calls[0] == 4 - first_step_alone


def test_partial_fit_and_warm_start_continue_the_same_state(calls, monkeypatch):
    """The kernel steps the optimizer's own state and counts: fit, then partial_fit (the same
    optimizer) and a warm refit, equal the loop's at every stage."""
    def run():
        est = LinearRegressor(optimizer="adam", lr=1e-2, seed=1, epochs=2, tol=None,
                              warm_start=True)
        yield snapshot(est.fit(X, Y))
        yield snapshot(est.partial_fit(X[:100], Y[:100]))
        est.set_params(epochs=3)
        yield snapshot(est.fit(X, Y))
        # the warm refit's optimizer is new (fit's contract)
        assert int(est._optimizer.state[0]["step"]) == est._optimizer.applied_steps == 3 * 10

    stages = list(run())
    assert calls[0] == 6
    per_batch(monkeypatch)
    for a, b in zip(stages, run()):
        same_fit(a, b)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum(nesterov, calls, monkeypatch):
    """SGD with momentum (the buffer created by the loop's first step, then stepped by the
    kernel), set on the estimator's optimizer between partial_fit calls."""
    def run():
        est = LinearRegressor(lr=1e-2, seed=2).partial_fit(X, Y)
        for group in est._optimizer.param_groups:
            group.update(momentum=0.9, nesterov=nesterov)
        est.partial_fit(X, Y)
        return est.partial_fit(X, Y)

    a = run()
    assert calls[0] == 3
    assert "momentum_buffer" in a._optimizer.state[0]
    per_batch(monkeypatch)
    same_fit(a, run())


@pytest.mark.parametrize("batch_size", [None, 4096])
def test_bitwise_across_thread_counts(batch_size, num_threads, calls):
    """Large enough for the loss sum, the products and the update to be split."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((20000, 9))
    y = x @ rng.standard_normal(9)
    fits = []
    for n in (1, 2, 3):
        with num_threads(n):
            fits.append(LinearRegressor(optimizer="adam", penalty="l1", seed=0, epochs=3,
                                        tol=None, batch_size=batch_size).fit(x, y))
    assert calls[0] == 3 * (3 - (batch_size is None))  # full batch: the first step creates state
    for other in fits[1:]:
        same_fit(fits[0], other)


@pytest.mark.parametrize("options", [dict(optimizer="rmsprop"), dict(optimizer="lion")])
def test_other_rules_run_the_loop(options, calls):
    est = LinearRegressor(seed=0, epochs=2, tol=None, **options).fit(X, Y)
    assert calls[0] == 0 and est._optimizer.applied_steps == 2 * 10


def test_nonfinite_guard_runs_the_loop(calls):
    est = LinearRegressor(seed=0, epochs=1, tol=None).partial_fit(X, Y)
    assert calls[0] == 1
    est._optimizer.nonfinite = "skip"
    est.partial_fit(X, Y)
    assert calls[0] == 1 and est._optimizer.applied_steps == 20


def binding_args(**change):
    """Valid arguments of _core.linear_epoch (sgd, no momentum), with changes."""
    k, f, n = 2, 7, 50
    args = dict(x=np.ones((n, f), np.float32), targets=np.zeros((n, k), np.float32),
                order=np.arange(n, dtype=np.int64), rows=16, first=0, end=4, total=0.0,
                loss="mse", delta=1.0, l1=0.0, weight=np.ones((k, f), np.float32),
                bias=np.zeros(k, np.float32), dweight=np.zeros((k, f), np.float32),
                dbias=np.zeros(k, np.float32), rule="sgd",
                hyper=((0.1, 0.0, 0.0, 0.0, False, False),) * 2, states=[[], []],
                steps=[None, None])
    args.update(change)
    return args


ADAM = dict(rule="adam", hyper=((1e-3, 0.9, 0.999, 1e-8, 0.0, False, False, False),) * 2,
            states=[[np.zeros((2, 7), np.float32)] * 0 + [np.zeros((2, 7), np.float32),
                                                          np.zeros((2, 7), np.float32)],
                    [np.zeros(2, np.float32), np.zeros(2, np.float32)]],
            steps=[np.zeros((), np.int64), np.zeros((), np.int64)])

BAD = [
    (dict(order=np.full(50, 50, np.int64)), ValueError, "order\\[0\\] = 50 is not in \\[0, 50\\)"),
    (dict(order=np.arange(49, dtype=np.int64)), ValueError, "order must have shape \\(50,\\)"),
    (dict(targets=np.zeros((50, 3), np.float32)), ValueError, "targets must have shape"),
    (dict(loss="cross_entropy", targets=np.full(50, 2, np.int64)), ValueError,
     "targets\\[0\\] = 2 is not in \\[0, 2\\)"),
    (dict(x=np.ones((50, 7))), TypeError, "x: expected a float32"),
    (dict(weight=np.ones((2, 6), np.float32)), ValueError, "weight must have shape \\(2, 7\\)"),
    (dict(end=5), ValueError, "not within the 4"),
    (dict(first=3, end=2), ValueError, "batches"),
    (dict(rows=0), ValueError, "rows must be >= 1"),
    (dict(loss="nll"), ValueError, "loss must be"),
    (dict(loss="huber", delta=0.0), ValueError, "delta must be > 0"),
    (dict(l1=-1.0), ValueError, "l1 must be"),
    (dict(rule="lion"), ValueError, "rule must be"),
    (dict(hyper=((0.1,),) * 2), ValueError, "sgd takes 6"),
    (dict(hyper=((0.1, 0.9, 0.0, 0.0, False, False),) * 2), ValueError,
     "state\\[0\\]\\[0\\] is missing"),
    (dict(ADAM, steps=[np.zeros(1, np.int64), np.zeros((), np.int64)]), ValueError,
     "steps\\[0\\] must have shape \\(\\), got \\(1,\\)"),
    (dict(ADAM, steps=[np.full((), -1, np.int64), np.zeros((), np.int64)]), ValueError,
     "steps\\[0\\] = -1 cannot advance"),
    (dict(ADAM, states=[[np.zeros((2, 7), np.float32)] * 2, [np.zeros(2, np.float32)] * 2]),
     ValueError, "overlaps"),
    (dict(dbias=None), TypeError, "dbias: expected a numpy.ndarray"),
    (dict(hyper=(1, 2)), TypeError, "hyper\\[0\\] must be a tuple, got int"),
    (dict(states=[(), ()]), TypeError, "states\\[0\\] must be a list, got tuple"),
]


@pytest.mark.parametrize("change,error,match", BAD)
def test_bad_arguments_change_nothing(change, error, match):
    args = binding_args(**change)
    before = {k: v.copy() for k, v in args.items() if isinstance(v, np.ndarray)}
    with pytest.raises(error, match=match):
        _core.linear_epoch(**args)
    for k, v in before.items():
        np.testing.assert_array_equal(args[k], v)


def test_valid_arguments_run():
    """The checks above fail for their own reason: the same arguments unchanged run (and the
    Adam ones advance the step counts by the batches run)."""
    assert _core.linear_epoch(**binding_args()) > 0
    args = binding_args(**ADAM)
    _core.linear_epoch(**args)
    assert [int(s) for s in args["steps"]] == [4, 4]
