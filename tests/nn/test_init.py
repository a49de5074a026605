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


@pytest.mark.parametrize("shape", [(8, 3), (3, 8), (4, 2, 3), (5, 5)])
def test_orthogonal(shape):
    """torch.nn.init.orthogonal_: the shape flattened to (rows, cols) has orthonormal rows (rows
    <= cols) or columns, times the gain; seeded; and torch's draw has the same property."""
    w = init.orthogonal(shape, gain=2.0, seed=1, dtype=np.float64)
    assert w.shape == shape
    q = w.reshape(shape[0], -1) / 2.0
    gram = q @ q.T if q.shape[0] <= q.shape[1] else q.T @ q
    np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-12)
    np.testing.assert_array_equal(w, init.get("orthogonal")(shape, gain=2.0, seed=1,
                                                            dtype=np.float64))
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal((4,))


@pytest.mark.parametrize("layer", [nn.LSTM, nn.GRU])
def test_recurrent_keras_init(layer):
    """init="keras": weight_ih glorot_uniform over (G H, F), weight_hh orthogonal (orthonormal
    columns of (G H, H)), biases zero but the LSTM's forget gate bias_ih, 1."""
    F, H = 45, 16
    lstm = layer(F, H, 2, init="keras", seed=0, dtype=np.float64)
    G = lstm.gate_count
    for k, fan_in in ((0, F), (1, H)):
        w_ih, w_hh, b_ih, b_hh = lstm.layer_parameters(k)
        bound = math.sqrt(6 / (fan_in + G * H))
        assert 0.95 * bound < np.abs(w_ih).max() <= bound
        np.testing.assert_allclose(w_hh.T @ w_hh, np.eye(H), atol=1e-12)
        forget = np.zeros(G * H)
        if layer is nn.LSTM:
            forget[H:2 * H] = 1  # gates i, f, g, o
        np.testing.assert_array_equal(b_ih, forget)
        assert not b_hh.any()


def test_recurrent_init_dict_and_errors():
    """A dict picks initializers by kind, the rest keeps torch's uniform; the default is
    "torch", draw for draw; a bad init raises before anything is drawn."""
    gru = nn.GRU(6, 4, init={"weight_hh": "orthogonal", "bias": "zeros"}, seed=2)
    assert not gru.bias_ih_l0.data.any() and not gru.bias_hh_l0.data.any()
    np.testing.assert_allclose(gru.weight_hh_l0.data.T @ gru.weight_hh_l0.data, np.eye(4),
                               atol=1e-6)
    assert 0.9 / 2 < np.abs(gru.weight_ih_l0.data).max() <= 1 / 2  # U(-1/sqrt(H), 1/sqrt(H))
    a, b = nn.LSTM(6, 4, seed=5), nn.LSTM(6, 4, init="torch", seed=5)
    assert all(np.array_equal(x.data, y.data) for x, y in zip(a.parameters(), b.parameters()))
    with pytest.raises(ValueError, match='"torch", "keras"'):
        nn.LSTM(6, 4, init="glorot")
    with pytest.raises(ValueError, match="keys"):
        nn.LSTM(6, 4, init={"recurrent": "orthogonal"})
    with pytest.raises(ValueError, match="unknown initializer"):
        nn.GRU(6, 4, init={"bias": "ones"})
    with pytest.raises(ValueError, match=r"weight_hh_l0 must return an array of shape \(12, 4\)"):
        nn.GRU(6, 4, init={"weight_hh": lambda shape, seed, dtype: np.ones((4, 4), dtype)})
