"""Bad input: every rule of the input contract raises the documented error and changes nothing.

One test per rule, each run for SGD (momentum=0.9, so it has a ``momentum_buffer``), Adam and
AdamW (amsgrad=True, so every state array exists) and, where the dtype matters, for float32 and
float64. Each test

  (a) checks the exception type: TypeError for a wrong dtype or a wrong type, ValueError for a
      shape, contiguity, alignment, read-only, overlap, list-length or hyperparameter error;
  (b) checks that the message names the offending argument ("grads[1]", "params[0]",
      "state[1]['exp_avg']", "Invalid beta parameter at index 0", ...);
  (c) checks that every param array and every existing state array (and ``step``) is bitwise
      unchanged after the failed step: a few good steps run first so the state exists, then the
      bad one.

Where each rule is enforced:
  * at construction (Python, ``Optimizer.add_param_group``): params not an iterable, an empty
    list, a param that is not a float32/float64 array (including a non-native byte order), the
    same array given twice, invalid hyperparameters;
  * at step (C++ binding, ``csrc/bindings/check.cpp``): contiguity, alignment and writeability of
    params (a non-contiguous or read-only param is *accepted at construction* and rejected at the
    first step), the dtype / type / shape / contiguity / byte order of grads and state arrays,
    overlap of an array written with any other array of the step, and (Python) the length of the
    grads list and the hyperparameters written into ``opt.param_groups`` since construction.
"""

import re

import numpy as np
import pytest

from steepest.optim.registry import RULES

# ---------------------------------------------------------------------------------------------
# The optimizers under test and helpers


# Every fused rule, built with hyperparameters under which all its state arrays exist.
OPTIMIZERS = {rule.name: (rule.cls, rule.hyper) for rule in RULES.values()}
# The rules whose state arrays have their parameters' shapes (the generic tables below build bad
# state arrays from param shapes; Adafactor's factored state has its own cases at the end).
STATE_KEYS = {rule.name: rule.array_keys for rule in RULES.values() if rule.param_shaped}
NAMES = list(STATE_KEYS)
DTYPES = [np.float32, np.float64]
OPT_KEY = [(name, key) for name in NAMES for key in STATE_KEYS[name]]

# params[0], params[1], params[2]: sizes that are not multiples of a SIMD width; params[1] and
# params[2] both have 12 elements so that one can be a view of the other.
SHAPES = [(5,), (3, 4), (2, 6)]


def make_opt(name, params, **overrides):
    cls, defaults = OPTIMIZERS[name]
    return cls(params, **{**defaults, **overrides})


