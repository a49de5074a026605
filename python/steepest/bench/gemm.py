"""Our GEMM (``steepest._core.gemm``) beside ``numpy.matmul`` (OpenBLAS) and ``torch.matmul``.

Each implementation computes C = op(A) · op(B) into the same preallocated C from the same arrays,
on the same thread count (OpenBLAS's through threadpoolctl when installed, torch's with
``torch.set_num_threads``). A shape is ``(m, n, k, case)``: op(A) (m, k), op(B) (k, n), case
"nn", "nt", "tn" or "tt" says which operand is stored transposed ("nt": B is stored (n, k), the
dense layer's forward X · W^T). ``python -m steepest.bench.gemm`` prints a table.
"""

import argparse
import contextlib
import json
import os
import time

import numpy as np

import steepest
from steepest import _core

from .timing import seconds_per_call


# The three goals, then the digits model's layers (64-256-256-10, batch 64):
# forward Y = X · W^T ("nt"), backward dX = dY · W ("nn"), dW += dY^T · X ("tn"); one "tt".
SHAPES = (
    (64, 256, 256, "nn"), (256, 256, 64, "nn"), (1024, 1024, 1024, "nn"),
    (64, 256, 64, "nt"), (64, 256, 256, "nt"), (64, 10, 256, "nt"),
    (64, 256, 256, "nn"), (64, 256, 10, "nn"),
    (256, 64, 64, "tn"), (256, 256, 64, "tn"), (10, 256, 64, "tn"),
    (64, 256, 256, "tt"),
)


def operands(m, n, k, case, dtype, seed=0):
    """A, B stored as ``case`` says, and C (m, n)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((k, m) if case[0] == "t" else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if case[1] == "t" else (k, n)).astype(dtype)
    return a, b, np.zeros((m, n), dtype)


@contextlib.contextmanager
def blas_threads(n):
    """OpenBLAS (numpy's) limited to n threads while inside, when threadpoolctl is installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield


# After a call, each runtime's threads spin for a while (OpenBLAS's up to ~0.1 s, ours 100 us):
# timed right after another runtime, a multi-threaded product loses a core to those spinners
# (measured: numpy 64x256x256 on 2 threads, 78 us alone, 15 ms alternating with ours). So each
# implementation is timed alone, after a pause that lets the previous one's threads park.
SETTLE_SECONDS = 0.3


def timed_alone(calls, repeats, min_time=0.02):
    """Median seconds per call of each of ``calls`` (name -> fn), timed one after the other,
    each after a pause (timing.seconds_per_call: a warm-up, a calibrated call count, then
    ``repeats`` batches)."""
    seconds = {}
    for name, fn in calls.items():
        time.sleep(SETTLE_SECONDS)
        seconds[name] = seconds_per_call(fn, repeats, min_time)
    return seconds


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def measure(shapes=SHAPES, dtype="float32", threads=None, repeats=9, with_torch=True):
    """Times each shape; returns one dict per shape: seconds (median) and GFLOP/s (2 m n k per
    product) of "steepest", "numpy" and "torch" (when importable), and ratios of ours to each."""
    threads = threads or steepest.get_num_threads()
    torch = _torch() if with_torch else None
    rows = []
    previous = steepest.get_num_threads()
    torch_previous = torch.get_num_threads() if torch else None
    try:
        steepest.set_num_threads(threads)
        if torch:
            torch.set_num_threads(threads)
        with blas_threads(threads):
            for m, n, k, case in shapes:
                a, b, c = operands(m, n, k, case, dtype)
                ta, tb = case[0] == "t", case[1] == "t"
                opa, opb = (a.T if ta else a), (b.T if tb else b)
                calls = {
                    "steepest": lambda: _core.gemm(a, b, c, ta, tb),
                    "numpy": lambda: np.matmul(opa, opb, out=c),
                }
                if torch:
                    tpa, tpb, tc = torch.from_numpy(opa), torch.from_numpy(opb), torch.from_numpy(c)
                    calls["torch"] = lambda: torch.matmul(tpa, tpb, out=tc)
                row = {"m": m, "n": n, "k": k, "case": case, "dtype": dtype, "threads": threads}
                flops = 2.0 * m * n * k
                for name, s in timed_alone(calls, repeats).items():
                    row[f"{name}_seconds"] = s
                    row[f"{name}_gflops"] = flops / s / 1e9
                for name in calls:
                    if name != "steepest":
                        row[f"vs_{name}"] = row[f"{name}_seconds"] / row["steepest_seconds"]
                rows.append(row)
    finally:
        steepest.set_num_threads(previous)
        if torch:
            torch.set_num_threads(torch_previous)
    return rows


def table(rows):
    """The rows as a text table: GFLOP/s of each implementation, ours as a ratio of theirs."""
    names = [n for n in ("steepest", "numpy", "torch") if f"{n}_gflops" in rows[0]]
    head = (f"{'shape (m n k case)':<22} {'thr':>3} "
            + " ".join(f"{n + ' GF/s':>14}" for n in names)
            + " " + " ".join(f"{'vs ' + n:>9}" for n in names[1:]) + f" {'ours µs':>9}")
    lines = [head]
    for r in rows:
        lines.append(f"{r['m']:>5} {r['n']:>5} {r['k']:>5} {r['case']:<4} {r['threads']:>3} "
                     + " ".join(f"{r[n + '_gflops']:>14.1f}" for n in names) + " "
                     + " ".join(f"{r['vs_' + n]:>8.2f}x" for n in names[1:])
                     + f" {r['steepest_seconds'] * 1e6:>9.1f}")
    return "\n".join(lines)


def parse_shape(text):
    """'64x256x256' or '64x256x256:nt' -> (64, 256, 256, 'nn' or 'nt')."""
    dims, _, case = text.partition(":")
    case = case or "nn"
    try:
        m, n, k = (int(x) for x in dims.lower().split("x"))
    except ValueError:
        raise ValueError(f"invalid shape {text!r}: expected MxNxK[:case], e.g. 64x256x256:nt") from None
    if case not in ("nn", "nt", "tn", "tt") or min(m, n, k) < 1:
        raise ValueError(f"invalid shape {text!r}: dims >= 1, case one of nn nt tn tt")
    return m, n, k, case


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m steepest.bench.gemm", description=__doc__)
    ap.add_argument("--shapes", default=None,
                    help="comma-separated MxNxK[:case] (default: the issue's goals and the "
                         "digits model's layers)")
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    ap.add_argument("--threads", default=None, help="comma-separated thread counts (default: all)")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--json", default=None, help="also write the rows and the machine to this file")
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args(argv)
    try:
        shapes = [parse_shape(s) for s in args.shapes.split(",")] if args.shapes else SHAPES
    except ValueError as e:
        ap.error(str(e))
    thread_counts = ([int(t) for t in args.threads.split(",")] if args.threads
                     else [steepest.get_num_threads()])
    load_before = os.getloadavg()  # the machine may be shared: say how busy it was
    rows = []
    for t in thread_counts:
        rows += measure(shapes, args.dtype, t, args.repeats, not args.no_torch)
    print(table(rows))
    if args.json:
        from . import machine

        with open(args.json, "w") as f:
            json.dump({"machine": machine.describe(), "load_average_before": load_before,
                       "load_average_after": os.getloadavg(), "gemm": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
