"""Sequential end to end: float64 finite differences of the whole backward, the fused
Dense+ReLU path, parameters and optimizers, state_dict and checkpoints, buffers."""

import numpy as np
import pytest

import steepest
from steepest import nn


def small_model(dtype=np.float64, seed=0):
    """Every activation, a Dense without bias, a fused Dense+ReLU; 5 inputs, 3 outputs."""
    layers = [nn.Dense(5, 7, seed=seed + 1, dtype=dtype), nn.Tanh(),
              nn.Dense(7, 6, seed=seed + 2, dtype=dtype), nn.ReLU(),
              nn.Dense(6, 6, init="he_normal", seed=seed + 3, dtype=dtype), nn.GELU(),
              nn.Dense(6, 5, bias=False, init="xavier_uniform", seed=seed + 4, dtype=dtype),
              nn.LeakyReLU(0.1), nn.Dense(5, 4, seed=seed + 5, dtype=dtype), nn.Sigmoid(),
              nn.Dense(4, 3, seed=seed + 6, dtype=dtype), nn.GELU(approximate="tanh"),
              nn.Dense(3, 3, seed=seed + 7, dtype=dtype)]
    return nn.Sequential(*layers)


TARGETS = {
    "mse": lambda rng, n: rng.standard_normal((n, 3)),
    "mae": lambda rng, n: rng.standard_normal((n, 3)),
    "huber": lambda rng, n: 2 * rng.standard_normal((n, 3)),
    "cross_entropy": lambda rng, n: rng.integers(0, 3, n),
    "bce_with_logits": lambda rng, n: rng.random((n, 3)),
}


@pytest.mark.parametrize("loss_name", sorted(TARGETS))
def test_backward_matches_finite_differences(simd_target, loss_name):
    """Every parameter's gradient of loss(model(x)) against float64 central differences."""
    rng = np.random.default_rng(0)
    model, loss = small_model(), nn.losses.get(loss_name)
    x = rng.standard_normal((17, 5))
    y = loss.targets(TARGETS[loss_name](rng, 17), 3, np.float64)

    def value():
        return loss(model._forward(x, training=True), y)

    model.zero_grad()
    _, dout = loss.value_and_grad(model.forward(x), y)
    model.backward(dout)
    h = 1e-6
    for name, p in model.named_parameters():
        numeric = np.empty_like(p.data)
        for i in np.ndindex(p.data.shape):
            keep = p.data[i]
            p.data[i] = keep + h
            up = value()
            p.data[i] = keep - h
            down = value()
            p.data[i] = keep
            numeric[i] = (up - down) / (2 * h)
        np.testing.assert_allclose(p.grad, numeric, rtol=1e-5, atol=1e-8, err_msg=name)


def test_fused_relu_equals_unfused():
    """Dense+ReLU (fused into the product) gives what Dense then LeakyReLU(0) gives."""
    rng = np.random.default_rng(1)
    x, dout = rng.standard_normal((9, 5)).astype(np.float32), None
    outs, grads = [], []
    for act in (nn.ReLU(), nn.LeakyReLU(0.0)):
        model = nn.Sequential(nn.Dense(5, 8, seed=0), act, nn.Dense(8, 2, seed=1))
        assert (model._plan[0][2] == "relu") == isinstance(act, nn.ReLU)  # fused or not
        out = model.forward(x)
        dout = rng.standard_normal(out.shape).astype(np.float32) if dout is None else dout
        model.backward(dout)
        outs.append(out)
        grads.append([p.grad.copy() for p in model.parameters()])
    np.testing.assert_array_equal(outs[0], outs[1])
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)


def test_train_step_writes_the_gradients_zero_grad_and_backward_give():
    """train_step skips zero_grad (its backward writes the gradients): bitwise the same."""
    from steepest.nn.training import train_step
    rng = np.random.default_rng(4)
    x = rng.standard_normal((9, 5)).astype(np.float32)
    y = rng.integers(0, 3, 9)
    model, loss = small_model(np.float32), nn.CrossEntropyLoss()
    model.zero_grad()
    _, dout = loss.value_and_grad(model.forward(x), y)
    model.backward(dout)
    want = [p.grad.copy() for p in model.parameters()]
    for p in model.parameters():
        p.grad.fill(np.nan)
    train_step(model, loss, steepest.optim.SGD(model.parameters(), lr=0.0), x, y, {})
    for p, g in zip(model.parameters(), want):
        np.testing.assert_array_equal(p.grad, g)


