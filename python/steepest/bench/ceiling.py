"""The machine's memory ceiling for a step: our own C++ loop with a rule's access pattern (read R
arrays, write W of them back in place) over arrays far larger than the caches. Every byte it
counts really moves, unlike STREAM's triad, which counts 12 bytes per element where a
write-allocate moves 16."""

import statistics
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


def alternated(step, patterns, dtype=np.float32, threads=None, repeats=5):
    """A step beside the ceilings of its patterns, on a shared machine: one call of ``step()``,
    then one pass of each (reads, writes) pattern, ``repeats`` times over, so that the
    neighbours weigh on both alike. Returns (median seconds per step, fastest seconds per step,
    {pattern: (median, fastest) bytes per second of its passes})."""
    n = CEILING_BYTES_PER_ARRAY // np.dtype(dtype).itemsize
    arrays = {pattern: [np.full(n, k + 1, dtype=dtype) for k in range(pattern[0])]
              for pattern in patterns}
    previous = steepest.get_num_threads()
    step_times, pass_times = [], {pattern: [] for pattern in patterns}
    try:
        if threads is not None:
            steepest.set_num_threads(threads)
        step()
        for (reads, writes), a in arrays.items():
            _core.pattern_pass(a, writes)  # first touch
        for _ in range(max(repeats, 5)):
            start = time.perf_counter()
            step()
            step_times.append(time.perf_counter() - start)
            for (reads, writes), a in arrays.items():
                start = time.perf_counter()
                _core.pattern_pass(a, writes)
                pass_times[(reads, writes)].append(time.perf_counter() - start)
    finally:
        steepest.set_num_threads(previous)
    moved = {(r, w): (r + w) * np.dtype(dtype).itemsize * n for r, w in patterns}
    bandwidth = {p: (moved[p] / statistics.median(t), moved[p] / min(t))
                 for p, t in pass_times.items()}
    return statistics.median(step_times), min(step_times), bandwidth
