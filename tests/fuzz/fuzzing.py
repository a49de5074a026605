"""What the fuzz tests of the bindings share: their budget, the array layouts they generate, the
contract's model of a valid array, bitwise snapshots and the oracle.

The oracle of every fuzz test: a call either raises a clean TypeError/ValueError (FloatingPointError
for nonfinite="raise") and leaves EVERY array involved bitwise unchanged (and the memory around
it: each array's whole buffer is compared), or succeeds with results bitwise equal to the same call
on clean copies (C-contiguous, aligned, native-order, canonical-dtype copies of the same values).
Each test also models the input contract: where the model says the input is valid the call must
succeed, where it says invalid the call must raise; where the model cannot tell (odd
hyperparameters) either outcome passes, as long as it passes the oracle.

Budget: a few seconds per test in CI (derandomized, so CI is reproducible);
``STEEPEST_FUZZ_EXAMPLES=20000 python -m pytest tests/fuzz`` runs a long campaign on demand.
"""

import os
import pickle

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

# Examples per test: the CI budget unless STEEPEST_FUZZ_EXAMPLES asks for more.
LONG_BUDGET = int(os.environ.get("STEEPEST_FUZZ_EXAMPLES", "0"))


def fuzz_test(ci_examples):
    """Makes ``test(..., data)`` a hypothesis test drawing from ``data`` (st.data()):
    ``ci_examples`` examples (STEEPEST_FUZZ_EXAMPLES overrides), the same ones every run
    (derandomize), no time limit per example, no shrinking (a failure prints every draw of its
    case; shrinking one takes minutes on a busy machine)."""
    fuzz_settings = settings(
        max_examples=LONG_BUDGET or ci_examples, deadline=None, derandomize=True, database=None,
        print_blob=True, phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.filter_too_much])
    return lambda test: fuzz_settings(given(data=st.data())(test))


def draw_rng(data):
    """A NumPy generator seeded from ``data`` (the values of a case's arrays come from it)."""
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))


# ---------------------------------------------------------------------------------------------
# Layouts: the same values (a C-contiguous float array) arranged in memory another way.

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
# Layouts an argument can take; those after "clean" are the fuzzer's variations.
LAYOUTS = ("clean", "readonly", "subview", "misaligned", "strided", "transposed", "reversed",
           "zero_stride", "broadcast", "bigendian", "unpickled", "other_dtype", "wrong_shape",
           "not_an_array")
OTHER_DTYPES = ("float16", "float32", "float64", "int32", "int64", "uint8", "bool", "complex64",
                "complex128", "object", ">f4", ">f8")


def layouts(weight_clean):
    """A strategy for a layout: "clean" with weight ``weight_clean`` against 1 for each of
    LAYOUTS (below 5: "clean" half the time)."""
    return st.one_of(st.just("clean"), st.sampled_from(LAYOUTS)) if weight_clean < 5 else \
        st.sampled_from(("clean",) * weight_clean + LAYOUTS)