def make_params(dtype, seed=0, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def grads_like(params, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(p.shape).astype(p.dtype) for p in params]


def warm_up(opt, params, steps=3, skip=()):
    """A few good steps so that the state exists (params whose index is in ``skip`` get None)."""
    for t in range(steps):
        grads = grads_like(params, seed=100 + t)
        opt.step([None if i in skip else g for i, g in enumerate(grads)])


def setup(name, dtype, shapes=SHAPES, **overrides):
    """An optimizer over three params of ``dtype`` that has taken three steps."""
    params = make_params(dtype, shapes=shapes)
    opt = make_opt(name, params, **overrides)
    warm_up(opt, params)
    return opt, params


class Snapshot:
    """Copies of every param and state array of an optimizer, to check that a failed call left
    them bitwise unchanged (and did not replace, add or remove any state)."""

    def __init__(self, opt):
        self.opt = opt
        self.params = [
            (p if isinstance(p, np.ndarray) else p.data)
            for g in opt.param_groups for p in g["params"]
        ]
        self.param_bytes = [bytes(np.ascontiguousarray(a).view(np.uint8)) for a in self.params]
        self.state = {
            i: {k: (v, np.array(v, copy=True) if isinstance(v, np.ndarray) else v) for k, v in s.items()}
            for i, s in opt.state.items()
        }
        self.hyper = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]

    def assert_unchanged(self):
        now = [(p if isinstance(p, np.ndarray) else p.data) for g in self.opt.param_groups for p in g["params"]]
        assert len(now) == len(self.params)
        for i, (a, b, raw) in enumerate(zip(now, self.params, self.param_bytes)):
            assert a is b, f"params[{i}] was replaced"
            assert bytes(np.ascontiguousarray(a).view(np.uint8)) == raw, f"params[{i}] changed"
        assert set(self.opt.state) == set(self.state), "state was added or removed"
        for i, saved in self.state.items():
            current = self.opt.state[i]
            assert set(current) == set(saved), f"state[{i}] keys changed"
            for k, (obj, copy) in saved.items():
                if k in ("step", "mu_product", "eta", "mu") and isinstance(obj, np.ndarray):
                    # A 0-d view into the group's step counts (or per-tensor scalar state), which
                    # may be rebuilt: the value must be unchanged, not the view object.
                    assert float(current[k]) == float(copy), f"state[{i}][{k!r}] changed"
                elif isinstance(obj, np.ndarray):
                    assert current[k] is obj, f"state[{i}][{k!r}] was replaced"
                    assert current[k].dtype == copy.dtype and current[k].shape == copy.shape
                    assert bytes(np.ascontiguousarray(current[k]).view(np.uint8)) == bytes(
                        np.ascontiguousarray(copy).view(np.uint8)
                    ), f"state[{i}][{k!r}] changed"
                else:
                    assert current[k] == obj, f"state[{i}][{k!r}] changed"


def names_both(a, b):
    """A pattern that matches a message naming both ``a`` and ``b``, in either order."""
    return rf"^(?=.*{re.escape(a)})(?=.*{re.escape(b)})"


def fails(opt, grads, exc, match):
    """``opt.step(grads)`` raises ``exc`` matching ``match`` and leaves every array as it was."""
    snap = Snapshot(opt)
    with pytest.raises(exc, match=match):
        opt.step(grads)
    snap.assert_unchanged()


class Param:
    """A parameter as steepest.nn layers expose it."""

    def __init__(self, data, grad=None):
        self.data = data
        self.grad = grad


def test_good_steps_run():
    """The set-up every other test relies on: the good steps succeed and create the state."""
    for name in NAMES:
        for dtype in DTYPES:
            opt, params = setup(name, dtype)
            for i in range(3):
                assert set(STATE_KEYS[name]) <= set(opt.state[i])


# ---------------------------------------------------------------------------------------------
# grads: dtype, type, shape, contiguity, byte order


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "param_dtype, grad_dtype",
    [
        (np.float32, np.float64),
        (np.float64, np.float32),
        (np.float32, np.int64),
        (np.float64, np.int32),
        (np.float32, np.float16),
        (np.float64, np.complex128),
    ],
    ids=lambda d: np.dtype(d).name,
)
def test_grad_wrong_dtype(name, param_dtype, grad_dtype):
    opt, params = setup(name, param_dtype)
    grads = grads_like(params)
    grads[1] = np.ones(params[1].shape, dtype=grad_dtype)
    fails(opt, grads, TypeError, r"grads\[1\]")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "make_bad",
    [
        lambda p: p.tolist(),
        lambda p: tuple(p.ravel().tolist()),
        lambda p: 1.0,
        lambda p: "grad",
        lambda p: memoryview(np.ascontiguousarray(p)),
    ],
    ids=["list", "tuple", "float", "str", "memoryview"],
)
def test_grad_not_an_ndarray(name, dtype, make_bad):
    opt, params = setup(name, dtype)
    grads = grads_like(params)
    grads[1] = make_bad(grads[1])
    fails(opt, grads, TypeError, r"grads\[1\]: expected a numpy\.ndarray")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape", [(4, 3), (12,), (1, 3, 4), (3, 5), (3, 3), ()], ids=str
)
def test_grad_shape_mismatch(name, dtype, shape):
    """Same size, different shape (4, 3), (12,), (1, 3, 4) is as wrong as a different size."""
    opt, params = setup(name, dtype)
    grads = grads_like(params)
    grads[1] = np.ones(shape, dtype=dtype)
    fails(opt, grads, ValueError, r"grads\[1\]: expected shape \(3,4\)")


