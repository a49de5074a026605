"""clip_grad_norm_ and clip_grad_value_: parity with torch.nn.utils (the total norm and the
clipped gradients) for every norm type and both dtypes, sizes around the SIMD widths, many
tensors; bitwise the same for 1 and 2 threads on every SIMD target; the accepted forms; bad input
raising and changing nothing.

Tolerances: our norms sum in double; torch sums float32 gradients in float32 (measured: 3.1e-6
relative error for the 1-norm of 65539 elements) and computes the clip coefficient in float32, so
float32 results agree to rtol 1e-5 (norm and gradients); float64 ones to rtol 1e-12.
"""

import math

import numpy as np
import pytest

from steepest.optim import clip_grad_norm_, clip_grad_value_

torch = pytest.importorskip("torch")

NORMS = [2.0, 1.0, math.inf, 3.0, 0.5]
DTYPES = [np.float32, np.float64]
SIZES = [[0, 1, 7, 17, 1031], [65539, 5], [3] * 60]
RTOL = {np.float32: (1e-5, 1e-5), np.float64: (1e-12, 1e-12)}


def make_grads(sizes, dtype, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return [(scale * rng.standard_normal(n)).astype(dtype) for n in sizes]


def torch_clip(grads, max_norm, norm_type, **kw):
    params = [torch.zeros(g.shape, dtype=torch.from_numpy(g).dtype) for g in grads]
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(g.copy())
    # torch refuses the inf-norm of an empty tensor; ours is 0 (no element to be larger)
    used = [p for p in params if p.numel() or norm_type != math.inf]
    total = torch.nn.utils.clip_grad_norm_(used, max_norm, norm_type, **kw)
    return float(total), [p.grad.numpy() for p in params]


@pytest.mark.parametrize("max_norm", [0.1, 1e12])  # clipped, untouched
@pytest.mark.parametrize("sizes", SIZES, ids=["odd", "large", "many"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm_type", NORMS)
def test_clip_grad_norm_matches_torch(norm_type, dtype, sizes, max_norm):
    grads = make_grads(sizes, dtype)
    expected_total, expected = torch_clip(grads, max_norm, norm_type)
    original = [g.copy() for g in grads]
    total = clip_grad_norm_(grads, max_norm, norm_type)
    assert isinstance(total, np.float64)
    rtol_norm, rtol_grad = RTOL[dtype]
    np.testing.assert_allclose(total, expected_total, rtol=rtol_norm)
    for g, e, o in zip(grads, expected, original):
        assert g.dtype == dtype
        if expected_total < max_norm:
            assert np.array_equal(g, o)  # coefficient 1: not touched
        np.testing.assert_allclose(g, e, rtol=rtol_grad, atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm_type", NORMS)
def test_threads_and_targets_bitwise(simd_target, num_threads, norm_type, dtype):
    base = make_grads([1, 70001, 33, 65536], dtype, seed=3)
    results = []
    for n in (1, 2):
        grads = [g.copy() for g in base]
        with num_threads(n):
            total = clip_grad_norm_(grads, 0.5, norm_type)
        results.append((total, grads))
    (t1, g1), (t2, g2) = results
    assert t1 == t2
    for a, b in zip(g1, g2):
        assert np.array_equal(a, b)


def test_mixed_dtypes():
    grads = [np.ones(5, np.float32), np.ones(4, np.float64)]
    total = clip_grad_norm_(grads, 1.0)
    assert total == 3.0 and grads[0].dtype == np.float32
    np.testing.assert_allclose(grads[0], np.float32(1 / (3 + 1e-6)))
    np.testing.assert_allclose(grads[1], 1 / (3 + 1e-6), rtol=1e-15)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("norm_type", NORMS)
def test_nonfinite_norm(norm_type, bad):
    grads = make_grads([7, 9], np.float64)
    grads[1][4] = bad
    original = [g.copy() for g in grads]
    with pytest.raises(RuntimeError, match="is non-finite, so it cannot be clipped"):
        clip_grad_norm_(grads, 1.0, norm_type, error_if_nonfinite=True)
    for g, o in zip(grads, original):
        assert np.array_equal(g, o, equal_nan=True)
    expected_total, expected = torch_clip(grads, 1.0, norm_type)
    total = clip_grad_norm_(grads, 1.0, norm_type)  # scaled anyway, as torch: by NaN or by 0
    assert np.array_equal(total, expected_total, equal_nan=True)
    for g, e in zip(grads, expected):
        assert np.array_equal(g, e, equal_nan=True)


class Param:
    def __init__(self, grad):
        self.data = np.zeros(1 if grad is None else grad.shape)
        self.grad = grad


def test_accepted_forms():
    g = np.full(4, 2.0)
    assert clip_grad_norm_(g, 1.0) == 4.0  # a single array
    np.testing.assert_allclose(g, 0.5 / (1 + 2.5e-7), rtol=1e-15)
    params = [Param(np.full(4, 2.0)), Param(None), Param(np.full(4, 2.0))]
    assert clip_grad_norm_(params, 100.0) == math.sqrt(32)  # None grads skipped
    assert clip_grad_norm_(Param(np.full(4, 2.0)), 100.0) == 4.0
    assert clip_grad_norm_([], 1.0) == 0.0 and clip_grad_norm_([Param(None)], 1.0) == 0.0
    assert clip_grad_norm_(iter([np.ones(4)]), 100.0) == 2.0
    # torch parameters and tensors: their .grad, clipped in its own memory
    tp = torch.nn.Parameter(torch.zeros(4))
    tp.grad = torch.full((4,), 2.0)
    memory = tp.grad.data_ptr()
    assert clip_grad_norm_([tp], 1.0) == 4.0
    assert tp.grad.data_ptr() == memory
    torch.testing.assert_close(tp.grad, torch.full((4,), 0.5), rtol=1e-6, atol=0)
    import steepest.torch as st

    clip_grad_value_(tp, 0.1)
    assert st.clip_grad_value_ is clip_grad_value_ and torch.all(tp.grad == np.float32(0.1))
    assert clip_grad_norm_(torch.zeros(3, requires_grad=True), 1.0) == 0.0  # no .grad


@pytest.mark.parametrize("dtype", DTYPES)
def test_clip_grad_value_matches_torch(dtype):
    grads = make_grads([1, 7, 1031, 65539], dtype, scale=3.0)
    grads[2][5] = np.nan
    grads[2][6] = -np.inf
    params = [torch.zeros(g.shape, dtype=torch.from_numpy(g).dtype) for g in grads]
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(g.copy())
    torch.nn.utils.clip_grad_value_(params, 1.25)
    assert clip_grad_value_(grads, 1.25) is None
    for g, p in zip(grads, params):
        assert np.array_equal(g, p.grad.numpy(), equal_nan=True)


def test_torch_tensors_must_be_contiguous_cpu():
    tp = torch.nn.Parameter(torch.zeros(4, 4))
    tp.grad = torch.ones(4, 4).t()
    with pytest.raises(ValueError, match=r"grads\[0\]: expected a contiguous CPU tensor"):
        clip_grad_norm_([tp], 1.0)


def unchanged_after(call, exc, match, grads):
    original = [None if g is None else g.copy() for g in grads]
    with pytest.raises(exc, match=match):
        call(grads)
    for g, o in zip(grads, original):
        assert o is None or np.array_equal(g, o)


@pytest.mark.parametrize("clip", ["norm", "value"])
def test_bad_input(clip):
    def call(grads, **kw):
        if clip == "norm":
            return clip_grad_norm_(grads, kw.get("bound", 0.1), kw.get("norm_type", 2.0))
        return clip_grad_value_(grads, kw.get("bound", 0.1))

    good = np.ones(5)
    unchanged_after(call, TypeError, r"grads\[1\]: expected a float32 or float64",
                    [good, np.ones(3, np.int64)])
    unchanged_after(call, TypeError, r"grads\[1\]: expected a numpy.ndarray, got list",
                    [good, [1.0, 2.0]])
    unchanged_after(call, ValueError, r"grads\[1\]: expected a C-contiguous array",
                    [good, np.ones((4, 4))[:, 1]])
    read_only = np.ones(3)
    read_only.flags.writeable = False
    unchanged_after(call, ValueError, r"grads\[1\]: the array is read-only", [good, read_only])
    unchanged_after(call, ValueError, r"grads\[1\] overlaps grads\[0\]", [good, good[2:]])
    with pytest.raises(ValueError, match=">= 0"):
        call([good], bound=-1.0)
    with pytest.raises(ValueError, match=">= 0"):
        call([good], bound=math.nan)
    with pytest.raises(TypeError, match="expected a number, got str"):
        call([good], bound="1")
    with pytest.raises(ValueError, match="expected a finite number, got an int too large for a "
                                         "float"):
        call([good], bound=10**400)
    with pytest.raises(TypeError, match="expected an array, a parameter with .grad"):
        call(3.0)
    assert np.array_equal(good, np.ones(5))


def test_bad_norm_type_and_foreach():
    g = np.ones(3)
    for norm_type in (0.0, -1.0, -math.inf, math.nan):
        with pytest.raises(ValueError, match="norm_type: expected a number > 0 or inf"):
            clip_grad_norm_([g], 0.1, norm_type)
    with pytest.raises(ValueError, match="norm_type: expected a finite number, got an int too "
                                         "large for a float"):
        clip_grad_norm_([g], 0.1, 10**400)
    with pytest.raises(TypeError, match="foreach"):
        clip_grad_norm_([g], 0.1, foreach="yes")
    assert np.array_equal(g, np.ones(3))
    assert clip_grad_norm_([g], 10.0, foreach=True) == math.sqrt(3)
