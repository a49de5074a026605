"""NumPy oracles of the 16-bit storage conversions (csrc/include/steepest/optim/precision.h):
bfloat16 and float16 rounding of float32 values, to nearest even or stochastically with the same
counter-based draws as the C++ kernels. Formats are named "bfloat16" and "float16"; 16-bit
values are handled as their uint16 bits."""

import numpy as np

_M64 = (1 << 64) - 1


def _splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def stochastic_key(seed, step, k):
    """The key of parameter k's draws at step ``step`` (the optimizer's count of steps taken
    before this one) of a run seeded with ``seed``."""
    return _splitmix64(seed ^ _splitmix64((step & _M64) ^ _splitmix64(k))) & 0xFFFFFFFF


def _fmix32(x):
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x85EBCA6B)
    x = x ^ (x >> np.uint32(13))
    x = x * np.uint32(0xC2B2AE35)
    return x ^ (x >> np.uint32(16))


def draws(key, first, n):
    """The uniform draws u in [0, 1) (multiples of 2^-24) of elements first .. first + n - 1."""
    index = np.arange(first, first + n, dtype=np.uint64)
    lo = (index & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    hi = (index >> np.uint64(32)).astype(np.uint32)
    with np.errstate(over="ignore"):
        r = _fmix32(np.uint32(key) + np.uint32(0x9E3779B9) * lo + np.uint32(0x7F4A7C15) * hi)
    return (r >> np.uint32(8)).astype(np.float32) * np.float32(2.0**-24)


def widen(bits, fmt):
    """float32 values of 16-bit ``bits`` of format ``fmt``."""
    bits = np.asarray(bits, dtype=np.uint16)
    if fmt == "float16":
        return bits.view(np.float16).astype(np.float32)
    return (bits.astype(np.uint32) << np.uint32(16)).view(np.float32)


def nearest(x, fmt):
    """float32 ``x`` rounded to nearest even in ``fmt``, as uint16 bits. A NaN stays a NaN."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if fmt == "float16":
        with np.errstate(over="ignore"):
            return x.astype(np.float16).view(np.uint16)
    b = x.view(np.uint32)
    with np.errstate(over="ignore"):
        rounded = (b + np.uint32(0x7FFF) + ((b >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)
    nan = (b >> np.uint32(16)) | np.uint32(0x0040)
    return np.where((b & np.uint32(0x7FFFFFFF)) > np.uint32(0x7F800000), nan,
                    rounded).astype(np.uint16)


def stochastic(x, fmt, key, first=0):
    """float32 ``x`` (its elements in C order are first, first + 1, ...) rounded stochastically
    in ``fmt`` with the draws of ``key``: to d (x rounded toward zero) or the next value away
    from zero, with probability (|x| - |d|) / ulp(d) of the latter. NaN and infinities round to
    nearest. Returns bits of x's shape."""
    shape = np.shape(x)
    x = np.ascontiguousarray(x, dtype=np.float32).ravel()
    q = nearest(x, fmt)
    toward_zero = np.abs(widen(q, fmt)) > np.abs(x)
    d = np.where(toward_zero, q - np.uint16(1), q).astype(np.uint16)
    lo = np.abs(widen(d, fmt))
    ulp = np.abs(widen(d | np.uint16(1), fmt)) - np.abs(widen(d & np.uint16(0xFFFE), fmt))
    with np.errstate(invalid="ignore"):
        p = (np.abs(x) - lo) / ulp
        up = draws(key, first, x.size) < p
    return np.where(np.isnan(x), q, d + up.astype(np.uint16)).astype(np.uint16).reshape(shape)
