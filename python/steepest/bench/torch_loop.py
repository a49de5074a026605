"""``steepest bench loop``: the optimizer step inside a real PyTorch training loop, quiet and busy.

Two models of our users, trained by PyTorch on windows of 30 steps x 45 features, batch 64: a TCN
(a 1x1 Conv1d to 48 channels, three residual blocks of two causal dilated Conv1d, kernel 3,
dilations 1, 2, 4; about 44K parameters) and a 2-layer LSTM (hidden 64, about 62K parameters),
each with a linear head and MSE. Every training step is forward, backward and an AdamW step; the
step alone is timed, for torch's ``fused=True`` AdamW, steepest.torch's AdamW on all threads, and
steepest.torch's AdamW on one thread. Each variant trains its own copy of the model; the variants
run in alternating blocks of steps (a, b, c, a, b, c, ...) so that the machine's state weighs on
all alike. With ``--load`` N busy processes (a pure-Python spin each) run beside the loop: the
shared machines of our users, where torch's OpenMP workers and ours compete for the cores.
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

import steepest

from . import machine

BATCH, WINDOW, FEATURES = 64, 30, 45


def models(torch):
    nn = torch.nn

    class CausalConv(nn.Conv1d):
        def __init__(self, c_in, c_out, k, dilation):
            super().__init__(c_in, c_out, k, dilation=dilation)
            self.left = (k - 1) * dilation

        def forward(self, x):  # x (B, C, T): pad the past only, output t sees inputs <= t
            return super().forward(nn.functional.pad(x, (self.left, 0)))

    class Block(nn.Module):
        def __init__(self, c, dilation):
            super().__init__()
            self.conv1, self.conv2 = CausalConv(c, c, 3, dilation), CausalConv(c, c, 3, dilation)

        def forward(self, x):
            y = torch.relu(self.conv2(torch.relu(self.conv1(x))))
            return torch.relu(x + y)

    class TCN(nn.Module):
        def __init__(self, c=48):
            super().__init__()
            self.inp = nn.Conv1d(FEATURES, c, 1)
            self.blocks = nn.Sequential(*[Block(c, d) for d in (1, 2, 4)])
            self.head = nn.Linear(c, 1)

        def forward(self, x):  # x (B, T, F)
            h = self.blocks(self.inp(x.transpose(1, 2)))
            return self.head(h[:, :, -1])

    class LSTM(nn.Module):
        def __init__(self, hidden=64):
            super().__init__()
            self.lstm = nn.LSTM(FEATURES, hidden, num_layers=2, batch_first=True)
            self.head = nn.Linear(hidden, 1)

        def forward(self, x):
            return self.head(self.lstm(x)[0][:, -1])

    return {"TCN": TCN, "LSTM-2": LSTM}


def variants(torch, params):
    """{name: (optimizer, threads for steepest or None)} over one model's parameters each."""
    import steepest.torch as st

    return {
        "torch-fused": lambda p: (torch.optim.AdamW(p, lr=1e-3, fused=True), None),
        "steepest.torch": lambda p: (st.AdamW(p, lr=1e-3), steepest.get_num_threads()),
        "steepest.torch-1t": lambda p: (st.AdamW(p, lr=1e-3), 1),
    }


