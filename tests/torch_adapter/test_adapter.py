"""steepest.torch: the drop-in torch.optim optimizers.

Parity with torch.optim inside a real nn.Module training loop with an lr scheduler, state_dict
interchange in both directions, torch's optimizer API (zero_grad, hooks, param groups), and the
errors for tensors steepest cannot update in place.
"""

import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

import steepest.torch as st  # noqa: E402
from steepest.optim.registry import RULES as REGISTRY  # noqa: E402

# Every option combination of the rules torch also has, as in tests/optim/test_torch_parity.py.
CASES = [
    ("SGD", dict(lr=0.05, momentum=m, dampening=d, nesterov=n, weight_decay=wd, maximize=mx))
    for m in (0.0, 0.9) for d in (0.0, 0.3) for n in (False, True) for wd in (0.0, 0.1)
    for mx in (False, True) if not (n and (m == 0 or d != 0))
] + [
    (rule, dict(lr=0.01, weight_decay=wd, amsgrad=a, maximize=mx))
    for rule in ("Adam", "AdamW") for wd in (0.0, 0.1) for a in (False, True) for mx in (False, True)
] + [
    # The other rules torch has: each option on its own, and maximize.
    (rule, dict(base, **option))
    for rule, base, options in [
        # Learning rates where the training is not chaotic, so that rounding differences stay at
        # rounding size (measured: NAdam at lr 0.01 and centered RMSprop at 0.005 amplify a
        # 1e-16 difference to 1e-11 and 1e-3 within 200 steps).
        ("RMSprop", dict(lr=0.001), [{}, dict(momentum=0.9), dict(centered=True),
                                     dict(weight_decay=0.1, momentum=0.5, centered=True),
                                     dict(maximize=True)]),
        ("Adagrad", dict(lr=0.05), [{}, dict(lr_decay=0.01), dict(weight_decay=0.1),
                                    dict(initial_accumulator_value=0.5), dict(maximize=True)]),
        ("Adadelta", dict(lr=1.0), [{}, dict(weight_decay=0.1), dict(rho=0.5),
                                    dict(maximize=True)]),
        ("Adamax", dict(lr=0.01), [{}, dict(weight_decay=0.1), dict(maximize=True)]),
        ("NAdam", dict(lr=0.003), [{}, dict(weight_decay=0.1),
                                  dict(weight_decay=0.1, decoupled_weight_decay=True),
                                  dict(momentum_decay=0.01), dict(maximize=True)]),
        ("RAdam", dict(lr=0.01), [{}, dict(weight_decay=0.1),
                                  dict(weight_decay=0.1, decoupled_weight_decay=True),
                                  dict(maximize=True)]),
        ("Rprop", dict(lr=0.01), [{}, dict(etas=(0.3, 1.5), step_sizes=(1e-5, 1.0)),
                                  dict(maximize=True)]),
        ("ASGD", dict(lr=0.01), [{}, dict(weight_decay=0.1), dict(t0=50.0, lambd=1e-3),
                                 dict(maximize=True)]),
    ]
    for option in options
]
IDS = [f"{r}-" + "-".join(f"{k}={v}" for k, v in kw.items() if k != "lr") for r, kw in CASES]
# Measured: 2.1e-6 (float32) and 5e-15 (float64) after 200 steps of this model.
TOLERANCE = {torch.float32: 2e-5, torch.float64: 1e-12}


def model(dtype, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(7, 13), torch.nn.Tanh(),
                               torch.nn.Linear(13, 1)).to(dtype)


def train(m, opt, sched, steps, data):
    """``steps`` steps on the mean squared error (its negative for maximize=True)."""
    X, y = data
    sign = -1.0 if opt.param_groups[0]["maximize"] else 1.0
    for _ in range(steps):
        opt.zero_grad()
        loss = sign * ((m(X) - y) ** 2).mean()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()


def data(dtype):
    g = torch.Generator().manual_seed(1)
    return torch.randn(64, 7, generator=g, dtype=dtype), torch.randn(64, 1, generator=g, dtype=dtype)


