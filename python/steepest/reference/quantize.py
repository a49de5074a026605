"""NumPy oracle of blockwise 8-bit state (csrc/include/steepest/optim/precision.h): Dettmers'
dynamic maps, the quantizer (absmax per block of 256, nearest code, ties to the smaller
magnitude) and its inverse, and the packed array the optimizers keep (the blocks' float32
absmax, then one byte per element)."""

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


def midpoints(signed):
    m = magnitudes(signed).astype(np.float64)
    return ((m[:-1] + m[1:]) / 2).astype(np.float32)


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
    a = np.abs(y) if signed else np.maximum(y, np.float32(0))
    a = np.minimum(a, np.float32(1))
    j = np.searchsorted(midpoints(signed), a.ravel(), side="left").reshape(a.shape)
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