def _noncontiguous(shape, dtype, kind):
    """A non-C-contiguous array of ``shape`` (2-D)."""
    rows, cols = shape
    if kind == "strided":  # a[:, ::2]
        return np.ones((rows, 2 * cols), dtype=dtype)[:, ::2]
    if kind == "transposed":  # a.T (F-contiguous)
        return np.ones((cols, rows), dtype=dtype).T
    if kind == "reversed":  # negative stride
        return np.ones(shape, dtype=dtype)[::-1]
    raise AssertionError(kind)


NONCONTIGUOUS = ["strided", "transposed", "reversed"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", NONCONTIGUOUS)
def test_grad_noncontiguous(name, dtype, kind):
    opt, params = setup(name, dtype)
    grads = grads_like(params)
    grads[1] = _noncontiguous((3, 4), dtype, kind)
    assert not grads[1].flags.c_contiguous
    fails(opt, grads, ValueError, r"grads\[1\]: expected a C-contiguous array")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_grad_non_native_byte_order(name, dtype):
    opt, params = setup(name, dtype)
    grads = grads_like(params)
    grads[1] = grads[1].astype(np.dtype(dtype).newbyteorder("S"))
    fails(opt, grads, TypeError, r"grads\[1\]: .*native byte order")


# ---------------------------------------------------------------------------------------------
# params: contiguity, alignment, writeability, byte order, type


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", NONCONTIGUOUS)
def test_param_noncontiguous_rejected_at_step(name, dtype, kind):
    """A non-contiguous param is *accepted at construction* (add_param_group only checks the
    type and dtype) and rejected by the binding at the first step that updates it."""
    params = make_params(dtype)
    params[1] = _noncontiguous((3, 4), dtype, kind)
    assert not params[1].flags.c_contiguous
    opt = make_opt(name, params)  # no error here
    warm_up(opt, params, skip={1})  # the others get state; params[1] is skipped (grad None)
    fails(opt, grads_like(params), ValueError, r"params\[1\]: expected a C-contiguous array")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_param_noncontiguous_data_swapped_in(name, dtype):
    """A layer's ``.data`` replaced by a non-contiguous view after the state exists."""
    ps = [Param(a, g) for a, g in zip(make_params(dtype), grads_like(make_params(dtype)))]
    opt = make_opt(name, ps)
    for _ in range(3):
        opt.step()
    ps[1].data = _noncontiguous((3, 4), dtype, "strided")
    fails(opt, None, ValueError, r"params\[1\]: expected a C-contiguous array")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_param_read_only(name, dtype):
    opt, params = setup(name, dtype)
    params[1].flags.writeable = False
    fails(opt, grads_like(params), ValueError, r"params\[1\]: the array is read-only")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_param_unaligned(name, dtype):
    item = np.dtype(dtype).itemsize
    buffer = bytearray(12 * item + 1)
    unaligned = np.ndarray((3, 4), dtype=dtype, buffer=buffer, offset=1)
    assert not unaligned.flags.aligned and unaligned.flags.writeable and unaligned.flags.c_contiguous
    params = make_params(dtype)
    params[1] = unaligned
    opt = make_opt(name, params)
    warm_up(opt, params, skip={1})
    fails(opt, grads_like(params), ValueError, r"params\[1\]: expected an aligned array")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_param_non_native_byte_order_at_construction(name, dtype):
    params = make_params(dtype)
    params[1] = params[1].astype(np.dtype(dtype).newbyteorder("S"))
    copies = [p.copy() for p in params]
    with pytest.raises(TypeError, match=r"params\[1\]: expected a float32 or float64 array"):
        make_opt(name, params)
    for p, c in zip(params, copies):
        assert p.tobytes() == c.tobytes()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_param_non_native_byte_order_at_step(name, dtype):
    """A layer's ``.data`` swapped for a byte-swapped array after construction: the binding
    rejects it."""
    ps = [Param(a, g) for a, g in zip(make_params(dtype), grads_like(make_params(dtype)))]
    opt = make_opt(name, ps)
    for _ in range(3):
        opt.step()
    ps[1].data = ps[1].data.astype(np.dtype(dtype).newbyteorder("S"))
    fails(opt, None, TypeError, r"params\[1\]: .*native byte order")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "bad", [np.arange(12).reshape(3, 4), np.ones((3, 4), np.uint16), [[1.0] * 4] * 3, 1.0],
    ids=["int64", "uint16", "list", "float"],
)
def test_param_wrong_type_or_dtype_at_construction(name, bad):
    params = make_params(np.float32)
    params[1] = bad
    with pytest.raises(TypeError, match=r"params\[1\]: expected a"):
        make_opt(name, params)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_params_single_ndarray(name, dtype):
    with pytest.raises(TypeError, match=r"params argument given to the optimizer should be an iterable"):
        make_opt(name, make_params(dtype)[1])
    with pytest.raises(TypeError, match=r"params argument given to the optimizer should be an iterable"):
        make_opt(name, Param(make_params(dtype)[1]))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("empty", [[], (), iter([])], ids=["list", "tuple", "iterator"])
