"""The non-finite guard (``nonfinite="propagate" | "skip" | "raise"``), step()'s return value and
the step counts, for every update rule, both dtypes, and the tools that read the counts
(schedulers, Accumulate, EMA/SWA, checkpoints, the torch drop-ins, LBFGS, SAM).

"skip" and "raise" must leave every parameter, state array, step count and per-tensor scalar
bitwise as it was, and a run with a skipped step must continue exactly as a run that never saw
it (no state created for the skipped step survives). "propagate" is torch's behaviour: NaN flows
into the update (compared with torch.optim where it has the rule).
"""

import copy

import numpy as np
import pytest

import steepest
from steepest.optim import EMA, SAM, SWA, Accumulate, lr_scheduler
from steepest.optim.registry import RULES as REGISTRY

# Every fused rule, with hyperparameters under which all its state arrays exist.
RULES = {rule.name: rule.hyper for rule in REGISTRY.values()}
NAMES = list(RULES)
DTYPES = [np.float32, np.float64]
SHAPES = [(7,), (33, 5), (1031,), (4, 3)]
BAD = [np.nan, np.inf, -np.inf]


def make(name, params, **kw):
    """Two groups: params[:2] and params[2:] (at a third of the lr)."""
    hyper = dict(RULES[name], **kw)
    lr = hyper.get("lr", 1.0)
    groups = [{"params": params[:2]}, {"params": params[2:], "lr": lr / 3}]
    return getattr(steepest.optim, name)(groups, **hyper)


