"""Bad input to the backprop kernels raises TypeError/ValueError naming the argument, and writes
nothing: every array the call would have written is checked unchanged afterwards.

NaN policy: the kernels do not look for NaN; a NaN input propagates to the outputs it touches,
as in torch (test_nan_propagates; relu's forward and backward: test_relu_nan.py). Checking data
for NaN is the caller's (fit's) job.
"""
import copy
import pickle

import numpy as np
import pytest

from steepest import _core
from steepest.nn import functional as F

f32, f64 = np.float32, np.float64


def read_only(a):
    a = a.copy()
    a.setflags(write=False)
    return a


def unchanged(*arrays):
    """Runs a block, then asserts every array holds what it held before."""
    class Guard:
        def __enter__(self):
            self.before = [a.copy() for a in arrays]

        def __exit__(self, *exc):
            for a, b in zip(arrays, self.before):
                np.testing.assert_array_equal(a, b)
    return Guard()


def test_dense_forward():
    x, w, b = np.ones((4, 3), f32), np.ones((2, 3), f32), np.ones(2, f32)
    out = np.full((4, 2), 7, f32)
    cases = [
        (TypeError, "weight: expected a float32 array", dict(weight=w.astype(f64))),
        (TypeError, "bias: expected a float32 array", dict(bias=b.astype(f64))),
        (TypeError, "x must be a numpy array", dict(x=[[1.0, 2.0, 3.0]])),
        (ValueError, r"weight must have shape \(2, 3\)", dict(weight=np.ones((2, 4), f32))),
        (ValueError, r"bias must have shape \(2,\)", dict(bias=np.ones(3, f32))),
        (ValueError, r"out must have shape \(4, 2\)", dict(out=np.zeros((4, 3), f32))),
        (ValueError, "x: expected a C-contiguous array", dict(x=np.ones((3, 4), f32).T)),
        (ValueError, "out: the array is read-only", dict(out=read_only(out))),
        (ValueError, "activation must be 'none' or 'relu'", dict(activation="tanh")),
        (ValueError, "must not be empty", dict(x=np.ones((0, 3), f32))),
    ]
    for error, match, change in cases:
        args = dict(x=x, weight=w, bias=b, activation="none", out=out) | change
        with unchanged(out), pytest.raises(error, match=match):
            F.dense_forward(**args)
    buf = np.zeros(20, f32)
    with pytest.raises(ValueError, match="out overlaps x"):
        F.dense_forward(buf[:12].reshape(4, 3), w, out=buf[8:16].reshape(4, 2))


def test_dense_backward():
    dy, x, w = np.ones((4, 2), f32), np.ones((4, 3), f32), np.ones((2, 3), f32)
    dw, db, dx = np.full((2, 3), 5, f32), np.full(2, 5, f32), np.full((4, 3), 5, f32)
    cases = [
        (TypeError, "dweight: expected a float32 array", dict(dweight=dw.astype(f64))),
        (TypeError, "dy: expected a float32 array", dict(dy=dy.astype(f64))),
        (ValueError, r"dy must have shape \(4, 2\)", dict(dy=np.ones((4, 3), f32))),
        (ValueError, r"dweight must have shape \(2, 3\)", dict(dweight=np.ones((3, 2), f32))),
        (ValueError, r"dbias must have shape \(2,\)", dict(dbias=np.ones((1, 2), f32))),
        (ValueError, r"dx must have shape \(4, 3\)", dict(dx=np.ones((4, 2), f32))),
        (ValueError, "dweight: the array is read-only", dict(dweight=read_only(dw))),
        (ValueError, "dbias: the array is read-only", dict(dbias=read_only(db))),
        (ValueError, "dweight overlaps weight", dict(dweight=w)),
        (ValueError, "dx overlaps x", dict(dx=x)),
    ]
    for error, match, change in cases:
        args = dict(dy=dy, x=x, weight=w, dweight=dw, dbias=db, dx=dx) | change
        with unchanged(dw, db, dx, x, w), pytest.raises(error, match=match):
            F.dense_backward(**args)
    with unchanged(dw), pytest.raises(ValueError, match="dx given with input_grad=False"):
        F.dense_backward(dy, x, w, dw, dx=dx, input_grad=False)
    for error, match, relu_output in [
            (ValueError, r"relu_output must have shape \(4, 3\)", np.ones((4, 2), f32)),
            (TypeError, "relu_output: expected a float32 array", x.astype(f64)),
            (ValueError, "dx overlaps relu_output", dx)]:
        with unchanged(dw, db, dx), pytest.raises(error, match=match):
            F.dense_backward(dy, x, w, dw, db, dx=dx, relu_output=relu_output)
    with unchanged(dw), pytest.raises(ValueError, match="relu_output given without dx"):
        F.dense_backward(dy, x, w, dw, input_grad=False, relu_output=x)
    for kwargs in (dict(dx=None), dict(dx=np.zeros_like(x), relu_output=x)):
        with unchanged(dw), pytest.raises(ValueError, match="accumulate_dx needs dx and no"):
            F.dense_backward(dy, x, w, dw, accumulate_dx=True, **kwargs)
        with unchanged(dw), pytest.raises(ValueError, match="accumulate_dx needs dx and no"):
            _core.dense_backward(kwargs["dx"], dw, None, dy, x, w, True,
                                 kwargs.get("relu_output"), True)
    buf = np.zeros(8, f32)  # dweight and dbias sharing memory
    with pytest.raises(ValueError, match="dweight overlaps dbias"):
        F.dense_backward(dy, x, w, buf[:6].reshape(2, 3), buf[5:7])


