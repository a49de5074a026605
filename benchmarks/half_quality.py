"""What 16-bit storage costs in model quality (#20's quality goals), each against its float32 run.

    python benchmarks/half_quality.py [--seeds 3] [--out benchmarks/results]

1. The digits MLP (64-256-256-10, ReLU, cross-entropy, Adam lr 1e-3, batch 64, 30 epochs, 1,400
   training and 397 held-out images): held-out accuracy with float32 state and with
   state_dtype="bfloat16" and "int8". Goal: within 0.5% (absolute accuracy).
2. A small LSTM (hidden 32, the last step, Dense(32, 1); MSE, Adam lr 3e-3, batch 64, 15 epochs)
   on windows (32 steps, 4 features) of a synthetic noisy oscillation, predicting the next
   value: held-out MSE with float32, bfloat16 and int8 state. Goal: within 2%.
3. bfloat16 params (ml_dtypes) of a softmax regression on the digits (NumPy forward and
   gradient in float32, Adam lr 1e-3, 30 epochs): held-out cross-entropy with
   master_weights=True, and without master weights rounding stochastically or to nearest.
   Goal: stochastic rounding within 2% of the master-weight run's loss.
Each over ``--seeds`` seeds (the mean is reported, and every run). Writes JSON.
"""

import argparse
import json
import time
from pathlib import Path

import ml_dtypes
import numpy as np

import steepest
from steepest import nn
from steepest.bench.machine import describe
from steepest.bench.nn_model import digits


def mlp_accuracy(seed, state_dtype):
    X, y, Xt, yt = digits(seed)
    model = nn.Sequential(nn.Dense(64, 256, seed=seed), nn.ReLU(),
                          nn.Dense(256, 256, seed=seed + 1), nn.ReLU(),
                          nn.Dense(256, 10, seed=seed + 2))
    opt = steepest.optim.Adam(model.parameters(), lr=1e-3, state_dtype=state_dtype)
    model.fit(X, y, loss="cross_entropy", optimizer=opt, epochs=30, batch_size=64, seed=seed)
    return float(np.mean(model.predict(Xt).argmax(1) == yt))


def series_windows(seed, n=3000, steps=32):
    """Windows (N, steps, 4) of a noisy oscillation (value, its change, and two slow means) and
    the next value."""
    rng = np.random.default_rng(seed)
    t = np.arange(n + steps + 1)
    x = np.sin(t / 9.0) + 0.5 * np.sin(t / 23.0 + 1.0) + 0.1 * rng.standard_normal(len(t))
    dx = np.diff(x, prepend=x[0])
    slow = np.convolve(x, np.ones(8) / 8, mode="same")
    slower = np.convolve(x, np.ones(24) / 24, mode="same")
    features = np.stack([x, dx, slow, slower], axis=1).astype(np.float32)
    X = np.stack([features[i:i + steps] for i in range(n)])
    y = x[steps:steps + n].astype(np.float32)
    cut = int(0.8 * n)
    return X[:cut], y[:cut], X[cut:], y[cut:]


def lstm_mse(seed, state_dtype):
    X, y, Xt, yt = series_windows(seed)
    model = nn.Sequential(nn.LSTM(4, 32, seed=seed), nn.LastStep(), nn.Dense(32, 1, seed=seed))
    opt = steepest.optim.Adam(model.parameters(), lr=3e-3, state_dtype=state_dtype)
    model.fit(X, y, loss="mse", optimizer=opt, epochs=15, batch_size=64, seed=seed)
    return float(np.mean((model.predict(Xt)[:, 0] - yt) ** 2))


def softmax_regression_loss(seed, **options):
    X, y, Xt, yt = digits(seed)
    rng = np.random.default_rng(seed)
    bf16 = ml_dtypes.bfloat16
    W = (rng.standard_normal((64, 10)) * 0.01).astype(bf16)
    b = np.zeros(10, dtype=bf16)
    opt = steepest.optim.Adam([W, b], lr=1e-3, seed=seed, **options)

    def probs(Xb, W, b):
        z = Xb @ W.astype(np.float32) + b.astype(np.float32)
        z -= z.max(1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(1, keepdims=True)

    for _ in range(30):
        order = rng.permutation(len(X))
        for i in range(0, len(X) - 63, 64):
            rows = order[i:i + 64]
            d = probs(X[rows], W, b)
            d[np.arange(len(rows)), y[rows]] -= 1.0
            d /= len(rows)
            opt.step([(X[rows].T @ d).astype(bf16), d.sum(0).astype(bf16)])
    p = probs(Xt, W, b)
    return float(-np.mean(np.log(p[np.arange(len(yt)), yt] + 1e-12)))


def compare(name, runs, goal, relative):
    """Print and return one line: the mean of each variant, and the gap to the first."""
    means = {k: float(np.mean(v)) for k, v in runs.items()}
    base = next(iter(means.values()))
    gaps = {k: (m - base) / base if relative else m - base for k, m in means.items()}
    print(f"{name}: " + ", ".join(
        f"{k} {m:.4f} ({gaps[k]:+.2%})" if relative else f"{k} {m:.4f} ({gaps[k]:+.4f})"
        for k, m in means.items()) + f"  goal: {goal}")
    return {"runs": runs, "means": means, "gap_to_first": gaps, "goal": goal}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    seeds = range(args.seeds)
    results = {
        "mlp_accuracy": compare(
            "digits MLP held-out accuracy",
            {s: [mlp_accuracy(seed, s) for seed in seeds] for s in ("float32", "bfloat16", "int8")},
            "bfloat16 and int8 state within 0.5% (absolute)", relative=False),
        "lstm_mse": compare(
            "LSTM held-out MSE",
            {s: [lstm_mse(seed, s) for seed in seeds] for s in ("float32", "bfloat16", "int8")},
            "bfloat16 and int8 state within 2%", relative=True),
        "bf16_params_loss": compare(
            "bf16-param softmax regression held-out loss",
            {"master": [softmax_regression_loss(seed, master_weights=True) for seed in seeds],
             "stochastic": [softmax_regression_loss(seed, rounding="stochastic")
                            for seed in seeds],
             "nearest": [softmax_regression_loss(seed) for seed in seeds]},
            "stochastic rounding within 2% of master weights", relative=True),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"half-quality-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"machine": describe(), "command": "benchmarks/half_quality.py",
                                "method": __doc__, "results": results}, indent=1))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
