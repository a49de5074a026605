"""Property-based fuzzing of the nn kernels' bindings (steepest._core, as steepest.nn and
steepest.nn.functional call them): gemm, dense_forward, dense_backward, activation_forward,
activation_backward, approx, loss and dropout.

Each example draws a kernel, its sizes (empty ones included) and dtype, builds valid arguments,
then perturbs some: array layouts (read-only, misaligned, strided, transposed, negative and zero
strides, big-endian, unpickled dtype objects, other dtypes, wrong shapes, non-arrays), aliasing
(an output that is an input, or overlaps one in the same buffer), values (NaN, infinities, huge)
and the scalar arguments (names, slopes, deltas, probabilities, seeds, flags: odd values and
wrong types). The oracle (fuzzing.py): a TypeError/ValueError with every array unchanged, or the
same outputs, bit for bit, as the call on clean copies; the contract's model says which.
"""

import math

import numpy as np
from hypothesis import strategies as st

from fuzzing import (FLOATS, arrange, canonical, check_call, clean, draw_rng, draw_values,
                     fuzz_test, layouts, overlaps, problems, same_bits)
from steepest import _core

I64 = np.dtype(np.int64)
DIMS = st.sampled_from([1, 1, 2, 3, 5, 17, 0])
ODD_FLOATS = [-1.0, -0.0, math.nan, math.inf, -math.inf, 1e300, 10**400, 2, np.float32(0.25),
              "0.1", None, [0.1], complex(1, 0)]
ODD_FLAGS = [0, 1, 2, "yes", None, np.bool_(True), np.array([1, 0]), math.nan]
ODD_NAMES = ["", "RELU", "relu ", None, 3, b"relu"]


