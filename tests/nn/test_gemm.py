"""Our GEMM against numpy.matmul, every transposition case, odd shapes, both dtypes."""
import itertools

import numpy as np
import pytest

from steepest import _core

SHAPES = [(1, 1, 1), (3, 17, 5), (17, 65, 3), (65, 3, 17), (64, 256, 256), (33, 129, 70)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("m,n,k", SHAPES)
def test_matches_numpy(simd_target, dtype, trans_a, trans_b, m, n, k):
    rng = np.random.default_rng(m * 1000 + n * 10 + k)
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    c = np.full((m, n), np.nan, dtype)
    _core.gemm(a, b, c, trans_a, trans_b)
    want = (a.T if trans_a else a).astype(np.float64) @ (b.T if trans_b else b).astype(np.float64)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(c, want, rtol=tol, atol=tol * np.sqrt(k))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_accumulate_bias_relu(dtype):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((7, 9)).astype(dtype), rng.standard_normal((9, 5)).astype(dtype)
    bias, c0 = rng.standard_normal(5).astype(dtype), rng.standard_normal((7, 5)).astype(dtype)
    c = c0.copy()
    _core.gemm(a, b, c, accumulate=True, bias=bias, activation="relu")
    want = np.maximum(c0.astype(np.float64) + a @ b + bias, 0)
    np.testing.assert_allclose(c, want, rtol=1e-5, atol=1e-5)


def test_bad_input_changes_nothing():
    a, b = np.ones((4, 3), np.float32), np.ones((3, 2), np.float32)
    c = np.zeros((4, 2), np.float32)
    with pytest.raises(ValueError, match="op\\(b\\)"):
        _core.gemm(a, np.ones((4, 2), np.float32), c)
    with pytest.raises(TypeError, match="dtype"):
        _core.gemm(a.astype(np.float64), b, c)
    with pytest.raises(ValueError, match="C-contiguous"):
        _core.gemm(a, np.ones((2, 3), np.float32).T, c)
    with pytest.raises(ValueError, match="overlaps"):
        _core.gemm(c.reshape(4, 2), np.ones((2, 2), np.float32), c)
    ro = np.zeros((4, 2), np.float32)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        _core.gemm(a, b, ro)
    assert not c.any()
