"""Large finite gradients must not overflow an intermediate product (issue #22, item 1).

The second-moment rules keep v = beta2 * v + (1 - beta2) * g**2. Formed as g * g first, a float32
|g| above sqrt(FLT_MAX) ~ 1.8e19 made v infinite, and the parameter never moved again. torch
computes ((1 - beta2) * g) * g (addcmul's order) and stays finite up to |g| ~ sqrt(FLT_MAX /
(1 - beta2)); steepest must do at least as well. Each case: one step with a large gradient, then
STEPS steps of gradient 1, on every SIMD target. Every state array must stay finite, the
parameter must keep moving after the large step, and the result must match torch (where it has
the rule; torch itself is checked to stay finite, which is what bounds each case's gradients) and
the NumPy reference.

Factored Adafactor's V = R C / mean(R) has a g**4-sized product in torch's order; here it is
(R / mean(R)) C (test_adafactor_factored_*). A state that is g**2 itself (Adagrad's sum, unfactored
Adafactor's variance: v = g**2 on the first step) cannot hold it past FLT_MAX: there steepest
overflows exactly as torch does (test_squared_state_overflows_as_torch). Norms are summed in
double: finite for any float32 input (test_clip_grad_norm_of_large_float32_gradients).
"""

import numpy as np
import pytest

import steepest
from steepest import reference

torch = pytest.importorskip("torch")

STEPS = 100
SIZE = 19  # not a multiple of any SIMD width: the vector body and the scalar tail both run
# Large gradients per dtype. float32: sqrt(FLT_MAX) = 1.8e19; (1 - beta2) * g**2 stays finite in
# torch up to 5.8e20 (beta2 = 0.999), 1.8e20 (RMSprop's alpha = 0.99), 5.8e19 (Adadelta's
# rho = 0.9). float64: sqrt(DBL_MAX) = 1.3e154, and 0.1 * (3e154)**2 is finite.
BETA2_0999 = {np.float32: (3e19, 1e20, 5e20), np.float64: (3e154,)}
CASES = [
    ("Adam", dict(lr=1e-3), BETA2_0999),
    ("Adam", dict(lr=1e-3, weight_decay=0.01, amsgrad=True), BETA2_0999),
    ("AdamW", dict(lr=1e-3, weight_decay=0.01), BETA2_0999),
    ("RAdam", dict(lr=1e-3), BETA2_0999),
    # NAdam's denominator sqrt(v / (1 - beta2**t)) is g-sized, but v / (1 - beta2**t) overflows
    # on the first steps (torch's too): the step is 0 until 1 - beta2**t is large enough. At
    # 5e20 that takes over a thousand steps, in torch as here; 3e19 and 1e20 move within STEPS.
    ("NAdam", dict(lr=2e-3), {np.float32: (3e19, 1e20), np.float64: (3e154,)}),
    ("RMSprop", dict(lr=1e-2), {np.float32: (3e19, 1e20), np.float64: (3e154,)}),
    ("RMSprop", dict(lr=1e-2, centered=True, momentum=0.9, weight_decay=0.01),
     {np.float32: (3e19, 1e20), np.float64: (3e154,)}),
    ("Adadelta", dict(lr=1.0), {np.float32: (3e19, 5e19), np.float64: (3e154,)}),
    ("Lamb", dict(lr=1e-3, weight_decay=0.01), BETA2_0999),  # no torch: the reference only
    # Lars: norms summed in double, finite for any float32 gradient. (A float64 sum of squares
    # overflows above ~1.3e154 as torch's norms do: no float64 case.)
    ("Lars", dict(lr=0.1, exclude_1d=False), {np.float32: BETA2_0999[np.float32]}),
]
# |steepest - expected| <= RTOL * (|expected| + max |expected|) after STEPS steps. Measured over all
# cases, both targets here (baseline, avx2): float32 1.4e-6 (Adam vs the reference; vs torch
# 4.5e-7), float64 3.6e-16. A margin of >5x; a wrong order of operations that overflows is
# inf, and a wrong equation is off in the first digits.
RTOL = {np.float32: 1e-5, np.float64: 2e-15}


def _case_id(case):
    rule, hyper, _ = case
    return rule + "".join(f"-{k}={v}" for k, v in hyper.items())


def _cases():
    for case in CASES:
        for dtype, bigs in case[2].items():
            for big in bigs:
                yield pytest.param(case, dtype, big,
                                   id=f"{_case_id(case)}-{np.dtype(dtype).name}-{big:g}")