@pytest.mark.parametrize("name", ["relu", "tanh", "gelu"])
def test_activations(name):
    x, dy = np.ones((3, 5), f32), np.ones((3, 5), f32)
    out, dx = np.full((3, 5), 7, f32), np.full((3, 5), 7, f32)
    with unchanged(out):
        with pytest.raises(ValueError, match="unknown activation 'swish'"):
            F.activation_forward("swish", x, out)
        with pytest.raises(ValueError, match=r"out must have x's shape \(3, 5\)"):
            F.activation_forward(name, x, np.zeros((5, 3), f32))
        with pytest.raises(TypeError, match="out: expected a float64 array"):
            F.activation_forward(name, x.astype(f64), out)
        with pytest.raises(ValueError, match="x: expected a C-contiguous array"):
            F.activation_forward(name, np.ones((5, 3), f32).T, out)
        with pytest.raises(ValueError, match="out: the array is read-only"):
            F.activation_forward(name, x, read_only(out))
        with pytest.raises(ValueError, match="out overlaps x"):
            F.activation_forward(name, out, out)
        with pytest.raises(ValueError, match=r"addend must have x's shape \(3, 5\)"):
            F.activation_forward(name, x, out, addend=np.ones(15, f32))
        with pytest.raises(TypeError, match="addend: expected a float32 array"):
            F.activation_forward(name, x, out, addend=x.astype(f64))
        with pytest.raises(ValueError, match="out overlaps addend"):
            F.activation_forward(name, x, out, addend=out)
    with unchanged(dx):
        with pytest.raises(ValueError, match=r"saved must have dy's shape \(3, 5\)"):
            F.activation_backward(name, dy, np.ones(15, f32), dx)
        with pytest.raises(TypeError, match="saved: expected a float32 array"):
            F.activation_backward(name, dy, x.astype(f64), dx)
        with pytest.raises(ValueError, match="dx overlaps dy"):
            F.activation_backward(name, dx, x, dx)
        with pytest.raises(ValueError, match="dx: the array is read-only"):
            F.activation_backward(name, dy, x, read_only(dx))
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        F.activation_forward("gelu", x, approximate="erf")
    with pytest.raises(TypeError, match="negative_slope must be a number"):
        F.activation_forward("leaky_relu", x, negative_slope="0.1")


