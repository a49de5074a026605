"""Timing on a shared, noisy machine: medians of repeats, each repeat long enough to be read."""

import statistics
import time


def seconds_per_call(fn, repeats=7, min_time=0.02):
    """Median over ``repeats`` of the mean time of one ``fn()`` call, each repeat running the
    call often enough to last at least ``min_time`` seconds (the count is calibrated once)."""
    fn()  # warm up: first-touch page faults, lazy state
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            break
        calls *= 2 if elapsed <= 0 else max(2, min(100, int(1.5 * min_time / elapsed)))
    samples = [elapsed / calls]
    for _ in range(repeats - 1):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)
