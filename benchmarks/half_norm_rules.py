"""LAMB and LARS with 16-bit storage against their float32 steps, side by side in one run.

    python benchmarks/half_norm_rules.py [--sizes 4M,32M] [--threads 1] [--out benchmarks/results]

Params of shape (n / 1024, 1024) (LARS takes a trust ratio for 2-d tensors only), timed
alternately (medians of interleaved repeats), per rule: float32 params and state; float32
params, state_dtype="bfloat16"; bfloat16 params with float32 master weights (float32 state);
bfloat16 params and state. A 16-bit step makes two passes over widened blocks (LAMB's second
updates the moments again, from the same stored values: csrc/optim/driver_norms.cc), so it
does more arithmetic per element than the float32 step. Bytes per parameter, float32 LAMB: 16
read + 8 written (pass 1), 12 + 4 (pass 2); bfloat16 state: 12 + 0, 12 + 8. The params and
grads begin at offsets of their own (steepest/bench/layout.py). Writes JSON with the machine's
description.
"""

import argparse
import json
import time
from pathlib import Path

import ml_dtypes
import numpy as np

import steepest
from steepest.bench import layout
from steepest.bench.machine import describe
from steepest.bench.timing import interleaved_seconds_per_call

SIZES = {"4M": 1 << 22, "32M": 1 << 25}
RULES = {"Lamb": dict(lr=1e-3, weight_decay=1e-2), "Lars": dict(lr=0.1, weight_decay=1e-4)}
MODES = {  # name: (16-bit params, options)
    "float32": (False, {}),
    "bf16 state": (False, dict(state_dtype="bfloat16")),
    "bf16 params, master": (True, dict(master_weights=True)),
    "bf16 params, bf16 state": (True, dict(state_dtype="bfloat16")),
}


def step(rule, n, half, options):
    rng = np.random.default_rng(0)
    p = rng.standard_normal((n // 1024, 1024), dtype=np.float32)
    g = rng.standard_normal((n // 1024, 1024), dtype=np.float32) * 1e-3
    if half:
        p, g = p.astype(ml_dtypes.bfloat16), g.astype(ml_dtypes.bfloat16)
    p, g = layout.placed(p, 0), layout.placed(g, 1)  # apart, as the optimizer's state
    opt = getattr(steepest.optim, rule)([p], **RULES[rule], **options)
    opt.step([g])  # the state exists before timing
    return lambda: opt.step([g])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="4M,32M")
    parser.add_argument("--threads", default="1")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    rows = []
    for threads in [int(t) for t in args.threads.split(",")]:
        steepest.set_num_threads(threads)
        for size in args.sizes.split(","):
            for rule in RULES:
                steps = {mode: step(rule, SIZES[size], *MODES[mode]) for mode in MODES}
                seconds = interleaved_seconds_per_call(list(steps.values()),
                                                       repeats=args.repeats, min_time=0.2)
                base = seconds[0]
                for mode, s in zip(steps, seconds):
                    rows.append(dict(rule=rule, size=size, threads=threads, mode=mode,
                                     ms=s * 1e3, float32_over_this=base / s))
                    print(f"{rule} {size} {threads}t {mode:24s} {s * 1e3:8.2f} ms "
                          f"(float32 / this: {base / s:.2f}x)")
    out = Path(args.out) / f"half-norm-rules-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(dict(machine=describe(), command=vars(args), doc=__doc__,
                                   rows=rows), indent=1))
    print("results:", out)


if __name__ == "__main__":
    main()