def test_params_empty(name, empty):
    with pytest.raises(ValueError, match=r"empty parameter list"):
        make_opt(name, empty)


# ---------------------------------------------------------------------------------------------
# state arrays


@pytest.mark.parametrize("name, key", OPT_KEY)
@pytest.mark.parametrize("dtype", DTYPES)
def test_state_read_only(name, key, dtype):
    opt, params = setup(name, dtype)
    opt.state[1][key].flags.writeable = False
    fails(opt, grads_like(params), ValueError,
          rf"state\[1\]\['{key}'\]: the array is read-only")


@pytest.mark.parametrize("name, key", OPT_KEY)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "kind, exc, pattern",
    [
        pytest.param(kind, exc, pattern, id=kind)
        for kind, exc, pattern in [
            ("other float dtype", TypeError, r"expected dtype float(32|64), the dtype of params\[1\]"),
            ("int dtype", TypeError, r"expected a float32 or float64 array"),
            ("same size, other shape", ValueError, r"expected shape \(3,4\), the shape of params\[1\]"),
            ("other size", ValueError, r"expected shape \(3,4\), the shape of params\[1\]"),
            ("list", TypeError, r"expected a numpy\.ndarray, got list"),
            ("non-contiguous", ValueError, r"expected a C-contiguous array"),
            ("non-native byte order", TypeError, r"expected a float32 or float64 array in native byte order"),
        ]
    ],
)
def test_state_replaced_by_bad_array(name, key, dtype, kind, exc, pattern):
    opt, params = setup(name, dtype)
    old = opt.state[1][key]
    other = np.float64 if dtype == np.float32 else np.float32
    opt.state[1][key] = {
        "other float dtype": lambda: old.astype(other),
        "int dtype": lambda: old.astype(np.int64),
        "same size, other shape": lambda: old.reshape(4, 3).copy(),
        "other size": lambda: np.zeros((3, 5), dtype),
        "list": lambda: old.tolist(),
        "non-contiguous": lambda: _noncontiguous((3, 4), dtype, "strided"),
        "non-native byte order": lambda: old.astype(np.dtype(dtype).newbyteorder("S")),
    }[kind]()
    fails(opt, grads_like(params), exc, rf"state\[1\]\['{key}'\]: " + pattern)


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_state_step_negative(name, dtype):
    opt, params = setup(name, dtype)
    opt.state[1]["step"] = -3
    fails(opt, grads_like(params), ValueError, r"state\[1\]\['step'\]")


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize("step", [2.5, "3", None], ids=["float", "str", "None"])
def test_state_step_not_an_int(name, step):
    opt, params = setup(name, np.float32)
    opt.state[1]["step"] = step
    fails(opt, grads_like(params), TypeError, r"state\[1\]\['step'\]")