class Spec:
    """One call: arrays by name (in argument order) with what the contract wants of each,
    scalars, the binding, and the model's verdict on the scalars alone."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.arrays = {}  # name -> (value, written, dtype wanted: None for the call's T)
        self.scalars = {}
        self.errors, self.eithers = [], []
        self.first = None  # the argument whose dtype chooses float32 or float64

    def array(self, name, value, written=False, want=None):
        self.arrays[name] = (value, written, want)
        if self.first is None and want is None and not written:
            self.first = name


def draw_spec(data, rng):
    kernel = data.draw(st.sampled_from(["gemm", "dense_forward", "dense_backward",
                                        "activation_forward", "activation_backward", "approx",
                                        "loss", "dropout"]), label="kernel")
    dtype = data.draw(st.sampled_from(FLOATS), label="dtype")
    specials = data.draw(st.integers(0, 3), label="specials") == 0

    def v(*shape):
        return draw_values(rng, shape, dtype, specials)

    s = Spec(kernel)
    if kernel == "gemm":
        m, n, k = (data.draw(DIMS) for _ in range(3))
        ta, tb = data.draw(st.booleans()), data.draw(st.booleans())
        s.scalars.update(trans_a=ta, trans_b=tb, accumulate=data.draw(st.booleans()),
                         activation=data.draw(st.sampled_from(["none", "relu"])))
        s.array("c", v(m, n), written=True)
        s.first = "c"  # gemm's dtype follows c
        s.array("a", v(k, m) if ta else v(m, k))
        s.array("b", v(n, k) if tb else v(k, n))
        if data.draw(st.booleans()):
            s.array("bias", v(n))
    elif kernel == "dense_forward":
        b, i, o = (data.draw(DIMS) for _ in range(3))
        s.scalars["activation"] = data.draw(st.sampled_from(["none", "relu"]))
        s.array("x", v(b, i))
        s.array("weight", v(o, i))
        s.array("out", v(b, o), written=True)
        if data.draw(st.booleans()):
            s.array("bias", v(o))
    elif kernel == "dense_backward":
        b, i, o = (data.draw(DIMS) for _ in range(3))
        s.scalars["accumulate"] = data.draw(st.booleans())
        s.array("x", v(b, i))
        s.array("dy", v(b, o))
        s.array("weight", v(o, i))
        s.array("dweight", v(o, i), written=True)
        with_dx = data.draw(st.booleans())
        if with_dx:
            s.array("dx", v(b, i), written=True)
            if data.draw(st.booleans()):
                s.array("relu_output", v(b, i))
        if data.draw(st.booleans()):
            s.array("dbias", v(o), written=True)
    elif kernel in ("activation_forward", "activation_backward", "approx", "dropout"):
        shape = tuple(data.draw(DIMS) for _ in range(data.draw(st.integers(0, 3))))
        if kernel == "activation_forward":
            name = data.draw(st.sampled_from(["relu", "leaky_relu", "tanh", "sigmoid", "gelu",
                                              "gelu_tanh"]))
            s.scalars.update(name=name, negative_slope=data.draw(st.sampled_from([0.01, 0.2, -1.0])))
            s.array("x", v(*shape))
            s.array("out", v(*shape), written=True)
        elif kernel == "activation_backward":
            name = data.draw(st.sampled_from(["relu", "leaky_relu", "tanh", "sigmoid", "gelu",
                                              "gelu_tanh"]))
            s.scalars.update(name=name, negative_slope=0.01)
            s.array("dy", v(*shape))
            s.array("saved", v(*shape))
            s.array("dx", v(*shape), written=True)
        elif kernel == "approx":
            s.scalars["name"] = data.draw(st.sampled_from(["exp", "tanh", "erf"]))
            s.array("x", v(*shape))
            s.array("out", v(*shape), written=True)
        else:
            s.scalars.update(p=data.draw(st.sampled_from([0.0, 0.3, 0.5, 1.0])),
                             seed=data.draw(st.sampled_from([0, 1, 2**64 - 1])))
            s.array("x", v(*shape))
            s.array("out", v(*shape), written=True)
    else:  # loss
        name = data.draw(st.sampled_from(["mse", "mae", "huber", "bce_with_logits",
                                          "cross_entropy"]))
        s.scalars.update(name=name, delta=data.draw(st.sampled_from([1.0, 0.5])))
        if name == "cross_entropy":
            b, c = data.draw(DIMS), data.draw(DIMS)
            s.array("pred", v(b, c))
            labels = rng.integers(0, max(c, 1), size=b).astype(np.int64)
            if b and data.draw(st.integers(0, 5), label="bad label") == 0:
                labels[rng.integers(b)] = data.draw(st.sampled_from([-1, c, 2**62]))
            s.array("target", labels, want=I64)
        else:
            shape = tuple(data.draw(DIMS) for _ in range(data.draw(st.integers(1, 3))))
            s.array("pred", v(*shape))
            target = v(*shape)
            if name == "bce_with_logits":
                target = rng.random(shape).astype(dtype)
            s.array("target", target)
        if data.draw(st.booleans()):
            s.array("grad", v(*s.arrays["pred"][0].shape), written=True)
    return s


def shape_errors(s, args):
    """The binding's shape rules, applied to the arrays as they are (a perturbed shape may still
    be consistent with the others)."""
    shape = {n: a.shape for n, a in args.items() if isinstance(a, np.ndarray)}
    if len(shape) < len(args):
        return ["not an ndarray"]
    errors = []

    def want(name, expected):
        if name in shape and shape[name] != tuple(expected):
            errors.append(f"{name}: shape {shape[name]}, expected {tuple(expected)}")

    matrices = {"gemm": ("a", "b", "c"), "dense_forward": ("x", "weight", "out"),
                "dense_backward": ("x", "dy", "weight", "dweight", "dx", "relu_output")}
    if s.kernel in matrices:
        flat = [n for n in matrices[s.kernel] if n in shape and len(shape[n]) != 2]
        if flat:
            return [f"{n}: not 2-d" for n in flat]
    if s.kernel == "gemm":
        if not all(isinstance(s.scalars[t], bool) for t in ("trans_a", "trans_b")):
            return []  # an odd flag: the shapes it implies are unknown (s.eithers names it)
        a, b = shape["a"], shape["b"]
        m, k = a[::-1] if s.scalars["trans_a"] else a
        kb, n = b[::-1] if s.scalars["trans_b"] else b
        if kb != k:
            errors.append("gemm: inner sizes differ")
        want("c", (m, n))
        want("bias", (n,))
    elif s.kernel in ("dense_forward", "dense_backward"):
        (batch, inputs), out = shape["x"], shape["weight"][0]
        if min(batch, inputs, out) < 1:
            errors.append("empty dense")
        want("weight", (out, inputs))
        for name, expected in [("out", (batch, out)), ("dy", (batch, out)),
                               ("dweight", (out, inputs)), ("dx", (batch, inputs)),
                               ("relu_output", (batch, inputs)), ("dbias", (out,))]:
            want(name, expected)
    elif s.kernel == "loss":
        pred = shape["pred"]
        if s.scalars["name"] == "cross_entropy":
            if len(pred) != 2:
                return ["pred: not 2-d"]
            want("target", pred[:1])
            labels = args["target"]
            if labels.shape == pred[:1] and labels.dtype == I64 and labels.size and (
                    labels.min() < 0 or labels.max() >= pred[1]):
                errors.append("target: a label out of range")
        else:
            want("target", pred)
        want("grad", pred)
        if math.prod(pred) == 0:
            errors.append("empty pred")
    else:
        first = shape[s.first]
        for name in shape:
            want(name, first)
    return errors


def odd_scalars(data, s):
    """Replace a scalar argument by an odd value (the model cannot tell every outcome)."""
    if not s.scalars or data.draw(st.integers(0, 4), label="odd scalar") != 0:
        return
    key = data.draw(st.sampled_from(sorted(s.scalars)))
    old = s.scalars[key]
    if key in ("name", "activation"):
        s.scalars[key] = data.draw(st.sampled_from(ODD_NAMES))
    elif isinstance(old, bool):
        s.scalars[key] = data.draw(st.sampled_from(ODD_FLAGS))
    elif key == "seed":
        s.scalars[key] = data.draw(st.sampled_from([-1, 2**64, 1.5, "1", None, np.uint64(5)]))
    else:
        s.scalars[key] = data.draw(st.sampled_from(ODD_FLOATS))
    s.eithers.append(f"{key}={s.scalars[key]!r}")


def call(s, arrays):
    """The binding on ``arrays`` (name -> array or None) and s.scalars."""
    a, k = arrays.get, s.scalars
    if s.kernel == "gemm":
        return _core.gemm(a("a"), a("b"), a("c"), k["trans_a"], k["trans_b"], k["accumulate"],
                          a("bias"), k["activation"])
    if s.kernel == "dense_forward":
        return _core.dense_forward(a("out"), a("x"), a("weight"), a("bias"), k["activation"])
    if s.kernel == "dense_backward":
        return _core.dense_backward(a("dx"), a("dweight"), a("dbias"), a("dy"), a("x"),
                                    a("weight"), k["accumulate"], a("relu_output"))
    if s.kernel == "activation_forward":
        return _core.activation_forward(k["name"], a("out"), a("x"), k["negative_slope"])
    if s.kernel == "activation_backward":
        return _core.activation_backward(k["name"], a("dx"), a("dy"), a("saved"),
                                         k["negative_slope"])
    if s.kernel == "approx":
        return _core.approx(k["name"], a("out"), a("x"))
    if s.kernel == "loss":
        return _core.loss(k["name"], a("grad"), a("pred"), a("target"), k["delta"])
    return _core.dropout(a("out"), a("x"), k["p"], k["seed"])


@fuzz_test(ci_examples=400)
def test_fuzz_nn_kernels(data):
    rng = draw_rng(data)
    s = draw_spec(data, rng)
    odd_scalars(data, s)
    names = list(s.arrays)
    args = {}
    for name in names:
        value, written, want = s.arrays[name]
        layout = data.draw(layouts(12), label=f"{name} layout")
        if want is I64 and layout == "wrong_shape":
            layout = "clean"
        args[name] = arrange(value, layout, rng)
    # aliasing: an output that is an input, or a view overlapping one in a shared buffer
    outputs = [n for n in names if s.arrays[n][1]]
    if outputs and data.draw(st.integers(0, 5), label="alias") == 0:
        out = data.draw(st.sampled_from(outputs))
        other = data.draw(st.sampled_from([n for n in names if n != out]))
        src = args[other]
        if isinstance(src, np.ndarray) and src.size and data.draw(st.booleans()):
            args[out] = src  # the same array
        elif isinstance(src, np.ndarray) and src.flags.c_contiguous and src.size > 1:
            buf = np.zeros(src.size + args[out].size + 1, src.dtype) if isinstance(
                args[out], np.ndarray) else None
            if buf is not None:  # src and out as overlapping views of one buffer
                src_view = buf[:src.size].reshape(src.shape)
                src_view[...] = src
                n_out = args[out].size
                args[other] = src_view
                args[out] = buf[1:1 + n_out].reshape(args[out].shape)

    # -- the model
    first = args.get(s.first)
    double = isinstance(first, np.ndarray) and first.dtype == FLOATS[1]
    T = FLOATS[1] if double else FLOATS[0]
    for name in names:
        a, (_, written, want) = args[name], s.arrays[name]
        s.errors += [f"{name}: {w}" for w in problems(a, want or T, None, written)]
    s.errors += shape_errors(s, args)
    if not s.errors:
        s.errors += [f"{x} overlaps {y}" for x, y in
                     overlaps([(n, args[n], s.arrays[n][1]) for n in names])]
    verdict = "error" if s.errors else "either" if s.eithers else "ok"
    before = {n: clean(a) if canonical(a) is not None else None for n, a in args.items()}

    def compare(result):
        """The outputs against the same call's on clean copies."""
        twin = {n: before[n] for n in names}
        try:
            twin_result = call(s, twin)
        except Exception as e:  # noqa: BLE001 - reported
            return [f"the clean copies raised {type(e).__name__}: {e}"]
        diffs = []
        if np.float64(result if result is not None else 0).tobytes() != \
                np.float64(twin_result if twin_result is not None else 0).tobytes():
            diffs.append(f"returned {result!r}, clean copies {twin_result!r}")
        for n in names:
            if s.arrays[n][1] and not same_bits(clean(args[n]), twin[n]):
                diffs.append(f"{n} differs from the clean call's")
        return diffs

    found = check_call(lambda: call(s, args), list(args.values()), verdict,
                       (TypeError, ValueError), compare)
    if found:
        raise AssertionError(f"{s.kernel}: {'; '.join(found)}\n  scalars={s.scalars} "
                             f"errors={s.errors} eithers={s.eithers}")
