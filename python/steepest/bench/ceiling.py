"""The machine's memory ceiling for a step: our own C++ loop with a rule's access pattern (read R
arrays, write W of them back in place) over arrays far larger than the caches. Every byte it
counts really moves, unlike STREAM's triad, which counts 12 bytes per element where a
write-allocate moves 16."""

import time

import numpy as np

import steepest
from steepest import _core


# 4 arrays of 64 MiB each: twice the largest L3 of common desktop and server parts.
CEILING_BYTES_PER_ARRAY = 64 << 20


def pattern_bandwidth(reads, writes, dtype=np.float32, threads=None, repeats=5):
    """Bytes per second of one pass of the (reads, writes) pattern: the fastest of ``repeats``
    passes (a ceiling is what the machine can do; on a shared machine slower passes measure the
    neighbours)."""
    n = CEILING_BYTES_PER_ARRAY // np.dtype(dtype).itemsize
    arrays = [np.full(n, k + 1, dtype=dtype) for k in range(reads)]  # the loop keeps means
    previous = steepest.get_num_threads()
    try:
        if threads is not None:
            steepest.set_num_threads(threads)
        _core.pattern_pass(arrays, writes)  # first touch
        seconds = float("inf")
        for _ in range(max(repeats, 5)):
            start = time.perf_counter()
            _core.pattern_pass(arrays, writes)
            seconds = min(seconds, time.perf_counter() - start)
    finally:
        steepest.set_num_threads(previous)
    return (reads + writes) * np.dtype(dtype).itemsize * n / seconds
