"""Engineered features of price bars (OHLCV), each row computed from bars up to its own.

``features(open, high, low, close, volume)`` returns 50 standard features per bar: log returns
over several horizons, rolling volatility (close-to-close and Parkinson), moving-average and
exponential-average ratios, RSI, MACD with its signal and histogram, Bollinger %B and width, ATR,
stochastic %K/%D, CCI, bar ranges and gaps, distances to rolling highs and lows, volume z-scores
and ratios, on-balance volume, rolling skew and kurtosis.

Windows without movement (a bar with high == low, a flat stretch of prices or volumes) give
each ratio its neutral value (0.5 for a position in a range, 0 for a z-score, a correlation or a
moment, 1 for a ratio of volatilities, RSI 0.5), never NaN.

No look-ahead: row t depends on bars 0..t only (rolling windows end at t, averages are
recursive); changing bar t + 1 onwards changes no row up to t, bit for bit. The first rows of a
feature whose window is not yet full are NaN: ``warmup(name)`` says how many, and
``WARMUP`` is the largest (rows from it on are complete).

Returns are log returns; ratios are dimensionless (a price over its average, minus 1), so the
features of different instruments and price levels are comparable.
"""

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

RETURN_HORIZONS = (1, 2, 3, 5, 10, 20, 60)
VOL_WINDOWS = (5, 10, 20, 60)
SMA_WINDOWS = (5, 10, 20, 50)
EMA_SPANS = (12, 26)


def _shift(x, k):
    """x delayed by k bars (NaN for the first k)."""
    out = np.full_like(x, np.nan)
    out[k:] = x[:-k] if k else x
    return out


def _rolling(x, w, reduce):
    """reduce over each window of w bars ending at t (NaN for t < w - 1)."""
    out = np.full_like(x, np.nan)
    if len(x) >= w:
        out[w - 1:] = reduce(sliding_window_view(x, w), axis=-1)
    return out


def _mean(x, w):
    return _rolling(x, w, np.mean)


def _flat_std(v, axis):
    """The sample standard deviation, exactly 0 over a constant window (its mean may round
    away from the value and leave ~1e-16 otherwise)."""
    return np.where(np.ptp(v, axis=axis) == 0, 0.0, np.std(v, axis=axis, ddof=1))


def _std(x, w):
    return _rolling(x, w, _flat_std)


def _max(x, w):
    return _rolling(x, w, np.max)


def _min(x, w):
    return _rolling(x, w, np.min)


def _moment(x, w, order):
    """Rolling standardized moment: skew (3) or excess kurtosis (4), population form."""
    def reduce(v, axis):
        d = v - v.mean(axis=axis, keepdims=True)
        var = (d * d).mean(axis=axis)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = (d ** order).mean(axis=axis) / var ** (order / 2)
        return np.where(np.ptp(v, axis=axis) == 0, 0.0, m - 3.0 if order == 4 else m)
    return _rolling(x, w, reduce)


def _ema(x, span=None, alpha=None):
    """Recursive exponential average: e_t = e_{t-1} + alpha (x_t - e_{t-1}), e at the first
    finite x is that x (pandas' ewm(adjust=False)); alpha = 2 / (span + 1) unless given."""
    alpha = 2.0 / (span + 1.0) if alpha is None else alpha
    out = np.full_like(x, np.nan)
    finite = np.flatnonzero(np.isfinite(x))
    if finite.size == 0:
        return out
    e = x[finite[0]]
    for t in range(finite[0], len(x)):
        if np.isfinite(x[t]):
            e = e + alpha * (x[t] - e)
        out[t] = e
    return out


def _wilder(x, n):
    """Wilder's smoothing (alpha = 1/n), seeded by the mean of the first n values."""
    out = np.full_like(x, np.nan)
    start = np.flatnonzero(np.isfinite(x))
    if start.size == 0 or len(x) - start[0] < n:
        return out
    s = start[0]
    e = np.mean(x[s:s + n])
    out[s + n - 1] = e
    for t in range(s + n, len(x)):
        e = e + (x[t] - e) / n
        out[t] = e
    return out


