"""Property-based fuzzing of every update rule's binding (steepest.optim -> _core.<rule>_step).

Each example builds an optimizer of one rule over 1-3 parameters (float32/float64, shapes with
0 to 3 dimensions, empty ones included) in one or two groups, runs 0-2 clean steps so that state
exists, then perturbs what the next step gets:

  * layouts of params, grads and state arrays: read-only, misaligned (np.frombuffer(bytearray(
    n * itemsize + 1), dtype, n, offset=1)), strided, transposed, negative strides, zero-stride
    views (writable and np.broadcast_to), big-endian, unpickled (an equal dtype, another dtype
    object), other dtypes (float16, ints, bool, complex, object), wrong shapes, non-arrays;
  * aliasing: a grad that is its param or a view of it, grads shared between parameters, state
    arrays that are a param, a grad or another parameter's state, params that overlap in one
    buffer;
  * hyperparameters: negative, NaN, inf, huge, 10**400, wrong types (str, None, lists, arrays,
    complex), at construction or written into param_groups between steps;
  * state tampering: step counts huge, negative, fractional, NaN or of the wrong type; per-tensor
    scalar state (NAdam's mu_product, ASGD's eta and mu) of the wrong type or non-finite;
  * gradient values with NaN, infinities and huge numbers, under each nonfinite= policy.

The oracle (fuzzing.py): a TypeError/ValueError (FloatingPointError for nonfinite="raise") with
every array unchanged, or a step bitwise equal to the same step of a clean optimizer over clean
copies of the same values; and the contract's model decides which of the two it must be.
"""

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import strategies as st

from fuzzing import (FLOATS, Snapshot, arrange, canonical, check_call, clean, draw_rng,
                     draw_values, fuzz_test, is_float_array, layouts, overlaps, problems,
                     same_bits)
from steepest.optim.registry import RULES as REGISTRY

# Each rule with a few valid configurations (the registry's fuzz_configs): together they create
# every state array it has.
RULES = {rule.name: (rule.cls, list(rule.fuzz_configs)) for rule in REGISTRY.values()}

ODD_NUMBERS = [-1.0, -1e-8, -0.0, 0.0, math.nan, math.inf, -math.inf, 1e308, 5e-324, 10**400,
               2**63, -(2**63), 0, 1, 3, True, np.float32(0.5), np.float16(0.25), np.int64(3),
               np.float64(math.nan), np.array(0.05), np.array([[0.3]]), np.array([0.1, 0.2]),
               Fraction(1, 3), Decimal("0.1"), complex(0.1, 0), "0.1", None, [0.1], (0.1,),
               object()]
ODD_FLAGS = [0, 1, 2, 0.0, math.nan, "", "no", None, np.bool_(True), np.array(True),
             np.array([True, False]), [], [0]]
ODD_STEPS = [0, 1, 7, 10**6, 2**31, 2**53, 2**62, 2**63 - 2, 2**63 - 1, 2**63, 2**64, 10**30,
             -1, -(2**63), 3.0, 3.5, 1e300, math.nan, math.inf, "3", None, True, np.int64(7),
             np.uint64(2**64 - 1), np.float32(2.0), np.array(4), np.array([1, 2]), 2.0**63]
ODD_SCALARS = [math.nan, math.inf, -1.0, 0.0, 1e308, "1", None, True, np.float32(0.5),
               np.array(0.5), np.array([1.0]), 10**400]
SHAPES = [(), (0,), (1,), (5,), (17,), (3, 4), (2, 0), (1, 1), (2, 3, 2), (4, 1, 3), (33,)]
POLICIES = ("propagate", "skip", "raise")


def odd_value(data, default):
    """An odd value for a hyperparameter whose valid default is ``default``."""
    if isinstance(default, tuple):
        kind = data.draw(st.integers(0, 3))
        if kind == 0:
            return data.draw(st.sampled_from([(), (0.9,), (0.9, 0.99, 0.999), None, "ab", 5,
                                              np.array([0.9, 0.999]), [0.9, 0.999]]))
        pair = list(default)
        pair[data.draw(st.integers(0, 1))] = data.draw(st.sampled_from(ODD_NUMBERS))
        return tuple(pair)
    if isinstance(default, bool):
        return data.draw(st.sampled_from(ODD_FLAGS))
    return data.draw(st.sampled_from(ODD_NUMBERS))


def step_verdict(value):
    """What ``state[i]['step'] = value`` must do: "ok" | "error" | "either"."""
    if getattr(value, "ndim", None) == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "error"
    if isinstance(value, float) and not value.is_integer():
        return "error"
    count = int(value)
    if count < 0:
        return "error"
    if count >= 2**53:  # a bound on step counts may refuse it (#22 item 4)
        return "either"
    return "ok"


