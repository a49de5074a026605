"""Parity of steepest.optim's rules (every rule of the registry that torch.optim has: not Lion, Lamb
or Lars) with torch.optim's default single-tensor implementation (``foreach=False``), over every
combination of the boolean/zero-vs-nonzero options (the registry's ``options``). (torch.optim has
no Lion, LAMB or LARS: those are checked against steepest.reference only.)

Both optimizers see the same gradient sequence: at step t, ``g = noise_t + 0.1 * p`` is computed
once from steepest's parameters and given to both (so a rounding difference in p cannot change the
gradient the other side sees). Parameters sit in two groups with different learning rates; the
first group holds several tensors of odd sizes.

Tolerances (free-running over 200 steps; |diff| <= RTOL * (|torch| + max|torch| of the array),
i.e. assert_allclose with rtol=RTOL, atol=RTOL*max|torch|): torch and steepest round differently
(torch: lerp for exp_avg, a division by sqrt(1 - beta2**t); steepest: fused multiply-adds, a
multiplication by the reciprocal), so they agree to a few ulps per step, accumulated over 200
steps. Measured max |diff| / (|torch| + max|torch|) over all cases: float32 1.6e-7 (SGD
momentum_buffer; Adam param 1.2e-7; Adafactor 1.5e-7), float64 3.5e-16 (Adafactor 2.2e-16).
Chosen (the registry's TORCH_RTOL): 2e-6 and 5e-15, a margin of >10x,
and still far below what any mistake in an equation produces (a wrong bias correction, dampening
or decay changes the result in the second or third significant digit).

The element-wise rules, measured the same way over all their cases (float32 / float64): RMSprop
1.8e-7 / 4.1e-16 (momentum_buffer, grad_avg), Adagrad 9.8e-8 / 2.1e-16, Adamax 5.7e-8 / 1.4e-16,
NAdam 1.4e-7 / 2.0e-16, RAdam 9.1e-8 / 1.8e-16, ASGD 7.9e-8 / 1.0e-16, Rprop 0 / 0 (bitwise:
its arithmetic is products and selects, rounded alike), all within RTOL with a margin of >10x.
Adadelta: 8.6e-7 / 1.4e-15 (acc_delta, which squares a quotient of square roots): its own
tolerance (its row's torch_rtol), 1e-5 / 2e-14 (>10x). NAdam's mu_product is compared on its own (see below).
"""

import inspect

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import steepest  # noqa: E402
from steepest.optim.registry import RULES as REGISTRY  # noqa: E402
from steepest.optim.registry import TORCH_RTOL  # noqa: E402

STEPS = 200
# Every rule torch.optim has (the registry's), in every combination of its options.
TORCH_RULES = [rule for rule in REGISTRY.values() if rule.torch]
RTOL = {np.float32: TORCH_RTOL["float32"], np.float64: TORCH_RTOL["float64"]}
DTYPES = (np.float32, np.float64)
GROUP_SHAPES = [[(7,), (33, 5), (1031,)], [(3, 11)]]
# State torch keeps that steepest does not (none: ASGD keeps eta and mu as torch does).
DERIVED_STATE = {}


CASES = [(rule.name, hyper) for rule in TORCH_RULES for hyper in rule.combinations()]


def rtol_of(rule, dtype):
    """The rule's tolerance against torch (the registry's; see the module docstring)."""
    return REGISTRY[rule.lower()].torch_rtol[np.dtype(dtype).name]


def _case_id(case):
    rule, hyper = case
    return rule + "-" + "-".join(f"{k}={v}" for k, v in hyper.items())


def _noise(shapes, dtype):
    rng = np.random.default_rng(7)
    return [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(16)]


