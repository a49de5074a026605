"""ReLU keeps NaN as torch does (issue #22, item 10), compared with torch itself on every SIMD
target, both dtypes, at sizes that are not multiples of the vector width:

- forward: relu(NaN) = NaN (and relu(-0) = -0), in the activation kernel and in the Dense
  product's fused epilogue (a NaN input row, a NaN bias column);
- backward: torch's threshold_backward, dx = 0 where the ReLU's output is <= 0, else dy. So a NaN
  input passes dy (NaN <= 0 is false), and a NaN dy is zeroed where the input is <= 0: in the
  activation kernel (from x or from y) and fused into the next Dense's dx product (relu_output).
"""

import numpy as np
import pytest

from steepest import _core
from steepest.nn import functional as F

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


def _with_nans(rng, shape, dtype, count):
    """Normal values with `count` NaNs, a -0.0 and a +0.0 at random places."""
    x = rng.standard_normal(shape).astype(dtype)
    flat = x.reshape(-1)
    at = rng.choice(flat.size, count + 2, replace=False)
    flat[at[:count]] = np.nan
    flat[at[count]], flat[at[count + 1]] = -0.0, 0.0
    return x


def _same(ours, theirs):
    """Equal, NaN where torch has NaN, and zeros of the same sign."""
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(37,), (5, 19)])
def test_relu_forward_keeps_nan(simd_target, dtype, shape):
    x = _with_nans(np.random.default_rng(0), shape, dtype, 7)
    y = F.activation_forward("relu", x)
    want = torch.relu(torch.from_numpy(x)).numpy()
    assert np.isnan(want).sum() == 7
    _same(y, want)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("saved", ["input", "output"])
def test_relu_backward_as_torch(simd_target, dtype, saved):
    rng = np.random.default_rng(1)
    x = _with_nans(rng, (5, 19), dtype, 7)
    dy = _with_nans(rng, (5, 19), dtype, 9)
    tx = torch.from_numpy(x.copy()).requires_grad_()
    torch.relu(tx).backward(torch.from_numpy(dy))
    want = tx.grad.numpy()
    kept = np.isnan(x) & ~np.isnan(dy)
    assert kept.any() and (want[kept] == dy[kept]).all()  # torch passes dy at a NaN input
    v = x if saved == "input" else F.activation_forward("relu", x)
    _same(F.activation_backward("relu", dy, v), want)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_dense_relu_forward_keeps_nan(simd_target, dtype):
    rng = np.random.default_rng(2)
    batch, inp, out = 13, 9, 21
    x = rng.standard_normal((batch, inp)).astype(dtype)
    w = rng.standard_normal((out, inp)).astype(dtype)
    b = rng.standard_normal(out).astype(dtype)
    x[3, 4] = np.nan  # row 3 of y
    b[17] = np.nan    # column 17 of y
    y = F.dense_forward(x, w, b, "relu")
    want = torch.relu(torch.nn.functional.linear(*map(torch.from_numpy, (x, w, b)))).numpy()
    assert np.isnan(want).sum() == out + batch - 1
    np.testing.assert_array_equal(np.isnan(y), np.isnan(want))
    np.testing.assert_allclose(y, want, **tol(dtype))


@pytest.mark.parametrize("accumulate", [False, True])
def test_gemm_relu_without_depth_keeps_nan(simd_target, accumulate):
    """K = 0 (no product, gemm.cc's no_depth): relu((C) + bias) keeps a NaN too."""
    a, b = np.ones((3, 0), np.float32), np.ones((0, 5), np.float32)
    c = np.full((3, 5), -1.0, np.float32)
    bias = np.float32([np.nan, 2.0, -3.0, 0.5, np.nan])
    _core.gemm(a, b, c, accumulate=accumulate, bias=bias, activation="relu")
    want = torch.relu(torch.from_numpy(bias + (-1.0 if accumulate else 0.0))).numpy()
    np.testing.assert_array_equal(c, np.broadcast_to(want, c.shape))


@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_relu_backward_as_torch(simd_target, dtype):
    """dense_backward with relu_output: the ReLU before the Dense, fused into the dx product."""
    rng = np.random.default_rng(3)
    batch, inp, out = 13, 21, 9
    h_in = _with_nans(rng, (batch, inp), dtype, 11)  # the ReLU's input
    w = rng.standard_normal((out, inp)).astype(dtype)
    b = rng.standard_normal(out).astype(dtype)
    dy = rng.standard_normal((batch, out)).astype(dtype)
    h = F.activation_forward("relu", h_in)

    th_in = torch.from_numpy(h_in.copy()).requires_grad_()
    tw, tb = torch.from_numpy(w), torch.from_numpy(b)
    torch.nn.functional.linear(torch.relu(th_in), tw, tb).backward(torch.from_numpy(dy))
    want = th_in.grad.numpy()
    assert np.isfinite(want).all() and (want[np.isnan(h_in)] != 0).all()

    dw, db = np.empty_like(w), np.empty_like(b)
    dx = F.dense_backward(dy, h, w, dw, db, accumulate=False, relu_output=h)
    np.testing.assert_allclose(dx, want, **tol(dtype))
    np.testing.assert_array_equal(dx == 0, want == 0)
