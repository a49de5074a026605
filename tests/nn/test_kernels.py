"""The backprop kernels (steepest.nn.functional) against the float64 NumPy reference
(steepest.reference.nn) and, in float64, against central finite differences; at odd shapes, on
every SIMD target, both dtypes; and bitwise the same on 1 and 2 threads.

Tolerances: float64 kernels agree with the reference to rounding (1e-12 relative); float32
kernels to a few float32 ulp of the result (the approximations' bounds, test_approx.py) plus the
rounding of sums over the inner dimension. Finite differences: h = 1e-6, error O(h²·f''') plus
rounding O(eps/h) ≈ 1e-10, checked at rtol 1e-6.
"""
import itertools

import numpy as np
import pytest

from steepest.nn import functional as F
from steepest.reference import nn as ref

SIZES = [1, 3, 17, 65]
DTYPES = [np.float32, np.float64]
ACTIVATIONS = [("relu", {}), ("leaky_relu", {"negative_slope": 0.2}), ("tanh", {}),
               ("sigmoid", {}), ("gelu", {}), ("gelu", {"approximate": "tanh"})]
ELEMENTWISE_LOSSES = [("mse", {}), ("mae", {}), ("huber", {"delta": 0.7}),
                      ("bce_with_logits", {})]
H = 1e-6


def tol(dtype):
    return dict(rtol=2e-6, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)


def draw(rng, shape, dtype, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


def fd_check(f, x, analytic, rng, count=12):
    """Central differences of the scalar f at up to `count` entries of x (float64)."""
    flat = x.reshape(-1)
    for i in rng.choice(flat.size, min(count, flat.size), replace=False):
        keep = flat[i]
        flat[i] = keep + H
        up = f()
        flat[i] = keep - H
        down = f()
        flat[i] = keep
        np.testing.assert_allclose(analytic.reshape(-1)[i], (up - down) / (2 * H), rtol=1e-6,
                                   atol=1e-8)


# --- dense ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch,inp,out", [(b, i, o) for b, i, o in
                                            itertools.product(SIZES, SIZES, SIZES)
                                            if len({b, i, o}) > 1 or b in (1, 17)])
def test_dense_matches_reference(simd_target, dtype, batch, inp, out):
    rng = np.random.default_rng(batch * 10000 + inp * 100 + out)
    x, w, b = draw(rng, (batch, inp), dtype), draw(rng, (out, inp), dtype), draw(rng, out, dtype)
    t = dict(rtol=1e-5, atol=1e-5 * np.sqrt(max(batch, inp, out))) if dtype == np.float32 else \
        dict(rtol=1e-12, atol=1e-12)
    for bias, act in [(b, "none"), (None, "none"), (b, "relu")]:
        y = F.dense_forward(x, w, bias, act)
        assert y.dtype == dtype and y.shape == (batch, out)
        np.testing.assert_allclose(y, ref.dense_forward(x, w, bias, act), **t)
    dy = draw(rng, (batch, out), dtype)
    dw0, db0 = draw(rng, (out, inp), dtype), draw(rng, out, dtype)
    dw, db = dw0.copy(), db0.copy()
    dx = F.dense_backward(dy, x, w, dw, db)
    want_dx, want_dw, want_db = ref.dense_backward(dy, x, w)
    np.testing.assert_allclose(dx, want_dx, **t)
    np.testing.assert_allclose(dw, dw0 + want_dw, **t)  # accumulated
    np.testing.assert_allclose(db, db0 + want_db, **t)
    dw2 = dw0.copy()
    assert F.dense_backward(dy, x, w, dw2, input_grad=False) is None
    np.testing.assert_array_equal(dw2, dw)  # dbias and dx are optional, dweight the same


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch,inp,out", [(1, 3, 17), (17, 65, 3), (65, 300, 17), (3, 17, 65),
                                            (24, 16, 5), (36, 8, 5)])
