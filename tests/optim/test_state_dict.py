"""state_dict / load_state_dict, param_groups edits and add_param_group of every rule (Adafactor's
row/column variances have shapes of their own).

Round trips must be bitwise: an optimizer restored from a state_dict continues on exactly the
trajectory of the original. Comparisons with the NumPy reference run in float64 and use
``rtol = 1e-14`` with ``atol = rtol * max|reference|`` (measured max relative difference
over these runs: 9e-16).
"""

import copy
import pickle

import numpy as np
import pytest

import steepest
from steepest.optim.registry import RULES as REGISTRY

# Every rule in configurations with nontrivial options (the registry's); two parameter groups with
# different learning rates.
ALL_CONFIGS = [(rule.name, config) for rule in REGISTRY.values() for config in rule.configs]
ALL_IDS = [f"{rule}-{i}" for i, (rule, _) in enumerate(ALL_CONFIGS)]
# The rules test_hyperparameters_are_restored has other values for, whose learning rate and
# weight decay matter at every step (test_changing_hyperparameters_between_steps_takes_effect;
# Rprop's lr sets only its first step sizes).
CONFIGS = [(rule, config) for rule, config in ALL_CONFIGS
           if rule in ("SGD", "Adam", "AdamW", "Lamb", "Lars", "Adafactor")]
IDS = [f"{rule}-{i}" for i, (rule, _) in enumerate(CONFIGS)]
SHAPES = [(7,), (33, 5), (1031,)]
RTOL = 1e-14
COUNTS_STEPS = {name for name in steepest.optim.__all__  # rules with a "step" in their state
                if "step" in getattr(getattr(steepest.optim, name), "state_keys", ())}


def state_key(rule, index):
    """A state array key that parameter ``index`` (of SHAPES) has under ``rule``."""
    if rule == "Adafactor":
        return "row_var" if len(SHAPES[index]) > 1 else "variance"
    return _array_key(rule)