def make_params(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def grads_for(params, t, dtype):
    rng = np.random.default_rng(100 + t)
    return [rng.standard_normal(p.shape).astype(dtype) for p in params]


def poisoned(grads, k, value, at=-1):
    out = [None if g is None else g.copy() for g in grads]
    out[k].reshape(-1)[at] = value
    return out


def snapshot(opt, params):
    return [p.copy() for p in params], copy.deepcopy(opt.state_dict())


def assert_unchanged(opt, params, before):
    saved_params, saved_state = before
    for p, q in zip(params, saved_params):
        assert np.array_equal(p, q, equal_nan=True)
    now = opt.state_dict()
    assert now["state"].keys() == saved_state["state"].keys()
    for i, s in saved_state["state"].items():
        assert now["state"][i].keys() == s.keys()
        for key, value in s.items():
            assert np.array_equal(np.asarray(now["state"][i][key]), np.asarray(value)), (i, key)
    assert now["param_groups"] == saved_state["param_groups"]


def warm_up(opt, params, dtype, steps=3, without=3):
    """``steps`` good steps; params[without] gets no gradient (so it has no state yet)."""
    for t in range(steps):
        grads = grads_for(params, t, dtype)
        grads[without] = None
        assert opt.step(grads) is True


@pytest.mark.parametrize("bad", BAD, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_skip_changes_nothing_and_is_counted(name, dtype, bad):
    params = make_params(dtype)
    opt = make(name, params, nonfinite="skip")
    warm_up(opt, params, dtype)
    before = snapshot(opt, params)
    # the bad value in group 1; params[3] would get its first state in this step
    grads = poisoned(grads_for(params, 3, dtype), 2, bad, at=517)
    assert opt.step(grads) is False
    assert_unchanged(opt, params, before)
    assert 3 not in opt.state or not opt.state[3]
    assert (opt.applied_steps, opt.skipped_steps) == (3, 1)
    assert opt.state_dict()["skipped_steps"] == 1
    # the run continues exactly as one that never saw the bad step
    ref_params = make_params(dtype)
    ref = make(name, ref_params)
    warm_up(ref, ref_params, dtype)
    for t in range(4, 7):
        assert opt.step(grads_for(params, t, dtype)) is True
        ref.step(grads_for(ref_params, t, dtype))
    for p, q in zip(params, ref_params):
        assert np.array_equal(p, q)


@pytest.mark.parametrize("policy", ["skip", "raise"])
@pytest.mark.parametrize("name", NAMES)
def test_a_stopped_step_creates_no_state(name, policy):
    """The binding's contract: with the guard on, missing state is created only once the scan
    has passed, so a skipped (or raised) first step leaves the state lists as they were."""
    params = make_params(np.float32)
    opt = make(name, params, nonfinite=policy)
    plan = opt._current_plan()
    args = [gp.args(opt._hyper(group)) for group, gp in zip(opt.param_groups, plan)]
    grads = poisoned(grads_for(params, 0, np.float32), 3, np.inf)
    if policy == "skip":
        assert opt._kernel(args, grads, 1) == -1
    else:
        with pytest.raises(FloatingPointError, match=r"grads\[3\]"):
            opt._kernel(args, grads, 2)
    assert all(x is None for gp in plan for lst in gp.state_lists for x in lst)
    assert opt.step(grads_for(params, 0, np.float32)) is True  # then created as usual
    assert all(opt.state[i] for i in range(len(params)))


@pytest.mark.parametrize("policy", ["skip", "raise"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_state_created_after_the_scan_has_the_rules_shapes(name, dtype, policy):
    """The state the guard creates once its scan has passed has the shapes of the rule's
    state-shape policy (Adafactor: row_var (..., R, 1) and col_var (..., 1, C) of a 3-d param,
    variance of a 1-d one), and the run is bitwise the one without the guard."""
    runs = {}
    for nonfinite in ("propagate", policy):
        rng = np.random.default_rng(1)
        params = [rng.standard_normal(s).astype(dtype) for s in [(2, 3, 5), (7,), (4, 3)]]
        opt = make(name, params, nonfinite=nonfinite)
        for t in range(2):
            assert opt.step(grads_for(params, t, dtype)) is True
        runs[nonfinite] = opt, params
    (ref, ref_params), (opt, params) = runs["propagate"], runs[policy]
    for p, q in zip(params, ref_params):
        assert np.array_equal(p, q)
    for i, p in enumerate(params):
        assert opt.state[i].keys() == ref.state[i].keys()
        for key, value in opt.state[i].items():
            if isinstance(value, np.ndarray) and key != "step" and key not in opt.scalar_state:
                assert value.shape == opt._state_shape(key, p.shape) and value.dtype == dtype
            assert np.array_equal(np.asarray(value), np.asarray(ref.state[i][key])), (i, key)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_raise_names_the_gradient_and_changes_nothing(name, dtype):
    params = make_params(dtype)
    opt = make(name, params, nonfinite="raise")
    warm_up(opt, params, dtype)
    before = snapshot(opt, params)
    grads = poisoned(poisoned(grads_for(params, 3, dtype), 3, np.inf, at=0), 1, np.nan, at=5)
    with pytest.raises(FloatingPointError, match=r"grads\[1\] holds a NaN or an infinity"):
        opt.step(grads)
    assert_unchanged(opt, params, before)
    assert (opt.applied_steps, opt.skipped_steps) == (3, 0)
    assert opt.step(grads_for(params, 3, dtype)) is True


@pytest.mark.parametrize("name", NAMES)
def test_propagate_is_the_default_and_lets_nan_through(name):
    params = make_params(np.float64)
    opt = make(name, params)
    assert opt.nonfinite == "propagate"
    assert opt.step(poisoned(grads_for(params, 0, np.float64), 2, np.nan, at=3)) is True
    # into the parameter, or (Rprop, Lion: sign(NaN) is 0, as torch.sign) into the state
    arrays = [params[2]] + [v for v in opt.state[2].values() if isinstance(v, np.ndarray)]
    assert any(np.isnan(a).any() for a in arrays)
    assert (opt.applied_steps, opt.skipped_steps) == (1, 0)


TORCH_RULES = [rule.name for rule in REGISTRY.values() if rule.torch]


@pytest.mark.parametrize("bad", BAD, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("name", TORCH_RULES)
def test_propagate_matches_torch(name, bad):
    """Where NaN/Inf go after a poisoned step and a clean one: the same elements as torch's."""
    torch = pytest.importorskip("torch")
    params = make_params(np.float64)
    hyper = RULES[name]
    opt = getattr(steepest.optim, name)(params, **hyper)
    tparams = [torch.tensor(p, requires_grad=True) for p in make_params(np.float64)]
    topt = getattr(torch.optim, name)(tparams, **hyper)
    for t in range(2):
        grads = grads_for(params, t, np.float64)
        if t == 0:
            grads = poisoned(grads, 2, bad, at=3)
        opt.step(grads)
        for p, g in zip(tparams, grads):
            p.grad = torch.from_numpy(g.copy())
        topt.step()
    for p, q in zip(params, tparams):
        q = q.detach().numpy()
        assert np.array_equal(np.isnan(p), np.isnan(q))
        assert np.array_equal(np.isinf(p), np.isinf(q))
        finite = np.isfinite(p)
        # values: test_torch_parity's business (torch's NAdam and ASGD keep float32 scalars)
        np.testing.assert_allclose(p[finite], q[finite], rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("size", [1, 7, 16, 17, 1031, 65539])
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_position_on_every_target_and_thread_count(simd_target, num_threads, size,
                                                         dtype):
    """The scan's vector body and tail, a NaN at the first and the last element, and sizes
    that run on two threads."""
    for at in (0, size // 2, size - 1):
        for n in (1, 2):
            p = np.ones(size, dtype)
            opt = steepest.optim.AdamW([p, np.ones(3, dtype)], nonfinite="skip")
            g = np.ones(size, dtype)
            g[at] = np.nan
            with num_threads(n):
                assert opt.step([g, np.ones(3, dtype)]) is False
                assert opt.step([np.ones(size, dtype), np.ones(3, dtype)]) is True
            assert opt.skipped_steps == 1


@pytest.mark.parametrize("name", NAMES)
def test_bad_policy(name):
    with pytest.raises(ValueError, match="nonfinite must be 'propagate', 'skip' or 'raise'"):
        make(name, make_params(np.float64), nonfinite="ignore")
    opt = make(name, make_params(np.float64))
    with pytest.raises(ValueError, match="nonfinite must be"):
        opt.nonfinite = None
    opt.nonfinite = "raise"
    assert opt.nonfinite == "raise"


def test_state_dict_round_trip_keeps_the_counts():
    params = make_params(np.float64)
    opt = make("Adam", params, nonfinite="skip")
    warm_up(opt, params, np.float64)
    opt.step(poisoned(grads_for(params, 3, np.float64), 0, np.nan))
    sd = opt.state_dict()
    assert (sd["applied_steps"], sd["skipped_steps"]) == (3, 1)
    other = make("Adam", make_params(np.float64))
    other.load_state_dict(sd)
    assert (other.applied_steps, other.skipped_steps) == (3, 1)
    del sd["skipped_steps"], sd["applied_steps"]  # torch's layout: counts start at 0
    other.load_state_dict(sd)
    assert (other.applied_steps, other.skipped_steps) == (0, 0)
    sd["skipped_steps"] = -1
    with pytest.raises(ValueError, match="skipped_steps: expected a count >= 0"):
        other.load_state_dict(sd)


def test_checkpoint_keeps_the_counts(tmp_path):
    params = make_params(np.float64)
    opt = make("AdamW", params, nonfinite="skip")
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    warm_up(opt, params, np.float64)
    opt.step(poisoned(grads_for(params, 3, np.float64), 0, np.nan))
    steepest.save(tmp_path / "run.npz", optimizer=opt, scheduler=sched)
    new_params = make_params(np.float64, seed=1)
    restored = make("AdamW", new_params, nonfinite="skip")
    restored_sched = lr_scheduler.StepLR(restored, step_size=1, gamma=0.5)
    steepest.load(tmp_path / "run.npz", optimizer=restored, scheduler=restored_sched)
    assert (restored.applied_steps, restored.skipped_steps) == (3, 1)


# -- schedulers, Accumulate, averages --------------------------------------------------------

def sgd(nonfinite="skip"):
    w = np.zeros(2)
    return w, steepest.optim.SGD([w], lr=1.0, nonfinite=nonfinite)


GOOD, NAN = [np.ones(2)], [np.array([1.0, np.nan])]


@pytest.mark.parametrize("make_sched", [
    lambda o: lr_scheduler.StepLR(o, step_size=1, gamma=0.5),
    lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=3),
    lambda o: lr_scheduler.ChainedScheduler([lr_scheduler.ConstantLR(o, factor=0.5, total_iters=2),
                                             lr_scheduler.ExponentialLR(o, gamma=0.9)]),
    lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.ConstantLR(o, factor=0.5, total_iters=2),
                                            lr_scheduler.ExponentialLR(o, gamma=0.9)],
                                        milestones=[2]),
], ids=["StepLR", "WarmRestarts", "Chained", "Sequential"])
def test_scheduler_counts_only_applied_steps(make_sched):
    _, opt = sgd()
    sched = make_sched(opt)
    _, ref_opt = sgd()
    ref = make_sched(ref_opt)
    pattern = [GOOD, NAN, GOOD, NAN, NAN, GOOD, GOOD, NAN, GOOD]
    for grads in pattern:
        applied = opt.step(grads)
        sched.step()
        if applied:
            ref_opt.step(grads)
            ref.step()
        assert getattr(sched, "last_epoch", None) == getattr(ref, "last_epoch", None)
        assert opt.param_groups[0]["lr"] == ref_opt.param_groups[0]["lr"]
    assert opt.skipped_steps == 4


def test_scheduler_advances_without_optimizer_steps_and_per_epoch():
    _, opt = sgd()
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    sched.step()  # no optimizer step in between: advances, as in torch
    assert sched.last_epoch == 1
    opt.step(GOOD)
    opt.step(NAN)  # an epoch whose last step was skipped, but not all of them
    sched.step()
    assert sched.last_epoch == 2
    opt.step(NAN)
    opt.step(NAN)
    sched.step()  # an epoch of skipped steps only
    assert sched.last_epoch == 2


def test_scheduler_state_dict_round_trip_holds_after_resume():
    _, opt = sgd()
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    opt.step(GOOD)
    sched.step()
    _, opt2 = sgd()
    sched2 = lr_scheduler.StepLR(opt2, step_size=1, gamma=0.5)
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(sched.state_dict())
    opt2.step(NAN)
    sched2.step()
    assert sched2.last_epoch == 1


def test_reduce_lr_on_plateau_ignores_a_metric_of_skipped_steps():
    _, opt = sgd()
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    opt.step(GOOD)
    sched.step(1.0)
    opt.step(NAN)
    sched.step(2.0)  # worse, but only skipped steps since: ignored
    assert (sched.last_epoch, sched.num_bad_epochs, opt.param_groups[0]["lr"]) == (1, 0, 1.0)
    opt.step(GOOD)
    sched.step(2.0)
    assert opt.param_groups[0]["lr"] == 0.5


def test_accumulate_drops_the_window_of_a_skipped_update():
    w, opt = sgd()
    acc = Accumulate(opt, 2)
    assert acc.step(GOOD) is False
    assert acc.step(NAN) is False  # the update is skipped: its two micro-batches are dropped
    assert (acc.micro_step, acc.applied_steps, acc.skipped_steps) == (0, 0, 1)
    assert np.array_equal(w, np.zeros(2))
    assert acc.step(GOOD) is False
    assert acc.step([2 * np.ones(2)]) is True
    np.testing.assert_array_equal(w, -1.5 * np.ones(2))
    assert (acc.applied_steps, acc.skipped_steps) == (1, 1)


@pytest.mark.parametrize("kind", [EMA, SWA])
def test_averages_on_an_optimizer_skip_skipped_steps(kind):
    w, opt = sgd()
    avg = kind(opt) if kind is SWA else kind(opt, decay=0.5)
    opt.step(GOOD)
    avg.update()
    before = [a.copy() for a in avg.averages]
    opt.step(NAN)
    avg.update()
    assert avg.n_averaged == 1
    assert np.array_equal(avg.averages[0], before[0])
    opt.step(GOOD)
    avg.update()
    assert avg.n_averaged == 2


def test_sam_with_a_skipping_base_optimizer():
    w = np.ones(2)
    sam = SAM(steepest.optim.SGD([w], lr=0.1, nonfinite="skip"))
    loss = sam.step(lambda: (float(w @ w), [np.array([np.nan, 1.0])]))
    assert loss == 2.0 and np.array_equal(w, np.ones(2)) and sam.skipped_steps == 1


# -- LBFGS ------------------------------------------------------------------------------------

def quadratic_closure(x, nan_at=None):
    """sum a (x - 3)^2, ill-conditioned so that a step takes several evaluations; a NaN in the
    gradient from evaluation ``nan_at`` of the step on."""
    a = np.array([1.0, 10.0, 100.0])
    calls = [0]

    def closure():
        calls[0] += 1
        g = 2 * a * (x - 3.0)
        if nan_at is not None and calls[0] >= nan_at:
            g[1] = np.nan
        return float((a * (x - 3.0) ** 2).sum()), [g]

    return closure


@pytest.mark.parametrize("nan_at", [1, 3])  # the first evaluation, or one inside the step
@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_skip_and_raise_restore_everything(nan_at, line_search_fn):
    x = np.array([1.0, -2.0, 0.5])
    opt = steepest.optim.LBFGS([x], max_iter=5, line_search_fn=line_search_fn, nonfinite="skip")
    opt.step(quadratic_closure(x))  # some state
    x[...] = [1.0, -2.0, 0.5]
    before = snapshot(opt, [x])
    loss = opt.step(quadratic_closure(x, nan_at))
    assert loss == pytest.approx(
        float((np.array([1.0, 10.0, 100.0]) * (np.array([1.0, -2.0, 0.5]) - 3) ** 2).sum()))
    assert (opt.applied_steps, opt.skipped_steps) == (1, 1)
    assert np.array_equal(x, before[0][0])
    after = opt.state_dict()
    for key, value in before[1]["state"][0].items():
        assert repr(after["state"][0][key]) == repr(value), key
    opt.nonfinite = "raise"
    with pytest.raises(FloatingPointError, match=r"grads\[0\] holds a NaN"):
        opt.step(quadratic_closure(x, nan_at))
    assert np.array_equal(x, before[0][0])
    assert opt.state_dict()["skipped_steps"] == 1


# -- the torch drop-ins ------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_drop_in_skip_raise_and_counts(name, dtype):
    torch = pytest.importorskip("torch")
    import steepest.torch as st

    params = [torch.nn.Parameter(torch.from_numpy(p)) for p in make_params(dtype)]
    opt = getattr(st, name)(params, **RULES[name], nonfinite="skip")
    assert "nonfinite" not in opt.param_groups[0]
    for t in range(2):
        for p, g in zip(params, grads_for(params, t, dtype)):
            p.grad = torch.from_numpy(g)
        assert opt.step() is True
    before = [p.detach().clone() for p in params]
    state = copy.deepcopy(opt.state_dict())
    params[2].grad.view(-1)[7] = float("nan")
    assert opt.step() is False
    assert opt.step(lambda: 1.5) == 1.5  # a closure: its loss, as torch
    for p, q in zip(params, before):
        assert torch.equal(p.detach(), q)
    sd = opt.state_dict()
    assert (sd["applied_steps"], sd["skipped_steps"]) == (2, 2)
    for i, s in state["state"].items():
        for key, value in s.items():
            assert torch.equal(torch.as_tensor(sd["state"][i][key]), torch.as_tensor(value))
    opt.nonfinite = "raise"
    with pytest.raises(FloatingPointError, match=r"grads\[2\]"):
        opt.step()
    restored = getattr(st, name)([torch.nn.Parameter(p.detach().clone()) for p in params],
                                 **RULES[name])
    restored.load_state_dict(sd)
    assert (restored.applied_steps, restored.skipped_steps) == (2, 2)