def _gradients(dtype, big):
    """The large gradient (alternating signs), then STEPS gradients of 1."""
    signs = np.where(np.arange(SIZE) % 2 == 0, 1.0, -1.0)
    return [(big * signs).astype(dtype)] + [np.ones(SIZE, dtype)] * STEPS


def _reference_args(rule, hyper):
    h = dict(hyper)
    betas = h.pop("betas", (0.9, 0.999))
    if rule in ("Adam", "AdamW"):
        h.update(beta1=betas[0], beta2=betas[1], eps=h.get("eps", 1e-8),
                 decoupled_weight_decay=rule == "AdamW")
        return "adam", h
    if rule == "Lamb":
        h.update(beta1=betas[0], beta2=betas[1], eps=h.get("eps", 1e-6))
    return rule.lower(), h


def _run_steepest(rule, hyper, p, grads):
    opt = getattr(steepest.optim, rule)([p], **hyper)
    after_first = None
    for g in grads:
        opt.step([g])
        if after_first is None:
            after_first = p.copy()
    return after_first, {k: v for k, v in opt.state[0].items() if isinstance(v, np.ndarray)
                         and v.ndim > 0}


def _run_reference(rule, hyper, p, grads):
    name, args = _reference_args(rule, hyper)
    state = {}
    with np.errstate(over="ignore"):  # NAdam's v / (1 - beta2**t), as torch's (CASES)
        for g in grads:
            getattr(reference, name)(p, g, state, **args)
    return state


def _run_torch(rule, hyper, p, grads):
    """torch's parameter and state arrays, in torch's default single-tensor implementation."""
    tp = torch.nn.Parameter(torch.from_numpy(p.copy()))
    opt = getattr(torch.optim, rule)([tp], foreach=False, **hyper)
    default_dtype = torch.get_default_dtype()  # NAdam's mu_product is in it: p's dtype
    torch.set_default_dtype(torch.float64 if p.dtype == np.float64 else torch.float32)
    try:
        for g in grads:
            tp.grad = torch.from_numpy(g.copy())
            opt.step()
    finally:
        torch.set_default_dtype(default_dtype)
    state = {k: v.numpy() for k, v in opt.state[tp].items() if k != "step" and v.ndim > 0}
    return tp.detach().numpy(), state


def _assert_close(ours, theirs, dtype, what):
    assert np.isfinite(theirs).all(), f"{what}: the expected values are not finite"
    rtol = RTOL[dtype]
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * np.abs(theirs).max(),
                               err_msg=what)


@pytest.mark.parametrize("case, dtype, big", list(_cases()))
def test_large_gradient_keeps_state_finite(case, dtype, big, simd_target):
    rule, hyper, _ = case
    grads = _gradients(dtype, big)
    start = np.linspace(-0.5, 0.5, SIZE).astype(dtype)

    p = start.copy()
    after_first, state = _run_steepest(rule, hyper, p, grads)
    for key, value in state.items():
        assert np.isfinite(value).all(), f"state[{key!r}] is not finite: {value}"
    assert np.isfinite(p).all()
    # It moves on the large step (an infinite v made that step 0; NAdam's step is 0 there in
    # torch too, see CASES), and again on the next ones where momentum carries the large step
    # (without momentum, a step of 1 / sqrt(v) is far below an ulp of p until v has decayed, in
    # torch too).
    if rule != "NAdam":
        assert (after_first != start).all(), "the large gradient's step was 0"
    if rule not in ("RMSprop", "Adadelta") or hyper.get("momentum"):
        assert (p != after_first).all(), "the parameter stopped moving after the large step"

    ref_p = start.copy()
    ref_state = _run_reference(rule, hyper, ref_p, grads)
    _assert_close(p, ref_p, dtype, "param vs reference")
    for key, value in state.items():
        _assert_close(value, ref_state[key], dtype, f"state[{key!r}] vs reference")

    if hasattr(torch.optim, rule):
        torch_p, torch_state = _run_torch(rule, hyper, start, grads)
        _assert_close(p, torch_p, dtype, "param vs torch")
        assert set(state) == set(torch_state)
        for key, value in state.items():
            _assert_close(value, torch_state[key], dtype, f"state[{key!r}] vs torch")


def test_issue_example(simd_target):
    """The report's example: torch gives exp_avg_sq = 9.0e35, then p = -0.006."""
    p = np.zeros(2, np.float32)
    opt = steepest.optim.Adam([p], lr=1e-3)
    opt.step([np.full(2, 3e19, np.float32)])
    np.testing.assert_allclose(opt.state[0]["exp_avg_sq"], 9.0e35, rtol=1e-6)
    for _ in range(100):
        opt.step([np.ones(2, np.float32)])
    torch_p, _ = _run_torch("Adam", dict(lr=1e-3), np.zeros(2, np.float32),
                            [np.full(2, 3e19, np.float32)] + [np.ones(2, np.float32)] * 100)
    np.testing.assert_allclose(p, torch_p, rtol=1e-5)
    np.testing.assert_allclose(p, -0.006, rtol=0.01)


