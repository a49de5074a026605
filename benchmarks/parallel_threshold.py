"""Where a second thread starts to pay off, per update rule: the step on 1 thread and on N
threads, side by side, with each rule's own threshold and with the threshold lifted (every step
of two or more chunks split across the threads), at sizes around the thresholds; then the same
parameter counts split over many tensors (each tensor raises the threshold: parallel.h).

    python benchmarks/parallel_threshold.py [--threads 2] [--repeats 11] [--out DIR]

The rules' thresholds (csrc/runtime/parallel.h: 16K elements for rules with a square root or a
division per element, 32K for lighter ones, 64K for plain SGD) are read off the "lifted" columns:
the smallest size from which N threads beat one for every rule of the class. The "own" columns
show that with the thresholds no size gets slower with more threads (ratios near 1.00 are the same
one-thread code: the noise of this machine).
"""

import argparse
import datetime
import json
import os

import numpy as np

import steepest
from steepest import _core
from steepest.bench import machine
from steepest.bench.rules import RULES
from steepest.bench.timing import configured, interleaved_seconds_per_call

SIZES = (8192, 16384, 32768, 65536, 131072)
# Rules as the harness builds them, and plain SGD (no momentum: the lightest step).
CASES = [(name, rule.steepest_class, rule.hyper) for name, rule in RULES.items()
         if name != "adafactor"]  # Adafactor runs one thread per tensor: no split to measure
CASES.append(("sgd-plain", "SGD", dict(lr=1e-3)))
# (rule, total parameters, tensors) for the many-tensor table.
TENSOR_CASES = [(name, total, tensors) for name in ("adamw", "sgd")
                for total in (16384, 65536, 262144) for tensors in (16, 64, 256, 1024)]


def step_of(cls, hyper, n, tensors=1):
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(n // tensors).astype(np.float32) for _ in range(tensors)]
    grads = [(rng.standard_normal(p.size) * 1e-2).astype(np.float32) for p in params]
    opt = getattr(steepest.optim, cls)(params, **hyper)
    return lambda: opt.step(grads)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=steepest.get_num_threads())
    ap.add_argument("--repeats", type=int, default=11)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = ap.parse_args()
    n_threads = args.threads
    rows = []
    print(f"step time on 1 thread (us) and speed-up of {n_threads} threads: with each rule's own "
          f"threshold / with the threshold lifted")
    print(f"{'rule':<10}" + "".join(f"{n:>22}" for n in SIZES))
    try:
        for name, cls, hyper in CASES:
            cells = []
            for n in SIZES:
                step = step_of(cls, hyper, n)
                one, own, lifted = interleaved_seconds_per_call(
                    [configured(step, 1), configured(step, n_threads),
                     configured(step, n_threads, 1)], repeats=args.repeats)
                rows.append({"rule": name, "params": n, "one_thread_s": one,
                             "own_threshold_s": own, "lifted_threshold_s": lifted})
                cells.append(f"{one * 1e6:7.1f} {one / own:5.2f}x/{one / lifted:5.2f}x")
            print(f"{name:<10}" + "".join(f"{c:>22}" for c in cells), flush=True)
        print(f"\nmany tensors, each rule's own threshold: step time on 1 thread (us), speed-up of "
              f"{n_threads} threads")
        for name, total, tensors in TENSOR_CASES:
            rule = RULES[name]
            step = step_of(rule.steepest_class, rule.hyper, total, tensors)
            one, own = interleaved_seconds_per_call(
                [configured(step, 1), configured(step, n_threads)], repeats=args.repeats)
            rows.append({"rule": name, "params": total, "tensors": tensors, "one_thread_s": one,
                         "own_threshold_s": own})
            print(f"{name:<10} {total:>7} in {tensors:>4} tensors {one * 1e6:8.1f} "
                  f"{one / own:5.2f}x", flush=True)
    finally:
        _core._set_parallel_min_override(0)
        steepest.set_num_threads(n_threads)
    os.makedirs(args.out, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M")
    path = os.path.join(args.out, f"parallel-threshold-{stamp}.json")
    with open(path, "w") as f:
        json.dump({"machine": machine.describe(), "threads": n_threads, "dtype": "float32",
                   "statistic": "median seconds per step, 1 thread / own threshold / lifted "
                                "threshold timed alternately", "results": rows}, f, indent=1)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
