"""``steepest bench estimators``: steepest's estimators beside scikit-learn's, in one process.

- Linear regression: ``LinearRegressor`` (plain SGD, mini-batches of 256, no penalty) and
  ``sklearn.linear_model.SGDRegressor`` (its defaults: per-sample SGD, invscaling lr; no
  penalty), 10 epochs each with shuffling, on float32 data y = X w + noise (200K x 45 to
  train, 50K held out; noise variance 0.25, the best test MSE). Reported: seconds per epoch
  (a fit's time over its epochs) and test MSE. The issue's goal: >= 3x faster per epoch at the
  same test MSE (within 1%).
- MLP classification on scikit-learn's digits (1400 rows to train, 397 held out, pixels / 16):
  ``MLPClassifier`` and sklearn's, 64-256-256-10 ReLU, Adam (lr 1e-3, no weight decay /
  alpha=0), batch 64, 20 epochs, no early stopping. Reported: fit seconds and held-out
  accuracy. The goal: >= 5x faster at the same accuracy.

Both sides run on the same thread count (steepest.set_num_threads, threadpoolctl for
scikit-learn's BLAS). Each repeat fits every model afresh, the frameworks alternating (a
drift of the machine's speed weighs on both alike), each after a pause (nn_model.SETTLE: the
previous one's idle threads spin); the median over repeats is kept.
"""

import argparse
import json
import os
import statistics
import time
import warnings

import numpy as np

from . import machine, nn_model

LINEAR_LR = 0.05  # plain SGD on the mean squared error of 256 rows; the Hessian is 2 I here


def regression_data(rows, features, test_rows, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(features) / np.sqrt(features)
    X = rng.standard_normal((rows + test_rows, features), dtype=np.float32)
    y = (X @ w + 0.5 * rng.standard_normal(rows + test_rows)).astype(np.float32)
    return X[:rows], y[:rows], X[rows:], y[rows:]


def _linear_fits(epochs, seed):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDRegressor

    from steepest.estimators import LinearRegressor

    def ours():
        return LinearRegressor(penalty=None, optimizer="sgd", lr=LINEAR_LR, batch_size=256,
                               epochs=epochs, tol=None, seed=seed)

    def theirs():
        return SGDRegressor(penalty=None, max_iter=epochs, tol=None, shuffle=True,
                            random_state=seed)

    def fit(make, X, y):
        est = make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            est.fit(X, y)
            return time.perf_counter() - start, est

    return {"steepest LinearRegressor": lambda X, y: fit(ours, X, y),
            "sklearn SGDRegressor": lambda X, y: fit(theirs, X, y)}


def _mlp_fits(epochs, seed):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier as SkMLP

    from steepest.estimators import MLPClassifier

    def ours():
        return MLPClassifier(hidden_layer_sizes=nn_model.HIDDEN, optimizer="adam",
                             lr=nn_model.LR, weight_decay=0.0, batch_size=64, epochs=epochs,
                             tol=None, seed=seed)

    def theirs():
        return SkMLP(hidden_layer_sizes=nn_model.HIDDEN, solver="adam", alpha=0.0,
                     batch_size=64, learning_rate_init=nn_model.LR, max_iter=epochs, tol=0.0,
                     n_iter_no_change=epochs + 1, shuffle=True, random_state=seed)

    def fit(make, X, y):
        est = make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            est.fit(X, y)
            return time.perf_counter() - start, est

    return {"steepest MLPClassifier": lambda X, y: fit(ours, X, y),
            "sklearn MLPClassifier": lambda X, y: fit(theirs, X, y)}


def _alternate(fits, X, y, repeats):
    """{name: (median seconds, the last fitted estimator)}, the fits alternating."""
    seconds = {name: [] for name in fits}
    fitted = {}
    for _ in range(repeats):
        for name, fit in fits.items():
            time.sleep(nn_model.SETTLE)
            s, fitted[name] = fit(X, y)
            seconds[name].append(s)
    return {name: (statistics.median(seconds[name]), fitted[name]) for name in fits}


def measure(rows=200_000, features=45, test_rows=50_000, epochs=10, mlp_epochs=20, repeats=3,
            threads=None, seed=0):
    """Two lists of dicts (linear rows, MLP rows), one dict per estimator."""
    import steepest

    threads = steepest.get_num_threads() if threads is None else threads
    restore = nn_model._threads_set(threads)
    try:
        X, y, Xt, yt = regression_data(rows, features, test_rows, seed)
        linear = []
        for name, (s, est) in _alternate(_linear_fits(epochs, seed), X, y, repeats).items():
            linear.append({"estimator": name, "fit_s": s, "epoch_s": s / epochs,
                           "epochs": epochs, "test_mse": float(np.mean((est.predict(Xt) - yt)
                                                                       ** 2)),
                           "rows": rows, "features": features, "threads": threads})
        Xd, yd, Xdt, ydt = nn_model.digits(seed)
        mlp = []
        for name, (s, est) in _alternate(_mlp_fits(mlp_epochs, seed), Xd, yd, repeats).items():
            mlp.append({"estimator": name, "fit_s": s, "epochs": mlp_epochs,
                        "accuracy": float((est.predict(Xdt) == ydt).mean()),
                        "threads": threads})
    finally:
        restore()
    return linear, mlp


def table(linear, mlp):
    ours = linear[0]
    lines = [f"{'linear regression':<26} {'per epoch':>10} {'vs steepest':>12} "
             f"{'test MSE':>10} {'vs steepest':>12}"]
    for r in linear:
        lines.append(f"{r['estimator']:<26} {r['epoch_s'] * 1e3:>7.1f} ms "
                     f"{r['epoch_s'] / ours['epoch_s']:>11.2f}x {r['test_mse']:>10.5f} "
                     f"{r['test_mse'] / ours['test_mse'] - 1:>+11.2%}")
    ours = mlp[0]
    lines += ["", f"{'digits MLP':<26} {'fit':>10} {'vs steepest':>12} {'accuracy':>10}"]
    for r in mlp:
        lines.append(f"{r['estimator']:<26} {r['fit_s']:>8.2f} s "
                     f"{r['fit_s'] / ours['fit_s']:>11.2f}x {r['accuracy']:>10.3f}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="steepest bench estimators",
                                 description="steepest's estimators beside scikit-learn's: "
                                             "linear regression and the digits MLP.")
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--features", type=int, default=45)
    ap.add_argument("--test-rows", type=int, default=50_000)
    ap.add_argument("--epochs", type=int, default=10, help="linear models' epochs")
    ap.add_argument("--mlp-epochs", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", default=None, help="write the results and the machine here")
    args = ap.parse_args(argv)
    for name in ("rows", "features", "test_rows", "epochs", "mlp_epochs", "repeats"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1")
    load_before = os.getloadavg()
    linear, mlp = measure(args.rows, args.features, args.test_rows, args.epochs,
                          args.mlp_epochs, args.repeats, args.threads)
    print(f"linear: {args.rows} x {args.features} float32, batch 256 (sklearn: per sample), "
          f"{args.epochs} epochs; digits MLP 64-256-256-10, Adam, batch 64, {args.mlp_epochs} "
          f"epochs; {linear[0]['threads']} threads, median of {args.repeats}")
    print(table(linear, mlp))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"benchmark": "estimators",
                       "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "method": __doc__, "machine": machine.describe(),
                       "load_average_1min": {"before": load_before[0],
                                             "after": os.getloadavg()[0]},
                       "linear": linear, "mlp": mlp}, f, indent=1)
        print(f"results: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
