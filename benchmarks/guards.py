"""What the non-finite guard and gradient clipping cost, measured side by side in one run.

    python benchmarks/guards.py [--repeats 200]

1. AdamW's step (float32, one tensor) with nonfinite="propagate" (no scan), "skip" and "raise"
   (one extra read of the gradients), and a skipped step (a NaN in the last element: the scan
   alone); calls interleaved, medians of many repeats.
2. clip_grad_norm_ (2-norm, clipping active: the norm pass and the scale pass) against
   torch.nn.utils.clip_grad_norm_ (timed in a loop of its own) and a NumPy version.
Timings on a shared machine move by tens of percent: read the ratios within a row.
"""

import argparse
import statistics
import time

import numpy as np

import steepest
from steepest.optim import AdamW, clip_grad_norm_

SIZES = [1 << 14, 1 << 18, 1 << 22]


def median_us(fns, repeats):
    """Median time of each callable, calls interleaved so that noise hits all alike."""
    times = [[] for _ in fns]
    for _ in range(repeats):
        for t, fn in zip(times, fns):
            start = time.perf_counter_ns()
            fn()
            t.append(time.perf_counter_ns() - start)
    return [statistics.median(t) / 1e3 for t in times]


def guard(repeats):
    print("AdamW step, float32, one tensor (us; ratio to propagate)")
    print(f"{'params':>8} {'propagate':>10} {'skip':>16} {'raise':>16} {'skipped':>16}")
    for n in SIZES:
        rng = np.random.default_rng(0)
        g = rng.standard_normal(n).astype(np.float32)
        bad = g.copy()
        bad[-1] = np.nan
        steps = []
        for policy, grad in (("propagate", g), ("skip", g), ("raise", g), ("skip", bad)):
            p = rng.standard_normal(n).astype(np.float32)
            opt = AdamW([p], lr=1e-6, nonfinite=policy)
            opt.step([g])  # the state exists
            steps.append(lambda opt=opt, grad=grad: opt.step([grad]))
        base, skip, raise_, skipped = median_us(steps, repeats)
        print(f"{n:>8} {base:>10.1f} {skip:>9.1f} ({skip / base:.2f}x) "
              f"{raise_:>9.1f} ({raise_ / base:.2f}x) {skipped:>9.1f} ({skipped / base:.2f}x)")


def clipping(repeats):
    import torch

    torch.set_num_threads(steepest.get_num_threads())
    print("\nclip_grad_norm_ (2-norm, clipping), float32, 8 tensors (us; ratio to steepest)")
    print(f"{'params':>8} {'steepest':>9} {'torch':>16} {'numpy':>16}")
    for n in SIZES:
        rng = np.random.default_rng(0)
        grads = [rng.standard_normal(n // 8).astype(np.float32) for _ in range(8)]
        params = [torch.zeros(n // 8) for _ in range(8)]
        for p, g in zip(params, grads):
            p.grad = torch.from_numpy(g.copy())

        def numpy_clip():
            total = np.sqrt(sum(float(np.dot(g, g)) for g in grads))
            coef = min(1e-3 / (total + 1e-6), 1.0)
            for g in grads:
                g *= np.float32(coef)

        # max_norm tiny: every call clips (the gradients shrink, which no pass depends on).
        # torch is timed apart: its OpenMP threads spin after each call, and steepest's pool
        # worker then waits for a core (pool.h), which would be measured instead.
        ours, numpy = median_us([lambda: clip_grad_norm_(grads, 1e-3), numpy_clip], repeats)
        theirs, = median_us([lambda: torch.nn.utils.clip_grad_norm_(params, 1e-3)], repeats)
        print(f"{n:>8} {ours:>9.1f} {theirs:>9.1f} ({theirs / ours:.1f}x) "
              f"{numpy:>9.1f} ({numpy / ours:.1f}x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    print(f"threads: {steepest.get_num_threads()}, target: {steepest._core.active_target()}\n")
    guard(args.repeats)
    clipping(args.repeats)