# ---------------------------------------------------------------------------------------------
# the grads list


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("length", [0, 2, 4])
def test_grads_wrong_length(name, dtype, length):
    opt, params = setup(name, dtype)
    grads = (grads_like(params) * 2)[:length]
    fails(opt, grads, ValueError, rf"step: expected 3 grads, one per parameter, got {length}")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_step_without_grads_for_plain_arrays(name, dtype):
    opt, params = setup(name, dtype)
    fails(opt, None, ValueError, r"step: the parameters are plain arrays, so grads must be given")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_param_with_grad_none_is_skipped(name, dtype):
    """An object param whose ``.grad`` is None is skipped (as in torch): it is unchanged, gets no
    state, and the others are updated."""
    data = make_params(dtype)
    grads = grads_like(data)
    ps = [Param(data[0], grads[0]), Param(data[1], None), Param(data[2], grads[2])]
    opt = make_opt(name, ps)
    before = [p.data.copy() for p in ps]
    for _ in range(3):
        opt.step()
    assert ps[1].data.tobytes() == before[1].tobytes()
    assert 1 not in opt.state
    for i in (0, 2):
        assert not np.array_equal(ps[i].data, before[i])
        assert set(STATE_KEYS[name]) <= set(opt.state[i])
    # The same through a grads list with a None entry.
    plain = make_params(dtype)
    opt = make_opt(name, plain)
    before = [p.copy() for p in plain]
    g = grads_like(plain)
    opt.step([g[0], None, g[2]])
    assert plain[1].tobytes() == before[1].tobytes()
    assert 1 not in opt.state
    assert not np.array_equal(plain[0], before[0]) and not np.array_equal(plain[2], before[2])


# ---------------------------------------------------------------------------------------------
# the same memory twice


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_param_twice_in_one_group(name, dtype):
    params = make_params(dtype)
    copies = [p.copy() for p in params]
    with pytest.raises(ValueError, match=r"params\[3\]: some parameters appear more than once"):
        make_opt(name, params + [params[1]])
    ps = [Param(p) for p in params]
    with pytest.raises(ValueError, match=r"params\[1\]: some parameters appear more than once"):
        make_opt(name, [ps[0], ps[0]])
    with pytest.raises(ValueError, match=r"params\[1\]: some parameters appear more than once"):
        make_opt(name, [ps[0], Param(ps[0].data)])  # two layers sharing one array
    for p, c in zip(params, copies):
        assert p.tobytes() == c.tobytes()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_param_in_two_groups(name, dtype):
    params = make_params(dtype)
    with pytest.raises(ValueError, match=r"params\[3\]: some parameters appear more than once"):
        make_opt(name, [{"params": params}, {"params": [params[1]]}])
    # add_param_group later: refused, and the optimizer is as it was.
    opt, params = setup(name, dtype)
    snap = Snapshot(opt)
    with pytest.raises(ValueError, match=r"params\[3\]: some parameters appear more than once"):
        opt.add_param_group({"params": [params[2]]})
    assert len(opt.param_groups) == 1
    snap.assert_unchanged()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("how", ["partial", "same memory, other view"])
