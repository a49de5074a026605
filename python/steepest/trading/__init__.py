"""From prices to a validated model: features of OHLCV bars, windows, walk-forward splits,
trading metrics and a cost-aware backtest.

    X, names = features(open, high, low, close, volume)     # row t uses bars <= t
    W, y, ends = windows(X, next_returns, lookback=30, start=WARMUP)
    for train, test in WalkForward(n_splits=5, gap=29).split(W): ...
    result = backtest(positions, returns, cost_bps=2)       # net returns, equity, metrics
"""

from .features import WARMUP, feature_names, features, warmup
from .metrics import (Backtest, annual_return, backtest, calmar_ratio, drawdown, equity_curve,
                      hit_rate, max_drawdown, sharpe_ratio, sortino_ratio, turnover)
from .splits import WalkForward
from .walk import WalkForwardResult, walk_forward
from .windows import windows

__all__ = ["features", "feature_names", "warmup", "WARMUP", "windows", "WalkForward",
           "walk_forward", "WalkForwardResult",
           "backtest", "Backtest", "sharpe_ratio", "sortino_ratio", "max_drawdown",
           "calmar_ratio", "annual_return", "turnover", "hit_rate", "equity_curve", "drawdown"]
