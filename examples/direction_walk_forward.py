"""The direction of the next bar, validated walk-forward, judged by its out-of-sample Sharpe ratio.

OHLCV bars -> 50 features (steepest.trading.features, no look-ahead) -> windows of the last
`lookback` bars -> an MLP or a TCN (`--model tcn`; L2 weight decay by AdamW, dropout, early
stopping on the last fifth of each training period, in time order) predicting whether the next
bar closes up -> walk-forward over the series (a rolling training window, retrained each
period) -> long/short positions on the out-of-sample predictions -> Sharpe ratio, drawdown and
hit rate after costs, against buy-and-hold over the same bars.

Data: a seeded synthetic series with regimes of momentum (default), or real hourly EUR/USD bars
from the `backtesting` package (`pip install backtesting`; `--eurusd`).

Run: python examples/direction_walk_forward.py [--model mlp|tcn] [--eurusd] [--plot equity.png]
"""

import argparse

import numpy as np

import steepest
from steepest import nn, trading


def synthetic_bars(n=4000, seed=0):
    """Hourly bars whose returns have momentum in some regimes and none in others, with
    volatility clustering: r_t = phi_t r_{t-1} + sigma_t e_t."""
    rng = np.random.default_rng(seed)
    phi = np.repeat(rng.choice([0.25, 0.0, -0.05], size=n // 400 + 1), 400)[:n]
    r, sigma = np.zeros(n), np.full(n, 0.002)
    for t in range(1, n):
        sigma[t] = np.sqrt(2e-7 + 0.1 * r[t - 1] ** 2 + 0.85 * sigma[t - 1] ** 2)
        r[t] = phi[t] * r[t - 1] + sigma[t] * rng.standard_normal()
    close = 1.10 * np.exp(np.cumsum(r))
    open_ = np.concatenate([[close[0]], close[:-1]]) * np.exp(2e-4 * rng.standard_normal(n))
    wick = np.abs(rng.standard_normal((2, n))) * sigma
    high = np.maximum(open_, close) * (1 + wick[0])
    low = np.minimum(open_, close) * (1 - wick[1])
    volume = rng.lognormal(8, 0.3, n) * (1 + 200 * np.abs(r))
    return open_, high, low, close, volume


def eurusd_bars():
    from backtesting.test import EURUSD  # 5,000 real hourly bars, shipped with the package

    return tuple(EURUSD[k].to_numpy(float) for k in ("Open", "High", "Low", "Close", "Volume"))


class DirectionMLP:
    """fit(windows, next returns) / predict(windows) -> positions in {-1, +1}."""

    def __init__(self, hidden=32, dropout=0.2, weight_decay=1e-2, lr=1e-3, epochs=40, seed=0):
        self.hidden, self.dropout, self.weight_decay = hidden, dropout, weight_decay
        self.lr, self.epochs, self.seed = lr, epochs, seed

    def _inputs(self, W):
        return ((W.reshape(len(W), -1) - self.mean_) / self.scale_).astype(np.float32)

    def fit(self, W, returns):
        flat = W.reshape(len(W), -1)
        self.mean_, self.scale_ = flat.mean(0), flat.std(0) + 1e-12  # training period only
        X, labels = self._inputs(W), (returns > 0).astype(np.int64)
        cut = int(0.8 * len(X))  # validation: the end of the training period
        self.model_ = nn.Sequential(nn.Dense(X.shape[1], self.hidden, seed=self.seed), nn.ReLU(),
                                    nn.Dropout(self.dropout, seed=self.seed),
                                    nn.Dense(self.hidden, 2, seed=self.seed + 1))
        opt = steepest.optim.AdamW(self.model_.parameters(), lr=self.lr,
                                   weight_decay=self.weight_decay)
        self.model_.fit(X[:cut], labels[:cut], loss="cross_entropy", optimizer=opt,
                        epochs=self.epochs, batch_size=64, seed=self.seed,
                        validation_data=(X[cut:], labels[cut:]), early_stopping=5)
        return self

    def predict(self, W):
        logits = self.model_.predict(self._inputs(W))
        return np.where(logits[:, 1] > logits[:, 0], 1.0, -1.0)


class DirectionTCN(DirectionMLP):
    """The same task with a temporal convolutional network on the (N, lookback, F) windows: a
    1x1 Conv1d, two causal TCNBlocks (dilations 1 and 2), the last step, dropout, a Dense head."""

    def _inputs(self, W):
        return ((W - self.mean_) / self.scale_).astype(np.float32)

    def fit(self, W, returns):
        self.mean_ = W.mean((0, 1))  # per feature, over the training period only
        self.scale_ = W.std((0, 1)) + 1e-12
        X, labels = self._inputs(W), (returns > 0).astype(np.int64)
        cut = int(0.8 * len(X))
        c = self.hidden // 2
        self.model_ = nn.Sequential(nn.Conv1d(X.shape[2], c, 1, seed=self.seed),
                                    nn.TCNBlock(c, c, 3, dilation=1, seed=self.seed + 1),
                                    nn.TCNBlock(c, c, 3, dilation=2, seed=self.seed + 2),
                                    nn.LastStep(), nn.Dropout(self.dropout, seed=self.seed),
                                    nn.Dense(c, 2, seed=self.seed + 3))
        opt = steepest.optim.AdamW(self.model_.parameters(), lr=self.lr,
                                   weight_decay=self.weight_decay)
        self.model_.fit(X[:cut], labels[:cut], loss="cross_entropy", optimizer=opt,
                        epochs=self.epochs, batch_size=64, seed=self.seed,
                        validation_data=(X[cut:], labels[cut:]), early_stopping=5)
        return self


MODELS = {"mlp": DirectionMLP, "tcn": DirectionTCN}


def main(bars=None, lookback=8, train_size=1500, test_size=250, cost_bps=0.5, epochs=40,
         periods_per_year=24 * 260, plot=None, quiet=False, model="mlp"):
    say = (lambda *a: None) if quiet else print
    o, h, l, c, v = bars if bars is not None else synthetic_bars()
    X, names = trading.features(o, h, l, c, v)
    next_return = np.concatenate([np.diff(c) / c[:-1], [np.nan]])  # y[t]: bar t -> t + 1
    y = np.concatenate([[np.nan], next_return[:-1]])  # y[t]: the return of bar t (t-1 -> t)
    W, targets, ends = trading.windows(X, y, lookback=lookback, start=trading.WARMUP)
    say(f"{len(c)} bars, {len(names)} features, {len(W)} windows of {lookback} bars")
    splitter = trading.WalkForward(train_size=train_size, test_size=test_size, expanding=False)
    result = trading.walk_forward(
        lambda fold: MODELS[model](epochs=epochs, seed=fold), W, targets, splitter,
        score=lambda t, p: {"hit_rate": trading.hit_rate(p, t)})
    realized = targets[result.index]  # the return of the bar after each test window
    strategy = trading.backtest(result.predictions, realized, cost_bps, periods_per_year)
    hold = trading.backtest(np.ones_like(realized), realized, cost_bps, periods_per_year)
    say(f"walk-forward: {len(result.scores)} folds of {test_size} bars, retrained each fold")
    say(f"{'':<14} {'Sharpe':>7} {'max DD':>7} {'return':>8} {'hit rate':>9} {'turnover':>9}")
    for name, bt in ((f"{model.upper()} long/short", strategy), ("buy and hold", hold)):
        m = bt.metrics
        say(f"{name:<14} {m['sharpe_ratio']:>7.2f} {100 * m['max_drawdown']:>6.1f}% "
            f"{100 * m['total_return']:>7.1f}% {m['hit_rate']:>9.3f} {m['turnover']:>9.3f}")
    if plot:
        strategy.plot(plot, title=f"{model.upper()} long/short, walk-forward, after costs")
        say(f"plot: {plot}")
    return strategy, hold, result


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eurusd", action="store_true", help="real EUR/USD bars (pip install backtesting)")
    ap.add_argument("--plot", help="save the equity curve and drawdown to this PNG")
    ap.add_argument("--model", choices=sorted(MODELS), default="mlp")
    args = ap.parse_args()
    main(eurusd_bars() if args.eurusd else None, plot=args.plot, model=args.model)