def max_diff(a, b):
    return max((p - q).abs().max().item() for p, q in zip(a.parameters(), b.parameters()))


@pytest.fixture
def torch_default_dtype():
    """Sets torch's default dtype for a test, and restores it."""
    previous = torch.get_default_dtype()
    yield torch.set_default_dtype
    torch.set_default_dtype(previous)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("rule, hyper", CASES, ids=IDS)
def test_trains_like_torch(rule, hyper, dtype, torch_default_dtype):
    # torch keeps scalar state (NAdam's mu_product, ASGD's eta and mu) in its default dtype;
    # steepest keeps float64. Both then round alike.
    torch_default_dtype(torch.float64)
    ours, theirs = model(dtype), model(dtype)
    opt_ours = getattr(st, rule)(ours.parameters(), **hyper)
    opt_theirs = getattr(torch.optim, rule)(theirs.parameters(), **hyper, foreach=False)
    sched_ours = torch.optim.lr_scheduler.StepLR(opt_ours, 50, 0.5)
    sched_theirs = torch.optim.lr_scheduler.StepLR(opt_theirs, 50, 0.5)
    start = [p.detach().clone() for p in ours.parameters()]
    train(ours, opt_ours, sched_ours, 200, data(dtype))
    train(theirs, opt_theirs, sched_theirs, 200, data(dtype))
    assert any(not torch.equal(p, q) for p, q in zip(ours.parameters(), start))
    assert max_diff(ours, theirs) < TOLERANCE[dtype]
    assert opt_ours.param_groups[0]["lr"] == opt_theirs.param_groups[0]["lr"]
    for p, q in zip(ours.parameters(), theirs.parameters()):
        a, b = opt_ours.state[p], opt_theirs.state[q]
        assert set(a) == set(b)
        for key in a:
            assert a[key].dtype == b[key].dtype or key == "step"
            if key == "step":
                assert float(a[key]) == float(b[key])
                continue
            # relative to the state's size: RMSprop's momentum_buffer (momentum 0.9) reaches ~10,
            # and differs from torch's by up to 2.4e-5 of that in float32 after 200 steps
            scale = max(1.0, b[key].double().abs().max().item())
            assert (a[key].double() - b[key].double()).abs().max().item() < TOLERANCE[dtype] * 10 * scale


INTERCHANGE = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("NAdam", dict(lr=0.003, weight_decay=0.1, decoupled_weight_decay=True)),
    ("ASGD", dict(lr=0.01, t0=20.0, lambd=0.01)),
    ("Rprop", dict(lr=0.01)),
]


@pytest.mark.parametrize("direction", ["torch-to-steepest", "steepest-to-torch"])
@pytest.mark.parametrize("rule, hyper", INTERCHANGE, ids=[r for r, _ in INTERCHANGE])
def test_state_dict_moves_both_ways(rule, hyper, direction, torch_default_dtype):
    dtype = torch.float64
    torch_default_dtype(dtype)  # torch's scalar state (mu_product, eta, mu) in float64 too
    first, second = (torch.optim, st) if direction == "torch-to-steepest" else (st, torch.optim)
    # Reference: 100 steps of torch alone. Run: 50 steps of one, then its state into the other.
    ref = model(dtype)
    opt = getattr(torch.optim, rule)(ref.parameters(), **hyper, foreach=False)
    train(ref, opt, None, 100, data(dtype))
    run = model(dtype)
    a = getattr(first, rule)(run.parameters(), **hyper)
    train(run, a, None, 50, data(dtype))
    b = getattr(second, rule)(run.parameters(), **hyper)
    b.load_state_dict(a.state_dict())
    train(run, b, None, 50, data(dtype))
    assert max_diff(run, ref) < 1e-12


def test_hooks_zero_grad_and_param_groups():
    m = model(torch.float32)
    opt = st.AdamW([{"params": m[0].parameters()}, {"params": m[2].parameters(), "lr": 0.0}],
                   lr=0.01)
    calls = []
    opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    frozen = [p.detach().clone() for p in m[2].parameters()]
    train(m, opt, None, 3, data(torch.float32))
    assert calls == ["pre", "post"] * 3
    assert all(torch.equal(p, q) for p, q in zip(m[2].parameters(), frozen))  # lr 0
    opt.zero_grad()
    assert all(p.grad is None for p in m.parameters())  # torch's default: set_to_none