def test_losses():
    pred, target = np.zeros((4, 3), f32), np.zeros((4, 3), f32)
    grad = np.full((4, 3), 7, f32)
    labels = np.array([0, 2, 1, 0])
    with unchanged(grad):
        with pytest.raises(ValueError, match=r"target\[2\] = 3 is not a class index in \[0, 3\)"):
            F.loss_value_and_grad("cross_entropy", pred, np.array([0, 1, 3, 0]), grad)
        with pytest.raises(ValueError, match=r"target\[0\] = -1"):
            F.loss_value_and_grad("cross_entropy", pred, np.array([-1, 1, 1, 0]), grad)
        with pytest.raises(TypeError, match="target: expected an int64 array"):
            F.loss_value_and_grad("cross_entropy", pred, labels.astype(np.int32), grad)
        with pytest.raises(ValueError, match=r"target must have shape \(4,\)"):
            F.loss_value_and_grad("cross_entropy", pred, labels[:3], grad)
        with pytest.raises(ValueError, match="cross_entropy: pred must be 2-d"):
            F.loss_value_and_grad("cross_entropy", pred.reshape(-1), labels, grad.reshape(-1))
        with pytest.raises(ValueError, match=r"target must have pred's shape \(4, 3\)"):
            F.loss_value_and_grad("mse", pred, target.T.copy(), grad)
        with pytest.raises(TypeError, match="target: expected a float32 array"):
            F.loss_value_and_grad("mse", pred, target.astype(f64), grad)
        with pytest.raises(ValueError, match="huber: delta must be > 0"):
            F.loss_value_and_grad("huber", pred, target, grad, delta=0.0)
        with pytest.raises(ValueError, match="unknown loss 'nll'"):
            F.loss_value_and_grad("nll", pred, target, grad)
        with pytest.raises(ValueError, match="grad: the array is read-only"):
            F.loss_value_and_grad("mse", pred, target, read_only(grad))
        with pytest.raises(ValueError, match="grad overlaps pred"):
            F.loss_value_and_grad("mse", grad, target, grad)
        with pytest.raises(ValueError, match="pred must not be empty"):
            F.loss_value_and_grad("mae", np.zeros(0, f32), np.zeros(0, f32), np.zeros(0, f32))


def test_dropout():
    x, out = np.ones(10, f32), np.full(10, 7, f32)
    with unchanged(out):
        for p in (-0.1, 1.5, float("nan")):
            with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
                F.dropout_forward(x, p, 0, out=out)
        with pytest.raises(ValueError, match="seed must be an int"):
            F.dropout_forward(x, 0.5, -1, out=out)
        with pytest.raises(ValueError, match="out: the array is read-only"):
            F.dropout_forward(x, 0.5, 1, out=read_only(out))
        with pytest.raises(TypeError, match="out: expected a float64 array"):
            F.dropout_forward(x.astype(f64), 0.5, 1, out=out)


def test_nan_propagates():
    x = np.float32([[np.nan, 1.0], [2.0, 3.0]])
    for name in ("relu", "leaky_relu", "tanh", "sigmoid", "gelu"):
        assert np.isnan(F.activation_forward(name, x)[0, 0])
    value, grad = F.loss_value_and_grad("mse", x, np.zeros_like(x))
    assert np.isnan(value) and np.isnan(grad[0, 0]) and not np.isnan(grad[1, 1])
    value, grad = F.loss_value_and_grad("cross_entropy", x, np.array([1, 0]))
    assert np.isnan(value) and np.isnan(grad[0]).all() and not np.isnan(grad[1]).any()


def kernel_calls(dtype):
    """Every nn binding of _core, with good arguments: (binding, {argument: array}, call), the
    arguments named as the binding names them; call(arrays) runs the binding on them."""
    rng = np.random.default_rng(0)

    def r(*shape):
        return rng.standard_normal(shape).astype(dtype)

    return [
        ("gemm", dict(a=r(4, 3), b=r(3, 5), c=r(4, 5), bias=r(5)),
         lambda a: _core.gemm(a["a"], a["b"], a["c"], bias=a["bias"], activation="relu")),
        ("dense_forward", dict(out=r(4, 2), x=r(4, 3), weight=r(2, 3), bias=r(2)),
         lambda a: _core.dense_forward(a["out"], a["x"], a["weight"], a["bias"], "relu")),
        ("dense_backward", dict(dx=r(4, 3), dweight=r(2, 3), dbias=r(2), dy=r(4, 2), x=r(4, 3),
                                weight=r(2, 3), relu_output=r(4, 3)),
         lambda a: _core.dense_backward(a["dx"], a["dweight"], a["dbias"], a["dy"], a["x"],
                                        a["weight"], True, a["relu_output"])),
        ("activation_forward", dict(out=r(3, 5), x=r(3, 5)),
         lambda a: _core.activation_forward("gelu", a["out"], a["x"], 0.01)),
        ("activation_backward", dict(dx=r(3, 5), dy=r(3, 5), saved=r(3, 5)),
         lambda a: _core.activation_backward("gelu", a["dx"], a["dy"], a["saved"], 0.01)),
        ("approx", dict(out=r(7), x=r(7)), lambda a: _core.approx("erf", a["out"], a["x"])),
        ("loss", dict(grad=r(4, 3), pred=r(4, 3), target=r(4, 3)),
         lambda a: _core.loss("huber", a["grad"], a["pred"], a["target"], 1.0)),
        ("loss cross_entropy", dict(grad=r(4, 3), pred=r(4, 3), target=np.array([0, 2, 1, 0])),
         lambda a: _core.loss("cross_entropy", a["grad"], a["pred"], a["target"], 1.0)),
        ("dropout", dict(out=r(9), x=r(9)), lambda a: _core.dropout(a["out"], a["x"], 0.5, 3)),
        ("layernorm_forward", dict(out=r(4, 5), mean=r(4), rstd=r(4), x=r(4, 5), weight=r(5),
                                   bias=r(5)),
         lambda a: _core.layernorm_forward(a["out"], a["mean"], a["rstd"], a["x"], a["weight"],
                                           a["bias"], 1e-5)),
        ("layernorm_backward", dict(dx=r(4, 5), dweight=r(5), dbias=r(5), dy=r(4, 5), x=r(4, 5),
                                    mean=r(4), rstd=r(4), weight=r(5)),
         lambda a: _core.layernorm_backward(a["dx"], a["dweight"], a["dbias"], a["dy"], a["x"],
                                            a["mean"], a["rstd"], a["weight"], True)),
    ]


