"""The ceiling of a step: our own C++ loop with a rule's access pattern (read R arrays, write W of
them back in place). Over arrays far larger than the caches it is the machine's memory bandwidth
for that pattern (pattern_bandwidth); over arrays of a step's own size, timed beside the step, it
is that step's ceiling at its cache level (alternated). Every byte it counts really moves, unlike
STREAM's triad, which counts 12 bytes per element where a write-allocate moves 16."""

import statistics
import time

import numpy as np

import steepest
from steepest import _core

from . import layout
from .timing import calls_for, configured, run_calls


# 4 arrays of 64 MiB each: twice the largest L3 of common desktop and server parts.
CEILING_BYTES_PER_ARRAY = 64 << 20


def pattern_bandwidth(reads, writes, dtype=np.float32, threads=None, repeats=5):
    """Bytes per second of one pass of the (reads, writes) pattern: the fastest of ``repeats``
    passes (a ceiling is what the machine can do; on a shared machine slower passes measure the
    neighbours)."""
    n = CEILING_BYTES_PER_ARRAY // np.dtype(dtype).itemsize
    # the loop keeps means; the arrays begin at offsets of their own (layout.py)
    arrays = [layout.filled(n, k + 1, dtype, k) for k in range(reads)]
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


def alternated(step, patterns, size, dtype=np.float32, threads=None, repeats=5, min_time=0.01):
    """A step beside the ceilings of its patterns at the step's own size, on a shared machine.

    The ceiling of a (reads, writes) pattern is the plain C++ loop of that pattern over arrays of
    ``size`` elements (the step's own cache level: in L1/L2 the vector units and the cost of a
    parallel region set it, beyond the caches the memory bandwidth), the faster of one thread and
    of ``threads`` threads splitting every pass (the parallel threshold lifted): the best that
    loop does here. Runs of ``step()`` and of each pattern's passes alternate, ``repeats`` times
    over, so that the neighbours weigh on both alike; a run repeats its call to last at least
    ``min_time`` seconds (one call beyond the caches). Returns (median seconds per step, fastest
    seconds per step, {pattern: (median, fastest) bytes per second of its passes})."""
    threads = threads or steepest.get_num_threads()
    itemsize = np.dtype(dtype).itemsize
    arrays = {pattern: [layout.filled(size, k + 1, dtype, k) for k in range(pattern[0])]
              for pattern in patterns}

    def pass_of(pattern):
        return lambda: _core.pattern_pass(arrays[pattern], pattern[1])

    run_step = configured(step, threads)
    ways = [(1, 0)] + ([(threads, 1)] if threads > 1 else [])  # (threads, threshold override)
    runs = [(None, run_step)] + [(pattern, configured(pass_of(pattern), n, override))
                                 for pattern in patterns for n, override in ways]
    times = {fn: [] for _, fn in runs}
    previous = steepest.get_num_threads()
    try:
        calls = {fn: calls_for(fn, min_time)[0] for _, fn in runs}  # also the first touch
        for _ in range(max(repeats, 5)):
            for _, fn in runs:
                times[fn].append(run_calls(fn, calls[fn]))
    finally:
        _core._set_parallel_min_override(0)
        steepest.set_num_threads(previous)
    step_times = times[run_step]
    bandwidth = {}
    for pattern in patterns:
        moved = (pattern[0] + pattern[1]) * itemsize * size
        mine = [times[fn] for p, fn in runs if p == pattern]
        bandwidth[pattern] = (moved / min(statistics.median(t) for t in mine),
                              moved / min(min(t) for t in mine))
    return statistics.median(step_times), min(step_times), bandwidth
