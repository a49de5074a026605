"""The digits model's training step in steepest, PyTorch and scikit-learn, side by side.

The model: 64-256-256-10 with ReLU, softmax cross-entropy, Adam (lr 1e-3, betas (0.9, 0.999),
eps 1e-8, no weight decay), batch 64, float32, on scikit-learn's digits (pixels / 16, a fixed
permutation: 1400 rows to train, 397 held out). All three run in one process on the same
number of threads (steepest.set_num_threads, torch.set_num_threads, and
threadpoolctl for scikit-learn's BLAS).

Two measurements per framework:
- ``step_ms``: one training step in steady state, the median over ``repeats`` (timing.py; the
  frameworks' repeats alternate, each after a pause, SETTLE, and lasting BLOCK), each cycling
  through the training set's batches in order: zero the gradients, forward, the loss and its
  gradient, backward, the Adam step. steepest: ``nn.training.train_step``, what ``fit`` runs
  per batch. PyTorch: the same loop on torch.nn.Sequential of Linear/ReLU, the same initial
  weights, torch.nn.functional.cross_entropy and torch.optim.Adam (its default for-each
  implementation). scikit-learn: ``MLPClassifier.partial_fit`` on one 64-row batch, which is
  one Adam step plus its per-call input checks.
- ``train_s``: a fresh model trained for ``epochs`` epochs with shuffling (steepest's
  ``model.fit``; PyTorch the loop above over a ``torch.randperm`` order; scikit-learn
  ``MLPClassifier.fit`` with max_iter=epochs and its stopping rules turned off), timed once;
  ``fit_step_ms`` is that time over the steps taken, and ``accuracy`` the held-out accuracy.
"""

import argparse
import itertools
import json
import os
import time
import warnings

import numpy as np

import steepest
from steepest import nn
from steepest.nn.training import train_step

from . import machine
from .timing import interleaved_seconds_per_call

HIDDEN = (256, 256)
LR = 1e-3
# Seconds of sleep before each timed block: the previous framework's idle threads (OpenBLAS
# spins about 2^28 cycles after a call, OpenMP's briefly) would otherwise take a core from the
# next one; measured: 2-thread steps 3-200x slower without it.
SETTLE = 0.2
# Seconds each timed block lasts at least: long enough that its first steps, on caches the
# previous framework filled with its own data, weigh little.
BLOCK = 0.1