def _ratio(a, b, flat=np.nan):
    """a / b, and ``flat`` where b == 0: the value of a feature over a window without movement
    (a bar with high == low, a constant volume), where the ratio is 0 / 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b == 0, flat, a / b)


def _table(o, h, l, c, v):
    """[(name, values, warm-up rows)] of every feature."""
    logc = np.log(c)
    r = np.diff(logc, prepend=np.nan)  # r_t = log(c_t / c_{t-1})
    rows = []
    for k in RETURN_HORIZONS:
        rows.append((f"ret_{k}", logc - _shift(logc, k), k))
    for w in VOL_WINDOWS:
        rows.append((f"vol_{w}", _std(r, w), w))
    rows.append(("vol_ratio_5_20", _ratio(_std(r, 5), _std(r, 20), 1.0), 20))
    hl = np.log(h / l)
    rows.append(("parkinson_20", np.sqrt(_mean(hl * hl, 20) / (4 * math.log(2))), 19))
    for w in SMA_WINDOWS:
        rows.append((f"sma_ratio_{w}", _ratio(c, _mean(c, w)) - 1, w - 1))
    for s in EMA_SPANS:
        rows.append((f"ema_ratio_{s}", _ratio(c, _ema(c, s)) - 1, s))
    macd = _ratio(_ema(c, 12) - _ema(c, 26), c)
    signal = _ema(macd, 9)
    rows += [("macd", macd, 26), ("macd_signal", signal, 35), ("macd_hist", macd - signal, 35)]
    gain, loss = np.maximum(r, 0), np.maximum(-r, 0)
    for n in (7, 14):
        ag, al = _wilder(gain, n), _wilder(loss, n)
        rs = _ratio(ag, al)
        rsi = np.where(al == 0, np.where(ag == 0, 50.0, 100.0), 100 - 100 / (1 + rs))
        rsi = np.where(np.isnan(ag) | np.isnan(al), np.nan, rsi)
        rows.append((f"rsi_{n}", rsi / 100, n))
    mid, sd = _mean(c, 20), _std(c, 20)
    rows.append(("bollinger_pct_b", _ratio(c - (mid - 2 * sd), 4 * sd, 0.5), 19))
    rows.append(("bollinger_width", _ratio(4 * sd, mid), 19))
    prev_c = _shift(c, 1)
    true_range = np.fmax(h - l, np.fmax(np.abs(h - prev_c), np.abs(l - prev_c)))
    true_range[0] = h[0] - l[0]
    rows.append(("atr_14", _ratio(_wilder(true_range, 14), c), 13))
    hh, ll = _max(h, 14), _min(l, 14)
    k = _ratio(c - ll, hh - ll, 0.5)
    rows += [("stoch_k_14", k, 13), ("stoch_d_3", _mean(k, 3), 15)]
    typical = (h + l + c) / 3
    tp_mean = _mean(typical, 20)
    mad = _rolling(typical, 20, lambda v, axis: np.mean(
        np.abs(v - v.mean(axis=axis, keepdims=True)), axis=axis))
    rows.append(("cci_20", _ratio(typical - tp_mean, 0.015 * mad, 0.0) / 100, 19))
    rows.append(("range_hl", _ratio(h - l, c), 0))
    rows.append(("range_mean_10", _mean(_ratio(h - l, c), 10), 9))
    rows.append(("body", np.log(c / o), 0))
    rows.append(("gap", np.log(o / prev_c), 1))
    rows.append(("close_location", _ratio(c - l, h - l, 0.5), 0))
    for w in (20, 60):
        rows.append((f"dist_high_{w}", _ratio(c, _max(h, w)) - 1, w - 1))
        rows.append((f"dist_low_{w}", _ratio(c, _min(l, w)) - 1, w - 1))
    rows.append(("up_fraction_10", _mean((r > 0).astype(c.dtype), 10), 10))
    logv = np.log1p(v)
    for w in (20, 60):
        rows.append((f"volume_z_{w}", _ratio(logv - _mean(logv, w), _std(logv, w), 0.0), w - 1))
    for w in (5, 20):
        rows.append((f"volume_ratio_{w}", _ratio(v, _mean(v, w)), w - 1))
    obv = np.cumsum(np.sign(np.nan_to_num(r)) * v)
    rows.append(("obv_z_20", _ratio(obv - _mean(obv, 20), _std(obv, 20), 0.0), 19))
    rows.append(("volume_return_corr_20", _rolling_corr(r, logv, 20), 20))
    for w in (20, 60):
        rows.append((f"skew_{w}", _moment(r, w, 3), w))
    rows.append(("kurtosis_20", _moment(r, 20, 4), 20))
    rows.append(("autocorr_20", _rolling_corr(r, _shift(r, 1), 20), 21))
    for _, values, w in rows:  # recursive averages have values before their warm-up ends
        values[:w] = np.nan
    return rows


def _rolling_corr(a, b, w):
    def reduce(v, axis):
        x, y = v[..., 0, :], v[..., 1, :]
        flat = (np.ptp(x, axis=-1) == 0) | (np.ptp(y, axis=-1) == 0)
        x = x - x.mean(axis=-1, keepdims=True)
        y = y - y.mean(axis=-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(flat, 0.0, (x * y).sum(-1) / np.sqrt((x * x).sum(-1) * (y * y).sum(-1)))
    out = np.full_like(a, np.nan)
    if len(a) >= w:
        out[w - 1:] = reduce(sliding_window_view(np.stack([a, b]), w, axis=1).transpose(1, 0, 2),
                             axis=-1)
    return out


_PROBE = None


def _probe():
    """The names and warm-up counts, from a run on a small synthetic series."""
    global _PROBE
    if _PROBE is None:
        n = 80
        c = 100 * np.exp(np.cumsum(np.full(n, 1e-3)))
        table = _table(c, c * 1.01, c * 0.99, c, np.full(n, 1e3))
        _PROBE = ([name for name, _, _ in table], {name: w for name, _, w in table})
    return _PROBE


def feature_names():
    """The names of the feature columns, in order."""
    return list(_probe()[0])


def warmup(name):
    """The number of leading rows in which feature ``name`` is NaN (its window is not full)."""
    try:
        return _probe()[1][name]
    except KeyError:
        raise ValueError(f"unknown feature {name!r}") from None


def _columns(frame):
    lower = {str(k).lower(): k for k in frame.columns}
    missing = [k for k in ("open", "high", "low", "close", "volume") if k not in lower]
    if missing:
        raise ValueError(f"features: the DataFrame lacks the columns {missing} "
                         "(case-insensitive)")
    return [np.asarray(frame[lower[k]], dtype=np.float64) for k in
            ("open", "high", "low", "close", "volume")]


def features(open, high=None, low=None, close=None, volume=None):
    """The features of OHLCV bars.

    ``open, high, low, close, volume``: 1-d arrays of equal length (bars in time order), or a
    pandas DataFrame with those columns (any capitalization) as the only argument. Prices must be
    positive and finite, volumes finite and >= 0.

    Returns ``(X, names)``: X of shape (n_bars, 50), float64, row t computed from bars <= t, its
    first rows NaN where a window is not full (``warmup(name)``, at most ``WARMUP`` rows); for a
    DataFrame, a DataFrame with the same index and the names as columns.
    """
    frame = None
    if hasattr(open, "columns"):
        if any(a is not None for a in (high, low, close, volume)):
            raise TypeError("features: give a DataFrame alone, or five arrays")
        frame = open
        o, h, l, c, v = _columns(frame)
    else:
        if any(a is None for a in (high, low, close, volume)):
            raise TypeError("features: expected open, high, low, close and volume")
        o, h, l, c, v = (np.asarray(a, dtype=np.float64) for a in (open, high, low, close, volume))
    names = ("open", "high", "low", "close", "volume")
    for name, a in zip(names, (o, h, l, c, v)):
        if a.ndim != 1:
            raise ValueError(f"features: {name} must be 1-d, got shape {a.shape}")
        if a.shape != c.shape:
            raise ValueError(f"features: {name} has {a.shape[0]} bars, close has {c.shape[0]}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"features: {name} holds NaN or infinite values")
    for name, a in zip(names[:4], (o, h, l, c)):
        if np.any(a <= 0):
            raise ValueError(f"features: {name} must be > 0")
    if np.any(v < 0):
        raise ValueError("features: volume must be >= 0")
    if np.any(h < np.maximum(o, c)) or np.any(l > np.minimum(o, c)):
        raise ValueError("features: every bar needs low <= open, close <= high")
    table = _table(o, h, l, c, v)
    X = np.column_stack([values for _, values, _ in table]) if len(c) else np.empty((0, len(table)))
    names = [name for name, _, _ in table]
    if frame is not None:
        import pandas as pd

        return pd.DataFrame(X, index=frame.index, columns=names)
    return X, names


WARMUP = max(_probe()[1].values())
