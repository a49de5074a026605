"""Timing on a shared, noisy machine: medians of repeats, each repeat long enough to be read."""

import statistics
import time

import steepest
from steepest import _core


def calls_for(fn, min_time):
    """Warm ``fn`` up (first-touch page faults, lazy state), then find how many calls last at
    least ``min_time`` seconds; returns (calls, seconds per call of that run)."""
    fn()
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return calls, elapsed / calls
        calls *= 2 if elapsed <= 0 else max(2, min(100, int(1.5 * min_time / elapsed)))


def run_calls(fn, calls):
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def seconds_per_call(fn, repeats=7, min_time=0.02):
    """Median over ``repeats`` of the mean time of one ``fn()`` call, each repeat running the
    call often enough to last at least ``min_time`` seconds (the count is calibrated once)."""
    calls, first = calls_for(fn, min_time)
    return statistics.median([first] + [run_calls(fn, calls) for _ in range(repeats - 1)])


def interleaved_seconds_per_call(fns, repeats=7, min_time=0.02, settle=0.0):
    """``seconds_per_call`` of functions compared with each other: their repeats alternate
    (a, b, c, a, b, c, ...), so a change of the machine's load during the run weighs on all of
    them alike. Before each repeat, ``settle`` seconds of sleep (one number, or one per
    function) let the threads of the function timed before go idle (runtimes' workers spin for
    a while after a call: OpenBLAS's for about 2^28 cycles), so that they do not take a core
    from the next. Returns the medians, in the order of ``fns``."""
    pauses = [settle] * len(fns) if isinstance(settle, (int, float)) else list(settle)
    counts, samples = [], []
    for fn, pause in zip(fns, pauses):  # the calibrating run is the first repeat
        time.sleep(pause)
        calls, first = calls_for(fn, min_time)
        counts.append(calls)
        samples.append([first])
    for _ in range(repeats - 1):
        for fn, calls, times, pause in zip(fns, counts, samples, pauses):
            time.sleep(pause)
            times.append(run_calls(fn, calls))
    return [statistics.median(times) for times in samples]


def configured(fn, threads, parallel_min_override=0):
    """``fn`` run under ``threads`` threads and a parallel-threshold override (0: the loops' own,
    1: every loop of two or more chunks splits), set at each call: calls timed alternately with
    others configured otherwise each keep their own."""
    def call():
        steepest.set_num_threads(threads)
        _core._set_parallel_min_override(parallel_min_override)
        fn()
    return call