def arrange(values, layout, rng):
    """``values`` (C-contiguous, canonical dtype) in ``layout``; some layouts change the values
    (zero_stride, broadcast repeat one element; other_dtype converts; wrong_shape adds or drops
    elements), which is fine: the clean copy is made from what the array holds."""
    v = values
    if layout == "clean":
        return v.copy()
    if layout == "readonly":
        a = v.copy()
        a.flags.writeable = False
        return a
    if layout == "subview":  # contiguous and aligned, inside a larger buffer: valid
        big = rng.standard_normal(v.size + 5).astype(v.dtype)
        a = big[2:2 + v.size].reshape(v.shape)
        a[...] = v
        return a
    if layout == "misaligned":  # np.frombuffer(bytearray(n * itemsize + 1), dtype, n, offset=1)
        buf = bytearray(v.nbytes + 1)
        a = np.frombuffer(buf, v.dtype, v.size, offset=1).reshape(v.shape)
        a[...] = v
        return a
    if layout == "strided":
        big = np.zeros(2 * v.size, v.dtype)
        a = big[::2].reshape(v.shape)
        a[...] = v
        return a
    if layout == "transposed":
        return np.array(v.T, order="C").T
    if layout == "reversed":  # negative strides
        return v.ravel()[::-1].copy()[::-1].reshape(v.shape)
    if layout == "zero_stride":  # a writable view repeating one element
        one = np.zeros(1, v.dtype) if v.size == 0 else v.ravel()[:1].copy()
        return np.lib.stride_tricks.as_strided(one, v.shape, (0,) * v.ndim, writeable=True)
    if layout == "broadcast":  # np.broadcast_to: read-only, zero strides
        one = np.zeros((), v.dtype) if v.size == 0 else v.ravel()[0]
        return np.broadcast_to(one, v.shape)
    if layout == "bigendian":
        return v.astype(v.dtype.newbyteorder(">"))
    if layout == "unpickled":  # equal dtype, another dtype object
        return pickle.loads(pickle.dumps(v))
    if layout == "other_dtype":
        with np.errstate(invalid="ignore", over="ignore"):  # NaN or inf to an integer dtype
            return v.astype(OTHER_DTYPES[rng.integers(len(OTHER_DTYPES))])
    if layout == "wrong_shape":
        kind = rng.integers(4)
        if kind == 0:  # one more element
            return np.append(v.ravel(), v.dtype.type(0.5))
        if kind == 1:  # the same elements, another shape
            return v.reshape(v.shape + (1,))
        if kind == 2:  # empty
            return np.zeros((0,) + v.shape[1:], v.dtype)
        return v.reshape(-1)[:-1] if v.size else np.zeros(1, v.dtype)
    if layout == "not_an_array":
        return [v.tolist(), 1.0, "x", None, {"a": 1}][rng.integers(5)]
    raise AssertionError(layout)


def canonical(a):
    """The canonical dtype object equal to ``a``'s, or None when ``a`` is not a native float32 /
    float64 / int64 array."""
    for d in FLOATS + (np.dtype(np.int64),):
        if isinstance(a, np.ndarray) and a.dtype == d and a.dtype.isnative:
            return d
    return None


def is_float_array(a):
    """A native float32/float64 ndarray (the dtype compared by value)."""
    return canonical(a) is not None and canonical(a) != np.dtype(np.int64)


def problems(a, want_dtype=None, want_shape=None, written=False, aligned_required=True):
    """Why ``a`` breaks the binding contract, or an empty list. ``want_dtype`` None: any native
    float32/float64; otherwise that dtype (by value)."""
    if not isinstance(a, np.ndarray):
        return ["not an ndarray"]
    out = []
    d = canonical(a)
    if d is None or (want_dtype is None and not is_float_array(a)) or (
            want_dtype is not None and d != want_dtype):
        out.append(f"dtype {a.dtype}")
    if want_shape is not None and tuple(a.shape) != tuple(want_shape):
        out.append(f"shape {a.shape}")
    if not a.flags.c_contiguous:
        out.append("not C-contiguous")
    if aligned_required and not a.flags.aligned:
        out.append("misaligned")
    if written and not a.flags.writeable:
        out.append("read-only")
    return out


def byte_range(a):
    """[lo, hi) of a C-contiguous array's bytes; None when it is empty."""
    if a.size == 0:
        return None
    lo = a.__array_interface__["data"][0]
    return lo, lo + a.nbytes


def overlaps(arrays):
    """Pairs (name, name) where an array written shares bytes with another array of the call;
    ``arrays`` are (name, array, written); only C-contiguous arrays are compared (the bindings
    refuse the others before they look for overlaps)."""
    found = []
    ranges = [(n, byte_range(a), w) for n, a, w in arrays
              if isinstance(a, np.ndarray) and a.flags.c_contiguous]
    ranges = [r for r in ranges if r[1] is not None]
    for i, (n1, r1, w1) in enumerate(ranges):
        for n2, r2, w2 in ranges[i + 1:]:
            if (w1 or w2) and r1[0] < r2[1] and r2[0] < r1[1]:
                found.append((n1, n2))
    return found


