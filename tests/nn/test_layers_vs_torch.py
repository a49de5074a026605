"""Layers, losses, initializers and a whole model against torch.nn: the same weights give the
same outputs and the same gradients."""

import numpy as np
import pytest

import steepest
from steepest import nn

torch = pytest.importorskip("torch")

TOL = {np.float32: dict(rtol=2e-5, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}

ACTIVATIONS = [
    (nn.ReLU, {}, torch.nn.ReLU, {}),
    (nn.LeakyReLU, {"negative_slope": 0.2}, torch.nn.LeakyReLU, {"negative_slope": 0.2}),
    (nn.Tanh, {}, torch.nn.Tanh, {}),
    (nn.Sigmoid, {}, torch.nn.Sigmoid, {}),
    (nn.GELU, {}, torch.nn.GELU, {}),
    (nn.GELU, {"approximate": "tanh"}, torch.nn.GELU, {"approximate": "tanh"}),
]


def _torch(a):
    return torch.from_numpy(np.array(a)).requires_grad_(True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ours,kw,theirs,tkw", ACTIVATIONS)
def test_activation(simd_target, dtype, ours, kw, theirs, tkw):
    rng = np.random.default_rng(0)
    x = (3 * rng.standard_normal((17, 65))).astype(dtype)
    dy = rng.standard_normal(x.shape).astype(dtype)
    layer = ours(**kw)
    y = layer.forward(x).copy()
    dx = layer.backward(dy)
    tx = _torch(x)
    ty = theirs(**tkw)(tx)
    ty.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(y, ty.detach().numpy(), **TOL[dtype])
    np.testing.assert_allclose(dx, tx.grad.numpy(), **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
def test_dense_is_linear(simd_target, dtype, bias):
    rng = np.random.default_rng(1)
    layer = nn.Dense(65, 17, bias=bias, seed=0, dtype=dtype)
    linear = torch.nn.Linear(65, 17, bias=bias, dtype=torch.float64 if dtype == np.float64
                             else torch.float32)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(layer.weight.data))
        if bias:
            linear.bias.copy_(torch.from_numpy(layer.bias.data))
    x = rng.standard_normal((3, 65)).astype(dtype)
    dy = rng.standard_normal((3, 17)).astype(dtype)
    y = layer.forward(x).copy()
    dx = layer.backward(dy)
    tx = _torch(x)
    ty = linear(tx)
    ty.backward(torch.from_numpy(dy))
    tol = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: TOL[np.float64]}[dtype]
    np.testing.assert_allclose(y, ty.detach().numpy(), **tol)
    np.testing.assert_allclose(dx, tx.grad.numpy(), **tol)
    np.testing.assert_allclose(layer.weight.grad, linear.weight.grad.numpy(), **tol)
    if bias:
        np.testing.assert_allclose(layer.bias.grad, linear.bias.grad.numpy(), **tol)


LOSSES = [
    (nn.MSELoss(), torch.nn.MSELoss(), "float"),
    (nn.L1Loss(), torch.nn.L1Loss(), "float"),
    (nn.HuberLoss(0.7), torch.nn.HuberLoss(delta=0.7), "float"),
    (nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), "labels"),
    (nn.BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss(), "probabilities"),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ours,theirs,kind", LOSSES, ids=lambda v: type(v).__name__)
def test_loss(simd_target, dtype, ours, theirs, kind):
    rng = np.random.default_rng(2)
    pred = (4 * rng.standard_normal((65, 17))).astype(dtype)
    target = {"float": lambda: 4 * rng.standard_normal((65, 17)),
              "labels": lambda: rng.integers(0, 17, 65),
              "probabilities": lambda: rng.random((65, 17))}[kind]()
    target = ours.targets(target, 17, dtype)
    value, grad = ours.value_and_grad(pred, target)
    tp = _torch(pred)
    tv = theirs(tp, torch.from_numpy(target))
    tv.backward()
    np.testing.assert_allclose(value, tv.item(), rtol=1e-6 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(grad, tp.grad.numpy(), **TOL[dtype])
    assert ours(pred, target) == value


def test_model_and_adam_steps():
    """The digits-shaped model with Adam: five steps, then the same weights as torch's."""
    rng = np.random.default_rng(3)
    model = nn.Sequential(nn.Dense(64, 256, seed=0), nn.ReLU(), nn.Dense(256, 256, seed=1),
                          nn.ReLU(), nn.Dense(256, 10, seed=2))
    net = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 10))
    with torch.no_grad():
        for p, q in zip(model.parameters(), net.parameters()):
            q.copy_(torch.from_numpy(p.data))
    ours = steepest.optim.Adam(model.parameters(), lr=1e-3)
    theirs = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss = nn.CrossEntropyLoss()
    for _ in range(5):
        x = rng.random((64, 64)).astype(np.float32)
        y = rng.integers(0, 10, 64)
        model.zero_grad()
        value, dout = loss.value_and_grad(model.forward(x), y)
        model.backward(dout)
        ours.step()
        theirs.zero_grad()
        tv = torch.nn.functional.cross_entropy(net(torch.from_numpy(x)), torch.from_numpy(y))
        tv.backward()
        theirs.step()
        assert value == pytest.approx(tv.item(), rel=1e-5)
    # Adam's step is about lr in size whatever the gradient, so where a gradient is near 0 the
    # float32 rounding of either side moves the update by a fraction of lr (1e-3)
    for p, q in zip(model.parameters(), net.parameters()):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=0, atol=1e-4)


@pytest.mark.parametrize("name,args", [("relu", None), ("leaky_relu", 0.3), ("tanh", None),
                                       ("sigmoid", None), ("linear", None), ("selu", None)])
def test_calculate_gain(name, args):
    assert nn.init.calculate_gain(name, args) == pytest.approx(
        torch.nn.init.calculate_gain(name, args))