def test_backward_accumulates_and_zero_grad_resets():
    rng = np.random.default_rng(2)
    model = small_model(np.float32)
    x = rng.standard_normal((4, 5)).astype(np.float32)
    dout = rng.standard_normal((4, 3)).astype(np.float32)
    model.forward(x)
    model.backward(dout)
    once = [p.grad.copy() for p in model.parameters()]
    model.forward(x)
    model.backward(dout)
    for p, g in zip(model.parameters(), once):
        np.testing.assert_allclose(p.grad, 2 * g, rtol=1e-5, atol=1e-7)
    model.zero_grad()
    assert not any(p.grad.any() for p in model.parameters())


def test_forward_returns_a_new_array_and_predict_batches_agree():
    rng = np.random.default_rng(3)
    model = small_model(np.float32)
    x = rng.standard_normal((37, 5))  # float64 input, converted to the model's float32
    a = model.forward(x, training=False)
    b = model.forward(x[:5], training=False)
    assert a.dtype == np.float32 and a.shape == (37, 3) and b.shape == (5, 3)
    np.testing.assert_array_equal(model.predict(x, batch_size=8), a)
    np.testing.assert_array_equal(a[:5], b)  # a was not overwritten by the second forward


def test_predict_between_forward_and_backward_changes_nothing():
    rng = np.random.default_rng(6)
    x, dout = rng.standard_normal((8, 5)), rng.standard_normal((8, 3)).astype(np.float32)
    grads = []
    for predict in (False, True):
        model = small_model(np.float32)
        model.forward(x)
        if predict:  # same batch size: the buffers of the training forward are not reused
            model.predict(rng.standard_normal((8, 5)))
        model.backward(dout)
        grads.append([p.grad for p in model.parameters()])
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)


def test_parameters_names_and_optimizers():
    model = nn.Sequential(nn.Dense(3, 4, seed=0), nn.ReLU(), nn.Dropout(0.2, seed=0),
                          nn.Dense(4, 2, bias=False, seed=1))
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "3.weight"]
    assert [p.data.shape for p in model.parameters()] == [(4, 3), (4,), (2, 4)]
    assert all(p.data.dtype == np.float32 and p.grad.dtype == np.float32
               for p in model.parameters())
    x = np.ones((2, 3), np.float32)
    for rule in (steepest.optim.SGD, steepest.optim.Adam, steepest.optim.Lamb,
                 steepest.optim.Adafactor):
        before = [p.data.copy() for p in model.parameters()]
        opt = rule(model.parameters(), lr=0.1)
        opt.zero_grad()
        model.forward(x)
        model.backward(np.ones((2, 2), np.float32))
        opt.step()
        assert any((p.data != b).any() for p, b in zip(model.parameters(), before)), rule


def test_grad_set_to_none_is_recreated():
    model = nn.Sequential(nn.Dense(3, 2, seed=0))
    opt = steepest.optim.SGD(model.parameters(), lr=0.1)
    opt.zero_grad(set_to_none=True)
    assert all(p.grad is None for p in model.parameters())
    model.forward(np.ones((1, 3)))
    model.backward(np.ones((1, 2), np.float32))
    np.testing.assert_array_equal(model.layers[0].weight.grad, np.ones((2, 3)))
    np.testing.assert_array_equal(model.layers[0].bias.grad, np.ones(2))