def scalar_verdict(value):
    """What ``state[i][key] = value`` must do for a per-tensor scalar state."""
    if getattr(value, "ndim", None) == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "error"
    try:
        float(value)
    except OverflowError:
        return "error"
    return "ok"


class Case:
    """One fuzzed step: the optimizer, the grads, and the model's verdict on them."""

    def __init__(self, rule):
        self.rule = rule
        self.errors, self.eithers = [], []
        self.hyper_changed = False
        self.nonfinite_raise = False  # valid but for a non-finite grad under nonfinite="raise"
        self.aliased = set()  # arrays of unstepped tensors that a step writes through a view

    def verdict(self):
        if self.errors or (self.nonfinite_raise and not self.eithers):
            return "error"
        return "either" if self.eithers else "ok"

    def allowed(self, policy):
        """The exceptions the step may raise."""
        if self.nonfinite_raise and not self.eithers:
            return (FloatingPointError,)  # valid input, but a non-finite gradient
        if policy == "raise" and not self.errors:
            return (TypeError, ValueError, FloatingPointError)
        return (TypeError, ValueError)


def all_arrays(opt, grads):
    arrays = [p for g in opt.param_groups for p in g["params"]] + list(grads)
    for s in opt.state.values():
        arrays += [v for v in s.values() if isinstance(v, np.ndarray)]
    return arrays


def takes_16(cls, p):
    """A native float16 param, which a rule with 16-bit storage takes (master weights or
    rounding)."""
    return cls._takes_16bit and isinstance(p, np.ndarray) and p.dtype == np.float16 and \
        p.dtype.isnative


def model(case, opt, grads, policy):
    """The contract's verdict on ``opt.step(grads)`` (fills case.errors / case.eithers)."""
    cls = type(opt)
    params = [p for g in opt.param_groups for p in g["params"]]
    written, read = [], []
    nonfinite = False
    for i, p in enumerate(params):
        state = opt.state.get(i, {})
        for key, value in state.items():
            if key == "step":
                verdict = step_verdict(value)
            elif key in cls.scalar_state:
                verdict = scalar_verdict(value)
            else:
                continue
            if verdict != "ok":
                (case.errors if verdict == "error" else case.eithers).append(f"state[{i}][{key!r}]")
        g = grads[i]
        if g is None:
            continue
        if takes_16(cls, p):
            # The 16-bit path (optim/_precision.py, its contract in tests/optim/
            # test_precision.py): here only the oracle's generic half holds, a clean error
            # changing nothing or the step of clean copies, bit for bit.
            case.eithers.append(f"params[{i}]: float16")
            continue
        for why in problems(p, written=True):
            case.errors.append(f"params[{i}]: {why}")
        want = canonical(p) if is_float_array(p) else None
        for why in problems(g, want, p.shape):
            case.errors.append(f"grads[{i}]: {why}")
        written.append((f"params[{i}]", p, True))
        read.append((f"grads[{i}]", g, False))
        if isinstance(g, np.ndarray) and g.dtype.kind == "f" and not np.isfinite(g).all():
            nonfinite = True
        for key, value in state.items():
            if key == "step" or key in cls.scalar_state or value is None:
                continue
            shape = opt._state_shape(key, p.shape)
            why = problems(value, want, shape, written=True)
            # An odd flag may turn a state array off (momentum 0, amsgrad falsy): not checked then.
            (case.eithers if case.hyper_changed else case.errors).extend(
                f"state[{i}][{key!r}]: {w}" for w in why)
            written.append((f"state[{i}][{key!r}]", value, True))
    if not case.errors:
        for a, b in overlaps(written + read):
            case.errors.append(f"{a} overlaps {b}")
    # A param without a grad is not stepped, and neither it nor its state is checked: when one
    # of them shares memory with an array the step writes, the step changes it, and a clean
    # copy of it cannot follow. Such arrays are left out of the comparison.
    inactive = []
    for i, p in enumerate(params):
        if grads[i] is None:
            inactive.append((f"params[{i}]", p, False))
            inactive += [(f"state[{i}][{k!r}]", v, False) for k, v in opt.state.get(i, {}).items()
                         if isinstance(v, np.ndarray) and k != "step"
                         and k not in type(opt).scalar_state]
    names = {n for n, _, _ in inactive}
    case.aliased = {n for pair in overlaps(written + inactive) for n in pair if n in names}
    case.nonfinite_raise = nonfinite and policy == "raise" and not case.errors


def clean_state(opt):
    """A clean copy of opt.state (arrays copied, counts and scalars as Python numbers)."""
    out = {}
    for i, s in opt.state.items():
        out[i] = {}
        for key, v in s.items():
            if key == "step" or key in type(opt).scalar_state:
                v = v.item() if getattr(v, "ndim", None) == 0 else v
                out[i][key] = int(v) if key == "step" else float(v)
            else:  # what is not an array goes as it is (an unstepped tensor's state may be odd)
                out[i][key] = clean(v) if isinstance(v, np.ndarray) else v
    return out


