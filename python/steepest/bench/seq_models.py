"""The sequence models of our users: a training step in steepest and in PyTorch, beside its
FLOP floor, at 1 and 2 threads, quiet and with busy processes beside it.

Each model is a spec module (bench/nn_tcn.py, ...), or an object (bench/nn_lstm.py: one per
hidden size, with a ``MODULE`` name for the command line), that provides: ``NAME``, ``TITLE`` (one line:
the model and its windows), ``data()`` -> (X (B, T, F), y (B, 1)) float32, ``steepest_model()``,
``torch_model()`` (torch.nn with steepest_model()'s initial weights, taking (B, T, F) batch-first
windows) and ``products()``: the step's matrix products as (m, n, k, trans_a, trans_b) of
C (m, n) = op(A) op(B).

A step: forward, the MSE loss and its gradient, backward, the AdamW step (lr 1e-3, weight decay
1e-2; steepest: ``nn.training.train_step``, what ``fit`` runs per batch; PyTorch: zero_grad,
forward, mse_loss, backward, torch.optim.AdamW's default for-each step). Each framework's step is
timed as the median of repeats that alternate between the frameworks (timing.py), after a pause
that lets the other's threads go idle.

The floor: the step's products timed one by one with our GEMM at those shapes on the same
threads: the time the products alone take at our GEMM's rate.

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

SETTLE, BLOCK = 0.2, 0.1


def windows(B, T, F, seed=0):
    """The benches' data: X (B, T, F) standard normal windows, y (B, 1) = 0.1 x the sum of the
    first 3 features over the last 8 steps (float32)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((B, T, F)).astype(np.float32)
    y = (X[:, -8:, :3].sum((1, 2)) * 0.1).astype(np.float32).reshape(B, 1)
    return X, y


def copy_weights(ours, net):
    """net (a torch.nn.Module) with the parameters of ``ours`` (a steepest model), in order."""
    import torch

    params = [p for _, p in ours.named_parameters()]
    theirs = list(net.parameters())
    assert len(params) == len(theirs), (len(params), len(theirs))
    with torch.no_grad():
        for p, q in zip(params, theirs):
            q.copy_(torch.from_numpy(p.data))
    return net


def steepest_step(spec, X, y):
    model = spec.steepest_model()
    opt = steepest.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    loss, grads = nn.MSELoss(), {}
    return lambda: train_step(model, loss, opt, X, y, grads)


def torch_step(spec, X, y):
    import torch

    net = spec.torch_model()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-2)
    xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(xt), yt).backward()
        opt.step()

    return step


def flops(spec):
    return sum(2 * m * n * k for m, n, k, _, _ in spec.products())


def floor_seconds(spec, repeats):
    rng = np.random.default_rng(0)
    total = 0.0
    for m, n, k, ta, tb in spec.products():
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


def measure(spec, threads=(1, 2), loads=(0, 2), repeats=9, with_torch=True):
    """One dict per (threads, busy processes): the step times of each framework and the
    floor (quiet only)."""
    X, y = spec.data()
    makers = [("steepest", steepest_step)]
    if with_torch:
        try:
            import torch  # noqa: F401

            makers.append(("torch", torch_step))
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
                    floors[t] = floor_seconds(spec, repeats)
                steps = [make(spec, X, y) for _, make in makers]
                seconds = interleaved_seconds_per_call(steps, repeats=repeats, min_time=BLOCK,
                                                       settle=SETTLE)
                row = {"model": spec.NAME, "threads": t, "busy_processes": load,
                       "floor_s": floors.get(t), "gflop": flops(spec) / 1e9,
                       "load_average_1min": os.getloadavg()[0]}
                row.update({f"{name}_s": s for (name, _), s in zip(makers, seconds)})
                rows.append(row)
        finally:
            for p in procs:
                p.kill()
    return rows


def table(rows):
    lines = [f"{'model':<12} {'thr':>3} {'busy':>4} {'steepest':>10} {'torch':>10} "
             f"{'torch/ours':>10} {'floor':>9} {'ours/floor':>10}"]
    for r in rows:
        ours, theirs, floor = r["steepest_s"], r.get("torch_s"), r["floor_s"]
        lines.append(
            f"{r['model']:<12} {r['threads']:>3} {r['busy_processes']:>4} {ours * 1e3:>7.2f} ms "
            + (f"{theirs * 1e3:>7.2f} ms {theirs / ours:>9.2f}x " if theirs else f"{'-':>10} {'-':>10} ")
            + (f"{floor * 1e3:>6.2f} ms {ours / floor:>9.2f}x" if floor else ""))
    return "\n".join(lines)


def main(spec, argv=None):
    """The command line of a spec module: ``python -m steepest.bench.nn_<model>``."""
    module = getattr(spec, "MODULE", None) or (
        spec.__spec__.name if getattr(spec, "__spec__", None) else spec.__name__)
    ap = argparse.ArgumentParser(prog=f"python -m {module}", description=spec.__doc__,
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
    print(f"{spec.TITLE}, {flops(spec) / 1e9:.2f} GFLOP of products; {desc['cpu']}, "
          f"{desc['cores']} cores")
    rows = measure(spec, threads, loads, args.repeats, not args.no_torch)
    print(table(rows))
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"nn-{spec.NAME.lower()}-{time.strftime('%Y%m%d-%H%M%S')}.json")
    with open(path, "w") as f:
        json.dump({"machine": desc, "command": ["python", "-m", module,
                                                *(argv or sys.argv[1:])],
                   "method": spec.__doc__ + "\n" + __doc__, "results": rows}, f, indent=1)
    print(f"results: {path}")
    return 0
