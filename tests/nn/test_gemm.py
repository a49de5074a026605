"""Our GEMM against numpy.matmul, every transposition case, odd shapes, both dtypes, every SIMD
target; the fused epilogue (accumulate, bias, relu); empty dimensions; 1 vs 2 threads bitwise."""
import itertools

import numpy as np
import pytest

from steepest import _core

# Odd sizes around the tile shapes (6 x 8/16/32 fp32, 6 x 4/8/16 fp64) and the blocking
# (mc 72/144, kc 256, so k = 257 and 600 make two and three depth blocks); thin products (one
# column: groups of 4 vectors of rows; one row: runs of 4 vectors, 1 vector, then elements).
SHAPES = [(1, 1, 1), (3, 17, 5), (17, 65, 3), (65, 3, 17), (64, 256, 256), (33, 129, 70),
          (13, 31, 257), (150, 37, 600), (145, 70, 9),
          (256, 1, 45), (300, 1, 600), (37, 1, 1), (1, 45, 256), (1, 70, 600), (1, 1, 300),
          (1, 129, 3),
          (24, 16, 300), (36, 8, 33), (13, 4, 17), (25, 2, 5),  # one vector of columns
          (13, 40, 1030)]  # rows of A 4 KiB apart or more: packed, not read in place
CASES = list(itertools.product([False, True], repeat=2))


def operands(rng, m, n, k, trans_a, trans_b, dtype):
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    return a, b


def product(a, b, trans_a, trans_b):
    """op(a) @ op(b) in float64."""
    return (a.T if trans_a else a).astype(np.float64) @ (b.T if trans_b else b).astype(np.float64)