def test_state_dict_round_trip_and_checks():
    a, b = small_model(np.float32), small_model(np.float32, seed=10)
    sd = a.state_dict()
    assert list(sd)[:3] == ["0.weight", "0.bias", "2.weight"] and "6.bias" not in sd
    sd["0.weight"][...] = 0  # a copy: the model is untouched
    assert a.layers[0].weight.data.any()
    b.load_state_dict(a.state_dict())
    x = np.random.default_rng(0).standard_normal((3, 5))
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    before = b.state_dict()
    bad = a.state_dict()
    bad["2.weight"] = np.zeros((7, 6))
    with pytest.raises(ValueError, match="'2.weight' has shape"):
        b.load_state_dict(bad)
    with pytest.raises(ValueError, match="missing \\['0.bias'\\]"):
        b.load_state_dict({k: v for k, v in a.state_dict().items() if k != "0.bias"})
    for k, v in b.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_checkpoint_save_load(tmp_path):
    rng = np.random.default_rng(4)
    model = small_model(np.float32)
    opt = steepest.optim.AdamW(model.parameters(), lr=1e-2)
    x = rng.standard_normal((8, 5)).astype(np.float32)
    y = rng.integers(0, 3, 8)
    model.fit(x, y, loss="cross_entropy", optimizer=opt, epochs=2, batch_size=4, seed=0)
    steepest.save(tmp_path / "run.npz", model=model, optimizer=opt)
    saved = model.state_dict()
    other = small_model(np.float32)
    other_opt = steepest.optim.AdamW(other.parameters(), lr=1e-2)
    steepest.load(tmp_path / "run.npz", model=other, optimizer=other_opt)
    for k, v in other.state_dict().items():
        np.testing.assert_array_equal(v, saved[k])
    for h in (model, other):  # both continue on the same trajectory
        h.fit(x, y, loss="cross_entropy", optimizer=opt if h is model else other_opt,
              epochs=1, batch_size=4, seed=1)
    for k, v in other.state_dict().items():
        np.testing.assert_array_equal(v, model.state_dict()[k])


def test_dropout_masks_forward_and_backward_alike():
    rng = np.random.default_rng(5)
    layer = nn.Dropout(0.25, seed=3)
    x = rng.random((64, 33)) + 0.5  # no zeros of its own
    y = layer.forward(x.astype(np.float32)).copy()
    kept = y != 0
    assert 0.65 < kept.mean() < 0.85
    np.testing.assert_allclose(y[kept], (x.astype(np.float32) / 0.75)[kept], rtol=1e-6)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    dx = layer.backward(dy)
    np.testing.assert_allclose(dx, np.where(kept, dy / 0.75, 0), rtol=1e-6)
    y2 = layer.forward(x.astype(np.float32))
    assert (y2 != y).any()  # a new mask every step
    assert layer.forward(x, training=False) is x  # the identity at inference
    again = nn.Dropout(0.25, seed=3)
    np.testing.assert_array_equal(again.forward(x.astype(np.float32)), y)  # seeded


def test_construction_errors():
    with pytest.raises(TypeError, match="layer 1"):
        nn.Sequential(nn.Dense(2, 2), "relu")
    model = nn.Sequential(nn.Dense(2, 4), nn.ReLU(), nn.Dense(3, 1))  # Dense takes any rank:
    with pytest.raises(ValueError, match="takes 3"):  # the shapes are checked at the first input
        model.forward(np.ones((1, 2)))
    with pytest.raises(TypeError, match="mix dtypes"):
        nn.Sequential(nn.Dense(2, 2), nn.Dense(2, 2, dtype=np.float64))
    relu = nn.ReLU()
    with pytest.raises(ValueError, match="twice"):
        nn.Sequential(nn.Dense(2, 2), relu, nn.Dense(2, 2), relu)
    with pytest.raises(ValueError, match="in_features"):
        nn.Dense(0, 3)
    with pytest.raises(TypeError, match="dtype"):
        nn.Dense(2, 3, dtype=np.int32)
    with pytest.raises(ValueError, match="unknown initializer"):
        nn.Dense(2, 3, init="glorot")
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("exact")


def test_forward_backward_bad_input():
    model = nn.Sequential(nn.Dense(3, 2, seed=0))
    with pytest.raises(RuntimeError, match="before forward"):
        model.backward(np.ones((1, 2), np.float32))
    with pytest.raises(ValueError, match="has 4 features, the model expects 3"):
        model.forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match="2-d"):
        model.forward(np.ones(3))
    with pytest.raises(TypeError, match="real numbers"):
        model.forward(np.array([["a", "b", "c"]]))
    with pytest.raises(ValueError, match="NaN"):
        model.predict(np.array([[0, np.nan, 0]]))
    model.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match="dout must be an array of the last output's shape"):
        model.backward(np.ones((3, 2), np.float32))
    assert not model.layers[0].weight.grad.any()
