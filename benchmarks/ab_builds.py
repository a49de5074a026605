"""Two builds of steepest timed side by side: the optimizer step of every rule, A and B alternated.

    python benchmarks/ab_builds.py --a /tmp/before/python --b python --out benchmarks/results
    python benchmarks/ab_builds.py --a A --b B --rules "" --nn gemm:64x256x64,mlp,lstm,tcn,transformer

``--nn`` adds steps of steepest.nn (GEMM products and training steps: the worker's workload())
to the rules.
``--a`` and ``--b`` are directories holding a ``steepest`` package with its built ``_core`` (a
checkout's python/ after /work/devbuild.sh, or a venv's site-packages). One worker process per
build times one point at a time through the public API (``steepest.optim.<Rule>(params).step``)
and the driver alternates them per repeat (A, B, B, A, A, B, ...), so a change of the machine's
load weighs on both alike. Reports each point's median seconds per step for A and B and B/A, and
writes JSON with the machine's description. Nothing else may run on the machine meanwhile.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

RULES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam",
         "Rprop", "ASGD", "Lion", "Lamb", "Lars", "Adafactor"]
OPTIONS = {"SGD": dict(momentum=0.9), "Lars": dict(lr=0.1)}  # beyond each rule's defaults

WORKER = r"""
import json, sys, time
import numpy as np
import steepest
from steepest.bench.timing import calls_for, run_calls

OPTIONS = json.loads(sys.argv[1])
points = {}


def workload(name):  # a step of steepest.nn by name (--nn), float32
    from steepest import nn
    from steepest.nn.training import train_step
    rng = np.random.default_rng(0)
    if name.startswith("gemm:"):  # M x N x K as a dense layer's forward: X (M, K) W^T, W (N, K)
        m, n, k = map(int, name[5:].split("x"))
        a, b = rng.standard_normal((m, k), np.float32), rng.standard_normal((n, k), np.float32)
        c = np.empty((m, n), np.float32)
        return lambda: steepest._core.gemm(a, b, c, False, True)
    if name in ("lstm", "lstm128", "gru", "tcn", "transformer"):
        from steepest.bench import nn_gru, nn_lstm, nn_tcn, nn_transformer, seq_models
        spec = {"lstm": nn_lstm.LstmSpec(64), "lstm128": nn_lstm.LstmSpec(128), "gru": nn_gru,
                "tcn": nn_tcn, "transformer": nn_transformer}[name]
        X, y = spec.data()
        return seq_models.steepest_step(spec, X, y)
    if name == "mlp":  # the digits MLP: 64-256-256-10, batch 64, cross-entropy, Adam
        model = nn.Sequential(nn.Dense(64, 256, seed=0), nn.ReLU(), nn.Dense(256, 256, seed=1),
                              nn.ReLU(), nn.Dense(256, 10, seed=2))
        opt = steepest.optim.Adam(model.parameters(), lr=1e-3)
        X, y = rng.random((64, 64), np.float32), rng.integers(0, 10, 64)
        loss, grads = nn.CrossEntropyLoss(), {}
        return lambda: train_step(model, loss, opt, X, y, grads)
    if name == "linear":  # an epoch of LinearRegressor: 200K x 45, SGD, mini-batches of 256
        from steepest.estimators import LinearRegressor
        X = rng.standard_normal((200_000, 45), np.float32)
        y = X @ rng.standard_normal(45, np.float32)
        est = LinearRegressor(penalty=None, lr=1e-3, batch_size=256, epochs=1, tol=None, seed=0)
        est.fit(X, y)
        return lambda: est.partial_fit(X, y)
    raise ValueError(f"unknown nn workload {name!r}")


