"""steepest.torch on bfloat16 and float16 parameters (#20): the rules step them as
torch's ``fused=True`` does (float32 arithmetic; the parameter and its state, kept in the
parameter's dtype, rounded to nearest even).

- Adam and AdamW: bitwise torch's fused step, params and every state tensor, over several
  steps, at sizes that are not multiples of a block or a vector;
- every other rule (LAMB, LARS and Adafactor too): bitwise its float32 step on the widened
  values, rounded to nearest after each step (what C++'s block driver does,
  csrc/optim/precision.h; Adafactor widens whole tensors). SGD and
  Adagrad, which torch also fuses on the CPU, are tested so too: torch 2.13's fused SGD without
  momentum leaves the elements of its 16-element vector loop unchanged on bfloat16 and float16
  tensors (a tensor of 16 or 32 elements does not move at all), and its fused Adagrad orders its
  float operations otherwise (one bfloat16 ulp apart);
- state_dicts load across (ours into torch's fused optimizer and back); threads are bitwise.
"""

import copy
import functools

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("ml_dtypes")

import steepest  # noqa: E402
import steepest.torch as st  # noqa: E402

HALF = [torch.bfloat16, torch.float16]
SHAPES = [(1000,), (17, 3), (1,)]  # not multiples of a 256-element block or of a vector

FUSED_CASES = [
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), maximize=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True, maximize=True)),
]

OTHER_CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("Adagrad", dict(lr=0.05)),
    ("Adagrad", dict(lr=0.05, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
    ("Adadelta", dict(lr=1.0, weight_decay=0.1)),
    ("Adamax", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01)),
    ("Rprop", dict(lr=0.01)),
    ("ASGD", dict(lr=0.01, t0=1)),
    ("Lion", dict(lr=0.001, weight_decay=0.1)),
    ("Lamb", dict(lr=0.01, weight_decay=0.1)),
    ("Lars", dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    ("Adafactor", dict(lr=0.01, weight_decay=0.1)),
]


def case_id(case):
    name, kwargs = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


def draws(shape, dtype, steps, seed=0):
    """A param and `steps` gradients of `dtype` (values of every binade near 1)."""
    gen = torch.Generator().manual_seed(seed)
    param = torch.randn(shape, generator=gen).to(dtype)
    grads = [torch.randn(shape, generator=gen).to(dtype) for _ in range(steps)]
    return param, grads


def run(make, param, grads):
    """The param after stepping `make([p])` on each gradient, and the optimizer."""
    p = param.clone().requires_grad_()
    opt = make([p])
    for g in grads:
        p.grad = g.clone()
        opt.step()
    return p.detach(), opt


def assert_same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert torch.equal(a.view(torch.int16), b.view(torch.int16)), (a - b).abs().max()


@pytest.mark.parametrize("dtype", HALF, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("case", FUSED_CASES, ids=case_id)
def test_bitwise_torch_fused(case, shape, dtype):
    name, kwargs = case
    param, grads = draws(shape, dtype, steps=5)
    ours, opt = run(lambda ps: getattr(st, name)(ps, **kwargs), param, grads)
    theirs, ref = run(lambda ps: getattr(torch.optim, name)(ps, fused=True, **kwargs), param,
                      grads)
    assert_same(ours, theirs)
    (state,), (ref_state,) = opt.state.values(), ref.state.values()
    for key, value in ref_state.items():
        if key == "step":
            assert int(state[key]) == int(value)
        elif isinstance(value, torch.Tensor) and value.dtype == dtype:
            assert_same(state[key], value)


def rounded_in_place(t, dtype):
    t.copy_(t.to(dtype).float())


@pytest.mark.parametrize("dtype", HALF, ids=str)
@pytest.mark.parametrize("shape", [(1000,), (40, 25)], ids=str)  # Adafactor factors a matrix
@pytest.mark.parametrize("case", OTHER_CASES, ids=case_id)
def test_bitwise_float32_step_rounded(case, shape, dtype):
    name, kwargs = case
    param, grads = draws(shape, dtype, steps=4)
    ours, opt = run(lambda ps: getattr(st, name)(ps, **kwargs), param, grads)
    # The float32 drop-in on the widened values, param and state rounded after each step.
    p = param.float().requires_grad_()
    ref = getattr(st, name)([p], **kwargs)
    for g in grads:
        p.grad = g.float()
        ref.step()
        with torch.no_grad():
            rounded_in_place(p, dtype)
        for value in ref.state[p].values():
            if isinstance(value, torch.Tensor) and value.dtype == torch.float32:
                rounded_in_place(value, dtype)
    assert_same(ours, p.detach().to(dtype))
    for key, value in ref.state[p].items():
        if isinstance(value, torch.Tensor) and value.dtype == torch.float32:
            assert_same(opt.state[ours_param(opt)][key], value.to(dtype))


def ours_param(opt):
    (param,) = opt.state.keys()
    return param


def fused_adamw(params, **kwargs):
    return torch.optim.AdamW(params, fused=True, **kwargs)


@pytest.mark.parametrize("dtype", HALF, ids=str)
@pytest.mark.parametrize("first, second", [(st.AdamW, fused_adamw), (fused_adamw, st.AdamW)],
                         ids=["ours-to-torch", "torch-to-ours"])
def test_state_dict_loads_across(first, second, dtype):
    """A state_dict saved after 3 steps (a copy, as torch.save makes) loaded into the other
    optimizer: the next 3 steps of both agree bitwise. (Ours takes fused=True too: a loaded
    state_dict's groups replace torch's, and without it torch would step its for-loop.)"""
    param, grads = draws((300,), dtype, steps=6)
    kwargs = dict(lr=0.01, weight_decay=0.1)
    if first is st.AdamW:
        first = functools.partial(st.AdamW, fused=True)
    p, opt = run(lambda ps: first(ps, **kwargs), param, grads[:3])
    q = p.clone().requires_grad_()
    other = second([q], **kwargs)
    other.load_state_dict(copy.deepcopy(opt.state_dict()))
    for key in ("exp_avg", "exp_avg_sq"):  # kept in the param's dtype on both sides
        assert other.state[q][key].dtype == opt.state[ours_param(opt)][key].dtype == dtype
    for g in grads[3:]:
        ours_param(opt).grad, q.grad = g.clone(), g.clone()
        opt.step()
        other.step()
    assert_same(p, q.detach())


@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_threads_bitwise(dtype):
    param, grads = draws((100_003,), dtype, steps=3)
    results = []
    for n in (1, 2):
        old = steepest.get_num_threads()
        steepest.set_num_threads(n)
        try:
            results.append(run(lambda ps: st.AdamW(ps, lr=0.01), param, grads)[0])
        finally:
            steepest.set_num_threads(old)
    assert_same(*results)


def test_bfloat16_without_ml_dtypes_is_a_clear_error(monkeypatch):
    from steepest.torch import _adapter

    monkeypatch.setattr(_adapter, "bfloat16", lambda: None)
    p = torch.ones(3, dtype=torch.bfloat16, requires_grad=True)
    with pytest.raises(TypeError, match=r"params\[0\]: .*pip install ml_dtypes"):
        st.Adam([p])
