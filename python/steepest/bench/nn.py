"""``steepest bench nn``: the dense layers' GEMM beside numpy.matmul and torch.matmul
(bench/gemm.py), the digits model's training step beside PyTorch and scikit-learn
(bench/nn_model.py), then the sequence models' training steps beside PyTorch and their FLOP
floors (bench/seq_models.py, one spec module per model: ``python -m steepest.bench.nn_tcn
--load 0,2`` adds busy processes); prints the tables and writes one JSON with the machine."""

import argparse
import datetime
import json
import os
import time

import steepest

from . import gemm, machine, nn_model, nn_tcn, seq_models
from . import nn_gru, nn_lstm, nn_transformer

SEQUENCE_MODELS = (nn_tcn, *nn_lstm.SPECS, nn_gru, nn_transformer)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="steepest bench nn", description=__doc__)
    ap.add_argument("--threads", default=None,
                    help="comma-separated thread counts (default: all cores)")
    ap.add_argument("--repeats", type=int, default=9, help="timed repeats, the median is kept")
    ap.add_argument("--epochs", type=int, default=10, help="epochs of each model's training run")
    ap.add_argument("--out", default="steepest-bench", help="directory for the JSON")
    ap.add_argument("--no-torch", action="store_true", help="do not time PyTorch")
    args = ap.parse_args(argv)
    try:
        counts = ([int(t) for t in args.threads.split(",") if t.strip()] if args.threads
                  else [steepest.get_num_threads()])
    except ValueError:
        ap.error(f"--threads takes comma-separated whole numbers, got {args.threads!r}")
    if not counts or min(counts) < 1 or args.repeats < 1 or args.epochs < 1:
        ap.error("--threads, --repeats and --epochs must be >= 1")
    frameworks = ("steepest", "sklearn") if args.no_torch else ("steepest", "torch", "sklearn")
    desc = machine.describe()
    started, load_before = time.perf_counter(), os.getloadavg()
    print(f"steepest bench nn — {desc['cpu']}, {desc['cores']} cores, SIMD {desc['simd']}")
    gemm_rows, model_rows = [], []
    for threads in counts:
        print(f"\nGEMM, float32, {threads} thread(s): GFLOP/s (2mnk per product), median of "
              f"{args.repeats}", flush=True)
        rows = gemm.measure(gemm.SHAPES, "float32", threads, args.repeats, not args.no_torch)
        print(gemm.table(rows), flush=True)
        gemm_rows += rows
    for threads in counts:
        rows = nn_model.measure(frameworks, 64, args.epochs, args.repeats, threads)
        print(f"\ndigits 64-256-256-10 ReLU, Adam, batch 64, float32, {threads} thread(s); "
              f"step: median of {args.repeats}; train: {args.epochs} epochs", flush=True)
        print(nn_model.table(rows), flush=True)
        model_rows += rows
    sequence_rows = []
    for spec in SEQUENCE_MODELS:
        print(f"\n{spec.TITLE}, {seq_models.flops(spec) / 1e9:.2f} GFLOP of products, float32; "
              f"median of {args.repeats}", flush=True)
        rows = seq_models.measure(spec, counts, (0,), args.repeats, not args.no_torch)
        print(seq_models.table(rows), flush=True)
        sequence_rows += rows
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"nn-{datetime.datetime.now():%Y%m%d-%H%M%S}.json")
    with open(path, "w") as f:
        json.dump({"machine": desc, "command": ["steepest", "bench", "nn", *(argv or [])],
                   "load_average_1min": {"before": load_before[0], "after": os.getloadavg()[0]},
                   "gemm": gemm_rows, "model": model_rows, "model_method": nn_model.__doc__,
                   "sequence": sequence_rows, "sequence_method": seq_models.__doc__},
                  f, indent=1)
    print(f"\nresults: {path}\ndone in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