def clean(a):
    """A C-contiguous, aligned, native-order copy of ``a`` with the canonical dtype object."""
    return np.array(a, dtype=canonical(a), order="C", copy=True)


# ---------------------------------------------------------------------------------------------
# Bitwise snapshots

def _root(a):
    """The object owning ``a``'s memory: the base ndarray, or the buffer (bytearray)."""
    while isinstance(a, np.ndarray) and a.base is not None:
        a = a.base
    return a


def _bytes(obj):
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            return repr(obj.tolist())
        return obj.tobytes()
    if isinstance(obj, (bytearray, bytes, memoryview)):
        return bytes(obj)
    return repr(obj)


class Snapshot:
    """The bytes of every array given (its values in C order) and of the buffer it lives in."""

    def __init__(self, arrays):
        self.items = []
        seen = set()
        for a in arrays:
            if not isinstance(a, np.ndarray):
                continue
            for obj in (a, _root(a)):
                if id(obj) not in seen:
                    seen.add(id(obj))
                    self.items.append((obj, _bytes(obj)))

    def changed(self):
        """The arrays whose bytes differ now (their reprs, for the message)."""
        return [_describe(obj) for obj, before in self.items if _bytes(obj) != before]


def _describe(obj):
    if isinstance(obj, np.ndarray):
        return f"array dtype={obj.dtype} shape={obj.shape} strides={obj.strides}"
    return f"{type(obj).__name__} of {len(obj)} bytes"


def same_bits(a, b):
    """Bitwise equality of two arrays of one dtype and shape (NaN payloads and -0.0 included)."""
    return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
            and a.shape == b.shape and a.tobytes() == b.tobytes())


def draw_values(rng, shape, dtype, specials):
    """Normal values; with ``specials``, some NaN, +-inf, huge, subnormal and -0.0 among them."""
    v = np.asarray(rng.standard_normal(shape), dtype)
    if specials and v.size:
        with np.errstate(over="ignore"):  # float16: the huge values become inf, as meant
            pool = np.array([np.nan, np.inf, -np.inf, 3e19, -1e30, 1e-40, -0.0, 0.0,
                             np.finfo(dtype).max], dtype)
        mask = rng.random(v.shape) < 0.3
        v[mask] = rng.choice(pool, size=int(mask.sum()))
    return v



# ---------------------------------------------------------------------------------------------
# The oracle

def check_call(call, arrays, verdict, allowed, compare, kept=None):
    """What breaks the contract when ``call()`` runs on ``arrays``, as a list of messages.

    ``verdict`` is the model's: "ok" (the call must succeed), "error" (it must raise one of
    ``allowed``) or "either". A refusal must leave every array (and the buffer it lives in)
    bitwise unchanged, and ``kept()``'s value too when given (a pair (what, function)); a
    success is held to ``compare(result)``: its differences from the same call on clean
    copies."""
    snap = Snapshot(arrays)
    if kept is not None:
        what, value = kept
        kept_before = value()
    found = []
    try:
        result = call()
    except allowed as e:
        if snap.changed():
            found.append(f"{type(e).__name__}({e}) changed {snap.changed()}")
        if kept is not None and value() != kept_before:
            found.append(f"{type(e).__name__}({e}) changed {what}")
        if verdict == "ok":
            found.append(f"valid input refused: {type(e).__name__}: {e}")
    except Exception as e:  # noqa: BLE001 - the contract allows none other
        found.append(f"{type(e).__name__} outside the contract: {e}")
    else:
        if verdict == "error":
            found.append(f"invalid input accepted (returned {result!r})")
        else:
            found += compare(result)
    return found