def tolerance(dtype, k):
    tol = 1e-5 if dtype == np.float32 else 1e-12
    return dict(rtol=tol, atol=tol * np.sqrt(max(k, 1)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a,trans_b", CASES)
@pytest.mark.parametrize("m,n,k", SHAPES)
def test_matches_numpy(simd_target, dtype, trans_a, trans_b, m, n, k):
    rng = np.random.default_rng(m * 1000 + n * 10 + k)
    a, b = operands(rng, m, n, k, trans_a, trans_b, dtype)
    c = np.full((m, n), np.nan, dtype)
    _core.gemm(a, b, c, trans_a, trans_b)
    np.testing.assert_allclose(c, product(a, b, trans_a, trans_b), **tolerance(dtype, k))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a,trans_b", CASES)
@pytest.mark.parametrize("m,n,k", [(7, 5, 9), (65, 70, 300), (6, 16, 1), (48, 16, 40),
                                   (24, 8, 7)])
@pytest.mark.parametrize("accumulate", [False, True])
def test_accumulate_bias_relu(simd_target, dtype, trans_a, trans_b, m, n, k, accumulate):
    rng = np.random.default_rng(m + n + k)
    a, b = operands(rng, m, n, k, trans_a, trans_b, dtype)
    bias, c0 = rng.standard_normal(n).astype(dtype), rng.standard_normal((m, n)).astype(dtype)
    c = c0.copy()
    _core.gemm(a, b, c, trans_a, trans_b, accumulate=accumulate, bias=bias, activation="relu")
    want = product(a, b, trans_a, trans_b) + bias + (c0 if accumulate else 0)
    np.testing.assert_allclose(c, np.maximum(want, 0), **tolerance(dtype, k))
    assert (c >= 0).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,n,k", [(0, 5, 3), (4, 0, 3), (0, 0, 0), (4, 5, 0)])
@pytest.mark.parametrize("accumulate", [False, True])
def test_empty_dimensions(dtype, m, n, k, accumulate):
    """K = 0: C = relu(bias) or relu(C + bias) when accumulating; M or N = 0: nothing to do."""
    rng = np.random.default_rng(1)
    a, b = np.ones((m, k), dtype), np.ones((k, n), dtype)
    bias, c0 = rng.standard_normal(n).astype(dtype), rng.standard_normal((m, n)).astype(dtype)
    c = c0.copy()
    _core.gemm(a, b, c, accumulate=accumulate, bias=bias, activation="relu")
    np.testing.assert_array_equal(c, np.maximum((c0 if accumulate else 0 * c0) + bias, 0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a,trans_b", CASES)
@pytest.mark.parametrize("m,n,k", [(64, 256, 256), (256, 64, 64), (301, 203, 517),
                                   (30001, 1, 45), (1, 4001, 600)])
def test_threads_bitwise(simd_target, num_threads, dtype, trans_a, trans_b, m, n, k):
    """Large enough to be split across threads; each element's sum order is fixed."""
    rng = np.random.default_rng(7)
    a, b = operands(rng, m, n, k, trans_a, trans_b, dtype)
    bias, c0 = rng.standard_normal(n).astype(dtype), rng.standard_normal((m, n)).astype(dtype)
    out = []
    for t in (1, 2, 3):
        c = c0.copy()
        with num_threads(t):
            _core.gemm(a, b, c, trans_a, trans_b, accumulate=True, bias=bias)
        out.append(c)
    np.testing.assert_array_equal(out[0], out[1])
    np.testing.assert_array_equal(out[0], out[2])
    np.testing.assert_allclose(out[0], product(a, b, trans_a, trans_b) + bias + c0,
                               **tolerance(dtype, k))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a,trans_b", CASES)
@pytest.mark.parametrize("m,n,k", [(45, 17, 45), (300, 40, 600), (13, 77, 256), (9, 5, 1)])
@pytest.mark.parametrize("accumulate", [False, True])
def test_thin_bitwise_as_tiles(simd_target, dtype, trans_a, trans_b, m, n, k, accumulate):
    """A product of one column (or one row) is the same chain per element as the register tiles':
    columns of a wide product, bitwise, in a full panel and in the last; and row i likewise."""
    rng = np.random.default_rng(m + 3 * n + 7 * k)
    a, b = operands(rng, m, n, k, trans_a, trans_b, dtype)
    bias, c0 = rng.standard_normal(n).astype(dtype), rng.standard_normal((m, n)).astype(dtype)
    wide = c0.copy()
    _core.gemm(a, b, wide, trans_a, trans_b, accumulate=accumulate, bias=bias, activation="relu")
    for j in (n // 2, n - 1):  # n - 1: in a last panel of one vector or less (half tiles)
        col = np.ascontiguousarray(b[j:j + 1] if trans_b else b[:, j:j + 1])
        c = np.ascontiguousarray(c0[:, j:j + 1])
        _core.gemm(a, col, c, trans_a, trans_b, accumulate=accumulate, bias=bias[j:j + 1],
                   activation="relu")
        np.testing.assert_array_equal(c, wide[:, j:j + 1])
    i = m // 2
    row = np.ascontiguousarray(a[:, i:i + 1] if trans_a else a[i:i + 1])
    c = np.ascontiguousarray(c0[i:i + 1])
    _core.gemm(row, b, c, trans_a, trans_b, accumulate=accumulate, bias=bias, activation="relu")
    np.testing.assert_array_equal(c, wide[i:i + 1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a,trans_b", CASES)
@pytest.mark.parametrize("n", [2, 4, 8, 16])
def test_one_vector_tiles_bitwise_as_wide(simd_target, dtype, trans_a, trans_b, n):
    """A product exactly one SIMD vector of columns wide (2 to 16, whichever is the target's)
    runs half-width tiles in place: the same chains as the first n columns of a wide product."""
    m, k, wide_n = 50, 70, n + 37
    rng = np.random.default_rng(n)
    a, b = operands(rng, m, wide_n, k, trans_a, trans_b, dtype)
    bias, c0 = rng.standard_normal(wide_n).astype(dtype), rng.standard_normal((m, wide_n))
    c0 = c0.astype(dtype)
    for accumulate in (False, True):
        wide = c0.copy()
        _core.gemm(a, b, wide, trans_a, trans_b, accumulate=accumulate, bias=bias,
                   activation="relu")
        narrow_b = np.ascontiguousarray(b[:n] if trans_b else b[:, :n])
        c = np.ascontiguousarray(c0[:, :n])
        _core.gemm(a, narrow_b, c, trans_a, trans_b, accumulate=accumulate, bias=bias[:n],
                   activation="relu")
        np.testing.assert_array_equal(c, wide[:, :n])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_thin_column_mask(simd_target, dtype):
    """dx of a dense layer of one input, dx (B, 1) = dy (B, out) @ W (out, 1), is a column product
    with the ReLU mask fused: 0 where relu_output <= 0, kept where it is NaN."""
    rng = np.random.default_rng(3)
    dy, w = rng.standard_normal((70, 9)).astype(dtype), rng.standard_normal((9, 1)).astype(dtype)
    x, relu_output = rng.standard_normal((70, 1)).astype(dtype), rng.standard_normal((70, 1))
    relu_output = np.maximum(relu_output, 0).astype(dtype)
    relu_output[5] = np.nan
    dx, dw = np.full((70, 1), np.nan, dtype), np.zeros((9, 1), dtype)
    _core.dense_backward(dx, dw, None, dy, x, w, relu_output=relu_output)
    want = np.where(relu_output > 0, dy.astype(np.float64) @ w, 0)
    want[5] = (dy[5].astype(np.float64) @ w)
    np.testing.assert_allclose(dx, want, **tolerance(dtype, 9))
    assert (dx[relu_output == 0] == 0).all()


def test_relu_of_nan_is_nan(simd_target):
    """relu(v) = v < 0 ? 0 : v, as torch and the reference layers: a NaN product stays NaN."""
    a, b = np.array([[np.nan, 1.0]], np.float32), np.ones((2, 20), np.float32)
    c = np.ones((1, 20), np.float32)
    _core.gemm(a, b, c, activation="relu")
    assert np.isnan(c).all()


def test_bad_input_changes_nothing():
    a, b = np.ones((4, 3), np.float32), np.ones((3, 2), np.float32)
    c = np.zeros((4, 2), np.float32)
    with pytest.raises(ValueError, match="op\\(b\\)"):
        _core.gemm(a, np.ones((4, 2), np.float32), c)
    with pytest.raises(TypeError, match="a: expected a float32 array"):
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