def digits(seed=0):
    """(X_train, y_train, X_test, y_test): float32 pixels in [0, 1], int64 labels."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("the nn benchmark trains on scikit-learn's digits: "
                          "pip install scikit-learn") from None
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    order = np.random.default_rng(seed).permutation(len(X))
    train, test = order[:1400], order[1400:]
    return X[train], y[train].astype(np.int64), X[test], y[test].astype(np.int64)


def batches(X, y, batch_size):
    return [(X[i:i + batch_size], y[i:i + batch_size])
            for i in range(0, len(X) - batch_size + 1, batch_size)]


def steepest_model(seed):
    sizes = (64,) + HIDDEN + (10,)
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers += [nn.Dense(a, b, seed=seed + i)] + ([nn.ReLU()] if i < len(HIDDEN) else [])
    return nn.Sequential(*layers)


class Steepest:
    name, method = "steepest", "nn.training.train_step; model.fit"

    def step(self, data, batch_size, seed):
        X, y, _, _ = data
        model = steepest_model(seed)
        opt = steepest.optim.Adam(model.parameters(), lr=LR)
        loss, grads = nn.CrossEntropyLoss(), {}
        cycle = itertools.cycle(batches(X, y, batch_size))

        def step():
            xb, yb = next(cycle)
            train_step(model, loss, opt, xb, yb, grads)

        return step

    def train(self, data, batch_size, epochs, seed):
        X, y, Xt, yt = data
        model = steepest_model(seed)
        opt = steepest.optim.Adam(model.parameters(), lr=LR)
        start = time.perf_counter()
        history = model.fit(X, y, loss="cross_entropy", optimizer=opt, epochs=epochs,
                            batch_size=batch_size, seed=seed, metric=None)
        train_s = time.perf_counter() - start
        return train_s, history.steps, float((model.predict(Xt).argmax(1) == yt).mean())


class Torch:
    name, method = "torch", "torch.nn + torch.optim.Adam loop"

    def __init__(self):
        import torch

        self.torch = torch

    def _build(self, seed):
        torch = self.torch
        ours = steepest_model(seed)  # the same initial weights
        sizes = (64,) + HIDDEN + (10,)
        layers = []
        for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
            layers += [torch.nn.Linear(a, b)] + ([torch.nn.ReLU()] if i < len(HIDDEN) else [])
        net = torch.nn.Sequential(*layers)
        with torch.no_grad():
            for p, q in zip(ours.parameters(), net.parameters()):
                q.copy_(torch.from_numpy(p.data))
        return net, torch.optim.Adam(net.parameters(), lr=LR)

    def _train_step(self, net, opt, xb, yb):
        opt.zero_grad()
        self.torch.nn.functional.cross_entropy(net(xb), yb).backward()
        opt.step()

    def step(self, data, batch_size, seed):
        X, y, _, _ = data
        net, opt = self._build(seed)
        cycle = itertools.cycle([(self.torch.from_numpy(a), self.torch.from_numpy(b))
                                 for a, b in batches(X, y, batch_size)])
        return lambda: self._train_step(net, opt, *next(cycle))

    def train(self, data, batch_size, epochs, seed):
        torch = self.torch
        X, y, Xt, yt = data
        net, opt = self._build(seed)
        tX, ty = torch.from_numpy(X), torch.from_numpy(y)
        generator = torch.Generator().manual_seed(seed)
        steps = 0
        start = time.perf_counter()
        for _ in range(epochs):
            order = torch.randperm(len(X), generator=generator)
            for i in range(0, len(X), batch_size):
                rows = order[i:i + batch_size]
                self._train_step(net, opt, tX[rows], ty[rows])
                steps += 1
        train_s = time.perf_counter() - start
        with torch.no_grad():
            accuracy = float((net(torch.from_numpy(Xt)).argmax(1).numpy() == yt).mean())
        return train_s, steps, accuracy


class Sklearn:
    name, method = "sklearn", "MLPClassifier.partial_fit per batch; .fit"

    def __init__(self):
        from sklearn.neural_network import MLPClassifier

        self.MLPClassifier = MLPClassifier

    def _build(self, batch_size, max_iter, seed):
        return self.MLPClassifier(hidden_layer_sizes=HIDDEN, activation="relu", solver="adam",
                                  alpha=0.0, batch_size=batch_size, learning_rate_init=LR,
                                  max_iter=max_iter, shuffle=True, random_state=seed, tol=0.0,
                                  n_iter_no_change=max_iter + 1)

    def step(self, data, batch_size, seed):
        X, y, _, _ = data
        clf, classes = self._build(batch_size, 1, seed), np.arange(10)
        cycle = itertools.cycle(batches(X, y, batch_size))
        return lambda: clf.partial_fit(*next(cycle), classes=classes)

    def train(self, data, batch_size, epochs, seed):
        from sklearn.exceptions import ConvergenceWarning

        X, y, Xt, yt = data
        clf = self._build(batch_size, epochs, seed)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        train_s = time.perf_counter() - start
        steps = clf.n_iter_ * -(-len(X) // batch_size)
        return train_s, steps, float((clf.predict(Xt) == yt).mean())


FRAMEWORKS = {"steepest": Steepest, "torch": Torch, "sklearn": Sklearn}


def _threads_set(threads):
    """Set every framework's thread count; returns a function that restores them."""
    previous = steepest.get_num_threads()
    steepest.set_num_threads(threads)
    restore = [lambda: steepest.set_num_threads(previous)]
    try:
        import torch

        torch_previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        restore.append(lambda: torch.set_num_threads(torch_previous))
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_limits

        limits = threadpool_limits(threads)
        restore.append(limits.restore_original_limits)
    except ImportError:
        pass
    return lambda: [r() for r in restore]


