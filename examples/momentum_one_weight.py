"""Gradient descent from scratch on a price series, then the same with steepest.optim.

1. ONE weight: predict the next return of an ETH-like price series (1,000 hourly bars) from its
   past momentum, y_hat = w * x, starting at w = 0.5 with learning rate 0.01, by plain gradient
   descent on the mean squared error L(w) = mean((w x - y)^2), whose gradient is
   dL/dw = (2/n) sum((w x - y) x). Prints the first updates and the weight it converges to next
   to the closed-form least-squares answer w* = sum(x y) / sum(x^2).
2. Batch, stochastic and mini-batch gradient descent on a multi-feature linear regression, with
   the gradient (2/n) sum((y_hat - y) x) written out; then the same with steepest.optim.SGD.

Run: python examples/momentum_one_weight.py
"""

import numpy as np

import steepest


def eth_like_prices(n=1000, seed=0):
    """Hourly prices with momentum: returns follow r_t = 0.3 r_{t-1} + noise (1% volatility)."""
    rng = np.random.default_rng(seed)
    r = np.zeros(n)
    for t in range(1, n):
        r[t] = 0.3 * r[t - 1] + 0.01 * rng.standard_normal()
    return 2000.0 * np.exp(np.cumsum(r))


def one_weight(prices, lr=0.01, steps=1000, show=5):
    r = np.diff(np.log(prices))
    x, y = r[:-1], r[1:]  # momentum (the last return) -> the next return
    x, y = x / x.std(), y / y.std()  # standardized: one learning rate suits any price scale
    w = 0.5
    print(f"one weight, {len(x)} samples, start w = {w}, learning rate {lr}")
    for step in range(steps):
        grad = 2.0 / len(x) * np.sum((w * x - y) * x)
        if step < show:
            print(f"  step {step}: gradient {grad:+.5f}, w = {w:.5f} - {lr} x {grad:+.5f} = "
                  f"{w - lr * grad:.5f}")
        w -= lr * grad
    closed_form = np.sum(x * y) / np.sum(x * x)
    print(f"  after {steps} steps: w = {w:.5f}; least squares: w* = {closed_form:.5f}")
    return w, closed_form


def linear_data(n=512, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    beta = np.array([0.8, -0.5, 0.2])
    return X, X @ beta + 0.1 + 0.05 * rng.standard_normal(n), beta


def gradient(X, y, w, b):
    """Of mean((X w + b - y)^2): (2/n) sum((y_hat - y) x), and the same for the bias."""
    err = X @ w + b - y
    return 2.0 / len(y) * X.T @ err, np.array([2.0 * err.mean()])


def three_ways(X, y, lr=0.05, epochs=20, seed=2):
    rng = np.random.default_rng(seed)
    results = {}
    for name, batch in (("batch", len(y)), ("stochastic", 1), ("mini-batch", 32)):
        w, b = np.zeros(X.shape[1]), np.zeros(1)
        for _ in range(epochs):
            order = rng.permutation(len(y))
            for start in range(0, len(y), batch):
                idx = order[start:start + batch]
                gw, gb = gradient(X[idx], y[idx], w, b)
                w -= lr * gw
                b -= lr * gb
        mse = float(np.mean((X @ w + b - y) ** 2))
        results[name] = (w, b, mse)
        print(f"  {name:<10} (batch {batch:>3}): w = {np.round(w, 3)}, b = {b[0]:.3f}, "
              f"MSE {mse:.5f}")
    return results


def with_steepest(X, y, lr=0.05, epochs=20, batch=32, seed=2):
    rng = np.random.default_rng(seed)
    w, b = np.zeros(X.shape[1]), np.zeros(1)
    opt = steepest.optim.SGD([w, b], lr=lr)  # updates w and b in place
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), batch):
            idx = order[start:start + batch]
            opt.step(list(gradient(X[idx], y[idx], w, b)))
    mse = float(np.mean((X @ w + b - y) ** 2))
    print(f"  steepest.optim.SGD (mini-batch 32): w = {np.round(w, 3)}, b = {b[0]:.3f}, "
          f"MSE {mse:.5f}")
    return w, b, mse


def main(n=1000, epochs=20):
    w, closed_form = one_weight(eth_like_prices(n))
    X, y, beta = linear_data()
    print(f"linear regression, 3 features, true weights {beta}, bias 0.1:")
    results = three_ways(X, y, epochs=epochs)
    results["steepest"] = with_steepest(X, y, epochs=epochs)
    return w, closed_form, results


if __name__ == "__main__":
    main()
