"""``steepest bench``: time update rules against the NumPy reference and write JSON."""

import argparse
import datetime
import json
import os
import sys

import numpy as np

import steepest

from . import machine
from .rules import RULES
from .timing import seconds_per_call

DEFAULT_SIZES = (16_384, 262_144, 4_194_304)
FULL_SIZES = (16_384, 262_144, 4_194_304, 33_554_432)


def parse_size(text):
    """'16K', '4M', '1031' -> int."""
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    t = text.strip().upper()
    try:
        return int(t[:-1]) * scale[t[-1]] if t and t[-1] in scale else int(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}: expected e.g. 1031, 16K, 4M") from None


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="steepest bench",
        description="Time steepest's update rules against the pure-NumPy reference.",
    )
    ap.add_argument("--rules", default=",".join(RULES),
                    help=f"comma-separated rules (default: all: {','.join(RULES)})")
    ap.add_argument("--sizes", default=None,
                    help="comma-separated parameter counts, e.g. 16K,256K,4M (default: quick set)")
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    ap.add_argument("--threads", type=int, default=None,
                    help="threads for steepest's kernels (default: all cores)")
    ap.add_argument("--repeats", type=int, default=7, help="timed repeats per point (median)")
    ap.add_argument("--out", default=".", help="directory for the JSON results (default: .)")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="the default: sizes up to 4M")
    mode.add_argument("--full", action="store_true", help="sizes up to 32M, more repeats")
    args = ap.parse_args(argv)
    rules = [r.strip() for r in args.rules.split(",") if r.strip()]
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        ap.error(f"unknown rule(s) {', '.join(unknown)}; choose from {', '.join(RULES)}")
    args.rules = rules
    if args.sizes:
        try:
            args.sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
        except argparse.ArgumentTypeError as e:
            ap.error(str(e))
        if any(n < 1 for n in args.sizes):
            ap.error("sizes must be >= 1")
    else:
        args.sizes = list(FULL_SIZES if args.full else DEFAULT_SIZES)
    if args.threads is not None and args.threads < 1:
        ap.error("--threads must be >= 1")
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    return args


def time_rule(rule, size, dtype, repeats):
    """Seconds per step of steepest and of the NumPy reference, on the same data."""
    rng = np.random.default_rng(0)
    p = rng.standard_normal(size).astype(dtype)
    g = (rng.standard_normal(size) * 1e-2).astype(dtype)
    opt = rule.make([p])
    ours = seconds_per_call(lambda: opt.step([g]), repeats=repeats)
    del opt
    q = rng.standard_normal(size).astype(dtype)
    state = {}
    numpy_time = seconds_per_call(lambda: rule.reference(q, g, state), repeats=repeats)
    return ours, numpy_time


def human(n):
    for unit, scale in (("M", 1 << 20), ("K", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale}{unit}"
    return str(n)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.threads is not None:
        steepest.set_num_threads(args.threads)
    repeats = max(args.repeats, 9) if args.full else args.repeats
    dtype = np.dtype(args.dtype)
    desc = machine.describe()
    print(f"steepest bench — {desc['cpu']}, {desc['cores']} cores, SIMD {desc['simd']}, "
          f"{desc['threads']} threads, {args.dtype}")
    header = f"{'rule':<7} {'params':>7} {'steepest':>11} {'GB/s':>7} {'numpy':>11} {'speed-up':>9}"
    print(header)
    print("-" * len(header))
    results = []
    for rule in (RULES[name] for name in args.rules):
        for size in args.sizes:
            ours, numpy_time = time_rule(rule, size, dtype, repeats)
            moved = rule.bytes_per_param(dtype.itemsize) * size
            row = {
                "rule": rule.name, "params": size, "dtype": args.dtype,
                "threads": steepest.get_num_threads(),
                "steepest_s": ours, "numpy_s": numpy_time,
                "speedup_vs_numpy": numpy_time / ours,
                "bytes_per_param": rule.bytes_per_param(dtype.itemsize),
                "steepest_gb_s": moved / ours / 1e9,
            }
            results.append(row)
            print(f"{rule.name:<7} {human(size):>7} {ours * 1e6:>9.1f}µs {row['steepest_gb_s']:>7.1f} "
                  f"{numpy_time * 1e6:>9.1f}µs {row['speedup_vs_numpy']:>8.1f}x", flush=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"steepest-bench-{stamp}.json")
    with open(path, "w") as f:
        json.dump({"machine": desc, "command": ["steepest", "bench", *argv],
                   "results": results}, f, indent=1)
    print(f"results written to {path}")
    return 0