@pytest.mark.parametrize("dtype, big", [(np.float32, 1e10), (np.float32, 1e15),
                                        (np.float64, 1e80)])
def test_adafactor_factored_variance_finite(dtype, big, simd_target):
    """Factored Adafactor estimates V = R C / mean(R) from the row and column means of g**2.
    torch forms R C first, a g**4-sized product: infinite in float32 for |g| > ~1.4e9, and then
    the step is 0 until R has decayed. Here V = (R / mean(R)) C, with R / mean(R) <= rows: finite
    whenever C is (|g| < 1.8e19), and the parameter moves on the first step already."""
    shape = (5, 7)
    rng = np.random.default_rng(0)
    start = rng.uniform(-1, 1, shape).astype(dtype)
    grads = [(big * np.sign(start)).astype(dtype)] + [np.ones(shape, dtype)] * STEPS
    p = start.copy()
    after_first, state = _run_steepest("Adafactor", dict(lr=1e-2), p, grads[:1])
    assert (after_first != start).all()
    p = start.copy()
    _, state = _run_steepest("Adafactor", dict(lr=1e-2), p, grads)
    for key, value in state.items():
        assert np.isfinite(value).all(), key
    ref_p = start.copy()
    ref_state = _run_reference("Adafactor", dict(lr=1e-2), ref_p, grads)
    _assert_close(p, ref_p, dtype, "param vs reference")
    for key, value in state.items():
        _assert_close(value, ref_state[key], dtype, f"state[{key!r}] vs reference")


@pytest.mark.parametrize("dtype, big", [(np.float32, 1e9), (np.float64, 1e75)])
def test_adafactor_factored_matches_torch(dtype, big, simd_target):
    """Below torch's limit for R C, the reordered V matches torch."""
    shape = (5, 7)
    rng = np.random.default_rng(1)
    start = rng.uniform(-1, 1, shape).astype(dtype)
    grads = [(big * np.sign(start)).astype(dtype)] + [np.ones(shape, dtype)] * STEPS
    p = start.copy()
    _, state = _run_steepest("Adafactor", dict(lr=1e-2), p, grads)
    torch_p, torch_state = _run_torch("Adafactor", dict(lr=1e-2), start, grads)
    _assert_close(p, torch_p, dtype, "param vs torch")
    for key, value in state.items():
        _assert_close(value, torch_state[key], dtype, f"state[{key!r}] vs torch")


@pytest.mark.parametrize("rule, key, shape", [("Adagrad", "sum", (SIZE,)),
                                              ("Adafactor", "variance", (SIZE,))])
def test_squared_state_overflows_as_torch(rule, key, shape, simd_target):
    """A state that is g**2 itself (v = g**2 on the first step) cannot hold (3e19)**2 in float32:
    the limit is the state's, not an intermediate's. Adagrad's sum becomes inf and the steps 0;
    Adafactor's variance inf, then NaN (its lerp from inf: inf - inf), and so the parameter:
    exactly as in torch."""
    grads = [np.full(shape, 3e19, np.float32)] + [np.ones(shape, np.float32)] * 3
    start = np.linspace(-0.5, 0.5, SIZE).astype(np.float32).reshape(shape)
    p = start.copy()
    _, state = _run_steepest(rule, dict(lr=1e-2), p, grads)
    torch_p, torch_state = _run_torch(rule, dict(lr=1e-2), start, grads)
    assert not np.isfinite(torch_state[key]).any()
    np.testing.assert_array_equal(state[key], torch_state[key])
    np.testing.assert_array_equal(p, torch_p)


@pytest.mark.parametrize("size", [3, 1031])
def test_clip_grad_norm_of_large_float32_gradients(size, simd_target):
    """The norm is summed in double: finite for any finite float32 gradient (torch sums float32
    squares in float32: its total is inf above ~1.8e19, and it scales every gradient to 0)."""
    grads = [np.full(size, 3e19, np.float32), np.full(4, -3e19, np.float32)]
    total = steepest.optim.clip_grad_norm_(grads, max_norm=1.0)
    np.testing.assert_allclose(total, 3e19 * np.sqrt(size + 4), rtol=1e-6)
    clipped = np.sqrt(sum(np.sum(np.square(g, dtype=np.float64)) for g in grads))
    np.testing.assert_allclose(clipped, 1.0, rtol=1e-5)