def compare_with_clean(case, opt, before, result):
    """Differences between the fuzzed optimizer after its step and a clean optimizer over clean
    copies (``before``: the values before the step) after the same step."""
    cls, groups, state, grads, counts, policy = before
    try:
        twin = cls(groups, nonfinite=policy)
        twin.state = state
        twin.applied_steps, twin.skipped_steps = counts
        twin_result = twin.step(grads)
    except Exception as e:  # noqa: BLE001 - reported as a difference
        return [f"the clean copy raised {type(e).__name__}: {e}"]
    diffs = []
    if result != twin_result:
        diffs.append(f"step returned {result}, clean copy {twin_result}")
    if (opt.applied_steps, opt.skipped_steps) != (twin.applied_steps, twin.skipped_steps):
        diffs.append("applied/skipped counts differ")
    mine = [p for g in opt.param_groups for p in g["params"]]
    theirs = [p for g in twin.param_groups for p in g["params"]]
    for i, (a, b) in enumerate(zip(mine, theirs)):
        if not same_bits(a, b) and f"params[{i}]" not in case.aliased:
            diffs.append(f"params[{i}] differs")
    if set(opt.state) != set(twin.state):
        diffs.append(f"state of {sorted(opt.state)} vs {sorted(twin.state)}")
    for i in set(opt.state) & set(twin.state):
        s, t = opt.state[i], twin.state[i]
        if set(s) != set(t):
            diffs.append(f"state[{i}] keys {sorted(s)} vs {sorted(t)}")
            continue
        for key in s:
            a, b = s[key], t[key]
            if key == "step":
                ok = int(a) == int(b)
            elif key in cls.scalar_state:
                ok = np.float64(a).tobytes() == np.float64(b).tobytes()
            else:
                ok = a is b or same_bits(a, b) or \
                    f"state[{i}][{key!r}]" in case.aliased
            if not ok:
                diffs.append(f"state[{i}][{key!r}] differs")
    return diffs


def fail(case, message, detail):
    raise AssertionError(f"{case.rule}: {message}\n  model: errors={case.errors} "
                         f"eithers={case.eithers}\n  {detail}")


def draw_params(data, rng, values):
    """The params holding ``values``: a layout each, or views into one shared buffer (next to
    each other, or overlapping)."""
    n = len(values)
    if n > 1 and len({v.dtype for v in values}) == 1 and \
            data.draw(st.integers(0, 9), label="shared buffer") == 0:
        gap = data.draw(st.integers(-2, 1), label="gap")  # < 0: neighbours overlap
        buf = np.zeros(sum(v.size for v in values) + 2 * n + 4, values[0].dtype)
        params, at = [], 2
        for v in values:
            params.append(buf[at:at + v.size].reshape(v.shape))
            at = max(0, at + v.size + gap)
        for p, v in zip(params, values):  # overlapping views: whatever the last write left
            p[...] = v
        return params
    return [arrange(v, data.draw(layouts(8), label=f"params[{k}]"), rng)
            for k, v in enumerate(values)]


def draw_grads(data, rng, opt, params):
    """The grads of the step under test: values in some layout, None, or aliases of a param,
    another grad or a state array."""
    grads = []
    for k, p in enumerate(params):
        kind = data.draw(st.sampled_from(["value"] * 6 + ["none", "param", "param view",
                                                             "other grad", "state"]),
                         label=f"grads[{k}]")
        if kind == "none":
            grads.append(None)
        elif kind == "param":
            grads.append(p)
        elif kind == "param view":
            grads.append(p[...])
        elif kind == "other grad" and k > 0:
            grads.append(grads[data.draw(st.integers(0, k - 1))])
        elif kind == "state" and opt.state.get(k):
            arrays = [v for v in opt.state[k].values() if isinstance(v, np.ndarray) and v.ndim]
            grads.append(arrays[0] if arrays else None)
        else:
            dtype = p.dtype if takes_16(type(opt), p) else canonical(p) or np.dtype(np.float64)
            v = draw_values(rng, p.shape, dtype, data.draw(st.booleans(), label="specials"))
            grads.append(arrange(v, data.draw(layouts(7), label="grad layout"), rng))
    return grads