def test_overlapping_params_in_one_group(name, dtype, how):
    """Two views of one buffer are distinct objects, so construction accepts them; the step
    refuses them because one is written while the other is read/written."""
    buffer = np.zeros(20, dtype)
    params = make_params(dtype)
    params[1] = buffer[:12].reshape(3, 4)
    params[2] = buffer[8:20].reshape(2, 6) if how == "partial" else buffer[:12].reshape(2, 6)
    params[1][...] = 1.0
    opt = make_opt(name, params)
    warm_up(opt, params, skip={2})
    fails(opt, grads_like(params), ValueError,
          names_both("params[1]", "params[2]") + r".*overlaps")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_overlapping_params_in_two_groups(name, dtype):
    buffer = np.zeros(20, dtype)
    a, b = buffer[:12].reshape(3, 4), buffer[8:20].reshape(2, 6)
    opt = make_opt(name, [{"params": [a]}, {"params": [b]}])
    fails(opt, grads_like([a, b]), ValueError, names_both("params[0]", "params[1]"))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_grad_aliasing_a_param_of_another_group(name, dtype):
    a, b = make_params(dtype, shapes=[(3, 4), (3, 4)])
    opt = make_opt(name, [{"params": [a]}, {"params": [b]}])
    warm_up(opt, [a, b])
    fails(opt, [grads_like([a])[0], a], ValueError, names_both("grads[1]", "params[0]"))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "which", ["the param itself", "a view of the param", "a view of another param"]
)
def test_grad_overlapping_a_param(name, dtype, which):
    opt, params = setup(name, dtype)
    grads = grads_like(params)
    grads[1], other = {
        "the param itself": (params[1], "params[1]"),
        "a view of the param": (params[1].reshape(3, 4), "params[1]"),
        "a view of another param": (params[2].reshape(3, 4), "params[2]"),
    }[which]
    fails(opt, grads, ValueError, names_both("grads[1]", other) + r".*overlaps")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_grad_partially_overlapping_another_param(name, dtype):
    """grads[1] covers the second half of params[2] and memory past its end."""
    buffer = np.zeros(18, dtype)
    params = make_params(dtype)
    buffer[:12] = params[2].ravel()
    params[2] = buffer[:12].reshape(2, 6)
    opt = make_opt(name, params)
    warm_up(opt, params)
    grads = grads_like(params)
    grads[1] = buffer[6:18].reshape(3, 4)
    fails(opt, grads, ValueError, names_both("grads[1]", "params[2]") + r".*overlaps")


@pytest.mark.parametrize("name, key", OPT_KEY)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("owner", [1, 2])
def test_grad_overlapping_a_state_array(name, key, dtype, owner):
    opt, params = setup(name, dtype)
    grads = grads_like(params)
    grads[1] = opt.state[owner][key].reshape(3, 4)
    fails(opt, grads, ValueError,
          names_both("grads[1]", f"state[{owner}]['{key}']") + r".*overlaps")


@pytest.mark.parametrize("name, key", OPT_KEY)
@pytest.mark.parametrize("dtype", DTYPES)
def test_state_array_overlapping_a_param(name, key, dtype):
    opt, params = setup(name, dtype)
    opt.state[1][key] = params[2].reshape(3, 4)
    fails(opt, grads_like(params), ValueError,
          names_both(f"state[1]['{key}']", "params[2]") + r".*overlaps")


@pytest.mark.parametrize("name, key", [(n, k) for n, k in OPT_KEY if len(STATE_KEYS[n]) > 1])
@pytest.mark.parametrize("dtype", DTYPES)
def test_state_arrays_shared(name, key, dtype):
    """Two state arrays of one step that are the same array (both written)."""
    opt, params = setup(name, dtype)
    other = next(k for k in STATE_KEYS[name] if k != key)
    opt.state[1][key] = opt.state[1][other]
    fails(opt, grads_like(params), ValueError,
          names_both(f"state[1]['{key}']", f"state[1]['{other}']") + r".*overlaps")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_grads_sharing_memory_is_allowed(name, dtype):
    """Not an error: arrays that are only read (grads) may share memory with each other."""
    opt, params = setup(name, dtype)
    grads = grads_like(params)
    grads[2] = grads[1].reshape(2, 6)
    before = params[2].copy()
    opt.step(grads)
    assert not np.array_equal(params[2], before)


