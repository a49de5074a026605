"""The LayerNorm kernels (steepest.nn.functional.layernorm_*) against the float64 NumPy
reference (steepest.reference.nn) and float64 finite differences, at odd sizes, both dtypes, on
every SIMD target; bitwise the same on 1 and 2 threads; bad input refused with nothing written."""

import numpy as np
import pytest

from conftest import threads
from steepest.nn import functional as F
from steepest.reference import nn as ref

DTYPES = [np.float32, np.float64]
SHAPES = [(1, 1), (1, 7), (5, 1), (3, 17), (9, 65), (33, 130)]


def tol(dtype):
    return dict(rtol=1e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)


def _case(rng, shape, dtype, affine):
    x = (3 * rng.standard_normal(shape) + 1).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal(shape[1]).astype(dtype) if affine else None
    b = rng.standard_normal(shape[1]).astype(dtype) if affine else None
    return x, dy, w, b


def _run(x, dy, w, b, eps=1e-5, accumulate=False):
    rows, cols = x.shape
    mean, rstd = np.empty(rows, x.dtype), np.empty(rows, x.dtype)
    y = F.layernorm_forward(x, w, b, eps, mean=mean, rstd=rstd)
    dw = None if w is None else np.zeros(cols, x.dtype)
    db = None if b is None else np.zeros(cols, x.dtype)
    dx = F.layernorm_backward(dy, x, mean, rstd, w, dw, db, accumulate=accumulate)
    return y, mean, rstd, dx, dw, db


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_matches_reference(simd_target, dtype, shape, affine):
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    x, dy, w, b = _case(rng, shape, dtype, affine)
    y, mean, rstd, dx, dw, db = _run(x, dy, w, b)
    want_y, want_mean, want_rstd = ref.layernorm_forward(x, w, b)
    want_dx, want_dw, want_db = ref.layernorm_backward(dy, x, w)
    t = tol(dtype)
    for got, want in [(y, want_y), (mean, want_mean), (rstd, want_rstd), (dx, want_dx)]:
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=t["rtol"], atol=t["atol"] * (1 + abs(want).max()))
    if affine:
        np.testing.assert_allclose(dw, want_dw, rtol=t["rtol"], atol=t["atol"] * shape[0])
        np.testing.assert_allclose(db, want_db, rtol=t["rtol"], atol=t["atol"] * shape[0])


def test_weight_without_bias_and_inference_saves_nothing():
    rng = np.random.default_rng(1)
    x, dy, w, _ = _case(rng, (6, 11), np.float64, True)
    y = F.layernorm_forward(x, w, None)  # no mean/rstd given: nothing saved
    np.testing.assert_allclose(y, ref.layernorm_forward(x, w)[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("affine", [True, False])
def test_backward_matches_finite_differences(affine):
    rng = np.random.default_rng(2)
    x, dy, w, b = _case(rng, (5, 13), np.float64, affine)
    _, _, _, dx, dw, db = _run(x, dy, w, b)
    h = 1e-6

    def loss():
        return float((F.layernorm_forward(x, w, b) * dy).sum())

    for array, grad in [(x, dx)] + ([(w, dw), (b, db)] if affine else []):
        flat, g = array.reshape(-1), grad.reshape(-1)
        for i in range(flat.size):
            keep = flat[i]
            flat[i] = keep + h
            up = loss()
            flat[i] = keep - h
            down = loss()
            flat[i] = keep
            np.testing.assert_allclose(g[i], (up - down) / (2 * h), rtol=1e-6, atol=1e-8)


def test_write_is_accumulate_into_zeros_and_accumulate_adds():
    rng = np.random.default_rng(3)
    x, dy, w, b = _case(rng, (7, 9), np.float32, True)
    _, mean, rstd, _, dw, db = _run(x, dy, w, b, accumulate=True)
    dw2, db2 = np.full(9, np.nan, np.float32), np.full(9, np.nan, np.float32)
    F.layernorm_backward(dy, x, mean, rstd, w, dw2, db2, accumulate=False)
    np.testing.assert_array_equal(dw2, dw)
    np.testing.assert_array_equal(db2, db)
    F.layernorm_backward(dy, x, mean, rstd, w, dw2, db2, input_grad=False)
    np.testing.assert_allclose(dw2, 2 * dw, rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4099, 7), (3, 20001), (517, 130)])
def test_threads_bitwise(dtype, shape):
    """Big enough to split across threads (rows chunks; column blocks for the parameters)."""
    rng = np.random.default_rng(4)
    x, dy, w, b = _case(rng, shape, dtype, True)
    results = []
    for n in (1, 2):
        with threads(n):
            results.append(_run(x, dy, w, b))
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


def test_bad_input_writes_nothing():
    rng = np.random.default_rng(5)
    x, dy, w, b = _case(rng, (4, 6), np.float32, True)
    mean, rstd = np.empty(4, np.float32), np.empty(4, np.float32)
    y = F.layernorm_forward(x, w, b, mean=mean, rstd=rstd)
    out, dx, dw, db = (np.full_like(a, 7) for a in (x, x, w, b))
    bad_forward = [
        (dict(x=x.astype(np.float64)), TypeError, "out: expected a float64"),
        (dict(weight=w[:5]), ValueError, "weight must have shape"),
        (dict(bias=b[:5]), ValueError, "bias must have shape"),
        (dict(mean=np.full(3, 7, np.float32)), ValueError, "mean must have shape"),
        (dict(rstd=None), ValueError, "both mean and rstd"),
        (dict(out=x), ValueError, "overlaps"),
        (dict(eps=0.0), ValueError, "eps"),
        (dict(x=x[:, ::2]), ValueError, "contiguous"),
    ]
    for change, error, match in bad_forward:
        args = dict(x=x, weight=w, bias=b, out=out, mean=np.full(4, 7, np.float32),
                    rstd=np.full(4, 7, np.float32))
        args.update(change)
        with pytest.raises(error, match=match):
            F.layernorm_forward(args.pop("x"), args.pop("weight"), args.pop("bias"),
                                args.pop("eps", 1e-5), **args)
        assert (out == 7).all() and (args["mean"] is None or (args["mean"] == 7).all())
    bad_backward = [
        (dict(dy=dy[:3]), ValueError, "dy must have shape"),
        (dict(rstd=rstd[:2]), ValueError, "rstd must have shape"),
        (dict(dweight=dw[:2]), ValueError, "dweight must have shape"),
        (dict(dx=dy), ValueError, "overlaps"),
        (dict(dweight=w), ValueError, "overlaps"),
        (dict(weight=None), ValueError, "dweight given without weight"),
        (dict(dy=dy.astype(np.float64)), TypeError, "dy"),
    ]
    for change, error, match in bad_backward:
        args = dict(dy=dy, x=x, mean=mean, rstd=rstd, weight=w, dweight=dw, dbias=db, dx=dx)
        args.update(change)
        with pytest.raises(error, match=match):
            F.layernorm_backward(**args)
        assert (dx == 7).all() and (dw == 7).all() and (db == 7).all()
    np.testing.assert_array_equal(F.layernorm_forward(x, w, b), y)  # nothing else changed