def test_closure_returns_the_loss():
    m = model(torch.float64)
    opt = st.SGD(m.parameters(), lr=0.1)
    X, y = data(torch.float64)

    def closure():
        opt.zero_grad()
        loss = ((m(X) - y) ** 2).mean()
        loss.backward()
        return loss

    first = opt.step(closure)
    assert opt.step(closure).item() < first.item()


def test_torch_switches_are_accepted_and_capturable_refused():
    p = torch.nn.Parameter(torch.zeros(3))
    st.AdamW([p], foreach=True, fused=True)
    with pytest.raises(ValueError, match="capturable"):
        st.AdamW([p], capturable=True)


def test_invalid_hyperparameters_raise_like_torch():
    p = torch.nn.Parameter(torch.zeros(3))
    with pytest.raises(ValueError, match="Invalid learning rate"):
        st.Adam([p], lr=-1.0)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1"):
        st.AdamW([p], betas=(0.9, 1.0))


# (rule, hyperparameters, torch's error): checked before the params, as torch checks them.
HYPER_ERRORS = [
    ("Adam", dict(betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    ("SGD", dict(lr=torch.tensor([0.1, 0.1])), "Tensor lr must be 1-element"),
    ("RMSprop", dict(lr=torch.tensor([0.1, 0.1])), "Tensor lr must be 1-element"),
    ("Adam", dict(betas=(0.9, torch.tensor(0.99))), "betas must be either both floats or both"),
    ("AdamW", dict(betas=(torch.tensor(0.9), 0.99)), "betas must be either both floats or both"),
    ("Adam", dict(lr=torch.tensor(0.01), foreach=True),
     "lr as a Tensor is not supported for capturable=False and foreach=True"),
]


@pytest.mark.parametrize("rule, hyper, message", HYPER_ERRORS)
def test_hyperparameters_are_checked_first_with_torchs_errors(rule, hyper, message):
    for make in (getattr(st, rule), getattr(torch.optim, rule)):
        with pytest.raises(ValueError, match=message):
            make(None, **hyper)


def test_tensor_hyperparameters_torch_accepts_are_accepted():
    p = torch.nn.Parameter(torch.ones(3))
    tensor_betas = (torch.tensor(0.9), torch.tensor(0.99))
    for opt in (st.Adam([p], lr=torch.tensor([[0.1]]), betas=tensor_betas),
                st.Adamax([p], betas=(0.9, torch.tensor(0.99))),  # torch checks Adam's alone
                st.Lion([p], lr=torch.tensor(0.01))):
        p.grad = torch.ones(3)
        opt.step()
    assert p.detach().lt(1.0).all()


def test_adam_with_decoupled_weight_decay_is_adamw():
    """torch 2.13's Adam takes decoupled_weight_decay; AdamW's groups hold it True, and an
    Adam loading AdamW's state_dict steps as AdamW (as torch's test_adamw_serialization)."""
    hyper = dict(lr=0.01, weight_decay=0.1)
    reference = trajectory(lambda m: st.AdamW(m.parameters(), **hyper), 20)
    assert same(trajectory(lambda m: st.Adam(m.parameters(), **hyper,
                                             decoupled_weight_decay=True), 20), reference)
    assert not same(trajectory(lambda m: st.Adam(m.parameters(), **hyper), 20), reference)
    m = model(torch.float32)
    assert st.AdamW(m.parameters()).param_groups[0]["decoupled_weight_decay"] is True
    adam = st.Adam(m.parameters())
    adam.load_state_dict(torch.optim.AdamW(m.parameters()).state_dict())
    assert adam.param_groups[0]["decoupled_weight_decay"] is True
    old = torch.optim.Adam(m.parameters()).state_dict()
    for saved in (old, {**old, "param_groups": [
            {k: v for k, v in g.items() if k != "decoupled_weight_decay"}
            for g in old["param_groups"]]}):
        adamw = st.AdamW(m.parameters())
        adamw.load_state_dict(saved)
        assert adamw.param_groups[0]["decoupled_weight_decay"] is True

    def switch_to_adamw(opt, m):
        new = st.Adam(m.parameters(), **hyper)
        new.load_state_dict(opt.state_dict())
        return new, m

    assert same(trajectory(lambda m: st.AdamW(m.parameters(), **hyper), 20, switch_to_adamw),
                reference)


@pytest.mark.parametrize("rule", sorted(set(st.__all__) - {"clip_grad_norm_", "clip_grad_value_"}))
def test_state_dict_of_an_older_release_loads_and_steps(rule):
    """A state_dict whose groups lack every key but params and lr (Rprop: lr too), as one saved
    before those options existed: each missing key takes its default (torch's __setstate__),
    and the optimizer steps as one built with those defaults."""
    def make(m):
        return getattr(st, rule)(m.parameters(), lr=0.01)

    def strip(opt, m):
        saved = opt.state_dict()
        kept = ("params",) if rule == "Rprop" else ("params", "lr")
        saved["param_groups"] = [{k: g[k] for k in kept} for g in saved["param_groups"]]
        new = getattr(st, rule)(m.parameters(), lr=0.01)
        new.load_state_dict(saved)
        assert new.param_groups[0].keys() == new.defaults.keys() | {"params"}
        return new, m

    assert same(trajectory(make, 6, strip), trajectory(make, 6))


def test_state_may_hold_other_keys_and_values_as_torchs():
    """torch's own test puts opt.state["test"] = 1 in a state_dict pre-hook."""
    m = model(torch.float64)
    opt = st.AdamW(m.parameters(), lr=0.01)
    train(m, opt, None, 1, data(torch.float64))
    opt.state["test"] = 1
    opt.state["note"] = {"step": "not a param's"}
    saved = opt.state_dict()
    assert saved["state"]["test"] == 1 and saved["state"]["note"] == {"step": "not a param's"}
    assert saved["state"][0]["step"].dtype == torch.float32
    train(m, opt, None, 1, data(torch.float64))  # the step ignores them
    import copy

    clone = copy.deepcopy(opt)
    assert clone.state["test"] == 1
    fresh = st.AdamW(m.parameters(), lr=0.01)
    fresh.load_state_dict(saved)
    assert fresh.state["test"] == 1
    train(m, fresh, None, 1, data(torch.float64))


def test_load_state_dict_keeps_the_guard():
    p = torch.nn.Parameter(torch.ones(3))
    opt = st.SGD([p], lr=0.1, nonfinite="skip")
    opt.load_state_dict(st.SGD([p], lr=0.1).state_dict())
    assert opt.nonfinite == "skip"


def one_step(opt):
    for group in opt.param_groups:
        for p in group["params"]:
            p.grad = torch.ones_like(p) if p.grad is None else p.grad
    opt.step()


# Every rule torch also has (the registry's), with options that use each kind of state: its
# test hyperparameters and its first configuration with nontrivial options.
LAYOUT_CASES = [(rule.name, hyper) for rule in REGISTRY.values() if rule.torch
                for hyper in (rule.hyper, rule.configs[0])]
LAYOUT_IDS = [f"{rule}-{i % 2}" for i, (rule, _) in enumerate(LAYOUT_CASES)]


def step_both(ours, theirs, make_grads, steps=6):
    """``steps`` steps of both optimizers with the same gradients (``make_grads(t)``, one per
    param, given to both as they are)."""
    for t in range(steps):
        for opt in (ours, theirs):
            params = [p for group in opt.param_groups for p in group["params"]]
            for p, g in zip(params, make_grads(t)):
                p.grad = g
            opt.step()


def assert_same_state(ours, theirs, dtype):
    tol = TOLERANCE[dtype]
    for p, q in zip(*[[p for g in o.param_groups for p in g["params"]] for o in (ours, theirs)]):
        assert p.stride() == q.stride()  # updated in place, in its own layout
        torch.testing.assert_close(p.detach(), q.detach(), rtol=tol, atol=tol)
        a, b = ours.state[p], theirs.state[q]
        assert set(a) == set(b)
        for key in a:
            if a[key].ndim:  # the arrays C++ keeps: torch's dtype and shape, contiguous
                assert a[key].dtype == b[key].dtype and a[key].shape == b[key].shape
                assert a[key].is_contiguous()
            # else a step count (int64) or a per-tensor number (float64)
            torch.testing.assert_close(a[key].to(b[key].dtype), b[key], rtol=tol, atol=tol)


def assert_moves_both_ways(rule, hyper, opt, topt, ours, theirs, grads, dtype):
    """The state of each optimizer loads into the other's kind, and both go on alike."""
    again = getattr(torch.optim, rule)(theirs, **hyper, foreach=False)
    again.load_state_dict(opt.state_dict())
    mine = getattr(st, rule)(ours, **hyper)
    mine.load_state_dict(topt.state_dict())
    step_both(mine, again, grads, steps=2)
    assert_same_state(mine, again, dtype)


@pytest.mark.parametrize("rule, hyper", LAYOUT_CASES, ids=LAYOUT_IDS)
def test_non_contiguous_params_and_grads_step_like_torch(rule, hyper, torch_default_dtype):
    """A transposed weight, a slice, and a param given non-contiguous gradients: updated in
    place, in their own layout, as torch updates them; the state is contiguous."""
    dtype = torch.float64
    torch_default_dtype(torch.float64)  # torch's scalar state (NAdam's, ASGD's) as ours

    def make_params():
        torch.manual_seed(0)
        weight = torch.randn(6, 4, dtype=dtype).t()  # (4, 6), strides (1, 4)
        column = torch.randn(10, 2, dtype=dtype)[:, 0]  # stride 2
        plain = torch.randn(5, 3, dtype=dtype)
        return [torch.nn.Parameter(t) for t in (weight, column, plain)]

    def grads(t):
        g = torch.Generator().manual_seed(t)
        return [torch.randn(6, 4, generator=g, dtype=dtype).t(),
                torch.randn(10, generator=g, dtype=dtype),
                torch.randn(3, 5, generator=g, dtype=dtype).t()]

    ours, theirs = make_params(), make_params()
    start = [p.detach().clone() for p in ours]
    pointers = [p.data_ptr() for p in ours]
    assert not ours[0].is_contiguous() and not ours[1].is_contiguous()
    opt = getattr(st, rule)(ours, **hyper)
    topt = getattr(torch.optim, rule)(theirs, **hyper, foreach=False)
    step_both(opt, topt, grads)
    assert [p.data_ptr() for p in ours] == pointers
    assert all(not torch.equal(p.detach(), q) for p, q in zip(ours, start))
    assert_same_state(opt, topt, dtype)
    assert_moves_both_ways(rule, hyper, opt, topt, ours, theirs, grads, dtype)


@pytest.mark.parametrize("rule, hyper", LAYOUT_CASES, ids=LAYOUT_IDS)
def test_non_contiguous_grads_of_contiguous_params_step_like_torch(rule, hyper,
                                                                   torch_default_dtype):
    """Contiguous params whose gradients are not (set by hand), from the first step on (where
    state is created: SGD's first momentum buffer is the gradient itself)."""
    dtype = torch.float64
    torch_default_dtype(torch.float64)

    def make_params():
        torch.manual_seed(2)
        return [torch.nn.Parameter(torch.randn(4, 6, dtype=dtype)),
                torch.nn.Parameter(torch.randn(5, dtype=dtype))]

    def grads(t):
        g = torch.Generator().manual_seed(20 + t)
        return [torch.randn(6, 4, generator=g, dtype=dtype).t(),
                torch.randn(10, generator=g, dtype=dtype)[::2] if t % 2 else
                torch.randn(5, generator=g, dtype=dtype)]

    ours, theirs = make_params(), make_params()
    opt = getattr(st, rule)(ours, **hyper)
    topt = getattr(torch.optim, rule)(theirs, **hyper, foreach=False)
    step_both(opt, topt, grads)
    assert_same_state(opt, topt, dtype)


COMPLEX_CASES = [c for c in LAYOUT_CASES if c[0] != "Adafactor"]  # as torch, real only
COMPLEX_IDS = [i for c, i in zip(LAYOUT_CASES, LAYOUT_IDS) if c[0] != "Adafactor"]


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
@pytest.mark.parametrize("rule, hyper", COMPLEX_CASES, ids=COMPLEX_IDS)
def test_complex_params_step_like_torch(rule, hyper, dtype, torch_default_dtype):
    """Complex params (one of them a slice) beside a real one: stepped as their real views,
    as torch's rules step them; their state is complex, and moves between the two."""
    real = torch.float64 if dtype == torch.complex128 else torch.float32
    torch_default_dtype(torch.float64)  # torch's scalar state (NAdam's, ASGD's) as ours

    def make_params():
        torch.manual_seed(1)
        return [torch.nn.Parameter(t) for t in (
            torch.randn(5, 3, dtype=dtype), torch.randn(7, dtype=real),
            torch.randn(6, 2, dtype=dtype)[:, 0])]

    def grads(t):
        g = torch.Generator().manual_seed(10 + t)
        return [torch.randn(5, 3, generator=g, dtype=dtype),
                torch.randn(7, generator=g, dtype=real),
                torch.randn(6, generator=g, dtype=dtype)]

    ours, theirs = make_params(), make_params()
    start = [p.detach().clone() for p in ours]
    opt = getattr(st, rule)(ours, **hyper)
    topt = getattr(torch.optim, rule)(theirs, **hyper, foreach=False)
    step_both(opt, topt, grads)
    assert all(not torch.equal(p.detach(), q) for p, q in zip(ours, start))
    assert_same_state(opt, topt, real)
    assert_moves_both_ways(rule, hyper, opt, topt, ours, theirs, grads, real)


def test_adafactor_refuses_complex_params_as_torch_does():
    p = torch.nn.Parameter(torch.ones(2, 3, dtype=torch.complex64))
    opt = st.Adafactor([p])
    p.grad = torch.ones_like(p)
    with pytest.raises(RuntimeError, match="Adafactor does not support complex parameters"):
        opt.step()
    assert torch.equal(p.detach(), torch.ones(2, 3, dtype=torch.complex64)) and not opt.state[p]


def test_expanded_param_is_refused_by_name():
    good = torch.nn.Parameter(torch.zeros(3))
    expanded = torch.nn.Parameter(torch.zeros(4, 1).expand(4, 6))
    with pytest.raises(ValueError, match=r"params\[1\]: some of its elements share memory"):
        st.SGD([good, expanded], lr=0.1)
    topt = torch.optim.SGD([expanded], lr=0.1)  # torch cannot update it either
    expanded.grad = torch.ones(4, 6)
    with pytest.raises(RuntimeError, match="single memory location"):
        topt.step()


def test_non_cpu_param_is_refused_by_name():
    meta = torch.nn.Parameter(torch.empty(3, device="meta"))
    with pytest.raises(ValueError, match=r"params\[0\] is on meta"):
        st.AdamW([meta])


def test_sparse_grad_is_refused_and_nothing_changes():
    p = torch.nn.Parameter(torch.ones(4))
    opt = st.SGD([p], lr=0.1, momentum=0.9)
    p.grad = torch.ones(4).to_sparse()
    with pytest.raises(ValueError, match=r"grads\[0\]: sparse"):
        opt.step()
    assert torch.equal(p.detach(), torch.ones(4)) and not opt.state[p]


def test_integer_param_is_refused():
    with pytest.raises(TypeError,
                       match=r"params\[0\]: expected a float32, float64, bfloat16 or float16"):
        st.Adam([torch.zeros(3, dtype=torch.int64)])


def test_wrong_dtype_grad_is_refused_and_nothing_changes():
    p = torch.nn.Parameter(torch.ones(4))
    opt = st.Adam([p])
    p.grad_dtype = None  # torch itself refuses a float64 grad on a float32 tensor otherwise
    p.grad = torch.ones(4, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"grads\[0\]"):
        opt.step()
    assert torch.equal(p.detach(), torch.ones(4)) and not opt.state[p]


def test_importing_steepest_does_not_import_torch():
    code = "import sys, steepest, steepest.optim; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_fused_rule_has_an_adapter():
    import steepest.optim as optim

    fused = {name for name in optim.__all__
             if isinstance(getattr(optim, name), type)
             and issubclass(getattr(optim, name), optim.Optimizer)
             and getattr(optim, name)._kernel is not None}
    assert fused and fused | {"clip_grad_norm_", "clip_grad_value_"} == set(st.__all__)
    for name in fused:
        assert issubclass(getattr(st, name), torch.optim.Optimizer)


def test_global_hooks_and_the_profiler_see_the_step():
    m = model(torch.float32)
    opt = st.AdamW(m.parameters(), lr=0.01)
    from torch.optim.optimizer import (register_optimizer_step_post_hook,
                                       register_optimizer_step_pre_hook)

    calls = []
    pre = register_optimizer_step_pre_hook(lambda o, a, k: calls.append("pre"))
    post = register_optimizer_step_post_hook(lambda o, a, k: calls.append("post"))
    try:
        train(m, opt, None, 2, data(torch.float32))
    finally:
        pre.remove()
        post.remove()
    train(m, opt, None, 1, data(torch.float32))  # no hook left: nothing recorded
    assert calls == ["pre", "post"] * 2
    with torch.profiler.profile() as prof:
        train(m, opt, None, 1, data(torch.float32))
    assert "Optimizer.step#AdamW.step" in {e.key for e in prof.key_averages()}


def test_a_pre_hook_may_replace_the_closure():
    m = model(torch.float64)
    opt = st.SGD(m.parameters(), lr=0.1)
    opt.register_step_pre_hook(lambda o, args, kwargs: ((o, lambda: 42.0), kwargs))
    assert opt.step() == 42.0


def test_state_dict_in_torch_format_and_live_step_views():
    m = model(torch.float32)
    opt = st.NAdam(m.parameters(), lr=0.01)
    train(m, opt, None, 3, data(torch.float32))
    p = next(m.parameters())
    assert opt.state[p]["step"].dtype == torch.int64 and opt.state[p]["step"].item() == 3
    saved = opt.state_dict()
    step = saved["state"][0]["step"]
    assert step.dtype == torch.float32 and step.ndim == 0 and step.item() == 3.0
    assert type(saved["state"][0]) is dict  # plain dicts: torch.save needs no steepest class
    train(m, opt, None, 1, data(torch.float32))
    assert step.item() == 3.0 and opt.state[p]["step"].item() == 4  # the saved step is a copy
    assert saved["state"][0]["mu_product"].dtype == torch.float64


def trajectory(make, steps, change=None):
    """Parameters after ``steps`` steps of a fresh model; ``change(opt, model)`` runs after the
    first half."""
    m = model(torch.float64)
    opt = make(m)
    train(m, opt, None, steps // 2, data(torch.float64))
    if change is not None:
        opt, m = change(opt, m) or (opt, m)
    train(m, opt, None, steps - steps // 2, data(torch.float64))
    return [p.detach().clone() for p in m.parameters()]


def make_adamw(m):
    return st.AdamW(m.parameters(), lr=0.01, weight_decay=0.1)


def same(a, b):
    return all(torch.equal(p, q) for p, q in zip(a, b))


def test_state_replaced_between_steps_is_used():
    def reset_moments(opt, m):
        for p in m.parameters():
            opt.state[p]["exp_avg"] = torch.zeros_like(p)
            opt.state[p]["step"] = torch.tensor(0.0)

    def reset_reference(opt, m):
        for p in m.parameters():
            opt.state[p]["exp_avg"].zero_()
            opt.state[p]["step"].zero_()

    assert same(trajectory(make_adamw, 20, reset_moments), trajectory(make_adamw, 20, reset_reference))
    assert not same(trajectory(make_adamw, 20, reset_moments), trajectory(make_adamw, 20))


def test_param_memory_moved_between_steps_is_followed():
    def move(opt, m):
        for p in m.parameters():
            p.data = p.data.clone()  # new memory, same Parameter object

    ours = trajectory(make_adamw, 20, move)
    assert same(ours, trajectory(make_adamw, 20))


def test_pickled_optimizer_continues_the_trajectory():
    import copy

    def copy_both(opt, m):
        both = copy.deepcopy({"opt": opt, "m": m})  # the optimizer's params are the copy's
        return both["opt"], both["m"]

    assert same(trajectory(make_adamw, 20, copy_both), trajectory(make_adamw, 20))


def test_pickled_optimizer_keeps_its_guard_and_counts():
    import copy

    p = torch.nn.Parameter(torch.ones(3))
    opt = st.AdamW([p], lr=0.1, nonfinite="skip")
    p.grad = torch.tensor([1.0, float("nan"), 0.0])
    assert opt.step() is False
    p.grad = torch.ones(3)
    assert opt.step() is True
    clone = copy.deepcopy(opt)
    assert (clone.nonfinite, clone.applied_steps, clone.skipped_steps) == ("skip", 1, 1)


def test_param_group_added_between_steps_is_stepped():
    m = model(torch.float64)
    opt = st.AdamW(m[0].parameters(), lr=0.01)
    train(m, opt, None, 2, data(torch.float64))
    before = [p.detach().clone() for p in m[2].parameters()]
    opt.add_param_group({"params": m[2].parameters()})
    train(m, opt, None, 1, data(torch.float64))
    assert all(not torch.equal(p, q) for p, q in zip(m[2].parameters(), before))
    assert all(opt.state[p]["step"].item() == 1 for p in m[2].parameters())


class _Interrupt:
    """Stands in for the optimizer's kernel: runs it, or not, then raises KeyboardInterrupt,
    as a Ctrl-C delivered just after (or just before) the C++ call does."""

    def __init__(self, kernel, run):
        self.kernel, self.run = kernel, run

    def __call__(self, *args):
        if self.run:
            self.kernel(*args)
        raise KeyboardInterrupt


def _interrupt_params():
    torch.manual_seed(3)
    # The second is not contiguous: stepped through a working copy, copied back after C++.
    return [torch.randn(7, dtype=torch.float64), torch.randn(3, 5, dtype=torch.float64).t()]


@pytest.mark.parametrize("name,kwargs", [("Adam", dict(lr=0.1, amsgrad=True)),
                                         ("NAdam", dict(lr=0.01)), ("SGD", dict(lr=0.1))])
@pytest.mark.parametrize("at", [0, 2])  # the first step (creates state) or a later one
@pytest.mark.parametrize("ran", [True, False])
def test_interrupted_step_counts_fully_or_not_at_all(name, kwargs, at, ran):
    params, ref_params = _interrupt_params(), _interrupt_params()
    opt = getattr(st, name)(params, **kwargs)
    ref = getattr(st, name)(ref_params, **kwargs)

    def step(o, ps, t):
        torch.manual_seed(100 + t)
        for p in ps:
            p.grad = torch.randn(p.shape, dtype=p.dtype)
        o.step()

    for t in range(at):
        step(opt, params, t)
        step(ref, ref_params, t)
    opt._kernel = _Interrupt(type(opt)._kernel, run=ran)
    with pytest.raises(KeyboardInterrupt):
        step(opt, params, at)
    del opt._kernel
    if ran:
        step(ref, ref_params, at)
    for t in range(at + 1, at + 4):  # and it continues as a run that was never interrupted
        for o, ps in ((opt, params), (ref, ref_params)):
            step(o, ps, t)
        assert (opt.applied_steps, opt.skipped_steps) == (ref.applied_steps, ref.skipped_steps)
        for p, q in zip(params, ref_params):
            assert torch.equal(p, q)
            assert opt.state[p].keys() == ref.state[q].keys()
            for key in opt.state[p]:
                assert torch.equal(opt.state[p][key], ref.state[q][key]), key
