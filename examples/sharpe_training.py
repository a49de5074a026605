"""Train on the objective itself: the same MLP fit to the next return (MSE) and to the Sharpe ratio.

The pipeline of direction_walk_forward.py (features, windows, a rolling walk-forward, costs),
with two ways to turn the model into positions:
- MSE: the model predicts the next return; the position is its sign (long/short).
- Sharpe: the model's output, through tanh, IS the position in [-1, 1], and the loss is the
  negative annualized Sharpe ratio of position x next return less the cost of changing the
  position (steepest.nn.SharpeLoss; Lim, Zohren & Roberts 2019). Batches are consecutive bars
  (shuffle=False): the cost term links each bar to the one before.
Both are judged out of sample by the same backtest, against buy-and-hold. Which wins depends
on the series and on the learning rate (both use AdamW at 1e-3 here): tune it on the training
periods' validation ends, never on the test periods.

Run: python examples/sharpe_training.py [--eurusd]
"""

import argparse
import sys
from pathlib import Path

import numpy as np

import steepest
from steepest import nn, trading

sys.path.insert(0, str(Path(__file__).resolve().parent))
from direction_walk_forward import eurusd_bars, synthetic_bars  # noqa: E402


class WindowMLP:
    """fit(windows, next returns) / predict(windows) -> positions, trained on ``loss``."""

    def __init__(self, objective, cost, periods_per_year, hidden=32, weight_decay=1e-2,
                 lr=1e-3, epochs=40, seed=0):
        self.objective, self.cost, self.periods_per_year = objective, cost, periods_per_year
        self.hidden, self.weight_decay, self.lr = hidden, weight_decay, lr
        self.epochs, self.seed = epochs, seed

    def _inputs(self, W):
        return ((W.reshape(len(W), -1) - self.mean_) / self.scale_).astype(np.float32)

    def fit(self, W, returns):
        flat = W.reshape(len(W), -1)
        self.mean_, self.scale_ = flat.mean(0), flat.std(0) + 1e-12  # training period only
        X = self._inputs(W)
        layers = [nn.Dense(X.shape[1], self.hidden, seed=self.seed), nn.ReLU(),
                  nn.Dense(self.hidden, 1, seed=self.seed + 1)]
        if self.objective == "sharpe":
            layers.append(nn.Tanh())  # the position, in [-1, 1]
            loss = nn.SharpeLoss(cost=self.cost, periods_per_year=self.periods_per_year)
            y = returns
        else:
            loss = "mse"
            self.y_scale_ = returns.std() + 1e-12
            y = returns / self.y_scale_
        self.model_ = nn.Sequential(*layers)
        opt = steepest.optim.AdamW(self.model_.parameters(), lr=self.lr,
                                   weight_decay=self.weight_decay)
        cut = int(0.8 * len(X))  # validation: the end of the training period
        self.model_.fit(X[:cut], y[:cut], loss=loss, optimizer=opt, epochs=self.epochs,
                        batch_size=128, shuffle=False,
                        validation_data=(X[cut:], y[cut:]), early_stopping=5)
        return self

    def predict(self, W):
        out = self.model_.predict(self._inputs(W))[:, 0].astype(np.float64)
        return out if self.objective == "sharpe" else np.sign(out)


def main(bars=None, lookback=8, train_size=1500, test_size=250, cost_bps=0.5, epochs=40,
         periods_per_year=24 * 260, quiet=False):
    say = (lambda *a: None) if quiet else print
    o, h, l, c, v = bars if bars is not None else synthetic_bars()
    X, _ = trading.features(o, h, l, c, v)
    next_return = np.concatenate([np.diff(c) / c[:-1], [np.nan]])
    y = np.concatenate([[np.nan], next_return[:-1]])  # y[t]: the return of bar t
    W, targets, _ = trading.windows(X, y, lookback=lookback, start=trading.WARMUP)
    splitter = trading.WalkForward(train_size=train_size, test_size=test_size, expanding=False)
    results = {}
    for objective in ("mse", "sharpe"):
        walk = trading.walk_forward(
            lambda fold: WindowMLP(objective, cost_bps * 1e-4, periods_per_year, epochs=epochs,
                                   seed=fold), W, targets, splitter)
        realized = targets[walk.index]
        results[objective] = trading.backtest(walk.predictions, realized, cost_bps,
                                              periods_per_year)
    results["buy and hold"] = trading.backtest(np.ones_like(realized), realized, cost_bps,
                                               periods_per_year)
    say(f"walk-forward over {len(realized)} out-of-sample bars, {cost_bps} bps per unit traded")
    say(f"{'trained on':<14} {'Sharpe':>7} {'max DD':>7} {'return':>8} {'turnover':>9}")
    for name, bt in results.items():
        m = bt.metrics
        say(f"{name:<14} {m['sharpe_ratio']:>7.2f} {100 * m['max_drawdown']:>6.1f}% "
            f"{100 * m['total_return']:>7.1f}% {m['turnover']:>9.3f}")
    return results


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eurusd", action="store_true", help="real EUR/USD bars (pip install backtesting)")
    args = ap.parse_args()
    main(eurusd_bars() if args.eurusd else None)
