"""Saving the architecture: steepest.save(path, model=model) stores the layers' configuration as
JSON and steepest.load_model(path) rebuilds and fills the model; layers of one's own get it from
the Layer base; old checkpoints stay loadable."""

import json
import pickle

import numpy as np
import pytest

import steepest
from steepest import nn


def every_layer(dtype):
    rng = np.random.default_rng(0)
    return nn.Sequential(
        nn.Conv1d(3, 6, 3, dilation=2, seed=rng, dtype=dtype),
        nn.TCNBlock(6, 5, kernel_size=2, dilation=1, dropout=0.1, seed=1, dtype=dtype),
        nn.LayerNorm(5, eps=1e-4, dtype=dtype),
        nn.Dense(5, 7, bias=False, seed=2, dtype=dtype), nn.GELU("tanh"),
        nn.Sequential(nn.Dense(7, 7, seed=3, dtype=dtype), nn.LeakyReLU(0.2), nn.Tanh()),
        nn.Dropout(0.25, seed=4), nn.MeanOverTime(),
        nn.Dense(7, 4, seed=5, dtype=dtype),
        nn.ReLU(), nn.Dense(4, 2, seed=6, dtype=dtype), nn.Sigmoid())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip(tmp_path, dtype):
    model = every_layer(dtype)
    # trained a little, so the weights are not what the seeds draw
    X = np.random.default_rng(1).standard_normal((40, 9, 3))
    model.fit(X, X[:, -1, :2] > 0, loss="bce_with_logits", epochs=2, batch_size=8)
    steepest.save(tmp_path / "m.ckpt", model=model)
    loaded = steepest.load_model(tmp_path / "m.ckpt")
    assert type(loaded) is nn.Sequential and repr(loaded) == repr(model)
    assert loaded.get_config() == model.get_config() and loaded.dtype == model.dtype
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    for (na, a), (nb, b) in zip(loaded.named_parameters(), model.named_parameters()):
        assert na == nb
        np.testing.assert_array_equal(a.data, b.data)


def test_the_architecture_is_json(tmp_path):
    model = nn.Sequential(nn.Dense(3, 4, seed=0, dtype=np.float64), nn.ReLU(),
                          nn.Dense(4, 1, dtype=np.float64))
    steepest.save(tmp_path / "m.ckpt", model=model)
    with np.load(tmp_path / "m.ckpt", allow_pickle=False) as archive:
        meta = json.loads(archive["__steepest__"].tobytes().decode("utf-8"))
    arch = meta["model"]["architecture"]
    assert arch["class"] == "Sequential" and len(arch["args"]) == 3
    assert arch["args"][0] == {"__layer__": {
        "class": "Dense", "module": "steepest.nn.layers", "args": [],
        "kwargs": {"in_features": 3, "out_features": 4, "seed": 0,
                   "dtype": {"__dtype__": "float64"}}}}


class Scale(nn.Layer):
    """A layer of one's own: y = x * weight (features,)."""

    def __init__(self, features, start=1.0):
        super().__init__()
        self.weight = nn.Parameter(np.full(features, start, np.float32))

    dtype = np.dtype(np.float32)

    def named_parameters(self):
        return [("weight", self.weight)]

    def forward(self, x, training=True):
        return x * self.weight.data

    infer = forward


class WideDense(nn.Dense):
    """A subclass without an __init__ of its own."""


class Shifted(nn.Dense):
    """A subclass whose __init__ takes other arguments: recorded with its own."""

    def __init__(self, features, seed=None):
        super().__init__(features, features, seed=seed)


def test_layers_of_ones_own(tmp_path):
    model = nn.Sequential(Scale(3, start=2.0), WideDense(3, 2, seed=0), Shifted(2, seed=1))
    model.layers[0].weight.data[:] = [1.0, -1.0, 0.5]
    assert model.layers[2].get_config()["kwargs"] == {"features": 2, "seed": 1}
    steepest.save(tmp_path / "m.ckpt", model=model)
    loaded = steepest.load_model(tmp_path / "m.ckpt")
    assert [type(layer) for layer in loaded.layers] == [Scale, WideDense, Shifted]
    np.testing.assert_array_equal(loaded.layers[0].weight.data, [1.0, -1.0, 0.5])
    X = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_an_argument_json_cannot_hold_is_refused(tmp_path):
    class Holder(nn.Layer):
        def __init__(self, thing):
            super().__init__()

    with pytest.raises(TypeError, match=r"Holder\(thing=...\) is a object"):
        steepest.save(tmp_path / "m.ckpt", model=nn.Sequential(Holder(object())))
    assert not (tmp_path / "m.ckpt").exists()
    # a Generator seed only drew the first weights: left out
    dense = nn.Dense(2, 2, seed=np.random.default_rng(0))
    assert "seed" not in dense.get_config()["kwargs"]


def test_checkpoints_without_an_architecture(tmp_path):
    model = nn.Sequential(nn.Dense(3, 2, seed=0))
    path = tmp_path / "old.ckpt"
    steepest.save(path, model=dict(model.named_parameters()))  # as any older file: no architecture
    with pytest.raises(steepest.CheckpointError, match="holds no architecture"):
        steepest.load_model(path)
    other = nn.Sequential(nn.Dense(3, 2, seed=1))
    steepest.load(path, model=other)  # still loads into a model built by hand
    np.testing.assert_array_equal(other.layers[0].weight.data, model.layers[0].weight.data)


def test_unknown_layer_class():
    config = nn.Sequential(nn.Dense(3, 2, seed=0)).get_config()
    config["args"][0]["__layer__"]["class"] = "NoSuchLayer"
    with pytest.raises(ValueError, match="no layer class 'NoSuchLayer'"):
        nn.layer_from_config(config)


def test_models_pickle_with_their_config():
    model = every_layer(np.float32)
    copy = pickle.loads(pickle.dumps(model))
    assert copy.get_config() == model.get_config()
    X = np.random.default_rng(1).standard_normal((4, 9, 3)).astype(np.float32)
    np.testing.assert_array_equal(copy.predict(X), model.predict(X))
