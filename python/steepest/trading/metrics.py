"""Trading metrics of a series of per-period simple returns, and a cost-aware backtest.

Returns are simple returns per period (0.01 = +1%), in time order; ``periods_per_year``
annualizes (252 trading days, 52 weeks, 12 months, 24 * 365 hours for crypto, 24 * 260 for
FX hours). Ratios of a series with no dispersion are NaN (undefined), not infinite.
"""

import dataclasses

import numpy as np


def _returns(returns, name="returns"):
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 1:
        raise ValueError(f"{name} must be 1-d, got shape {r.shape}")
    if r.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(r)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return r


def _per_period(risk_free, periods_per_year):
    if not periods_per_year > 0:
        raise ValueError(f"periods_per_year must be > 0, got {periods_per_year!r}")
    return risk_free / periods_per_year


def sharpe_ratio(returns, periods_per_year=252, risk_free=0.0):
    """Annualized Sharpe ratio: mean(r - rf) / std(r) * sqrt(periods_per_year), with the
    sample standard deviation (ddof=1) and ``risk_free`` an annual rate."""
    r = _returns(returns) - _per_period(risk_free, periods_per_year)
    if r.size < 2:
        return float("nan")
    sd = r.std(ddof=1)
    return float(r.mean() / sd * np.sqrt(periods_per_year)) if sd > 0 else float("nan")


def sortino_ratio(returns, periods_per_year=252, risk_free=0.0):
    """Annualized Sortino ratio: mean(r - rf) / downside deviation * sqrt(periods_per_year),
    the downside deviation sqrt(mean(min(r - rf, 0)^2)) over all periods."""
    r = _returns(returns) - _per_period(risk_free, periods_per_year)
    downside = np.sqrt(np.mean(np.minimum(r, 0.0) ** 2))
    return float(r.mean() / downside * np.sqrt(periods_per_year)) if downside > 0 else float("nan")


def equity_curve(returns):
    """Compounded wealth of 1 invested: prod(1 + r) up to each period."""
    return np.cumprod(1.0 + _returns(returns))


def drawdown(returns):
    """The loss from the running peak of the equity curve at each period (<= 0)."""
    equity = equity_curve(returns)
    peak = np.maximum.accumulate(np.concatenate([[1.0], equity]))[1:]
    return equity / peak - 1.0


def max_drawdown(returns):
    """The largest loss from a peak of the equity curve, as a positive fraction (0.25: the
    equity fell 25% below its best level), the starting capital counting as a peak."""
    return float(-drawdown(returns).min())


def annual_return(returns, periods_per_year=252):
    """Compound annual growth rate: (final equity)^(periods_per_year / n) - 1."""
    r = _returns(returns)
    _per_period(0.0, periods_per_year)
    final = float(np.prod(1.0 + r))
    return final ** (periods_per_year / r.size) - 1.0 if final > 0 else -1.0


def calmar_ratio(returns, periods_per_year=252):
    """Annual return over the maximum drawdown (NaN without a drawdown)."""
    dd = max_drawdown(returns)
    return annual_return(returns, periods_per_year) / dd if dd > 0 else float("nan")


def turnover(positions):
    """Mean absolute change of the position per period, the first counted from 0."""
    p = _returns(positions, "positions")
    return float(np.mean(np.abs(np.diff(p, prepend=0.0))))


def hit_rate(positions, returns):
    """The fraction of periods with a position whose sign matches the return's sign."""
    p, r = _returns(positions, "positions"), _returns(returns)
    if p.shape != r.shape:
        raise ValueError(f"positions has {p.size} periods, returns has {r.size}")
    held = p != 0
    return float(np.mean(np.sign(p[held]) == np.sign(r[held]))) if held.any() else float("nan")


@dataclasses.dataclass(frozen=True)
class Backtest:
    """What ``backtest`` returns: per-period series and the metrics of the net returns."""

    returns: np.ndarray  # net of costs
    gross: np.ndarray
    costs: np.ndarray
    equity: np.ndarray
    drawdown: np.ndarray
    metrics: dict

    def plot(self, path=None, title="Backtest"):
        """Equity and drawdown (needs matplotlib); saved to ``path`` when given. Returns the
        figure."""
        import matplotlib

        if path is not None:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(8, 5),
                                          gridspec_kw={"height_ratios": [3, 1]})
        top.plot(self.equity, lw=1.2)
        top.set_ylabel("equity")
        top.set_title(f"{title}: Sharpe {self.metrics['sharpe_ratio']:.2f}, max drawdown "
                      f"{100 * self.metrics['max_drawdown']:.1f}%")
        bottom.fill_between(np.arange(self.drawdown.size), 100 * self.drawdown, 0, color="tab:red",
                            alpha=0.5)
        bottom.set_ylabel("drawdown %")
        bottom.set_xlabel("period")
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=110)
        return fig


def backtest(positions, returns, cost_bps=0.0, periods_per_year=252):
    """Net returns of holding ``positions[t]`` over period t, whose asset return is
    ``returns[t]``: ``positions[t] * returns[t] - cost_bps / 1e4 * |positions[t] -
    positions[t-1]|`` (the first position counted from 0).

    Alignment is the caller's: ``positions[t]`` must be decided with data up to the start of
    period t (e.g. from the window ending at bar t - 1 with ``windows(..., horizon=1)``).
    """
    p, r = _returns(positions, "positions"), _returns(returns)
    if p.shape != r.shape:
        raise ValueError(f"positions has {p.size} periods, returns has {r.size}")
    if not (np.isfinite(cost_bps) and cost_bps >= 0):
        raise ValueError(f"cost_bps must be finite and >= 0, got {cost_bps!r}")
    gross = p * r
    costs = cost_bps / 1e4 * np.abs(np.diff(p, prepend=0.0))
    net = gross - costs
    metrics = {
        "sharpe_ratio": sharpe_ratio(net, periods_per_year),
        "sortino_ratio": sortino_ratio(net, periods_per_year),
        "annual_return": annual_return(net, periods_per_year),
        "max_drawdown": max_drawdown(net),
        "calmar_ratio": calmar_ratio(net, periods_per_year),
        "turnover": turnover(p),
        "hit_rate": hit_rate(p, r),
        "total_return": float(np.prod(1.0 + net) - 1.0),
    }
    return Backtest(net, gross, costs, equity_curve(net), drawdown(net), metrics)
