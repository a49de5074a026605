"""Windows of consecutive bars, without copying, with targets strictly after each window."""

import numpy as np
from numpy.lib.stride_tricks import as_strided


def windows(X, y=None, *, lookback, horizon=1, start=0):
    """Cut bars into overlapping windows of ``lookback`` consecutive bars.

    ``X``: (n_bars, F) features in time order (or (n_bars,) for one feature). Window i holds
    bars ``start + i .. start + i + lookback - 1``: it ends at bar ``e_i = start + i +
    lookback - 1`` and its target is ``y[e_i + horizon]``, the value of the bar ``horizon`` bars
    after the window's last (with y[t] the return from bar t - 1 to bar t, horizon=1 gives the
    next bar's return, known only after the window). ``start`` skips leading rows, such as the
    warm-up rows of ``features`` (``start=features.WARMUP``).

    Returns ``(W, targets, ends)``: W of shape (N, lookback, F), a read-only strided view of
    ``X`` (no copy: it shares X's memory); targets of shape (N,) + y.shape[1:] (a view of y),
    or None without y; ends, the bar index e_i of each window's last bar (int64, shape (N,)).
    N = n_bars - start - lookback + 1, less horizon with y.
    """
    X = np.asarray(X)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"windows: X must be (n_bars, n_features), got shape {X.shape}")
    for name, value, low in (("lookback", lookback, 1), ("horizon", horizon, 1), ("start", start, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"windows: {name} must be an int >= {low}, got {value!r}")
    n = X.shape[0]
    count = n - start - lookback + 1
    if y is not None:
        y = np.asarray(y)
        if y.shape[0] != n:
            raise ValueError(f"windows: y has {y.shape[0]} rows, X has {n}")
        count -= horizon
    if count < 1:
        raise ValueError(f"windows: {n} bars are too few for start={start}, lookback={lookback}"
                         + (f" and horizon={horizon}" if y is not None else ""))
    base = X[start:]
    W = as_strided(base, shape=(count, lookback, X.shape[1]),
                   strides=(base.strides[0], base.strides[0], base.strides[1]), writeable=False)
    ends = np.arange(start + lookback - 1, start + lookback - 1 + count, dtype=np.int64)
    targets = None if y is None else y[ends[0] + horizon:ends[-1] + horizon + 1]
    return W, targets, ends