def test_dense_backward_written_and_relu_fused(simd_target, dtype, batch, inp, out):
    """accumulate=False is bitwise zeroing then accumulating; relu_output is bitwise the ReLU's
    own backward after the product (300: more than one block of the inner dimension)."""
    rng = np.random.default_rng(batch + inp + out)
    x, w, dy = draw(rng, (batch, inp), dtype), draw(rng, (out, inp), dtype), \
        draw(rng, (batch, out), dtype)
    h = np.maximum(draw(rng, (batch, inp), dtype), 0)  # a ReLU's output: zeros and positives
    h[0, 0] = -0.0
    dw, db = np.zeros_like(w), np.zeros(out, dtype)
    dx = F.dense_backward(dy, x, w, dw, db)
    want = F.activation_backward("relu", dx, h)
    dw2, db2 = np.full_like(w, np.nan), np.full(out, np.nan, dtype)  # all overwritten
    dx2 = F.dense_backward(dy, x, w, dw2, db2, accumulate=False, relu_output=h)
    np.testing.assert_array_equal(dx2, want)
    assert np.array_equal(np.signbit(dx2), np.signbit(want))
    for a, b in [(dw2, dw), (db2, db)]:
        np.testing.assert_array_equal(a, b)
        assert np.array_equal(np.signbit(a), np.signbit(b))
    # accumulate_dx: dy @ w added into another path's gradient
    other = draw(rng, (batch, inp), dtype)
    into = other.copy()
    assert F.dense_backward(dy, x, w, dw, dx=into, accumulate_dx=True) is into
    np.testing.assert_allclose(into, other + dy.astype(np.float64) @ w,
                               rtol=tol(dtype)["rtol"], atol=tol(dtype)["atol"] * out)


@pytest.mark.parametrize("batch,inp,out", [(1, 3, 17), (17, 65, 3), (3, 1, 65), (65, 17, 1)])
def test_dense_finite_differences(simd_target, batch, inp, out):
    rng = np.random.default_rng(batch + inp + out)
    x, w, b = draw(rng, (batch, inp), np.float64), draw(rng, (out, inp), np.float64), \
        draw(rng, out, np.float64)
    r = draw(rng, (batch, out), np.float64)  # L = sum(r * y): dL/dy = r
    dw, db = np.zeros_like(w), np.zeros_like(b)
    dx = F.dense_backward(r, x, w, dw, db)
    loss = lambda: float(np.sum(r * F.dense_forward(x, w, b)))
    for param, grad in [(x, dx), (w, dw), (b, db)]:
        fd_check(loss, param, grad, rng)


# --- activations ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,kw", ACTIVATIONS)
@pytest.mark.parametrize("shape", [(1,), (3, 17), (65, 17), (17, 1, 65)])
def test_activation_matches_reference(simd_target, dtype, name, kw, shape):
    rng = np.random.default_rng(sum(shape))
    x = draw(rng, shape, dtype, scale=4.0)
    x.reshape(-1)[:4] = [0.0, -40.0, 40.0, 1e-3][: x.size]  # a kink and both saturations
    y = F.activation_forward(name, x, **kw)
    assert y.dtype == dtype and y.shape == shape
    np.testing.assert_allclose(y, ref.activation_forward(name, x, **kw), **tol(dtype))
    dy = draw(rng, shape, dtype)
    saved = y if F.SAVES[name] == "output" else x
    dx = F.activation_backward(name, dy, saved, **kw)
    np.testing.assert_allclose(dx, ref.activation_backward(name, dy, x, **kw), **tol(dtype))


def test_relu_backward_from_output():
    x = np.float32([-2.0, -0.0, 0.0, 1e-30, 3.0])
    dy = np.ones_like(x)
    np.testing.assert_array_equal(F.activation_backward("relu", dy, x),
                                  F.activation_backward("relu", dy, F.activation_forward("relu", x)))