def run_both(rule, hyper, dtype, steps=STEPS):
    """Runs steepest and torch side by side; returns [(name, steepest array, torch array)]."""
    rng = np.random.default_rng(3)
    shapes = [s for group in GROUP_SHAPES for s in group]
    start = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ours = [p.copy() for p in start]
    theirs = [torch.nn.Parameter(torch.from_numpy(p.copy())) for p in start]
    noise = _noise(shapes, dtype)

    lr0, lr1 = REGISTRY[rule.lower()].torch_lr
    n0 = len(GROUP_SHAPES[0])
    our_groups = [{"params": ours[:n0]}, {"params": ours[n0:], "lr": lr1}]
    torch_groups = [{"params": theirs[:n0]}, {"params": theirs[n0:], "lr": lr1}]
    opt = getattr(steepest.optim, rule)(our_groups, lr=lr0, **hyper)
    topt = getattr(torch.optim, rule)(torch_groups, lr=lr0, foreach=False, **hyper)

    # torch keeps scalar state (NAdam's mu_product, ASGD's eta and mu) in its default dtype:
    # run it in the dtype under test, so that float64 is not rounded to float32 there.
    default_dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64 if dtype == np.float64 else torch.float32)
    try:
        _steps(opt, topt, ours, theirs, noise, dtype, steps)
    finally:
        torch.set_default_dtype(default_dtype)

    pairs = []
    derived = DERIVED_STATE.get(rule, set())
    for k, (p, tp) in enumerate(zip(ours, theirs)):
        assert not np.array_equal(p, start[k]), "the parameters did not move"
        pairs.append((f"params[{k}]", p, tp.detach().numpy()))
        tstate = topt.state[tp]
        ostate = opt.state.get(k, {})
        expected_keys = {key for key in tstate if key != "step"} - derived
        assert {key for key in ostate if key != "step"} == expected_keys
        if "step" in tstate:
            assert ostate["step"] == int(tstate["step"].item()) == steps
        for key in sorted(expected_keys):
            pairs.append((f"state[{k}][{key!r}]", ostate[key], tstate[key].numpy()))
    return pairs


def _steps(opt, topt, ours, theirs, noise, dtype, steps):
    for t in range(steps):
        grads = [noise[t % 16][k] * (1.0 + 0.01 * t) + dtype(0.1) * p for k, p in enumerate(ours)]
        for p, g in zip(theirs, grads):
            p.grad = torch.from_numpy(g.copy())
        opt.step(grads)
        topt.step()


def max_error(ours, theirs):
    """max |diff| / (|torch| + max|torch|)."""
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    scale = np.abs(theirs) + np.abs(theirs).max()
    return float(np.max(np.abs(ours - theirs) / scale))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_matches_torch(case, dtype):
    rule, hyper = case
    rtol = rtol_of(rule, dtype)
    for name, ours, theirs in run_both(rule, hyper, dtype):
        if name.endswith(("['mu_product']", "['eta']", "['mu']")):
            # A float64 number here; torch's is in its default dtype (the parameters' dtype in
            # this test): in float32 NAdam's mu_product is a product of 200 rounded factors
            # (<= 200 ulps, 1.2e-5) and underflows below 1e-38.
            if dtype == np.float32:
                np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=1e-37)
            else:
                np.testing.assert_allclose(ours, theirs, rtol=RTOL[np.float64])
            continue
        assert ours.dtype == dtype and ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * np.abs(theirs).max(),
                                   err_msg=f"{rule} {hyper} {name}")


HYPERPARAMETERS = ("lr", "betas", "eps", "weight_decay", "momentum", "dampening", "nesterov",
                   "amsgrad", "maximize", "alpha", "centered", "lr_decay",
                   "initial_accumulator_value", "rho", "momentum_decay",
                   "decoupled_weight_decay", "etas", "step_sizes", "lambd", "t0", "beta2_decay",
                   "d")
# torch's arguments steepest does not take (they choose torch's implementation or device).
IMPLEMENTATION_ARGS = {"foreach", "capturable", "differentiable", "fused"}
RULES = [rule.name for rule in TORCH_RULES]


@pytest.mark.parametrize("rule", RULES)
def test_defaults_match_torch(rule):
    ours = inspect.signature(getattr(steepest.optim, rule)).parameters
    theirs = inspect.signature(getattr(torch.optim, rule)).parameters
    names = [n for n in HYPERPARAMETERS if n in theirs]
    assert names, "torch's signature has none of the hyperparameters"
    if rule == "AdamW":
        names = [n for n in names if n != "decoupled_weight_decay"]  # always True in AdamW
    else:  # every argument of torch's that is not about its implementation
        assert set(theirs) - IMPLEMENTATION_ARGS - {"params"} == set(names), rule
    # torch's positional arguments up to the first one steepest does not take (after that,
    # e.g. RMSprop's and ASGD's maximize, which follow foreach, are keyword-only here).
    positional = []
    for n, p in theirs.items():
        if p.kind != p.POSITIONAL_OR_KEYWORD or n in IMPLEMENTATION_ARGS:
            break
        positional.append(n)
    for name in names:
        assert name in ours, f"{rule} lacks torch's argument {name!r}"
        assert ours[name].default == theirs[name].default, name
        assert type(ours[name].default) is type(theirs[name].default) or (
            isinstance(ours[name].default, (int, float))
            and isinstance(theirs[name].default, (int, float))), name
        expected = ours[name].POSITIONAL_OR_KEYWORD if name in positional else ours[name].KEYWORD_ONLY
        assert ours[name].kind == expected, (name, ours[name].kind, theirs[name].kind)
    # The positional hyperparameters come in torch's order.
    assert [n for n, p in ours.items() if p.kind == p.POSITIONAL_OR_KEYWORD] == positional