print(json.dumps({"steepest": steepest.__version__, "file": steepest.__file__}), flush=True)
for line in sys.stdin:
    rule, params, tensors, threads, calls = json.loads(line)
    key = (rule, params, tensors)
    if key not in points and rule.startswith("nn:"):
        points[key] = workload(rule[3:])
    if key not in points:
        rng = np.random.default_rng(0)
        sizes = [params // tensors + (i < params % tensors) for i in range(tensors)]
        ps = [rng.standard_normal(n).astype(np.float32) for n in sizes]
        gs = [rng.standard_normal(n).astype(np.float32) for n in sizes]
        opt = getattr(steepest.optim, rule)(ps, **OPTIONS.get(rule, {}))
        points[key] = lambda opt=opt, gs=gs: opt.step(gs)
    steepest.set_num_threads(threads)
    step = points[key]
    if calls == 0:  # calibrate: how many steps last long enough to be read
        calls, seconds = calls_for(step, 0.02)
    else:
        seconds = run_calls(step, calls)
    print(json.dumps([calls, seconds]), flush=True)
"""


def parse_size(text):
    units = {"K": 1024, "M": 1024 ** 2}
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


class Worker:
    def __init__(self, path):
        env = dict(os.environ, PYTHONPATH=str(Path(path).resolve()))
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER, json.dumps(OPTIONS)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=env)
        self.info = json.loads(self.proc.stdout.readline())
        self.info["commit"] = commit_of(path)

    def time(self, rule, params, tensors, threads, calls):
        self.proc.stdin.write(json.dumps([rule, params, tensors, threads, calls]) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def commit_of(path):
    """The commit of the checkout holding ``path`` (with "+changes" when its tracked files differ
    from it), or None outside a git checkout: what the JSON says build A or B was."""
    def git(*args):
        return subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True)

    head = git("rev-parse", "--short", "HEAD")
    if head.returncode != 0:
        return None
    changed = git("diff", "--quiet", "HEAD").returncode != 0
    return head.stdout.strip() + ("+changes" if changed else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", required=True, help="python dir of build A (before)")
    ap.add_argument("--b", required=True, help="python dir of build B (after)")
    ap.add_argument("--rules", default=",".join(RULES), help='comma-separated; "" for none')
    ap.add_argument("--nn", default="", help="comma-separated nn workloads: gemm:MxNxK, mlp, "
                    "lstm, lstm128, gru, tcn, transformer (bench/nn_*.py's training steps), linear "
                    "(an epoch of LinearRegressor, 200K x 45)")
    ap.add_argument("--sizes", default="16K,256K,4M")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--tensors", default="1,256")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--out", type=Path, default=None, help="directory for the JSON")
    args = ap.parse_args()
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    threads = [int(t) for t in args.threads.split(",")]
    tensor_counts = [int(t) for t in args.tensors.split(",")]
    # (name, params, tensors) points; an nn workload has one point, of no params
    points = [(rule, params, tensors) for rule in filter(None, args.rules.split(","))
              for params in sizes for tensors in tensor_counts]
    points += [("nn:" + name, 0, 0) for name in filter(None, args.nn.split(","))]

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
    from steepest.bench.machine import describe  # noqa: E402

    a, b = Worker(args.a), Worker(args.b)
    results = []
    began = time.time()
    print(f"{'rule':<10} {'params':>9} {'tensors':>7} {'thr':>3} {'A':>11} {'B':>11} {'B/A':>6}")
    try:
        for rule, params, tensors in points:
            for t in threads:
                calls, _ = a.time(rule, params, tensors, t, 0)
                b.time(rule, params, tensors, t, 0)  # its warm-up; same call count
                times = {"A": [], "B": []}
                for r in range(args.repeats):
                    order = [("A", a), ("B", b)] if r % 2 == 0 else [("B", b), ("A", a)]
                    for name, w in order:
                        times[name].append(w.time(rule, params, tensors, t, calls)[1])
                ma, mb = statistics.median(times["A"]), statistics.median(times["B"])
                results.append(dict(rule=rule, params=params, tensors=tensors, threads=t,
                                    calls=calls, a_seconds=ma, b_seconds=mb, ratio=mb / ma,
                                    a_all=times["A"], b_all=times["B"]))
                print(f"{rule:<10} {params:>9} {tensors:>7} {t:>3} "
                      f"{ma * 1e6:>9.1f}µs {mb * 1e6:>9.1f}µs {mb / ma:>6.3f}", flush=True)
    finally:
        a.close()
        b.close()
    ratios = [r["ratio"] for r in results]
    geo = statistics.geometric_mean(ratios)
    print(f"B/A over {len(ratios)} points: geometric mean {geo:.3f}, min {min(ratios):.3f}, "
          f"max {max(ratios):.3f}; {time.time() - began:.0f} s")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / f"ab-{time.strftime('%Y%m%d-%H%M%S')}.json"
        path.write_text(json.dumps(dict(
            machine=describe(), command=sys.argv, a=dict(path=args.a, **a.info),
            b=dict(path=args.b, **b.info), repeats=args.repeats,
            statistic="median seconds per step, A and B alternated per repeat",
            geometric_mean_ratio=geo, results=results), indent=1))
        print(f"results: {path}")


if __name__ == "__main__":
    main()