@pytest.mark.parametrize("name,kw", ACTIVATIONS)
def test_activation_finite_differences(simd_target, name, kw):
    # Element-wise, so every element is perturbed at once; away from relu's kink at 0.
    rng = np.random.default_rng(0)
    x = draw(rng, (17, 65), np.float64, scale=3.0)
    x[np.abs(x) < 1e-3] = 0.5
    dy = np.ones_like(x)
    saved = F.activation_forward(name, x, **kw) if F.SAVES[name] == "output" else x
    dx = F.activation_backward(name, dy, saved, **kw)
    fd = (F.activation_forward(name, x + H, **kw) - F.activation_forward(name, x - H, **kw)) / (2 * H)
    np.testing.assert_allclose(dx, fd, rtol=1e-6, atol=1e-8)


# --- losses ---------------------------------------------------------------------------------

def loss_inputs(rng, name, shape, dtype):
    pred = draw(rng, shape, dtype, scale=2.0)
    if name == "cross_entropy":
        return pred, rng.integers(0, shape[1], shape[0])
    if name == "bce_with_logits":
        return pred, rng.random(shape).astype(dtype)
    return pred, draw(rng, shape, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,kw", ELEMENTWISE_LOSSES + [("cross_entropy", {})])
@pytest.mark.parametrize("shape", [(b, c) for b in SIZES for c in SIZES])
def test_loss_matches_reference(simd_target, dtype, name, kw, shape):
    rng = np.random.default_rng(shape[0] * 100 + shape[1])
    pred, target = loss_inputs(rng, name, shape, dtype)
    value, grad = F.loss_value_and_grad(name, pred, target, **kw)
    want_value, want_grad = ref.loss_value_and_grad(name, pred, target, **kw)
    assert isinstance(value, float) and grad.dtype == dtype and grad.shape == shape
    np.testing.assert_allclose(value, want_value, **tol(dtype))
    np.testing.assert_allclose(grad, want_grad, **tol(dtype))
    assert F.loss_value(name, pred, target, **kw) == value


@pytest.mark.parametrize("name,kw", ELEMENTWISE_LOSSES + [("cross_entropy", {})])
@pytest.mark.parametrize("shape", [(1, 1), (3, 17), (17, 3), (65, 65)])
def test_loss_finite_differences(simd_target, name, kw, shape):
    rng = np.random.default_rng(7)
    pred, target = loss_inputs(rng, name, shape, np.float64)
    if name in ("mae", "huber"):  # away from the kinks at d = 0 and |d| = delta
        pred = target + np.where(rng.random(shape) < 0.5, -1, 1) * rng.uniform(0.05, 0.6, shape)
        pred[::2] += np.sign(pred[::2] - target[::2])
    _, grad = F.loss_value_and_grad(name, pred, target, **kw)
    fd_check(lambda: F.loss_value(name, pred, target, **kw), pred, grad, rng, count=20)


def test_cross_entropy_is_stable():
    pred = np.float32([[1000.0, 0.0, -1000.0], [-1e4, -1e4, -1e4]])
    value, grad = F.loss_value_and_grad("cross_entropy", pred, np.array([1, 2]))
    np.testing.assert_allclose(value, (1000.0 + np.log(3.0)) / 2, rtol=1e-6)
    np.testing.assert_allclose(grad, [[0.5, -0.5, 0.0], [1 / 6, 1 / 6, -1 / 3]], atol=1e-7)
    value, grad = F.loss_value_and_grad("bce_with_logits", np.float32([200.0, -200.0]),
                                        np.float32([0.0, 0.0]))
    np.testing.assert_allclose(value, 100.0)
    np.testing.assert_allclose(grad, [0.5, 0.0])


# --- dropout --------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("shape", [(1,), (17, 65), (65, 3)])
def test_dropout_matches_reference(simd_target, dtype, p, shape):
    rng = np.random.default_rng(3)
    x = draw(rng, shape, dtype)
    y = F.dropout_forward(x, p, seed=2**63 + 12345)
    np.testing.assert_array_equal(y, ref.dropout(x, p, 2**63 + 12345))
    if p == 0.0:
        np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(F.dropout_forward(x, p, seed=5, training=False), x)
    # The backward is the same linear map (its own adjoint): <D x, r> == <x, D^T r>.
    r = draw(rng, shape, dtype)
    dx = F.dropout_backward(r, p, seed=2**63 + 12345)
    np.testing.assert_array_equal(dx, ref.dropout(r, p, 2**63 + 12345))
    np.testing.assert_allclose(np.sum(y.astype(np.float64) * r), np.sum(x.astype(np.float64) * dx),
                               rtol=1e-5)


def test_dropout_rate_and_seeds():
    x = np.ones(200_000, np.float32)
    a, b = F.dropout_forward(x, 0.3, seed=1), F.dropout_forward(x, 0.3, seed=2)
    assert abs((a == 0).mean() - 0.3) < 0.005 and abs((b == 0).mean() - 0.3) < 0.005
    assert abs(((a == 0) & (b == 0)).mean() - 0.09) < 0.005  # independent masks
    np.testing.assert_array_equal(a[a != 0], np.float32(1) / np.float32(0.7))


# --- threads --------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,kw", ACTIVATIONS)
@pytest.mark.parametrize("shape", [(1,), (3, 17), (5, 211)])  # 1055: two blocks of 512 and 31
def test_activation_of_a_sum(simd_target, dtype, name, kw, shape):
    """f(x + addend) in one pass: the sum rounded first, then f, as in two passes."""
    rng = np.random.default_rng(sum(shape) + 1)
    x, addend = draw(rng, shape, dtype, scale=2.0), draw(rng, shape, dtype, scale=2.0)
    y = F.activation_forward(name, x, addend=addend, **kw)
    np.testing.assert_array_equal(y, F.activation_forward(name, x + addend, **kw))
    np.testing.assert_array_equal(F.activation_forward(name, x, addend=x, **kw),
                                  F.activation_forward(name, x + x, **kw))


def run_all(dtype):
    """Every kernel once on sizes above the one-thread threshold (16K elements)."""
    rng = np.random.default_rng(11)
    x, w, b = draw(rng, (129, 257), dtype), draw(rng, (131, 257), dtype), draw(rng, 131, dtype)
    out = [F.dense_forward(x, w, b, "relu")]
    dw, db = np.zeros_like(w), np.zeros_like(b)
    out += [F.dense_backward(out[0], x, w, dw, db), dw, db]
    dw, db = np.empty_like(w), np.empty_like(b)
    out += [F.dense_backward(out[0], x, w, dw, db, accumulate=False, relu_output=x), dw, db]
    for name, kw in ACTIVATIONS:
        out += [F.activation_forward(name, x, **kw), F.activation_backward(name, x, x, **kw),
                F.activation_forward(name, x, addend=x[::-1].copy(), **kw)]
    big = draw(rng, (257, 131), dtype)
    for name, kw in ELEMENTWISE_LOSSES + [("cross_entropy", {})]:
        pred, target = loss_inputs(rng, name, (257, 131), dtype)
        value, grad = F.loss_value_and_grad(name, pred, target, **kw)
        out += [np.float64(value), grad]
    out.append(F.dropout_forward(big, 0.4, seed=9))
    return out


@pytest.mark.parametrize("dtype", DTYPES)
def test_bitwise_across_thread_counts(simd_target, num_threads, dtype):
    with num_threads(1):
        one = run_all(dtype)
    with num_threads(2):
        two = run_all(dtype)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def test_dropout_mask_same_on_every_target():
    from steepest import _core

    x = np.ones(1031, np.float32)
    masks = []
    for target in _core.supported_targets():
        previous = _core.active_target()
        _core.select_target(target)
        try:
            masks.append(F.dropout_forward(x, 0.5, seed=77))
        finally:
            _core.select_target(previous)
    for m in masks[1:]:
        np.testing.assert_array_equal(m, masks[0])
