"""Initializers: torch.nn.init's bounds and standard deviations, seeds, dtypes, errors."""

import math

import numpy as np
import pytest

from steepest import nn
from steepest.nn import init

SHAPE = (400, 300)  # (out, in): fan_in 300, fan_out 400


@pytest.mark.parametrize("fn,kw,bound", [
    (init.xavier_uniform, {}, math.sqrt(6 / 700)),
    (init.xavier_uniform, {"gain": 2.0}, 2 * math.sqrt(6 / 700)),
    (init.kaiming_uniform, {}, math.sqrt(2) * math.sqrt(3 / 300)),
    (init.kaiming_uniform, {"mode": "fan_out", "nonlinearity": "relu"},
     math.sqrt(2) * math.sqrt(3 / 400)),
    (init.kaiming_uniform, {"a": math.sqrt(5)}, 1 / math.sqrt(300)),  # torch.nn.Linear's
    (init.linear_default, {}, 1 / math.sqrt(300)),
])
def test_uniform_bounds(fn, kw, bound):
    w = fn(SHAPE, seed=0, **kw)
    assert w.shape == SHAPE and w.dtype == np.float32
    assert bound * 0.99 < np.abs(w).max() <= bound
    assert np.std(w) == pytest.approx(bound / math.sqrt(3), rel=0.01)


@pytest.mark.parametrize("fn,kw,std", [
    (init.xavier_normal, {}, math.sqrt(2 / 700)),
    (init.kaiming_normal, {}, math.sqrt(2 / 300)),
    (init.kaiming_normal, {"nonlinearity": "tanh", "mode": "fan_out"}, 5 / 3 / math.sqrt(400)),
])
def test_normal_std(fn, kw, std):
    w = fn(SHAPE, seed=0, dtype=np.float64, **kw)
    assert w.dtype == np.float64
    assert abs(w.mean()) < 0.02 * std
    assert np.std(w) == pytest.approx(std, rel=0.01)


def test_dense_default_is_torch_linear_init():
    """weight and bias both U(-1/sqrt(in), 1/sqrt(in)), as torch.nn.Linear initializes them."""
    layer = nn.Dense(300, 200, seed=0)
    for p in (layer.weight.data, layer.bias.data):
        assert 0.9 / math.sqrt(300) < np.abs(p).max() <= 1 / math.sqrt(300)


def test_seeds_names_and_zeros():
    np.testing.assert_array_equal(init.get("he_normal")((3, 4), seed=7),
                                  init.kaiming_normal((3, 4), seed=7))
    assert init.get("glorot_uniform") is init.xavier_uniform
    assert not init.zeros((2, 3)).any()
    a = nn.Dense(5, 4, seed=3)
    b = nn.Dense(5, 4, seed=3)
    c = nn.Dense(5, 4, seed=4)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert (a.weight.data != c.weight.data).any()
    d = nn.Dense(5, 4, init="zeros", bias_init="zeros")
    assert not d.weight.data.any() and not d.bias.data.any()
    e = nn.Dense(5, 4, init=lambda shape, seed, dtype: np.full(shape, 0.5, dtype))
    assert (e.weight.data == 0.5).all()


def test_errors():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform((3,))
    with pytest.raises(ValueError, match="Mode"):
        init.kaiming_normal((3, 3), mode="fan_avg")
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(TypeError, match="seed"):
        init.xavier_normal((2, 2), seed=1.5)
    with pytest.raises(ValueError, match="shape \\(4, 5\\)"):
        nn.Dense(5, 4, init=lambda shape, seed, dtype: np.ones((5, 4), dtype))
