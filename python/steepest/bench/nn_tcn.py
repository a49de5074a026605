"""The TCN of our users: a training step in steepest and in PyTorch, beside its FLOP floor.

The model: windows (64, 64, 45) (batch, time steps, features), a 1x1 Conv1d to 64 channels,
four TCNBlocks (kernel 3, dilations 1, 2, 4, 8, 64 channels, causal), the last time step,
Dense(64, 1); MSE on a synthetic target; AdamW (lr 1e-3, weight decay 1e-2); float32. PyTorch:
the same architecture as torch users write it (Conv1d on (B, C, T), causal by left padding),
the same initial weights, torch.optim.AdamW (its default for-each implementation).

A step: forward, the loss and its gradient, backward, the AdamW step (steepest:
``nn.training.train_step``, what ``fit`` runs per batch). Each framework's step is timed as the
median of repeats that alternate between the frameworks (timing.py), after a pause that lets the
other's threads go idle.

The floor: the step's matrix products (each convolution's forward, dx and dW as the products of
its im2col matrices; the first convolution needs no dx) timed one by one with our GEMM at those
shapes on the same threads: the time the products alone take at our GEMM's rate.

Contention: ``busy`` processes (a pure-Python spin each) run beside both frameworks.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

import steepest
from steepest import _core, nn
from steepest.nn.training import train_step

from . import machine
from .timing import interleaved_seconds_per_call, seconds_per_call

B, T, F, C, K = 64, 64, 45, 64, 3
DILATIONS = (1, 2, 4, 8)
SETTLE, BLOCK = 0.2, 0.1


def steepest_model(seed=0):
    return nn.Sequential(nn.Conv1d(F, C, 1, seed=seed),
                         *[nn.TCNBlock(C, C, K, dilation=d, seed=seed + 1 + i)
                           for i, d in enumerate(DILATIONS)],
                         nn.LastStep(), nn.Dense(C, 1, seed=seed + 9))


def data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((B, T, F)).astype(np.float32)
    y = (X[:, -8:, :3].sum((1, 2)) * 0.1).astype(np.float32).reshape(B, 1)
    return X, y


class Steepest:
    name = "steepest"

    def step(self, X, y):
        model = steepest_model()
        opt = steepest.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
        loss, grads = nn.MSELoss(), {}
        return lambda: train_step(model, loss, opt, X, y, grads)


class Torch:
    name = "torch"

    def __init__(self):
        import torch

        self.torch = torch

    def build(self):
        """The TCN in torch.nn with steepest_model()'s initial weights."""
        torch = self.torch

        class Block(torch.nn.Module):
            def __init__(self, d):
                super().__init__()
                self.pad = (K - 1) * d
                self.conv1 = torch.nn.Conv1d(C, C, K, dilation=d)
                self.conv2 = torch.nn.Conv1d(C, C, K, dilation=d)

            def forward(self, x):  # (B, C, T): pad the past only
                h = torch.relu(self.conv1(torch.nn.functional.pad(x, (self.pad, 0))))
                h = torch.relu(self.conv2(torch.nn.functional.pad(h, (self.pad, 0))))
                return torch.relu(h + x)

        class TCN(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.body = torch.nn.Sequential(torch.nn.Conv1d(F, C, 1),
                                                *[Block(d) for d in DILATIONS])
                self.head = torch.nn.Linear(C, 1)

            def forward(self, x):  # x (B, F, T)
                return self.head(self.body(x)[:, :, -1])

        net = TCN()
        ours = steepest_model()
        params = [p for _, p in ours.named_parameters()]
        with torch.no_grad():
            for p, q in zip(params, net.parameters()):
                q.copy_(torch.from_numpy(p.data))
        return net

    def step(self, X, y):
        torch = self.torch
        net = self.build()
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-2)
        xt = torch.from_numpy(X.transpose(0, 2, 1).copy())
        yt = torch.from_numpy(y)

        def step():
            opt.zero_grad()
            torch.nn.functional.mse_loss(net(xt), yt).backward()
            opt.step()

        return step


