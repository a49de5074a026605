"""``steepest bench``: time update rules against the NumPy reference, torch.optim and this
machine's memory ceiling; print a table, write JSON and (with matplotlib) a PNG."""

import argparse
import datetime
import itertools
import json
import os
import sys
import time

import numpy as np

import steepest

from . import ceiling, layout, machine, torch_steps
from .rules import RULES
from .timing import interleaved_seconds_per_call

TORCH_SETTLE = 0.01  # seconds; see time_point
QUICK_SIZES = (16_384, 262_144, 4_194_304)
FULL_SIZES = (16_384, 262_144, 4_194_304, 33_554_432)


def parse_size(text):
    """'16K', '4M', '1031' -> int."""
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    t = text.strip().upper()
    try:
        n = int(t[:-1]) * scale[t[-1]] if t and t[-1] in scale else int(t)
    except ValueError:
        raise ValueError(f"invalid size {text!r}: expected e.g. 1031, 16K, 4M") from None
    if n < 1:
        raise ValueError(f"invalid size {text!r}: must be >= 1")
    return n


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="steepest bench",
        description="Time steepest's update rules against the NumPy reference, torch.optim "
                    "(when installed) and this machine's memory ceiling.",
    )
    ap.add_argument("--rules", default=",".join(RULES),
                    help=f"comma-separated rules (default: all: {','.join(RULES)})")
    ap.add_argument("--sizes", default=None,
                    help="comma-separated parameter counts, e.g. 16K,256K,4M,32M "
                         "(default: 16K,256K,4M; --full adds 32M)")
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    ap.add_argument("--threads", default=None,
                    help="comma-separated thread counts (default: all cores; --full: 1 and all)")
    ap.add_argument("--tensors", default=None,
                    help="comma-separated: split each size over this many tensors "
                         "(default: 1; --full: 1,256)")
    ap.add_argument("--repeats", type=int, default=None,
                    help="timed repeats per point, the median is kept (default: 5, --full: 9)")
    ap.add_argument("--out", default="steepest-bench",
                    help="directory for the JSON and PNG results (default: ./steepest-bench)")
    ap.add_argument("--no-torch", action="store_true", help="do not time torch.optim")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="the default: under a minute")
    mode.add_argument("--full", action="store_true", help="32M params, 1 and all threads, more repeats")
    args = ap.parse_args(argv)

    args.rules = [r.strip() for r in args.rules.split(",") if r.strip()]
    unknown = [r for r in args.rules if r not in RULES]
    if unknown or not args.rules:
        ap.error(f"unknown rule(s) {', '.join(unknown) or '(none given)'}; "
                 f"choose from {', '.join(RULES)}")
    try:
        args.sizes = ([parse_size(s) for s in args.sizes.split(",") if s.strip()]
                      if args.sizes else list(FULL_SIZES if args.full else QUICK_SIZES))
    except ValueError as e:
        ap.error(str(e))
    cores = steepest.get_num_threads()
    try:
        args.threads = ([int(t) for t in args.threads.split(",") if t.strip()] if args.threads
                        else sorted({1, cores}) if args.full else [cores])
    except ValueError:
        ap.error(f"--threads takes comma-separated whole numbers, got {args.threads!r}")
    if any(t < 1 for t in args.threads):
        ap.error("--threads must be >= 1")
    try:
        args.tensors = ([int(t) for t in args.tensors.split(",") if t.strip()] if args.tensors
                        else [1, 256] if args.full else [1])
    except ValueError:
        ap.error(f"--tensors takes comma-separated whole numbers, got {args.tensors!r}")
    if any(t < 1 for t in args.tensors):
        ap.error("--tensors must be >= 1")
    if any(n < t for n in args.sizes for t in args.tensors):
        ap.error("every size must be at least each --tensors count")
    args.repeats = args.repeats or (9 if args.full else 5)
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    return args


def split(n, parts):
    """Sizes of ``parts`` tensors holding ``n`` parameters together (the last takes the rest)."""
    base = n // parts
    return [base] * (parts - 1) + [n - base * (parts - 1)]


def time_point(rule, size, tensors, dtype, threads, repeats, with_torch):
    """Seconds per step of every implementation of ``rule`` on the same data, their repeats
    alternating (timing.interleaved_seconds_per_call: a drift of the machine's speed during the
    point weighs on all of them alike), and steepest's step timed alternating with passes of its
    patterns' ceilings at the same size (ceiling.alternated)."""
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(n).astype(dtype) for n in split(size, tensors)]
    # steepest's params and the grads begin at offsets of their own (layout.py), as its state does
    grads = [layout.placed((rng.standard_normal(p.size) * 1e-2).astype(dtype), 2 * i + 1)
             for i, p in enumerate(params)]
    steepest.set_num_threads(threads)
    opt = rule.make([layout.placed(p, 2 * i) for i, p in enumerate(params)])
    ref_params = [p.copy() for p in params]
    ref_states = [{} for _ in params]

    def reference_step():
        for p, g, s in zip(ref_params, grads, ref_states):
            rule.reference_step(p, g, s)

    steps = {"steepest": lambda: opt.step(grads), "numpy": reference_step}
    if with_torch:
        import torch

        torch.set_num_threads(threads)
        steps.update(torch_steps.variants(rule, params, grads))
    # torch's OpenMP workers spin for a while after a call (libgomp: measured ~5 ms of CPU
    # after a fused AdamW step here), so what follows a torch variant in the cycle sleeps first.
    names = list(steps)
    after_torch = [names[i - 1].startswith("torch") and not name.startswith("torch")
                   for i, name in enumerate(names)]
    times = dict(zip(names, interleaved_seconds_per_call(
        list(steps.values()), repeats=repeats, settle=[TORCH_SETTLE * a for a in after_torch])))
    # Beyond the caches alternating flushes them: used for the ceiling fraction only.
    side_by_side = ceiling.alternated(steps["steepest"], rule.patterns, size, dtype, threads,
                                      repeats)
    return times, side_by_side


