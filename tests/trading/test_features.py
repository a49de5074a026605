"""features(): no look-ahead, exact warm-up, values against plain loops, clear errors."""

import numpy as np
import pytest

from steepest.trading import WARMUP, feature_names, features, warmup


def bars(n, seed=0):
    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.standard_normal(n) * 0.01))
    o = np.concatenate([[c[0]], c[:-1]]) * np.exp(rng.standard_normal(n) * 0.002)
    h = np.maximum(o, c) * (1 + np.abs(rng.standard_normal(n)) * 0.003)
    l = np.minimum(o, c) * (1 - np.abs(rng.standard_normal(n)) * 0.003)
    v = rng.lognormal(10, 0.5, n)
    return o, h, l, c, v


def column(X, names, name):
    return X[:, names.index(name)]


def test_names_shape_and_warmup():
    X, names = features(*bars(300))
    assert X.shape == (300, len(names)) and len(names) >= 45 and len(set(names)) == len(names)
    assert names == feature_names() and X.dtype == np.float64
    for j, name in enumerate(names):
        w = warmup(name)
        assert np.all(np.isnan(X[:w, j])), name
        assert np.all(np.isfinite(X[w:, j])), name
    assert WARMUP == max(warmup(n) for n in names)
    assert np.all(np.isfinite(X[WARMUP:]))
    with pytest.raises(ValueError, match="unknown feature"):
        warmup("nope")


@pytest.mark.parametrize("cut", [0, 1, 25, 59, 60, 61, 150, 298])
def test_no_row_sees_the_future(cut):
    """Changing every bar after ``cut`` changes no row up to ``cut``, bit for bit."""
    o, h, l, c, v = bars(300)
    X, _ = features(o, h, l, c, v)
    o2, h2, l2, c2, v2 = (a.copy() for a in (o, h, l, c, v))
    rng = np.random.default_rng(7)
    scale = np.exp(rng.standard_normal(300 - cut - 1) * 0.05)
    for a in (o2, h2, l2, c2):
        a[cut + 1:] *= scale
    h2[cut + 1:] *= 1.01
    l2[cut + 1:] *= 0.99
    v2[cut + 1:] = rng.lognormal(12, 1.0, 300 - cut - 1)
    X2, _ = features(o2, h2, l2, c2, v2)
    np.testing.assert_array_equal(X[:cut + 1], X2[:cut + 1])
    assert not np.array_equal(X[cut + 1:], X2[cut + 1:])


def test_values_against_plain_loops():
    o, h, l, c, v = bars(200, seed=3)
    X, names = features(o, h, l, c, v)
    r = np.diff(np.log(c), prepend=np.nan)
    t = 150
    assert column(X, names, "ret_5")[t] == pytest.approx(np.log(c[t] / c[t - 5]), rel=1e-12)
    assert column(X, names, "vol_20")[t] == pytest.approx(np.std(r[t - 19:t + 1], ddof=1),
                                                          rel=1e-12)
    assert column(X, names, "sma_ratio_10")[t] == pytest.approx(c[t] / c[t - 9:t + 1].mean() - 1,
                                                                rel=1e-10)
    # RSI(14), Wilder: averages seeded by the mean of the first 14 gains/losses (of r[1..14])
    gains, losses = np.maximum(r, 0), np.maximum(-r, 0)
    ag, al = gains[1:15].mean(), losses[1:15].mean()
    for k in range(15, t + 1):
        ag += (gains[k] - ag) / 14
        al += (losses[k] - al) / 14
    assert column(X, names, "rsi_14")[t] == pytest.approx(1 - 1 / (1 + ag / al), rel=1e-12)
    # EMA(12) from the first close: e += 2/13 (c - e)
    e = c[0]
    for k in range(1, t + 1):
        e += 2 / 13 * (c[k] - e)
    assert column(X, names, "ema_ratio_12")[t] == pytest.approx(c[t] / e - 1, rel=1e-10)
    mid, sd = c[t - 19:t + 1].mean(), c[t - 19:t + 1].std(ddof=1)
    assert column(X, names, "bollinger_pct_b")[t] == pytest.approx(
        (c[t] - (mid - 2 * sd)) / (4 * sd), rel=1e-10)
    tr = [h[0] - l[0]] + [max(h[k] - l[k], abs(h[k] - c[k - 1]), abs(l[k] - c[k - 1]))
                          for k in range(1, t + 1)]
    atr = np.mean(tr[:14])
    for k in range(14, t + 1):
        atr += (tr[k] - atr) / 14
    assert column(X, names, "atr_14")[t] == pytest.approx(atr / c[t], rel=1e-10)
    hh, ll = h[t - 13:t + 1].max(), l[t - 13:t + 1].min()
    assert column(X, names, "stoch_k_14")[t] == pytest.approx((c[t] - ll) / (hh - ll), rel=1e-12)
    assert column(X, names, "gap")[t] == pytest.approx(np.log(o[t] / c[t - 1]), rel=1e-12)
    lv = np.log1p(v[t - 19:t + 1])
    assert column(X, names, "volume_z_20")[t] == pytest.approx(
        (lv[-1] - lv.mean()) / lv.std(ddof=1), rel=1e-10)
    d = r[t - 19:t + 1] - r[t - 19:t + 1].mean()
    assert column(X, names, "skew_20")[t] == pytest.approx(
        np.mean(d ** 3) / np.mean(d ** 2) ** 1.5, rel=1e-9)


def test_short_series_is_all_warmup():
    X, names = features(*bars(10))
    assert X.shape == (10, len(names))
    assert np.isnan(column(X, names, "vol_60")).all()


def test_dataframe_in_dataframe_out():
    pd = pytest.importorskip("pandas")
    o, h, l, c, v = bars(120)
    frame = pd.DataFrame({"Open": o, "High": h, "Low": l, "Close": c, "Volume": v},
                         index=pd.date_range("2024-01-01", periods=120, freq="h"))
    out = features(frame)
    X, names = features(o, h, l, c, v)
    assert list(out.columns) == names and out.index.equals(frame.index)
    np.testing.assert_array_equal(out.to_numpy(), X)


@pytest.mark.parametrize("change, message", [
    (lambda a: a[3].__setitem__(5, np.nan), "close holds NaN"),
    (lambda a: a[0].__setitem__(2, -1.0), "open must be > 0"),
    (lambda a: a[4].__setitem__(1, -5.0), "volume must be >= 0"),
    (lambda a: a[1].__setitem__(7, a[2][7] * 0.5), "low <= open, close <= high"),
    (lambda a: a.__setitem__(2, a[2][:-1]), "low has 49 bars"),
])
def test_bad_bars_are_refused(change, message):
    arrays = list(bars(50))
    change(arrays)
    with pytest.raises(ValueError, match=message):
        features(*arrays)


def test_missing_arrays():
    with pytest.raises(TypeError, match="expected open, high, low, close and volume"):
        features(np.ones(5), np.ones(5))


def test_flat_bars_give_neutral_values_not_nan():
    """Real bars can have high == low and flat stretches: every ratio is defined there."""
    o, h, l, c, v = bars(200)
    for a in (o, h, l, c):
        a[90:170] = c[89]
    v[90:170] = 1000.0
    X, names = features(o, h, l, c, v)
    assert np.all(np.isfinite(X[WARMUP:]))
    t = 165  # 75 flat bars: every window up to 60 bars is flat
    assert column(X, names, "close_location")[t] == 0.5
    assert column(X, names, "volume_z_20")[t] == 0.0
    assert column(X, names, "skew_20")[t] == 0.0