def tamper_state(data, rng, opt, params, grads):
    """Replace some state: step counts and scalar state by odd values, state arrays by arrays in
    another layout, by None (created again), or by a param, a grad or another tensor's state."""
    for i, s in list(opt.state.items()):
        for key in list(s):
            if data.draw(st.integers(0, 5), label=f"tamper state[{i}][{key}]") != 0:
                continue
            if key == "step":
                s[key] = data.draw(st.sampled_from(ODD_STEPS))
                continue
            if key in type(opt).scalar_state:
                s[key] = data.draw(st.sampled_from(ODD_SCALARS))
                continue
            how = data.draw(st.sampled_from(["layout"] * 4 + ["param", "grad", "other", "none"]))
            if how == "param":
                s[key] = params[i]
            elif how == "grad":
                s[key] = grads[i]
            elif how == "other":
                others = [t[key] for j, t in opt.state.items() if j != i and key in t]
                s[key] = others[0] if others else s[key]
            elif how == "none":
                s[key] = None
            elif is_float_array(s[key]):
                s[key] = arrange(clean(s[key]), data.draw(layouts(3), label="state layout"), rng)


def clean_twin(opt, grads):
    """What a clean optimizer needs to take the same step: (class, groups, state, grads,
    counts, policy), every array a clean copy."""
    groups = [{**{k: v for k, v in g.items() if k != "params"},
               "params": [clean(p) for p in g["params"]]} for g in opt.param_groups]
    return (type(opt), groups, clean_state(opt), [None if g is None else clean(g) for g in grads],
            (opt.applied_steps, opt.skipped_steps), opt.nonfinite)


def check_step(case, opt, grads):
    """Step ``opt`` and hold the outcome to the oracle and the model's verdict."""
    before = None
    if not case.errors:
        try:
            before = clean_twin(opt, grads)
        except Exception:  # noqa: BLE001 - an odd state value, which the step must refuse
            pass

    def compare(result):
        if before is None:
            return ["step succeeded on a state the clean copy could not read"]
        return compare_with_clean(case, opt, before, result)

    found = check_call(lambda: opt.step(grads), all_arrays(opt, grads), case.verdict(),
                       case.allowed(opt.nonfinite), compare,
                       kept=("the state's keys",
                             lambda: {i: sorted(s) for i, s in opt.state.items()}))
    if found:
        fail(case, "; ".join(found), f"nonfinite={opt.nonfinite}")


@pytest.mark.parametrize("name", list(RULES))
@fuzz_test(ci_examples=40)
def test_fuzz_optimizer_step(name, data):
    cls, configs = RULES[name]
    case = Case(name)
    rng = draw_rng(data)
    config = dict(data.draw(st.sampled_from(configs), label="config"))
    policy = data.draw(st.sampled_from(POLICIES), label="nonfinite")
    n = data.draw(st.integers(1, 3), label="params")
    values = [draw_values(rng, data.draw(st.sampled_from(SHAPES)),
                          data.draw(st.sampled_from(FLOATS)), False) for _ in range(n)]
    params = draw_params(data, rng, values)

    # hyperparameters: the config's, an odd one now and then (per group)
    defaults = cls([np.zeros(1)], **config).defaults
    two_groups = n > 1 and data.draw(st.booleans(), label="two groups")
    groups = [{"params": params[:1]}, {"params": params[1:]}] if two_groups else \
        [{"params": params}]
    for g in groups:
        if data.draw(st.integers(0, 5), label="odd hyper") == 0:
            key = data.draw(st.sampled_from(sorted(defaults)))
            g[key] = odd_value(data, defaults[key])
            case.hyper_changed = True
            case.eithers.append(f"hyper {key}={g[key]!r}")

    # construction: refuses exactly the params that are not float32/float64 arrays (float16
    # too for a rule with 16-bit storage) and the same array twice, changing nothing
    bad = [k for k, p in enumerate(params) if not is_float_array(p) and not takes_16(cls, p)]
    twice = any(p is q for k, p in enumerate(params) for q in params[:k])
    snap = Snapshot(params)
    try:
        opt = cls(groups, nonfinite=policy, **config)
    except (TypeError, ValueError) as e:
        if snap.changed():
            fail(case, f"construction raised {e!r} and changed arrays", snap.changed())
        if not bad and not twice and not case.eithers:
            fail(case, f"construction refused valid params: {e!r}", "")
        return
    if bad:
        fail(case, f"construction accepted params {bad}: {[params[k] for k in bad]}", "")

    # 0-2 clean steps, so that state exists (they fail on bad params: fine, nothing changes)
    for _ in range(data.draw(st.integers(0, 2), label="warm-up steps")):
        try:
            opt.step([draw_values(rng, p.shape, p.dtype, False) for p in params])
        except (TypeError, ValueError):
            break

    grads = draw_grads(data, rng, opt, params)
    tamper_state(data, rng, opt, params, grads)
    if data.draw(st.integers(0, 7), label="write hyper") == 0:  # between steps
        g = opt.param_groups[data.draw(st.integers(0, len(opt.param_groups) - 1))]
        key = data.draw(st.sampled_from(sorted(defaults)))
        g[key] = odd_value(data, defaults[key])
        case.hyper_changed = True
        case.eithers.append(f"written hyper {key}={g[key]!r}")

    model(case, opt, grads, policy)
    check_step(case, opt, grads)
