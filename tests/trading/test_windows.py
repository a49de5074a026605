"""windows(): strided views, targets strictly after each window, indices to bars."""

import numpy as np
import pytest

from steepest.trading import windows


def test_windows_are_views_with_targets_after_their_end():
    X = np.arange(40.0).reshape(20, 2)
    y = np.arange(20.0) * 10
    W, targets, ends = windows(X, y, lookback=4, horizon=2, start=3)
    assert W.shape == (20 - 3 - 4 + 1 - 2, 4, 2)
    assert np.shares_memory(W, X) and not W.flags.writeable
    for i in range(len(W)):
        np.testing.assert_array_equal(W[i], X[3 + i:3 + i + 4])
        assert ends[i] == 3 + i + 3
        assert targets[i] == y[ends[i] + 2]
    assert ends.dtype == np.int64 and targets.shape == (len(W),)


def test_without_targets_every_window():
    W, targets, ends = windows(np.arange(10.0), lookback=3)
    assert targets is None and W.shape == (8, 3, 1)
    np.testing.assert_array_equal(ends, np.arange(2, 10))
    np.testing.assert_array_equal(W[-1, :, 0], [7, 8, 9])


def test_multi_output_targets():
    y = np.arange(24.0).reshape(12, 2)
    _, targets, ends = windows(np.zeros((12, 3)), y, lookback=5)
    np.testing.assert_array_equal(targets, y[ends + 1])


@pytest.mark.parametrize("kwargs, message", [
    (dict(lookback=0), "lookback must be an int >= 1"),
    (dict(lookback=3, horizon=0), "horizon must be an int >= 1"),
    (dict(lookback=2.5), "lookback must be an int"),
    (dict(lookback=3, start=-1), "start must be an int >= 0"),
    (dict(lookback=10), "too few"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        windows(np.zeros((10, 2)), np.zeros(10), **kwargs)


def test_mismatched_targets():
    with pytest.raises(ValueError, match="y has 9 rows, X has 10"):
        windows(np.zeros((10, 2)), np.zeros(9), lookback=3)
