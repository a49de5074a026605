"""Large arrays for memory-bound timing, each beginning at its own offset.

A fresh process maps large arrays one below the other, each a page more than its size from the
last, so arrays of one size begin at nearly the same offsets; a loop streaming through several of
them then gets a fraction of the memory's bandwidth (on the machine of benchmarks/results, AdamW's
four streams at 32M elements: 19 GB/s, against 51 GB/s for the same loop over arrays placed
apart). The optimizers place their own large state arrays apart (csrc/bindings/check.cpp,
state_array); the benchmarks place the params, grads and ceiling arrays they make apart too, so
that what they time is the kernels and the memory, not a coincidence of offsets.
"""

import numpy as np

# Array k of a timing begins (FIRST_SLOT + k + 1) steps into an allocation of its own: 64 KiB and
# a page apart, offsets that the state arrays (slots 0-4, from one step in) do not take.
STEP = (64 << 10) + 4096
FIRST_SLOT = 8


def _room(count, dtype, k):
    """An uninitialised array of ``count`` elements of ``dtype``, array k's offset in."""
    offset = (FIRST_SLOT + k + 1) * STEP
    memory = np.empty(offset + count * np.dtype(dtype).itemsize, np.uint8)
    return memory[offset:].view(dtype)


def placed(values, k):
    """A C-contiguous copy of ``values`` at array k's offset (arrays k = 0, 1, ... of one timing
    take different offsets)."""
    values = np.asarray(values)
    out = _room(values.size, values.dtype, k).reshape(values.shape)
    out[...] = values
    return out


def filled(n, value, dtype, k):
    """``placed(np.full(n, value, dtype), k)`` without the intermediate array."""
    out = _room(n, dtype, k)
    out[...] = value
    return out