def products():
    """The step's products as (m, n, k, trans_a, trans_b) of C (m, n) = op(A) op(B): per
    convolution of c_in channels and k taps, forward (B*T, c_in*k) x (c_in*k, C), dx (B*T, C*k)
    x (C*k, c_in) (not for the first), dW (C, B*T) x (B*T, c_in*k)."""
    out = []
    for c_in, taps, dx in [(F, 1, False)] + [(C, K, True)] * (2 * len(DILATIONS)):
        out.append((B * T, C, c_in * taps, False, False))
        if dx:
            out.append((B * T, c_in, C * taps, False, False))
        out.append((C, c_in * taps, B * T, True, False))
    return out


def flops():
    return sum(2 * m * n * k for m, n, k, _, _ in products())


def floor_seconds(repeats):
    rng = np.random.default_rng(0)
    total = 0.0
    for m, n, k, ta, tb in products():
        a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
        b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
        c = np.empty((m, n), np.float32)
        total += seconds_per_call(lambda: _core.gemm(a, b, c, ta, tb), repeats=repeats,
                                  min_time=0.02)
    return total


def set_threads(threads):
    steepest.set_num_threads(threads)
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass


def busy(n):
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def measure(threads=(1, 2), loads=(0, 2), repeats=9, with_torch=True):
    """One dict per (threads, busy processes): the step times of each framework and the
    floor (quiet only)."""
    X, y = data()
    frameworks = [Steepest()]
    if with_torch:
        try:
            frameworks.append(Torch())
        except ImportError:
            pass
    rows, floors = [], {}
    for load in loads:
        procs = busy(load)
        try:
            time.sleep(0.5 if load else 0)
            for t in threads:
                set_threads(t)
                if load == 0:
                    floors[t] = floor_seconds(repeats)
                steps = [f.step(X, y) for f in frameworks]
                seconds = interleaved_seconds_per_call(steps, repeats=repeats, min_time=BLOCK,
                                                       settle=SETTLE)
                row = {"threads": t, "busy_processes": load, "floor_s": floors.get(t),
                       "gflop": flops() / 1e9,
                       "load_average_1min": os.getloadavg()[0]}
                row.update({f"{f.name}_s": s for f, s in zip(frameworks, seconds)})
                rows.append(row)
        finally:
            for p in procs:
                p.kill()
    return rows


def table(rows):
    lines = [f"{'thr':>3} {'busy':>4} {'steepest':>10} {'torch':>10} {'torch/ours':>10} "
             f"{'floor':>9} {'ours/floor':>10}"]
    for r in rows:
        ours, theirs, floor = r["steepest_s"], r.get("torch_s"), r["floor_s"]
        lines.append(
            f"{r['threads']:>3} {r['busy_processes']:>4} {ours * 1e3:>7.2f} ms "
            + (f"{theirs * 1e3:>7.2f} ms {theirs / ours:>9.2f}x " if theirs else f"{'-':>10} {'-':>10} ")
            + (f"{floor * 1e3:>6.2f} ms {ours / floor:>9.2f}x" if floor else ""))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m steepest.bench.nn_tcn", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--load", default="0,2", help="busy processes beside the step")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--out", default="steepest-bench", help="directory for the JSON")
    args = ap.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",")]
    loads = [int(n) for n in args.load.split(",")]
    desc = machine.describe()
    print(f"TCN training step (windows {B}x{T}x{F}, 4 TCNBlocks of {C} channels, AdamW), "
          f"{flops() / 1e9:.2f} GFLOP of products; {desc['cpu']}, {desc['cores']} cores")
    rows = measure(threads, loads, args.repeats, not args.no_torch)
    print(table(rows))
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"nn-tcn-{time.strftime('%Y%m%d-%H%M%S')}.json")
    with open(path, "w") as f:
        json.dump({"machine": desc, "command": ["python", "-m", "steepest.bench.nn_tcn",
                                                *(argv or sys.argv[1:])],
                   "method": __doc__, "results": rows}, f, indent=1)
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