def human(n):
    for unit, scale in (("M", 1 << 20), ("K", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale}{unit}"
    return str(n)


IMPLEMENTATIONS = ("numpy", "torch", "torch-foreach", "torch-fused", "steepest.torch")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["estimators"]:  # steepest bench estimators: beside scikit-learn's
        from .estimators import main as bench_estimators

        return bench_estimators(argv[1:])
    args = parse_args(argv)
    dtype = np.dtype(args.dtype)
    torch_version = None if args.no_torch else torch_steps.available()
    desc = machine.describe()
    desc["torch"] = torch_version
    started = time.perf_counter()
    print(f"steepest bench — {desc['cpu']}, {desc['cores']} cores, SIMD {desc['simd']}, "
          f"{args.dtype}, threads {','.join(map(str, args.threads))}")
    if torch_version is None:
        print("note: torch is not installed (or --no-torch): timing steepest and NumPy only")

    rules = [RULES[name] for name in args.rules]
    patterns = sorted({pattern for r in rules for pattern in r.patterns})
    ceilings = {}
    for threads in args.threads:
        for reads, writes in patterns:
            print(f"measuring the memory ceiling: read {reads} arrays, write {writes} back, "
                  f"{threads} thread(s) ...", end=" ", flush=True)
            bw = ceiling.pattern_bandwidth(reads, writes, dtype, threads, repeats=args.repeats)
            ceilings[f"{reads}r{writes}w/{threads}t"] = bw
            print(f"{bw / 1e9:.1f} GB/s", flush=True)

    header = (f"{'rule':<7} {'params':>11} {'thr':>3} {'steepest':>10} {'GB/s':>6} {'ceil%':>6}  "
              + " ".join(f"{'vs ' + name:>16}" for name in IMPLEMENTATIONS))
    print(header)
    print("-" * len(header))
    results = []
    previous_threads = steepest.get_num_threads()
    try:
        for rule in rules:
            for size, tensors, threads in itertools.product(args.sizes, args.tensors, args.threads):
                moved = rule.bytes_per_param(dtype.itemsize) * size
                # The fraction of the ceiling compares medians of the step and of its patterns'
                # passes at the same size, timed alternately (the neighbours of a shared machine
                # weigh on both alike; also the fastest of each, in the JSON).
                times, side = time_point(rule, size, tensors, dtype, threads, args.repeats,
                                         torch_version is not None)
                ours = times["steepest"]
                bw = rule.ceiling({p: b[0] for p, b in side[2].items()}, dtype.itemsize)
                fraction = moved / side[0] / bw
                best = (moved / side[1]
                        / rule.ceiling({p: b[1] for p, b in side[2].items()}, dtype.itemsize))
                row = {
                    "rule": rule.name, "params": size, "tensors": tensors,
                    "dtype": args.dtype, "threads": threads,
                    "bytes_per_param": rule.bytes_per_param(dtype.itemsize),
                    "seconds": times, "steepest_gb_s": moved / ours / 1e9,
                    "ceiling_gb_s": bw / 1e9,
                    "ceiling_measured": "same size, alternated with the step",
                    "steepest_alternated_seconds": side[0],
                    "fraction_of_ceiling": fraction,
                    "fraction_of_ceiling_fastest": best,
                    "speedup": {k: t / ours for k, t in times.items() if k != "steepest"},
                }
                results.append(row)
                cells = " ".join(
                    f"{row['speedup'][k]:>15.2f}x" if k in row["speedup"] else f"{'n/a':>16}"
                    for k in IMPLEMENTATIONS)
                label = human(size) + (f" in {tensors}" if tensors > 1 else "")
                print(f"{rule.name:<7} {label:>11} "
                      f"{threads:>3} {ours * 1e6:>8.1f}µs {row['steepest_gb_s']:>6.1f} "
                      f"{100 * row['fraction_of_ceiling']:>5.0f}%  {cells}", flush=True)
    finally:
        steepest.set_num_threads(previous_threads)

    os.makedirs(args.out, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(args.out, f"bench-{stamp}.json")
    report = {
        "machine": desc,
        "command": ["steepest", "bench", *argv],
        "settings": {"dtype": args.dtype, "repeats": args.repeats,
                     "statistic": "median seconds per step over repeats"},
        "ceilings_gb_s": {k: v / 1e9 for k, v in ceilings.items()},
        "results": results,
    }
    with open(path, "w") as f:
        json.dump(report, f, indent=1)
    print("speed-ups are the other implementation's time over steepest's (higher: steepest "
          "faster); ceil% is the share of the ceiling: the same access pattern's plain loop over "
          "arrays of the same size (the memory bandwidth beyond the caches)")
    print(f"results: {path}")
    try:
        from .plot import draw
    except ImportError:
        print("note: matplotlib is not installed (pip install steepest[plot]): no plot drawn")
    else:
        print(f"plot:    {draw(report, path[:-len('.json')] + '.png')}")
    print(f"done in {time.perf_counter() - started:.0f} s")
    return 0