# -- the NumPy reference itself against torch --------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_reference_matches_torch(case):
    """steepest.reference is the oracle of the other parity tests: check it against torch too,
    in float64 (torch's scalar state in float64 too), every state key torch keeps (ASGD's eta
    and mu included). Measured max |diff| / (|torch| + max|torch|): SGD, Adam 4.7e-16; the
    others within their tolerance against torch."""
    rule, hyper = case
    row = REGISTRY[rule.lower()]
    rng = np.random.default_rng(3)
    shapes = [(7,), (33, 5), (1031,)]
    ours = [rng.standard_normal(s) for s in shapes]
    theirs = [torch.nn.Parameter(torch.from_numpy(p.copy())) for p in ours]
    states = [{} for _ in shapes]
    lr = row.torch_lr[0]
    topt = getattr(torch.optim, row.torch)(theirs, lr=lr, foreach=False, **hyper)
    noise = _noise(shapes, np.float64)
    default_dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        for t in range(STEPS):
            grads = [noise[t % 16][k] + 0.1 * p for k, p in enumerate(ours)]
            for p, tp, g, s in zip(ours, theirs, grads, states):
                tp.grad = torch.from_numpy(g.copy())
                row.reference_step(p, g, s, dict(hyper, lr=lr))
            topt.step()
    finally:
        torch.set_default_dtype(default_dtype)
    rtol = rtol_of(rule, np.float64)
    for p, tp, s in zip(ours, theirs, states):
        tstate = topt.state[tp]
        assert set(s) == set(tstate)
        if "step" in tstate:
            assert s["step"] == int(tstate["step"].item()) == STEPS
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=rtol,
                                   atol=rtol * np.abs(p).max())
        for k in tstate:
            if k != "step":
                b = tstate[k].numpy()
                np.testing.assert_allclose(s[k], b, rtol=rtol, atol=rtol * np.abs(b).max(),
                                           err_msg=k)


# -- Adafactor: the NumPy reference against torch.optim.Adafactor --------------------------------
# (steepest has no compiled Adafactor yet; this checks the oracle its kernel will be tested with.)

ADAFACTOR_SHAPES = [(7,), (33, 5), (2, 3, 4), (1031,), (), (1, 1)]  # factored: 2+ dimensions
ADAFACTOR_CASES = [
    dict(),
    dict(weight_decay=0.1, maximize=True),
    dict(lr=0.05, eps=(1e-30, 1e-3), d=2.0, beta2_decay=-0.5),
    dict(lr=0.003, eps=(1e-6, 0.0), weight_decay=0.01),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("hyper", ADAFACTOR_CASES,
                         ids=lambda h: "-".join(f"{k}={v}" for k, v in h.items()) or "defaults")
def test_adafactor_reference_matches_torch(hyper, dtype):
    """steepest.reference.adafactor vs torch.optim.Adafactor (foreach=False) over 200 steps, its
    state keys and shapes included. Measured max |diff| / (|torch| + max|torch|): float64 5.1e-16,
    float32 2.7e-7 (norms and means of squares: float64 here, the dtype in torch)."""
    from steepest import reference

    rng = np.random.default_rng(3)
    ours = [np.asarray(rng.standard_normal(s), dtype=dtype) for s in ADAFACTOR_SHAPES]
    theirs = [torch.nn.Parameter(torch.from_numpy(p.copy())) for p in ours]
    states = [{} for _ in ADAFACTOR_SHAPES]
    topt = torch.optim.Adafactor(theirs, foreach=False, **hyper)
    for t in range(STEPS):
        for p, tp, s in zip(ours, theirs, states):
            g = np.asarray(rng.standard_normal(p.shape) + 0.1 * p, dtype=dtype)
            tp.grad = torch.from_numpy(g.copy())
            reference.adafactor(p, g, s, **hyper)
        topt.step()
    rtol = RTOL[dtype]
    for p, tp, s in zip(ours, theirs, states):
        tstate = topt.state[tp]
        assert set(s) == set(tstate)
        assert s["step"] == int(tstate["step"].item()) == STEPS
        for a, b in [(p, tp.detach().numpy())] + [(s[k], tstate[k].numpy()) for k in tstate
                                                  if k != "step"]:
            assert a.shape == b.shape and a.dtype == b.dtype
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())
