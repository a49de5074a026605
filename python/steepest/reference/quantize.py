"""NumPy oracle of blockwise 8-bit state (csrc/include/steepest/optim/precision.h): Dettmers'
dynamic maps, the quantizer (absmax per block of 256, the nearest code found by arithmetic,
float32 rounding as the C++ kernels round) and its inverse, and the packed array the optimizers
keep (the blocks' float32 absmax, then one byte per element)."""

import math

import numpy as np

BLOCK = 256


def magnitudes(signed):
    """M_0 = 0 < ... < 1 as float32: for each decade d = 0..6 the means of n_d equal parts of
    [0.1, 1] 10^(d-6), n_d = 2^d (signed) or 2^(d+1) (unsigned)."""
    m = [0.0]
    for d in range(7):
        n = 2**d if signed else 2 ** (d + 1)
        scale = math.pow(10.0, d - 6)
        for k in range(n):
            lo, hi = 0.1 + 0.9 * k / n, 0.1 + 0.9 * (k + 1) / n
            m.append((lo + hi) / 2 * scale)
    m.append(1.0)
    return np.array(m, dtype=np.float32)


def codes(signed):
    """The float32 value of each of the 256 bytes."""
    m = magnitudes(signed)
    if not signed:
        return m
    return np.concatenate([-m[1:128][::-1], m]).astype(np.float32)


def _decades(signed):
    """(n, base) of each decade d = 0..6: its code count and its first magnitude's index."""
    n = [2**d if signed else 2 ** (d + 1) for d in range(7)]
    return n, [1 + sum(n[:d]) for d in range(7)]


def thresholds(signed):
    """T_0..T_7: the midpoints below each decade's first magnitude and below 1, float32."""
    m = magnitudes(signed).astype(np.float64)
    _, base = _decades(signed)
    below = [b - 1 for b in base] + [m.size - 2]
    return np.array([(m[j] + m[j + 1]) / 2 for j in below], dtype=np.float32)


def magnitude_index(a, signed):
    """The index j of each a >= 0 (float32): D = #{i: T_i < a}, j = trunc(min(a S_D + B_D,
    H_D)) in float32, each operation rounded (precision.h)."""
    n, base = _decades(signed)
    top = float(magnitudes(signed).size - 1)
    scale = np.array([0] + [k / (0.9 * math.pow(10.0, d - 6)) for d, k in enumerate(n)] + [0],
                     dtype=np.float32)
    offset = np.array([0] + [b - k / 9.0 for b, k in zip(base, n)] + [top], dtype=np.float32)
    high = np.array([0] + [b + k - 0.5 for b, k in zip(base, n)] + [top], dtype=np.float32)
    a = np.asarray(a, dtype=np.float32)
    D = np.searchsorted(thresholds(signed), a, side="left")
    t = (a * scale[D]).astype(np.float32) + offset[D]
    return np.trunc(np.minimum(t.astype(np.float32), high[D])).astype(np.int64)


def quantize(x, signed):
    """(bytes, absmax) of float32 ``x``: one absmax per block of 256 (NaN for a block with a
    non-finite value, whose bytes are then the zero code)."""
    x = np.ascontiguousarray(x, dtype=np.float32).ravel()
    n = x.size
    blocks = -(-n // BLOCK)
    padded = np.zeros(blocks * BLOCK, dtype=np.float32)
    padded[:n] = x
    padded = padded.reshape(blocks, BLOCK)
    with np.errstate(invalid="ignore"):
        absmax = np.abs(padded).max(axis=1)
    bad = ~np.isfinite(padded).all(axis=1)
    absmax[bad] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(absmax > 0, np.float32(1) / absmax, np.float32(0)).astype(np.float32)
        y = (padded * r[:, None]).astype(np.float32)
    a = np.nan_to_num(np.abs(y) if signed else np.maximum(y, np.float32(0)))  # NaN: reset below
    j = magnitude_index(a, signed)
    if signed:
        q = np.where(y < 0, 127 - np.minimum(j, 127), 127 + j)
    else:
        q = j
    q[bad] = 127 if signed else 0
    return q.astype(np.uint8).ravel()[:n], absmax.astype(np.float32)


def dequantize(q, absmax, signed):
    """float32 values of bytes ``q`` with their blocks' ``absmax``."""
    q = np.asarray(q, dtype=np.uint8).ravel()
    scale = np.repeat(np.asarray(absmax, dtype=np.float32), BLOCK)[: q.size]
    return (codes(signed)[q] * scale).astype(np.float32)


def packed_size(n):
    return 4 * -(-n // BLOCK) + n


def pack(q, absmax):
    """The optimizer's uint8 array: absmax (float32 bytes), then the codes."""
    return np.concatenate([np.asarray(absmax, dtype=np.float32).view(np.uint8),
                           np.asarray(q, dtype=np.uint8).ravel()])


def unpack(packed, n):
    """(bytes, absmax) of a packed array of a state of n elements."""
    packed = np.asarray(packed, dtype=np.uint8)
    head = packed.size - n
    return packed[head:], packed[:head].copy().view(np.float32)


def roundtrip(x, signed):
    """float32 ``x`` as it comes back from 8-bit state (the shape kept)."""
    q, absmax = quantize(x, signed)
    return dequantize(q, absmax, signed).reshape(np.shape(x))
