"""A step is atomic: interrupted (Ctrl-C) or refused, it either fully counts or did not happen.

C++ advances the optimizer's (applied, skipped) counters as a step's last act. An exception that
arrives after the call returned (a KeyboardInterrupt is delivered at the next bytecode) must leave
the step counted with its new state adopted; one that arrives before leaves nothing changed. And
step counts cannot advance past int64 (signed overflow was undefined behaviour).
"""

import signal

import numpy as np
import pytest

import steepest
from steepest.optim.registry import RULES as REGISTRY

# Every fused rule, with hyperparameters under which all its state arrays exist.
RULES = {rule.name: rule.hyper for rule in REGISTRY.values()}
SHAPES = [(7,), (5, 3)]


def make(name, nonfinite="propagate"):
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(s) for s in SHAPES]
    return params, getattr(steepest.optim, name)(params, nonfinite=nonfinite, **RULES[name])


def grads(t):
    rng = np.random.default_rng(100 + t)
    return [rng.standard_normal(s) for s in SHAPES]


def snapshot(params, opt):
    state = {i: {k: np.array(v, copy=True) for k, v in s.items()} for i, s in opt.state.items()}
    return [p.copy() for p in params], state, opt.applied_steps, opt.skipped_steps


def assert_same(a, b):
    (pa, sa, *ca), (pb, sb, *cb) = a, b
    assert ca == cb
    for x, y in zip(pa, pb):
        np.testing.assert_array_equal(x, y)
    assert sa.keys() == sb.keys()
    for i in sa:
        assert sa[i].keys() == sb[i].keys()
        for k in sa[i]:
            np.testing.assert_array_equal(sa[i][k], sb[i][k])


class Interrupt:
    """Stands in for opt._kernel: runs the real kernel, or not, then raises KeyboardInterrupt,
    as a Ctrl-C delivered just after (or just before) the C++ call does."""

    def __init__(self, kernel, run):
        self.kernel, self.run = kernel, run

    def __call__(self, *args):
        if self.run:
            self.kernel(*args)
        raise KeyboardInterrupt


@pytest.mark.parametrize("name", RULES)
@pytest.mark.parametrize("at", [0, 2])  # the first step (creates state) or a later one
@pytest.mark.parametrize("ran", [True, False])
def test_interrupted_step_counts_fully_or_not_at_all(name, at, ran):
    params, opt = make(name)
    ref_params, ref = make(name)
    for t in range(at):
        opt.step(grads(t))
        ref.step(grads(t))
    opt._kernel = Interrupt(type(opt)._kernel, run=ran)
    with pytest.raises(KeyboardInterrupt):
        opt.step(grads(at))
    del opt._kernel
    if ran:
        ref.step(grads(at))
    assert_same(snapshot(params, opt), snapshot(ref_params, ref))
    for t in range(at + 1, at + 4):  # and it continues as a run that was never interrupted
        opt.step(grads(t))
        ref.step(grads(t))
    assert_same(snapshot(params, opt), snapshot(ref_params, ref))


@pytest.mark.parametrize("name", ["Adam", "Adafactor", "Lamb"])
def test_interrupted_skipped_step_counts(name):
    params, opt = make(name, nonfinite="skip")
    opt.step(grads(0))
    bad = grads(1)
    bad[0][0] = np.nan
    before = snapshot(params, opt)
    opt._kernel = Interrupt(type(opt)._kernel, run=True)
    with pytest.raises(KeyboardInterrupt):
        opt.step(bad)
    del opt._kernel
    assert_same(snapshot(params, opt), before[:3] + (before[3] + 1,))  # one more skipped


def test_real_sigint_never_leaves_a_step_half_counted():
    """SIGINT at random moments of a training loop: after each interruption the parameters are
    exactly those of an uninterrupted run of ``applied_steps`` steps."""
    size = 200_000  # a step of a few hundred microseconds: signals land inside and between
    rng = np.random.default_rng(1)
    g = [rng.standard_normal(size).astype(np.float32)]
    p = [np.zeros(size, np.float32)]
    opt = steepest.optim.Adam(p, lr=1e-3)
    interrupted = 0
    previous = signal.signal(signal.SIGALRM, signal.default_int_handler)
    try:
        for delay in np.linspace(50e-6, 2e-3, 25):
            signal.setitimer(signal.ITIMER_REAL, float(delay))
            try:
                for _ in range(1000):
                    opt.step(g)
            except KeyboardInterrupt:
                interrupted += 1
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert interrupted > 0
    ref_p = [np.zeros(size, np.float32)]
    ref = steepest.optim.Adam(ref_p, lr=1e-3)
    for _ in range(opt.applied_steps):
        ref.step(g)
    np.testing.assert_array_equal(p[0], ref_p[0])
    np.testing.assert_array_equal(opt.state[0]["exp_avg_sq"], ref.state[0]["exp_avg_sq"])
    assert int(opt.state[0]["step"]) == opt.applied_steps


@pytest.mark.parametrize("name", [n for n in RULES if "step" in getattr(steepest.optim, n).state_keys])
def test_step_count_at_its_limit_is_refused(name):
    params, opt = make(name)
    opt.step(grads(0))
    opt.state[1]["step"] = np.array(2**63 - 1)
    before = snapshot(params, opt)
    with pytest.raises(ValueError, match=r"state\[1\]\['step'\]"):
        opt.step(grads(1))
    assert_same(snapshot(params, opt), before)


def test_step_counters_at_their_limit_are_refused():
    params, opt = make("Adam")
    opt.step(grads(0))
    opt.applied_steps = 2**63 - 1
    before = snapshot(params, opt)
    with pytest.raises(ValueError, match=r"applied_steps.*2\*\*63 - 1"):
        opt.step(grads(1))
    assert_same(snapshot(params, opt), before)


def test_an_int_too_large_for_a_float_is_named():
    p = np.zeros(3)
    with pytest.raises(ValueError, match=r"lr: expected a finite number, got an int too large"):
        steepest.optim.Adam([p], lr=10**400)