def make_params(dtype=np.float64, seed=0, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def groups(params, lr):
    """Two groups: the first two tensors at the default lr, the rest at lr / 3."""
    return [{"params": params[:2]}, {"params": params[2:], "lr": lr / 3}]


def grads_for(params, t):
    rng = np.random.default_rng(1000 + t)
    return [rng.standard_normal(p.shape).astype(p.dtype) + p.dtype.type(0.1) * p for p in params]


def run(opt, params, steps, start=0):
    for t in range(start, start + steps):
        opt.step(grads_for(params, t))


def make(rule, params, hyper):
    return getattr(steepest.optim, rule)(groups(params, hyper["lr"]), **hyper)


def assert_same_state(a, b):
    """Bitwise equality of two optimizers' state dicts (or of two state_dict() results)."""
    sa = a if isinstance(a, dict) else a.state
    sb = b if isinstance(b, dict) else b.state
    assert set(sa) == set(sb)
    for i in sa:
        assert set(sa[i]) == set(sb[i]), i
        for key, value in sa[i].items():
            if key == "step":  # an int (or, in opt.state, possibly a 0-d integer array)
                assert int(value) == int(sb[i][key]), (i, key)
            elif key in ("mu_product", "eta", "mu"):  # a float (in opt.state, a 0-d float64 array)
                assert float(value) == float(sb[i][key]), (i, key)
            else:
                assert value.dtype == sb[i][key].dtype
                assert np.array_equal(value, sb[i][key]), (i, key)


def assert_same_state_dict(a, b):
    assert_same_state(a["state"], b["state"])
    assert a["param_groups"] == b["param_groups"]


def hyper_of(group):
    return {k: v for k, v in group.items() if k != "params"}


# -- round trip --------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("rule, hyper", ALL_CONFIGS, ids=ALL_IDS)
def test_round_trip_continues_bitwise(rule, hyper, dtype):
    params = make_params(dtype)
    opt = make(rule, params, hyper)
    run(opt, params, 50)
    sd = opt.state_dict()

    restored_params = [p.copy() for p in params]
    restored = make(rule, restored_params, hyper)
    restored.load_state_dict(sd)
    assert_same_state(restored, opt)

    for t in range(50, 100):
        grads = grads_for(params, t)  # identical grads for both
        opt.step(grads)
        restored.step([g.copy() for g in grads])
    for p, q in zip(params, restored_params):
        assert np.array_equal(p, q)
    assert_same_state(restored, opt)
    if "step" in opt.state_keys:
        assert all(int(s["step"]) == 100 for s in restored.state.values())


@pytest.mark.parametrize("copy_of", [lambda o: pickle.loads(pickle.dumps(o)), copy.deepcopy],
                         ids=["pickle", "deepcopy"])
@pytest.mark.parametrize("rule, hyper", ALL_CONFIGS, ids=ALL_IDS)
def test_pickled_or_deep_copied_optimizer_continues_bitwise(rule, hyper, copy_of):
    """A copy has its own params and state (the dicts that tell their optimizer of changes
    tell the copy's), steps as the original, and a hyperparameter changed in one of two copies
    changes that one only."""
    params = make_params()
    opt = make(rule, params, hyper)
    run(opt, params, 20)
    twin, changed = copy_of(opt), copy_of(opt)
    twin_params = [p for g in twin.param_groups for p in g["params"]]
    changed_params = [p for g in changed.param_groups for p in g["params"]]
    assert all(p is not q and np.array_equal(p, q) for p, q in zip(params, twin_params))
    changed.param_groups[0]["maximize"] = not changed.param_groups[0]["maximize"]
    for t in range(20, 30):
        grads = grads_for(params, t)
        for o in (opt, twin, changed):
            o.step([g.copy() for g in grads])
    assert all(np.array_equal(p, q) for p, q in zip(params, twin_params))
    assert_same_state(twin, opt)
    assert not np.array_equal(changed_params[0], params[0])


@pytest.mark.parametrize("rule, hyper", ALL_CONFIGS, ids=ALL_IDS)
def test_state_dict_layout(rule, hyper):
    params = make_params()
    opt = make(rule, params, hyper)
    run(opt, params, 3)
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups", "applied_steps", "skipped_steps"}
    assert (sd["applied_steps"], sd["skipped_steps"]) == (3, 0)
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sd["param_groups"][1]["lr"] == pytest.approx(hyper["lr"] / 3)
    assert set(sd["state"]) == {0, 1, 2}
    for i, p in enumerate(params):
        for key, value in sd["state"][i].items():
            assert key in opt.state_keys
            if key == "step":
                assert type(value) is int and value == 3
            elif key in opt.scalar_state:
                assert type(value) is float and value == float(opt.state[i][key])
            else:
                assert isinstance(value, np.ndarray)
                assert value.shape == opt._state_shape(key, p.shape)
                assert value.dtype == p.dtype
                assert np.array_equal(value, opt.state[i][key])
                assert not np.shares_memory(value, opt.state[i][key])


def _array_key(rule):
    """A state array every stepped parameter of the rule has."""
    cls = getattr(steepest.optim, rule)
    return next(k for k in cls.state_keys if k != "step" and k not in cls.scalar_state
                and (k in cls.required_state or rule in ("SGD", "Lars")))


@pytest.mark.parametrize("rule, hyper", ALL_CONFIGS, ids=ALL_IDS)
def test_state_dict_is_a_snapshot(rule, hyper):
    params = make_params()
    opt = make(rule, params, hyper)
    run(opt, params, 10)
    sd = opt.state_dict()
    saved = copy.deepcopy(sd)
    run(opt, params, 10, start=10)
    opt.param_groups[0]["lr"] = 123.0
    assert_same_state_dict(sd, saved)
    # and the optimizer's state did move on
    key = state_key(rule, 0)
    assert not np.array_equal(sd["state"][0][key], opt.state[0][key])


@pytest.mark.parametrize("rule, hyper", ALL_CONFIGS, ids=ALL_IDS)
def test_loaded_state_is_copied(rule, hyper):
    params = make_params()
    opt = make(rule, params, hyper)
    run(opt, params, 20)
    sd = opt.state_dict()

    restored_params = [p.copy() for p in params]
    restored = make(rule, restored_params, hyper)
    restored.load_state_dict(sd)
    # Mutate everything in the dict that was loaded.
    for s in sd["state"].values():
        for key, value in s.items():
            if key == "step":
                s[key] = 10**6
            elif not isinstance(value, np.ndarray):
                s[key] = 0.5
            else:
                value[...] = 99.0
    sd["param_groups"][0]["lr"] = 77.0
    sd["param_groups"][1]["weight_decay"] = 0.5
    sd["state"].clear()

    assert_same_state(restored, opt)
    assert [hyper_of(g) for g in restored.param_groups] == [hyper_of(g) for g in opt.param_groups]
    run(opt, params, 20, start=20)
    run(restored, restored_params, 20, start=20)
    for p, q in zip(params, restored_params):
        assert np.array_equal(p, q)


# -- loading invalid state dicts ----------------------------------------------------------------

def _snapshot(opt, params):
    return copy.deepcopy(opt.state_dict()), [p.copy() for p in params]


def _assert_unchanged(opt, params, snapshot):
    sd, saved_params = snapshot
    assert_same_state_dict(opt.state_dict(), sd)
    for p, q in zip(params, saved_params):
        assert np.array_equal(p, q)


def _bad_state_dicts(rule, hyper):
    """(description, state_dict) pairs that must be refused by ``make(rule, ...)``."""
    params = make_params()
    source = make(rule, params, hyper)
    run(source, params, 5)
    good = source.state_dict()
    key = state_key(rule, 2)

    wrong_shape = copy.deepcopy(good)
    wrong_shape["state"][2][key] = np.zeros(1030)
    yield "a state array of the wrong shape", wrong_shape

    transposed = copy.deepcopy(good)
    key1 = state_key(rule, 1)
    transposed["state"][1][key1] = transposed["state"][1][key1].T.copy()
    yield "a state array of transposed shape", transposed

    # the last tensor's state is bad, the first ones are fine: nothing may be half-loaded
    last_bad = copy.deepcopy(good)
    last_bad["state"][2][key] = np.zeros((1031, 1))
    yield "only the last state array of the wrong shape", last_bad

    moved_param = copy.deepcopy(good)
    moved_param["param_groups"][0]["params"] = [0]
    moved_param["param_groups"][1]["params"] = [1, 2]
    yield "group sizes (1, 2) instead of (2, 1)", moved_param

    one_group = copy.deepcopy(good)
    one_group["param_groups"] = [dict(one_group["param_groups"][0], params=[0, 1, 2])]
    yield "one group instead of two", one_group

    three_groups = copy.deepcopy(good)
    three_groups["param_groups"].append(dict(three_groups["param_groups"][1], params=[3]))
    yield "three groups instead of two", three_groups

    unknown_index = copy.deepcopy(good)
    unknown_index["state"][7] = unknown_index["state"].pop(2)
    yield "state for a parameter that does not exist", unknown_index

    bad_lr = copy.deepcopy(good)
    bad_lr["param_groups"][1]["lr"] = -1.0
    yield "a negative learning rate", bad_lr

    other_rule = "Adam" if rule == "SGD" else "SGD"
    other_hyper = dict(lr=0.01, momentum=0.9) if other_rule == "SGD" else dict(lr=0.01)
    other_params = make_params()
    other = make(other_rule, other_params, other_hyper)
    run(other, other_params, 5)
    yield f"the state of {other_rule}", other.state_dict()


@pytest.mark.parametrize("rule, hyper", ALL_CONFIGS, ids=ALL_IDS)
def test_invalid_state_dict_raises_and_changes_nothing(rule, hyper):
    params = make_params(seed=5)
    opt = make(rule, params, hyper)
    run(opt, params, 3)
    before = _snapshot(opt, params)
    for what, bad in _bad_state_dicts(rule, hyper):
        with pytest.raises(ValueError):
            opt.load_state_dict(bad)
        _assert_unchanged(opt, params, before)
    # and it still works, on the trajectory it was on
    twin_params = make_params(seed=5)
    twin = make(rule, twin_params, hyper)
    run(twin, twin_params, 3)
    run(opt, params, 3, start=3)
    run(twin, twin_params, 3, start=3)
    for p, q in zip(params, twin_params):
        assert np.array_equal(p, q)


def test_state_dict_of_stateless_sgd_is_refused_by_adam():
    params = make_params()
    sgd = steepest.optim.SGD(params, lr=0.1)  # momentum 0: no state at all
    sgd.step(grads_for(params, 0))
    adam = steepest.optim.Adam(make_params(), lr=0.01)
    before = copy.deepcopy(adam.param_groups[0])
    try:
        adam.load_state_dict(sgd.state_dict())
    except ValueError:
        return
    raise AssertionError(
        f"loaded; Adam's group went from {hyper_of(before)} to {hyper_of(adam.param_groups[0])}")


# -- hyperparameters ----------------------------------------------------------------------------

@pytest.mark.parametrize("rule, hyper", CONFIGS, ids=IDS)
def test_hyperparameters_are_restored(rule, hyper):
    params = make_params()
    opt = make(rule, params, hyper)
    opt.param_groups[1]["weight_decay"] = 0.03  # differs from the defaults of any new optimizer
    run(opt, params, 10)
    sd = opt.state_dict()

    other = dict(lr=0.5, weight_decay=0.2, maximize=not hyper.get("maximize", False))
    if rule == "SGD":
        other.update(momentum=0.5, dampening=0.0, nesterov=False)
    elif rule == "Adafactor":
        other = dict(lr=0.5, weight_decay=0.2, maximize=not hyper.get("maximize", False),
                     beta2_decay=-0.3, eps=(1e-4, 1e-2), d=3.0)
    elif rule == "Lars":
        other.update(momentum=0.5, nesterov=False, trust_coefficient=0.5, eps=1e-3,
                     exclude_1d=not hyper.get("exclude_1d", True))
    elif rule == "Lamb":
        other.update(betas=(0.1, 0.2), eps=1e-3, max_weight_norm=0.5,
                     bias_correction=not hyper.get("bias_correction", True))
    else:
        other.update(betas=(0.1, 0.2), eps=1e-3, amsgrad=not hyper.get("amsgrad", False))
    restored_params = [p.copy() for p in params]
    restored = make(rule, restored_params, other)
    restored.load_state_dict(sd)
    for ours, theirs in zip(restored.param_groups, opt.param_groups):
        assert hyper_of(ours) == hyper_of(theirs)
    assert restored.param_groups[1]["weight_decay"] == 0.03
    run(opt, params, 10, start=10)
    run(restored, restored_params, 10, start=10)
    for p, q in zip(params, restored_params):
        assert np.array_equal(p, q)


def _reference_step(rule, p, g, state, group):
    REGISTRY[rule.lower()].reference_step(p, g, state, {k: v for k, v in group.items()
                                                         if k != "params"})


@pytest.mark.parametrize("rule, hyper", CONFIGS, ids=IDS)
def test_changing_hyperparameters_between_steps_takes_effect(rule, hyper):
    params = make_params()
    opt = make(rule, params, hyper)
    ref_params = [p.copy() for p in params]
    ref_states = [{} for _ in params]
    lr0 = hyper["lr"]
    for t in range(60):
        # a decaying, then restarted, learning rate in group 0; weight decay switched on later
        opt.param_groups[0]["lr"] = lr0 * 0.95**(t % 30)
        if t == 40:
            opt.param_groups[1]["weight_decay"] = 0.05
        grads = grads_for(params, t)
        opt.step(grads)
        for k, (p, g, s) in enumerate(zip(ref_params, grads, ref_states)):
            _reference_step(rule, p, g, s, opt.param_groups[0 if k < 2 else 1])
    for p, q in zip(params, ref_params):
        np.testing.assert_allclose(p, q, rtol=RTOL, atol=RTOL * np.abs(q).max())

    # The same run with the learning rate left alone ends elsewhere: the change mattered.
    fixed_params = make_params()
    fixed = make(rule, fixed_params, hyper)
    run(fixed, fixed_params, 60)
    assert np.abs(fixed_params[0] - params[0]).max() > 1e-4


# -- add_param_group ----------------------------------------------------------------------------

@pytest.mark.parametrize("rule, hyper", ALL_CONFIGS, ids=ALL_IDS)
def test_add_param_group(rule, hyper):
    params = make_params()
    opt = make(rule, params, hyper)
    ref_params = [p.copy() for p in params]
    ref_states = [{} for _ in params]

    def steps(start, stop):
        for t in range(start, stop):
            grads = grads_for(params, t)
            opt.step(grads)
            for k, (p, g, s) in enumerate(zip(ref_params, grads, ref_states)):
                _reference_step(rule, p, g, s, opt.param_groups[0 if k < 2 else 1 if k == 2 else 2])

    steps(0, 10)
    new = make_params(seed=9, shapes=[(5, 3), (17,)])
    opt.add_param_group({"params": new, "lr": hyper["lr"] * 2})
    params += new
    ref_params += [p.copy() for p in new]
    ref_states += [{}, {}]
    group = opt.param_groups[2]
    assert group["lr"] == hyper["lr"] * 2
    assert hyper_of(group) == dict(opt.defaults, lr=hyper["lr"] * 2)
    assert 3 not in opt.state and 4 not in opt.state

    steps(10, 25)
    for i, p in zip((3, 4), new):
        s = opt.state[i]
        assert set(s) == set(opt.state[0 if p.ndim == 1 else 1])  # a param of as many dims
        for key, value in s.items():
            if key == "step":
                assert int(value) == 15
                continue
            if key in opt.scalar_state:  # a per-tensor number (NAdam's mu_product)
                assert np.ndim(value) == 0
                continue
            assert value.shape == opt._state_shape(key, p.shape) and value.dtype == p.dtype
            assert all(not np.shares_memory(value, other[k])
                       for j, other in opt.state.items() if j != i for k in other if k != "step")
    if rule in COUNTS_STEPS:
        assert int(opt.state[0]["step"]) == 25
    for p, q in zip(params, ref_params):
        np.testing.assert_allclose(p, q, rtol=RTOL, atol=RTOL * np.abs(q).max())
    assert [g["params"] for g in opt.state_dict()["param_groups"]] == [[0, 1], [2], [3, 4]]

    with pytest.raises(ValueError):  # a parameter may not be in two groups
        opt.add_param_group({"params": [params[0]]})
    assert len(opt.param_groups) == 3


# -- counts that are absurd or would overflow int64 (issue #22, item 4) ---------------------------

# (value, error, what the message says after "<key>: expected "). 2**62 is the largest count
# loaded (steepest.optim.optimizer.MAX_COUNT).
BAD_COUNTS = [
    (2**63, ValueError, r"a count >= 0 and <= 2\*\*62, got 9223372036854775808"),
    (2**62 + 1, ValueError, r"a count >= 0 and <= 2\*\*62"),
    (2**64, ValueError, r"a count >= 0 and <= 2\*\*62"),
    (np.uint64(2**63), ValueError, r"a count >= 0 and <= 2\*\*62"),
    (1e300, ValueError, r"a count >= 0 and <= 2\*\*62, got 1e\+300"),
    (float(2**63), ValueError, r"a count >= 0 and <= 2\*\*62"),
    (-1, ValueError, r"a count >= 0 and <= 2\*\*62, got -1"),
    (2.5, TypeError, "a whole number of steps, got 2.5"),
    (float("nan"), TypeError, "a whole number of steps, got nan"),
    (float("inf"), TypeError, "a whole number of steps, got inf"),
    (True, TypeError, r"a whole number of steps, got a bool \(True\)"),
    (np.True_, TypeError, "a whole number of steps, got a bool"),
    (np.array(False), TypeError, "a whole number of steps, got a bool"),
    ("3", TypeError, "a whole number of steps, got '3'"),
    (None, TypeError, "a whole number of steps, got None"),
    (1 + 0j, TypeError, "a whole number of steps"),
]
BAD_COUNT_IDS = [repr(v) for v, _, _ in BAD_COUNTS]


@pytest.mark.parametrize("rule, hyper", ALL_CONFIGS, ids=ALL_IDS)
def test_absurd_counts_are_refused_and_change_nothing(rule, hyper):
    params = make_params(seed=5)
    opt = make(rule, params, hyper)
    run(opt, params, 3)
    good = opt.state_dict()
    before = _snapshot(opt, params)
    keys = ["applied_steps", "skipped_steps"] + (["step"] if rule in COUNTS_STEPS else [])
    for key in keys:
        for value, error, says in BAD_COUNTS:
            bad = copy.deepcopy(good)
            if key == "step":
                bad["state"][2]["step"] = value
                name = r"state\[2\]\['step'\]"
            else:
                bad[key] = value
                name = key
            with pytest.raises(error, match=f"{name}: expected {says}"):
                opt.load_state_dict(bad)
            _assert_unchanged(opt, params, before)
    # the largest count, and whole numbers as torch saves them (float tensors), load
    edge = copy.deepcopy(good)
    edge["applied_steps"], edge["skipped_steps"] = 2**62, np.int64(7)
    if rule in COUNTS_STEPS:
        edge["state"][0]["step"], edge["state"][1]["step"] = 2**62, 3.0
        edge["state"][2]["step"] = np.array(4.0, np.float32)
    opt.load_state_dict(edge)
    assert (opt.applied_steps, opt.skipped_steps) == (2**62, 7)
    if rule in COUNTS_STEPS:
        assert [int(opt.state[i]["step"]) for i in range(3)] == [2**62, 3, 4]


@pytest.mark.parametrize("rule, hyper", ALL_CONFIGS, ids=ALL_IDS)
def test_state_arrays_of_other_kinds_are_refused(rule, hyper):
    """No silent cast: a complex array would lose its imaginary part (with only a
    ComplexWarning), an int or bool array is not a state NumPy would produce."""
    params = make_params(seed=5)
    opt = make(rule, params, hyper)
    run(opt, params, 3)
    good = opt.state_dict()
    before = _snapshot(opt, params)
    key = state_key(rule, 2)
    for dtype in (np.complex128, np.complex64, np.int64, np.uint8, bool):
        bad = copy.deepcopy(good)
        bad["state"][2][key] = good["state"][2][key].astype(dtype)
        with pytest.raises(TypeError, match=rf"state\[2\]\['{key}'\] has dtype "
                                            rf"{np.dtype(dtype)}, expected a floating-point"):
            opt.load_state_dict(bad)
        _assert_unchanged(opt, params, before)
    # another floating-point dtype is cast, as always
    other = copy.deepcopy(good)
    other["state"][2][key] = good["state"][2][key].astype(np.float32)
    opt.load_state_dict(other)
    assert opt.state[2][key].dtype == params[2].dtype


def _tree_equal(a, b):
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(
            _tree_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(map(_tree_equal, a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b) and np.asarray(a).dtype == np.asarray(b).dtype
    return a == b or (a != a and b != b)


class Scale:
    """A callable lr_lambda whose attributes a scheduler's state_dict saves."""

    def __init__(self, factor):
        self.factor = factor

    def __call__(self, t):
        return self.factor ** t


def _sgd(params):
    return steepest.optim.SGD(params, lr=0.1, momentum=0.9)


def _stepped(obj, params, steps=3):
    """Run ``steps`` optimizer steps (and scheduler steps) on ``obj``."""
    opt = getattr(obj, "optimizer", None) or getattr(obj, "_optimizer", None) or obj
    for t in range(steps):
        grads = grads_for(params, t)
        if isinstance(obj, (steepest.optim.LBFGS, steepest.optim.SAM)):
            obj.step(lambda: (sum(float(np.sum(p * p)) for p in params), [2 * p for p in params]))
        elif isinstance(obj, steepest.optim.EMA):
            opt.step(grads)
            obj.update()
        elif isinstance(obj, steepest.optim.lr_scheduler.ReduceLROnPlateau):
            opt.step(grads)
            obj.step(1.0)
        elif isinstance(obj, steepest.optim.lr_scheduler.LRScheduler):
            opt.step(grads)
            obj.step()
        else:
            obj.step(grads)
    return obj


S = steepest.optim.lr_scheduler


def _ema(params):
    return steepest.optim.EMA(_sgd(params), decay=0.9)


# (id, build(params) -> object, tamper(state_dict, value), what the error names)
COUNTED = [
    ("LBFGS-func_evals", lambda ps: steepest.optim.LBFGS(ps, max_iter=3),
     lambda sd, v: sd["state"][0].update(func_evals=v), r"state\['func_evals'\]"),
    ("LBFGS-n_iter", lambda ps: steepest.optim.LBFGS(ps, max_iter=3),
     lambda sd, v: sd["state"][0].update(n_iter=v), r"state\['n_iter'\]"),
    ("LBFGS-applied_steps", lambda ps: steepest.optim.LBFGS(ps, max_iter=3),
     lambda sd, v: sd.update(applied_steps=v), "applied_steps"),
    ("Accumulate-micro_step", lambda ps: steepest.optim.Accumulate(_sgd(ps), 4),
     lambda sd, v: sd.update(micro_step=v), "micro_step"),
    ("Accumulate-inner-step", lambda ps: steepest.optim.Accumulate(
        steepest.optim.Adam(ps, lr=0.01), 2),
     lambda sd, v: sd["optimizer"]["state"][1].update(step=v), r"state\[1\]\['step'\]"),
    ("SAM-inner-skipped", lambda ps: steepest.optim.SAM(steepest.optim.Adam(ps, lr=0.01)),
     lambda sd, v: sd["optimizer"].update(skipped_steps=v), "skipped_steps"),
    ("EMA-n_averaged", _ema, lambda sd, v: sd.update(n_averaged=v), "n_averaged"),
    ("StepLR-last_epoch", lambda ps: S.StepLR(_sgd(ps), 2),
     lambda sd, v: sd.update(last_epoch=v), "last_epoch"),
    ("StepLR-_step_count", lambda ps: S.StepLR(_sgd(ps), 2),
     lambda sd, v: sd.update(_step_count=v), "_step_count"),
    ("StepLR-_seen_steps", lambda ps: S.StepLR(_sgd(ps), 2),
     lambda sd, v: sd.update(_seen_steps=[3, v]), r"_seen_steps\[1\]"),
    ("LambdaLR-last_epoch", lambda ps: S.LambdaLR(_sgd(ps), Scale(0.9)),
     lambda sd, v: sd.update(last_epoch=v, lr_lambdas=[{"factor": 0.5}]), "last_epoch"),
    ("MultiStepLR-milestones", lambda ps: S.MultiStepLR(_sgd(ps), [2, 5]),
     lambda sd, v: sd.update(milestones=[2, v]), "milestones"),
    ("MultiStepLR-torch-milestones", lambda ps: S.MultiStepLR(_sgd(ps), [2, 5]),
     lambda sd, v: sd.update(milestones={"2": 1, "5": v}), r"milestones\[5\]"),
    ("CosineAnnealingWarmRestarts-T_i", lambda ps: S.CosineAnnealingWarmRestarts(_sgd(ps), 3),
     lambda sd, v: sd.update(T_i=v), "T_i"),
    ("ReduceLROnPlateau-num_bad_epochs", lambda ps: S.ReduceLROnPlateau(_sgd(ps)),
     lambda sd, v: sd.update(num_bad_epochs=v), "num_bad_epochs"),
    ("ReduceLROnPlateau-cooldown_counter", lambda ps: S.ReduceLROnPlateau(_sgd(ps)),
     lambda sd, v: sd.update(cooldown_counter=v), "cooldown_counter"),
    ("SequentialLR-last child", lambda ps: (lambda o: S.SequentialLR(
        o, [S.LinearLR(o, total_iters=2), S.LambdaLR(o, Scale(0.9))], [2]))(_sgd(ps)),
     lambda sd, v: sd["_schedulers"][1].update(last_epoch=v), "last_epoch"),
    ("SequentialLR-milestone", lambda ps: (lambda o: S.SequentialLR(
        o, [S.LinearLR(o, total_iters=2), S.ExponentialLR(o, 0.9)], [2]))(_sgd(ps)),
     lambda sd, v: sd.update(_milestones=[v]), "_milestones"),
    ("ChainedScheduler-child", lambda ps: (lambda o: S.ChainedScheduler(
        [S.ConstantLR(o, 0.5, total_iters=2), S.ExponentialLR(o, 0.9)]))(_sgd(ps)),
     lambda sd, v: sd["_schedulers"][1].update(_step_count=v), "_step_count"),
]


def _groups_of(obj):
    groups = getattr(obj, "param_groups", None) or getattr(
        getattr(obj, "optimizer", None), "param_groups", [])
    return [hyper_of(g) for g in groups]


@pytest.mark.parametrize("build, tamper, name", [c[1:] for c in COUNTED],
                         ids=[c[0] for c in COUNTED])
def test_absurd_counts_of_wrappers_averages_and_schedulers_are_refused(build, tamper, name):
    params = make_params(seed=5)
    obj = _stepped(build(params), params)
    good = obj.state_dict()
    before = copy.deepcopy(good)
    groups = _groups_of(obj)
    lambdas = [copy.deepcopy(vars(fn)) for fn in getattr(obj, "lr_lambdas", ())]
    for value, error, says in BAD_COUNTS:
        if name == "last_epoch" and isinstance(value, int) and value == -1:
            value = -2  # a scheduler waiting for its milestone has last_epoch -1
        bad = copy.deepcopy(good)
        tamper(bad, value)
        with pytest.raises(error, match=f"{name}: expected "):
            obj.load_state_dict(bad)
        assert _tree_equal(obj.state_dict(), before)
        assert _groups_of(obj) == groups
        assert [vars(fn) for fn in getattr(obj, "lr_lambdas", ())] == lambdas
    # and the untampered state still loads
    obj.load_state_dict(copy.deepcopy(good))
    assert _tree_equal(obj.state_dict(), before)


def test_accumulate_refuses_a_micro_step_of_k_or_more():
    params = make_params()
    acc = steepest.optim.Accumulate(_sgd(params), 3)
    acc.step(grads_for(params, 0))
    sd = acc.state_dict()
    for micro_step in (3, 4):
        with pytest.raises(ValueError, match=f"micro_step {micro_step} must be < k=3"):
            acc.load_state_dict(dict(sd, micro_step=micro_step))
    assert acc.micro_step == 1


@pytest.mark.parametrize("what, tamper, error, says", [
    ("a child's lrs of another length", lambda sd: sd["_schedulers"][1].update(
        _last_lr=[0.1, 0.2]), ValueError, "_last_lr must be a list of 1 numbers"),
    ("a child's lr not a number", lambda sd: sd["_schedulers"][1].update(_last_lr=["0.1"]),
     TypeError, r"_last_lr\[0\]: expected a number"),
    ("an infinite base lr", lambda sd: sd["_schedulers"][0].update(base_lrs=[float("inf")]),
     ValueError, r"base_lrs\[0\]: expected a finite number"),
    ("an lr too large for a float", lambda sd: sd.update(_last_lr=[10**400]), ValueError,
     "got an int too large for a float"),
    ("lambda attributes not a dict", lambda sd: sd["_schedulers"][1].update(lr_lambdas=[3]),
     ValueError, "lr_lambdas must be a list of None or dicts"),
    ("a missing child", lambda sd: sd["_schedulers"].pop(), ValueError,
     "loaded state has 1 schedulers"),
])
def test_a_scheduler_state_is_checked_whole_before_it_loads(what, tamper, error, says):
    """Every child and the composite are checked before any is loaded: the first child and
    the lambda's attributes stay as they were when a later entry is bad."""
    params = make_params()
    opt = _sgd(params)
    sched = S.SequentialLR(opt, [S.LinearLR(opt, total_iters=2), S.LambdaLR(opt, Scale(0.9))],
                           [2])
    _stepped(sched, params, 4)
    good = sched.state_dict()
    good["_schedulers"][0]["last_epoch"] = 1  # what loading the first child would change
    good["_schedulers"][1]["lr_lambdas"] = [{"factor": 0.5}]
    before, lr = copy.deepcopy(sched.state_dict()), opt.param_groups[0]["lr"]
    tamper(good)
    with pytest.raises(error, match=says):
        sched.load_state_dict(good)
    assert _tree_equal(sched.state_dict(), before)
    assert opt.param_groups[0]["lr"] == lr and sched._schedulers[1].lr_lambdas[0].factor == 0.9


def test_reduce_lr_on_plateau_refuses_an_unknown_mode():
    params = make_params()
    sched = S.ReduceLROnPlateau(_sgd(params))
    sched.step(1.0)
    before = copy.deepcopy(sched.state_dict())
    for key in ("mode", "threshold_mode"):
        with pytest.raises(ValueError, match=f"unknown {key}"):
            sched.load_state_dict(dict(before, **{key: "sideways"}))
        assert _tree_equal(sched.state_dict(), before)