def misaligned(a):
    """A writable C-contiguous copy of a one byte past an aligned address."""
    m = np.frombuffer(bytearray(a.nbytes + 1), a.dtype, a.size, offset=1).reshape(a.shape)
    m[...] = a
    assert not m.flags.aligned and m.flags.writeable and m.flags.c_contiguous
    return m


def byteswapped(a):
    """a's values in the other byte order (big-endian here)."""
    return a.astype(a.dtype.newbyteorder("S"))


@pytest.mark.parametrize("dtype", [f32, f64])
def test_misaligned_refused(dtype):
    """Every binding refuses a misaligned array in every argument, by name, before writing."""
    for binding, arrays, call in kernel_calls(dtype):
        for name in arrays:
            args = arrays | {name: misaligned(arrays[name])}
            with unchanged(*args.values()), pytest.raises(
                    ValueError, match=rf"^{name}: expected an aligned array$"):
                call(args)


@pytest.mark.parametrize("dtype", [f32, f64])
def test_non_native_byte_order_refused(dtype):
    """A big-endian array (equal values, other bytes) is refused by name, not compared equal to
    the native dtype."""
    for binding, arrays, call in kernel_calls(dtype):
        for name in arrays:
            args = arrays | {name: byteswapped(arrays[name])}
            want = args[name].dtype.newbyteorder("=").name
            with unchanged(*args.values()), pytest.raises(
                    TypeError, match=rf"^{name}: expected an? {want} array in native byte order, "
                                     rf"got >[fi]\d$"):
                call(args)


def test_sum_squares_refuses_misaligned_and_byteswapped():
    good = np.ones(10, f32)
    with pytest.raises(ValueError, match=r"^arrays\[1\]: expected an aligned array$"):
        _core.sum_squares([good, misaligned(good)])
    with pytest.raises(TypeError, match=r"^arrays\[0\]: expected a float32 or float64 array in "
                                        r"native byte order, got >f4$"):
        _core.sum_squares([byteswapped(good)])
    with pytest.raises(TypeError, match=r"^arrays\[1\]: expected a float64 array in native "
                                        r"byte order, got >f8$"):
        _core.sum_squares([good.astype(f64), byteswapped(good.astype(f64))])


def unpickled(a):
    return pickle.loads(pickle.dumps(a))


def with_copied_dtype(a):
    """a's values in a new array whose dtype is a deep copy of a's: equal, another object."""
    out = np.empty(a.shape, copy.deepcopy(a.dtype))
    out[...] = a
    return out


@pytest.mark.parametrize("copier", [unpickled, with_copied_dtype])
@pytest.mark.parametrize("dtype", [f32, f64])
def test_dtype_compared_by_value(dtype, copier):
    """Arrays whose dtype is another object equal to the native one (as after pickle or
    deepcopy) are accepted by every binding, with bitwise the result of the originals."""
    for binding, arrays, call in kernel_calls(dtype):
        copies = {name: copier(a) for name, a in arrays.items()}
        assert all(c.dtype is not np.dtype(c.dtype.name) for c in copies.values())
        want = call(arrays)
        assert call(copies) == want, binding
        for name in arrays:
            assert copies[name].tobytes() == arrays[name].tobytes(), (binding, name)