def measure(frameworks=("steepest", "torch", "sklearn"), batch_size=64, epochs=10,
            repeats=15, threads=None, seed=0):
    """One dict per framework that can run here (torch and scikit-learn are optional):
    framework, method, step_ms, train_s, fit_step_ms, steps, epochs, accuracy, batch_size,
    threads. The step timings' repeats alternate between the frameworks."""
    threads = steepest.get_num_threads() if threads is None else threads
    data = digits(seed)
    runners = []
    for name in frameworks:
        try:
            runners.append(FRAMEWORKS[name]())
        except ImportError:
            continue  # torch or scikit-learn is not installed
    restore = _threads_set(threads)
    try:
        steps = [r.step(data, batch_size, seed) for r in runners]
        step_s = interleaved_seconds_per_call(steps, repeats=repeats, min_time=BLOCK,
                                              settle=SETTLE)
        trained = []
        for r in runners:
            time.sleep(SETTLE)
            trained.append(r.train(data, batch_size, epochs, seed))
    finally:
        restore()
    return [{"framework": r.name, "method": r.method, "step_ms": s * 1e3, "train_s": t,
             "fit_step_ms": t / n * 1e3, "steps": n, "epochs": epochs, "accuracy": a,
             "batch_size": batch_size, "threads": threads}
            for r, s, (t, n, a) in zip(runners, step_s, trained)]


def table(rows):
    ours = next((r for r in rows if r["framework"] == "steepest"), None)
    lines = [f"{'framework':<10} {'step':>9} {'vs steepest':>12} {'train':>8} "
             f"{'per step in fit':>16} {'held-out acc':>13}"]
    for r in rows:
        ratio = f"{r['step_ms'] / ours['step_ms']:.1f}x" if ours else "-"
        lines.append(f"{r['framework']:<10} {r['step_ms']:>6.3f} ms {ratio:>12} "
                     f"{r['train_s']:>6.2f} s {r['fit_step_ms']:>13.3f} ms "
                     f"{r['accuracy']:>13.3f}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="steepest bench nn",
        description="Time a training step of the 64-256-256-10 digits model in steepest, "
                    "PyTorch and scikit-learn; train each for the same epochs.")
    ap.add_argument("--frameworks", default="steepest,torch,sklearn")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", default=None,
                    help="comma-separated thread counts, e.g. 1,2 (default: steepest's count)")
    ap.add_argument("--json", default=None, help="write the results and the machine here")
    args = ap.parse_args(argv)
    frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    unknown = [f for f in frameworks if f not in FRAMEWORKS]
    if unknown:
        ap.error(f"unknown framework(s) {unknown}; choose from {list(FRAMEWORKS)}")
    try:
        counts = ([int(t) for t in args.threads.split(",")] if args.threads
                  else [steepest.get_num_threads()])
    except ValueError:
        ap.error(f"--threads takes comma-separated whole numbers, got {args.threads!r}")
    rows, load_before = [], os.getloadavg()
    for threads in counts:
        part = measure(frameworks, args.batch_size, args.epochs, args.repeats, threads)
        print(f"digits 64-256-256-10 ReLU, Adam, batch {args.batch_size}, float32, {threads} "
              f"threads; step: median of {args.repeats}; train: {args.epochs} epochs")
        print(table(part))
        rows += part
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"benchmark": "nn-model",
                       "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "config": {"model": "64-256-256-10 relu, cross_entropy, Adam lr 1e-3",
                                  "dtype": "float32", "batch_size": args.batch_size,
                                  "epochs": args.epochs, "repeats": args.repeats},
                       "method": __doc__, "machine": machine.describe(),
                       "load_average_1min": {"before": load_before[0],
                                             "after": os.getloadavg()[0]},
                       "results": rows},
                      f, indent=1)
        print(f"results: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
