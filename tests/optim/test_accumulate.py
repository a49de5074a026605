"""Accumulate(opt, k): one update per k micro-batches, with their mean gradient.

The reference is the wrapped optimizer stepped directly with ``(g_1 + ... + g_k) / k``: the
parameters and the state must be bitwise equal to it (the sums run in the same order).
"""

import numpy as np
import pytest

import steepest
from steepest.optim import Accumulate
from steepest.optim.lr_scheduler import StepLR

SHAPES = [(5,), (3, 4)]


def make_params(dtype=np.float64):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def micro_grads(params, t):
    rng = np.random.default_rng(100 + t)
    return [rng.standard_normal(p.shape).astype(p.dtype) for p in params]


def assert_same(params_a, params_b, opt_a, opt_b):
    for a, b in zip(params_a, params_b):
        assert np.array_equal(a, b)
    assert opt_a.state.keys() == opt_b.state.keys()
    for i in opt_a.state:
        for key, value in opt_a.state[i].items():
            assert np.array_equal(value, opt_b.state[i][key]), (i, key)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rule, hyper, k", [
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.1), 3),
    ("AdamW", dict(lr=0.01, weight_decay=0.1), 4),
    ("Adam", dict(lr=0.01, weight_decay=0.01, amsgrad=True), 1),
])
def test_steps_once_per_k_with_the_mean_gradient(rule, hyper, k, dtype):
    params, ref_params = make_params(dtype), make_params(dtype)
    acc = Accumulate(getattr(steepest.optim, rule)(params, **hyper), k)
    ref = getattr(steepest.optim, rule)(ref_params, **hyper)
    applied = []
    for t in range(0, 6 * k, k):
        batch = [micro_grads(params, t + j) for j in range(k)]
        applied += [acc.step(g) for g in batch]
        total = batch[0]
        for g in batch[1:]:
            total = [a + b for a, b in zip(total, g)]
        ref.step([s / k for s in total])
    assert applied == ([False] * (k - 1) + [True]) * 6
    assert_same(params, ref_params, acc.optimizer, ref)
    if rule != "SGD":  # the step counter (bias correction) counts real updates only
        assert all(int(s["step"]) == 6 for s in acc.state.values())


def test_no_update_until_the_kth_micro_batch():
    params = make_params()
    before = [p.copy() for p in params]
    acc = Accumulate(steepest.optim.AdamW(params, lr=0.1, weight_decay=0.5), 3)
    acc.step(micro_grads(params, 0))
    acc.step(micro_grads(params, 1))
    assert all(np.array_equal(p, q) for p, q in zip(params, before))  # no decay either
    assert not acc.state and acc.micro_step == 2
    assert acc.step(micro_grads(params, 2)) and acc.micro_step == 0
    assert not np.array_equal(params[0], before[0])


def test_missing_gradients():
    """None in some micro-batches counts as zero (mean over k); None in all skips the param."""
    params, ref_params = make_params(), make_params()
    acc = Accumulate(steepest.optim.SGD(params, lr=0.1), 2)
    ref = steepest.optim.SGD(ref_params, lr=0.1)
    g0, g1 = micro_grads(params, 0), micro_grads(params, 1)
    acc.step([g0[0], None])
    acc.step([None, None])
    ref.step([g0[0] / 2, None])
    assert_same(params, ref_params, acc.optimizer, ref)
    acc.step([None, g1[1]])
    acc.step([g1[0], g1[1]])
    ref.step([g1[0] / 2, (g1[1] + g1[1]) / 2])
    assert_same(params, ref_params, acc.optimizer, ref)


def test_bad_gradients_raise_and_change_nothing():
    params, ref_params = make_params(np.float32), make_params(np.float32)
    acc = Accumulate(steepest.optim.SGD(params, lr=0.1, momentum=0.5), 2)
    ref = Accumulate(steepest.optim.SGD(ref_params, lr=0.1, momentum=0.5), 2)
    g = micro_grads(params, 0)
    acc.step(g), ref.step(g)
    with pytest.raises(TypeError, match=r"grads\[1\] has dtype float64"):
        acc.step([g[0], g[1].astype(np.float64)])
    with pytest.raises(ValueError, match=r"grads\[0\] has shape \(4,\)"):
        acc.step([g[0][:4], g[1]])
    with pytest.raises(ValueError, match="expected 2 gradients"):
        acc.step(g[:1])
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        Accumulate(acc.optimizer, 0)
    assert acc.micro_step == 1
    g = micro_grads(params, 1)
    assert acc.step(g) and ref.step(g)
    assert_same(params, ref_params, acc.optimizer, ref.optimizer)


def test_grad_attribute_convention():
    class Param:
        def __init__(self, data):
            self.data, self.grad = data, np.zeros_like(data)

    params = [Param(p) for p in make_params()]
    ref_params = make_params()
    acc = Accumulate(steepest.optim.SGD(params, lr=0.1), 2)
    ref = steepest.optim.SGD(ref_params, lr=0.1)
    previous = None
    for t in range(4):
        g = micro_grads(ref_params, t)
        for p, gi in zip(params, g):
            p.grad[...] = gi
        acc.step()
        if t % 2 == 1:
            ref.step([(a + b) / 2 for a, b in zip(previous, g)])
        previous = g
    assert all(np.array_equal(p.data, q) for p, q in zip(params, ref_params))


def test_state_dict_mid_accumulation_resumes_bitwise():
    params, resumed_params = make_params(), make_params()
    acc = Accumulate(steepest.optim.Adam(params, lr=0.01), 3)
    for t in range(7):  # 2 updates and one micro-batch pending
        acc.step(micro_grads(params, t))
    saved = acc.state_dict()
    assert saved["micro_step"] == 1 and saved["k"] == 3
    for p, q in zip(resumed_params, params):
        p[...] = q
    resumed = Accumulate(steepest.optim.Adam(resumed_params, lr=0.01), 3)
    resumed.load_state_dict(saved)
    for t in range(7, 15):
        g = micro_grads(params, t)
        assert acc.step(g) == resumed.step(g)
    assert_same(params, resumed_params, acc.optimizer, resumed.optimizer)
    with pytest.raises(ValueError, match="saved with k=3"):
        Accumulate(steepest.optim.Adam(make_params()), 2).load_state_dict(saved)


def test_scheduler_steps_on_applied_updates():
    w = np.zeros(1)
    acc = Accumulate(steepest.optim.SGD([w], lr=1.0), 2)
    sched = StepLR(acc, step_size=1, gamma=0.5)
    for _ in range(6):
        if acc.step([np.ones(1)]):
            sched.step()
    assert sched.last_epoch == 3
    assert acc.param_groups[0]["lr"] == 0.125
    np.testing.assert_allclose(w, [-(1.0 + 0.5 + 0.25)], rtol=1e-15)