def measure(torch, model_name, steps, block, load):
    """Median optimizer-step and training-step seconds of each variant, on one model."""
    build = models(torch)[model_name]
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(BATCH, WINDOW, FEATURES, generator=gen)
    y = torch.randn(BATCH, 1, generator=gen)
    runs = {}
    for name, make in variants(torch, None).items():
        torch.manual_seed(0)
        model = build()
        opt, threads = make(list(model.parameters()))
        runs[name] = (model, opt, threads, [], [])
    all_threads = steepest.get_num_threads()
    for _ in range(2):  # warm-up: state, first-touch pages, oneDNN's primitives
        for model, opt, threads, _, _ in runs.values():
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()
    done = 0
    while done < steps:
        for model, opt, threads, step_times, train_times in runs.values():
            steepest.set_num_threads(threads or all_threads)
            for _ in range(block):
                t0 = time.perf_counter()
                loss = torch.nn.functional.mse_loss(model(x), y)
                loss.backward()
                t1 = time.perf_counter()
                opt.step()
                t2 = time.perf_counter()
                opt.zero_grad()
                step_times.append(t2 - t1)
                train_times.append(t2 - t0)
        done += block
    steepest.set_num_threads(all_threads)
    n_params = sum(p.numel() for p in runs["torch-fused"][0].parameters())
    return {
        "model": model_name, "params": n_params, "busy_processes": load,
        "optimizer_step_seconds": {k: statistics.median(v[3]) for k, v in runs.items()},
        "training_step_seconds": {k: statistics.median(v[4]) for k, v in runs.items()},
        "steps_per_variant": steps,
    }


def busy(n):
    spin = "while True: pass"
    return [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(n)]


def main(argv=None):
    ap = argparse.ArgumentParser(prog="steepest bench loop", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=200, help="timed steps per variant and model")
    ap.add_argument("--block", type=int, default=10, help="steps of one variant in a row")
    ap.add_argument("--load", default="0,2",
                    help="comma-separated counts of busy processes beside the loop (default 0,2)")
    ap.add_argument("--out", default="steepest-bench", help="directory for the JSON")
    args = ap.parse_args(argv)
    try:
        loads = [int(n) for n in args.load.split(",") if n.strip()]
    except ValueError:
        ap.error(f"--load takes comma-separated whole numbers, got {args.load!r}")
    if not loads or min(loads) < 0 or args.steps < 1 or args.block < 1:
        ap.error("--steps and --block must be >= 1, --load >= 0")
    try:
        import torch
    except ImportError:
        print("steepest bench loop needs torch (pip install torch)", file=sys.stderr)
        return 2
    desc = machine.describe()
    desc["torch"] = torch.__version__
    print(f"steepest bench loop — {desc['cpu']}, {desc['cores']} cores; AdamW step inside a "
          f"torch training loop, batch {BATCH}, windows {WINDOW} x {FEATURES}; medians of "
          f"{args.steps} steps per variant; torch threads {torch.get_num_threads()}")
    header = (f"{'model':<7} {'params':>7} {'busy':>4} {'torch fused':>12} {'steepest':>12} "
              f"{'steepest 1t':>12}  {'fused/ours':>10} {'ours/1t':>8}")
    print(header)
    print("-" * len(header))
    rows = []
    for load in loads:
        procs = busy(load)
        try:
            time.sleep(0.5 if load else 0)
            for model_name in models(torch):
                row = measure(torch, model_name, args.steps, args.block, load)
                row["load_average_1min"] = os.getloadavg()[0]
                rows.append(row)
                s = row["optimizer_step_seconds"]
                print(f"{model_name:<7} {row['params']:>7} {load:>4} "
                      f"{s['torch-fused'] * 1e3:>10.3f}ms {s['steepest.torch'] * 1e3:>10.3f}ms "
                      f"{s['steepest.torch-1t'] * 1e3:>10.3f}ms  "
                      f"{s['torch-fused'] / s['steepest.torch']:>9.2f}x "
                      f"{s['steepest.torch'] / s['steepest.torch-1t']:>7.2f}x", flush=True)
        finally:
            for p in procs:
                p.kill()
                p.wait()
    os.makedirs(args.out, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(args.out, f"bench-loop-{stamp}.json")
    with open(path, "w") as f:
        json.dump({"machine": desc, "command": ["steepest", "bench", "loop", *(argv or [])],
                   "statistic": "median seconds over the steps", "results": rows}, f, indent=1)
    print("fused/ours: torch's fused step time over steepest.torch's (higher: ours faster); "
          "ours/1t: steepest.torch on all threads over one thread")
    print(f"results: {path}")
    return 0
