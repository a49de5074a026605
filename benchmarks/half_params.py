"""AdamW with 16-bit storage, side by side in one run (#20's goals).

    python benchmarks/half_params.py [--sizes 256K,4M,32M] [--threads 1,2] [--out benchmarks/results]

At each size and thread count, timed alternately (medians of interleaved repeats):
- torch.optim.AdamW(fused=True) on bfloat16 tensors: state in bfloat16, float32 arithmetic;
- steepest.torch.AdamW on the same tensors: the same semantics (bitwise the same results:
  tests/torch_adapter/test_half.py);
- steepest.optim.AdamW on ml_dtypes.bfloat16 arrays with master_weights=True: a float32 copy of
  the params in the state, float32 moments (the issue's goal: at least as fast as torch's fused
  step at 4M and 32M, and 2.5x faster at 256K);
- steepest.optim.AdamW with master weights and state_dtype="bfloat16";
and, on float32 params, steepest.optim.AdamW with float32 state against state_dtype="bfloat16"
(the goal: at 32M, 1.3x faster) and state_dtype="int8" (blockwise 8-bit: 1.5x faster).
Bytes per parameter moved: 2+2 (param, grad) + 2 x 2 state read and written = 12 for the first
two; 2+2+4+4+4 read and 2+4+4+4 written = 30 with master weights and float32 state; 22 with
bfloat16 state; on float32 params 28 (float32 state), 20 (bfloat16 state) and 16.06 (int8
state: a byte per element and a float32 absmax per 256, read and written). steepest's params and
grads begin at offsets of their own, as the optimizers place their large state arrays
(steepest/bench/layout.py says why); torch's tensors are where torch's allocator puts them.
Writes JSON with the machine's description.
"""

import argparse
import json
import time
from pathlib import Path

import ml_dtypes
import numpy as np
import torch

import steepest
import steepest.torch as st
from steepest.bench import layout
from steepest.bench.machine import describe
from steepest.bench.timing import interleaved_seconds_per_call

SIZES = {"256K": 1 << 18, "4M": 1 << 22, "32M": 1 << 25}
KWARGS = dict(lr=1e-3, weight_decay=1e-2)


def torch_step(cls, n, **options):
    p = torch.randn(n).to(torch.bfloat16).requires_grad_()
    p.grad = (torch.randn(n) * 1e-3).to(torch.bfloat16)
    opt = cls([p], **KWARGS, **options)
    opt.step()  # the state exists before timing
    return opt.step


def numpy_step(n, dtype=ml_dtypes.bfloat16, **options):
    rng = np.random.default_rng(0)
    # at offsets of their own, as the optimizer places its state (steepest/bench/layout.py)
    p = layout.placed(rng.standard_normal(n, dtype=np.float32).astype(dtype), 0)
    g = layout.placed((rng.standard_normal(n, dtype=np.float32) * 1e-3).astype(dtype), 1)
    opt = steepest.optim.AdamW([p], **KWARGS, **options)
    opt.step([g])
    return lambda: opt.step([g])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="256K,4M,32M")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    names = ["torch fused", "steepest.torch", "steepest master", "steepest master+bf16 state",
             "fp32 params, fp32 state", "fp32 params, bf16 state", "fp32 params, int8 state"]
    results = []
    print(f"{'params':>6} {'thr':>3} " + " ".join(f"{n:>27}" for n in names[:4])
          + f" {'fp32 params: fp32 / bf16 state':>38} {'/ int8 state':>20}")
    for size in args.sizes.split(","):
        n = SIZES[size]
        for threads in [int(t) for t in args.threads.split(",")]:
            torch.set_num_threads(threads)
            steepest.set_num_threads(threads)
            fns = [torch_step(torch.optim.AdamW, n, fused=True), torch_step(st.AdamW, n),
                   numpy_step(n, master_weights=True),
                   numpy_step(n, master_weights=True, state_dtype="bfloat16"),
                   numpy_step(n, np.float32), numpy_step(n, np.float32, state_dtype="bfloat16"),
                   numpy_step(n, np.float32, state_dtype="int8")]
            seconds = interleaved_seconds_per_call(fns, repeats=args.repeats, min_time=0.05,
                                                   settle=0.05)
            row = {"params": n, "threads": threads,
                   "seconds": dict(zip(names, seconds)),
                   "torch_fused_over": {k: seconds[0] / s for k, s in zip(names[1:4], seconds[1:4])},
                   "bf16_state_speedup_fp32_params": seconds[4] / seconds[5],
                   "int8_state_speedup_fp32_params": seconds[4] / seconds[6]}
            results.append(row)
            print(f"{size:>6} {threads:>3} " + " ".join(
                f"{s * 1e6:>13.1f}us ({seconds[0] / s:>5.2f}x)" for s in seconds[:4])
                + f" {seconds[4] * 1e6:>12.1f}us / {seconds[5] * 1e6:>9.1f}us"
                f" ({seconds[4] / seconds[5]:>4.2f}x) {seconds[6] * 1e6:>9.1f}us"
                f" ({seconds[4] / seconds[6]:>4.2f}x)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"half-params-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"machine": describe(), "command": "benchmarks/half_params.py",
                                "method": __doc__, "results": results}, indent=1))
    print("(x): torch fused's time over this one's (higher: faster than torch); last column: "
          "float32 state's time over bfloat16 / int8 state's")
    print(f"results: {path}")


if __name__ == "__main__":
    main()