# ---------------------------------------------------------------------------------------------
# hyperparameters


BAD_HYPER = {rule.name: rule.bad_hyper for rule in RULES.values()}
HYPER_CASES = [
    pytest.param(name, kw, msg, id=f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items())}")
    for name in BAD_HYPER for kw, msg in BAD_HYPER[name]
]


@pytest.mark.parametrize("name, hyper, message", HYPER_CASES)
@pytest.mark.parametrize("where", ["keyword", "param group"])
def test_invalid_hyperparameter_at_construction(name, hyper, message, where):
    params = make_params(np.float32)
    copies = [p.copy() for p in params]
    with pytest.raises(ValueError, match=message):
        if where == "keyword":
            make_opt(name, params, **hyper)
        else:
            make_opt(name, [{"params": params[:2]}, {"params": params[2:], **hyper}])
    for p, c in zip(params, copies):
        assert p.tobytes() == c.tobytes()


@pytest.mark.parametrize("name, hyper, message", HYPER_CASES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_invalid_hyperparameter_written_between_steps(name, hyper, message, dtype):
    """The same values written into ``opt.param_groups[0]`` after construction: the step checks
    the group again and raises before any array changes."""
    opt, params = setup(name, dtype)
    opt.param_groups[0].update(hyper)
    fails(opt, grads_like(params), ValueError, message)


@pytest.mark.parametrize("name", NAMES)
def test_hyperparameter_too_large_for_a_float(name):
    params = make_params(np.float32)
    with pytest.raises(ValueError, match="lr: expected a finite number, got an int too large "
                                         "for a float"):
        make_opt(name, params, lr=10**400)


@pytest.mark.parametrize("name", NAMES)
def test_invalid_hyperparameter_in_add_param_group(name):
    opt, params = setup(name, np.float32)
    snap = Snapshot(opt)
    kw, message = BAD_HYPER[name][1]  # a negative lr
    with pytest.raises(ValueError, match=message):
        opt.add_param_group({"params": make_params(np.float32, seed=7)[:1], **kw})
    assert len(opt.param_groups) == 1
    snap.assert_unchanged()


# ---------------------------------------------------------------------------------------------
# several groups: every group is checked before any is updated


def _two_groups(name, dtype):
    params = make_params(dtype)
    opt = make_opt(name, [{"params": params[:2]}, {"params": params[2:], "lr": 0.05}])
    warm_up(opt, params)
    return opt, params


SECOND_GROUP_BAD = {
    "grad dtype": (TypeError, r"grads\[2\]"),
    "grad shape": (ValueError, r"grads\[2\]: expected shape"),
    "grad non-contiguous": (ValueError, r"grads\[2\]: expected a C-contiguous array"),
    "grad is the param": (ValueError, r"overlaps"),
    "param read-only": (ValueError, r"params\[2\]: the array is read-only"),
    "state read-only": (ValueError, r"state\[2\]\['"),
    "state dtype": (TypeError, r"state\[2\]\['"),
    "invalid lr": (ValueError, r"Invalid learning rate: -1"),
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bad", list(SECOND_GROUP_BAD))
def test_bad_second_group_leaves_first_group_unchanged(name, dtype, bad):
    opt, params = _two_groups(name, dtype)
    grads = grads_like(params)
    key = STATE_KEYS[name][0]
    other = np.float64 if dtype == np.float32 else np.float32
    if bad == "grad dtype":
        grads[2] = grads[2].astype(other)
    elif bad == "grad shape":
        grads[2] = grads[2].reshape(3, 4)
    elif bad == "grad non-contiguous":
        grads[2] = _noncontiguous((2, 6), dtype, "transposed")
    elif bad == "grad is the param":
        grads[2] = params[2]
    elif bad == "param read-only":
        params[2].flags.writeable = False
    elif bad == "state read-only":
        opt.state[2][key].flags.writeable = False
    elif bad == "state dtype":
        opt.state[2][key] = opt.state[2][key].astype(other)
    elif bad == "invalid lr":
        opt.param_groups[1]["lr"] = -1
    exc, match = SECOND_GROUP_BAD[bad]
    fails(opt, grads, exc, match)


@pytest.mark.parametrize("name", NAMES)
def test_bad_second_group_on_first_step_creates_no_state(name):
    """Before any state exists: the failed step must not leave half-created state behind."""
    params = make_params(np.float32)
    opt = make_opt(name, [{"params": params[:2]}, {"params": params[2:]}])
    grads = grads_like(params)
    grads[2] = grads[2].astype(np.float64)
    fails(opt, grads, TypeError, r"grads\[2\]")
    assert opt.state == {}


@pytest.mark.parametrize("name", NAMES)
def test_mixed_dtypes_in_one_group(name):
    """float32 and float64 params may share a group; each grad must match its own param."""
    params = [np.ones(5, np.float32), np.ones((3, 4), np.float64), np.ones((2, 6), np.float32)]
    opt = make_opt(name, params)
    warm_up(opt, params)
    grads = grads_like(params)
    grads[1] = grads[1].astype(np.float32)
    fails(opt, grads, TypeError, r"grads\[1\]: expected dtype float64, the dtype of params\[1\]")


# ---------------------------------------------------------------------------------------------
# Adafactor: its state arrays are not shaped like the params, so it is not in the generic tables
# above that build bad state arrays from param shapes (its bad hyperparameters are in
# HYPER_CASES); its own cases.

from steepest.optim import Adafactor  # noqa: E402

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bad", ["row_var shape", "col_var transposed", "variance dtype",
                                 "row_var read-only", "col_var is the grad"])
def test_adafactor_bad_state_array(dtype, bad):
    params = make_params(dtype)  # (5,): variance; (3, 4), (2, 6): row_var, col_var
    opt = Adafactor(params)
    warm_up(opt, params)
    grads = grads_like(params)
    other = np.float64 if dtype == np.float32 else np.float32
    if bad == "row_var shape":
        opt.state[1]["row_var"] = np.zeros((3,), dtype)
        exc, match = ValueError, r"state\[1\]\['row_var'\]: expected shape \(3,1\), got \(3,\)"
    elif bad == "col_var transposed":
        opt.state[2]["col_var"] = np.ascontiguousarray(opt.state[2]["col_var"].T)
        exc, match = ValueError, r"state\[2\]\['col_var'\]: expected shape \(1,6\)"
    elif bad == "variance dtype":
        opt.state[0]["variance"] = opt.state[0]["variance"].astype(other)
        exc, match = TypeError, r"state\[0\]\['variance'\]: expected dtype"
    elif bad == "row_var read-only":
        opt.state[1]["row_var"].flags.writeable = False
        exc, match = ValueError, r"state\[1\]\['row_var'\]: the array is read-only"
    else:
        grads[2] = np.zeros((2, 6), dtype)
        opt.state[2]["col_var"] = grads[2][:1]
        exc, match = ValueError, r"overlaps"
    fails(opt, grads, exc, match)


def test_step_cache_is_checked():
    """The optimizer's memory of its last passed overlap check (``_core.StepCache``, one per
    optimizer) is an argument like the others: anything else is refused before any change."""
    params = [np.zeros(3)]
    opt = RULES["sgd"].make(params, lr=0.1)
    args = opt._group_args(opt._current_plan())
    with pytest.raises(TypeError, match=r"cache: expected a StepCache or None"):
        opt._kernel(args, [np.ones(3)], 0, opt._counts, object())
    assert params[0].tolist() == [0.0, 0.0, 0.0] and opt._counts.tolist() == [0, 0]
    assert opt._step_cache is not RULES["sgd"].make(params, lr=0.1)._step_cache
