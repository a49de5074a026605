"""The layer protocol (steepest.nn.Layer) on every layer: float64 finite differences of every
backward at odd sizes (inputs and parameters, write and accumulate), Dense on (B, T, F), the
reshaping layers, LayerNorm, composite layers (Block, a Sequential inside a Sequential),
Sequential's fusions as capabilities, buffers, 1 vs 2 threads bitwise, bad input."""

import numpy as np
import pytest

from conftest import threads
from steepest import nn
from steepest.nn import functional as F

H = 1e-6


class Residual(nn.Block):
    """y = relu(body(x) + x): a composite layer written against the protocol."""

    def __init__(self, features, dtype=np.float64):
        super().__init__()
        self.body = nn.Sequential(nn.Dense(features, features, seed=3, dtype=dtype), nn.Tanh(),
                                  nn.Dense(features, features, seed=4, dtype=dtype))
        self.act = nn.ReLU()

    def output_shape(self, input_shape):
        return self.body.output_shape(input_shape)

    def forward(self, x, training=True):
        s = self._buffers.get("sum", x.shape, x.dtype)
        np.add(self.body.forward(x, training), x, out=s)
        return self.act.forward(s, training)

    def infer(self, x):
        s = self._buffers.get("sum_infer", x.shape, x.dtype)
        np.add(self.body.infer(x), x, out=s)
        return self.act.infer(s)

    def backward(self, dy, *, input_grad=True, write=False):
        ds = self.act.backward(dy)
        dx = self.body.backward(ds, input_grad=input_grad, write=write)
        if not input_grad:
            return None
        out = self._buffers.get("dx", ds.shape, ds.dtype)
        np.add(dx, ds, out=out)
        return out


def layer_cases():
    """(name, make(), input shape (B, *features)) at odd sizes, float64."""
    f64 = np.float64
    return [
        ("dense_2d", lambda: nn.Dense(5, 3, seed=0, dtype=f64), (7, 5)),
        ("dense_3d", lambda: nn.Dense(5, 3, seed=0, dtype=f64), (3, 7, 5)),
        ("dense_4d_nobias", lambda: nn.Dense(5, 3, bias=False, seed=0, dtype=f64), (2, 3, 1, 5)),
        ("relu", lambda: nn.ReLU(), (3, 5, 7)),
        ("leaky_relu", lambda: nn.LeakyReLU(0.2), (3, 5, 7)),
        ("tanh", lambda: nn.Tanh(), (3, 5, 7)),
        ("sigmoid", lambda: nn.Sigmoid(), (3, 5, 7)),
        ("gelu", lambda: nn.GELU(), (3, 5, 7)),
        ("gelu_tanh", lambda: nn.GELU("tanh"), (3, 5, 7)),
        ("dropout", lambda: nn.Dropout(0.3, seed=1), (3, 5, 7)),
        ("layernorm", lambda: nn.LayerNorm(7, dtype=f64), (3, 5, 7)),
        ("layernorm_2d_noaffine", lambda: nn.LayerNorm(7, elementwise_affine=False, dtype=f64),
         (5, 7)),
        ("last_step", lambda: nn.LastStep(), (3, 5, 7)),
        ("mean_over_time", lambda: nn.MeanOverTime(), (3, 5, 7)),
        ("flatten", lambda: nn.Flatten(), (3, 5, 7)),
        ("residual_block", lambda: Residual(7), (3, 5, 7)),
        ("sequential", lambda: nn.Sequential(
            nn.Dense(7, 6, seed=1, dtype=f64), nn.ReLU(), nn.LayerNorm(6, dtype=f64),
            nn.Dense(6, 5, seed=2, dtype=f64), nn.ReLU(), nn.Dense(5, 4, seed=5, dtype=f64),
            nn.LastStep(), nn.Dense(4, 2, seed=6, dtype=f64)), (3, 5, 7)),
    ]


def _randomize(layer, rng):
    for _, p in layer.named_parameters():
        p.data[...] = rng.standard_normal(p.data.shape)


@pytest.mark.parametrize("name,make,shape", layer_cases(), ids=[c[0] for c in layer_cases()])
def test_backward_matches_finite_differences(name, make, shape):
    """loss = sum(forward(x) * dy): dx and every parameter's gradient against central
    differences (float64); write=True writes what accumulating into zeros gives."""
    rng = np.random.default_rng(len(name))
    layer = make()
    _randomize(layer, rng)
    x = rng.standard_normal(shape) + 0.1  # no exact zeros for relu
    out_shape = (shape[0],) + layer.output_shape(shape[1:])
    dy = rng.standard_normal(out_shape)
    state = getattr(layer, "_state", None)  # Dropout: the same mask for every forward

    def loss():
        if state is not None:
            layer._state = state
        return float((layer.forward(x, training=True) * dy).sum())

    loss()
    for p in layer.parameters():
        p.grad = np.full_like(p.data, np.nan)  # write=True must overwrite it
    dx = layer.backward(dy, input_grad=True, write=True).copy()
    grads = [p.grad.copy() for p in layer.parameters()]
    assert dx.shape == shape
    for array, grad in [(x, dx)] + [(p.data, g) for p, g in zip(layer.parameters(), grads)]:
        flat, g = array.reshape(-1), grad.reshape(-1)
        for i in rng.choice(flat.size, min(flat.size, 15), replace=False):
            keep = flat[i]
            flat[i] = keep + H
            up = loss()
            flat[i] = keep - H
            down = loss()
            flat[i] = keep
            np.testing.assert_allclose(g[i], (up - down) / (2 * H), rtol=1e-6, atol=1e-8,
                                       err_msg=name)
    # accumulate: the same gradients added again; input_grad=False: no dx, same parameters
    loss()
    assert layer.backward(dy, input_grad=False) is None
    for p, g in zip(layer.parameters(), grads):
        np.testing.assert_allclose(p.grad, 2 * g, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name,make,shape", layer_cases(), ids=[c[0] for c in layer_cases()])
def test_infer_equals_forward_and_keeps_the_pending_backward(name, make, shape):
    rng = np.random.default_rng(7)
    layer = make()
    _randomize(layer, rng)
    x = rng.standard_normal(shape)
    dy = rng.standard_normal((shape[0],) + layer.output_shape(shape[1:]))
    y = layer.forward(x, training=False).copy()
    np.testing.assert_array_equal(layer.infer(x), y)
    want = layer.backward(dy).copy()
    layer.forward(x, training=False)
    layer.infer(rng.standard_normal(shape))  # same batch shape, other data
    np.testing.assert_array_equal(layer.backward(dy), want)


def test_named_parameters_of_composites_prefix_as_torch():
    inner = nn.Sequential(nn.Dense(4, 4, seed=0), nn.LayerNorm(4))
    model = nn.Sequential(nn.Dense(3, 4, seed=1), inner, Residual(4, dtype=np.float32),
                          nn.LastStep(), nn.Dense(4, 1, seed=2))
    assert [n for n, _ in model.named_parameters()] == [
        "0.weight", "0.bias", "1.0.weight", "1.0.bias", "1.1.weight", "1.1.bias",
        "2.body.0.weight", "2.body.0.bias", "2.body.2.weight", "2.body.2.bias",
        "4.weight", "4.bias"]
    x = np.random.default_rng(0).standard_normal((6, 5, 3))
    assert model.forward(x).shape == (6, 1)
    assert model.output_shape((5, 3)) == (1,)
    assert model.backward(np.ones((6, 1), np.float32)).shape == (6, 5, 3)


def test_state_dict_loads_into_torch_and_back():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    model = nn.Sequential(nn.Dense(3, 5, seed=1, dtype=np.float64),
                          nn.Sequential(nn.LayerNorm(5, dtype=np.float64), nn.ReLU()),
                          nn.MeanOverTime(), nn.Dense(5, 2, seed=2, dtype=np.float64))
    _randomize(model, rng)

    class MeanOverTime(torch.nn.Module):
        def forward(self, x):
            return x.mean(1)

    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Sequential(
        torch.nn.LayerNorm(5), torch.nn.ReLU()), MeanOverTime(), torch.nn.Linear(5, 2)).double()
    net.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    x = rng.standard_normal((4, 6, 3))
    np.testing.assert_allclose(model.predict(x), net(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-12, atol=1e-12)
    other = nn.Sequential(nn.Dense(3, 5, dtype=np.float64),
                          nn.Sequential(nn.LayerNorm(5, dtype=np.float64), nn.ReLU()),
                          nn.MeanOverTime(), nn.Dense(5, 2, dtype=np.float64))
    other.load_state_dict({k: v.numpy() for k, v in net.state_dict().items()})
    np.testing.assert_array_equal(other.predict(x), model.predict(x))


def test_fusions_are_capabilities_not_types():
    """A layer that offers itself as an epilogue / input mask is fused whatever its class;
    a layer that does not is run on its own."""

    class MyReLU(nn.ReLU):  # a subclass keeps the capabilities (the old type check did not)
        pass

    class Plain(nn.ReLU):  # the same function, capabilities withdrawn
        as_epilogue = None
        as_input_mask = False

    rng = np.random.default_rng(2)
    x = rng.standard_normal((9, 5)).astype(np.float32)
    dout = rng.standard_normal((9, 2)).astype(np.float32)
    results = []
    for act in (MyReLU(), Plain()):
        model = nn.Sequential(nn.Dense(5, 8, seed=0), act, nn.Dense(8, 2, seed=1))
        fused = isinstance(act, MyReLU)
        assert (model._plan[0][2] == "relu") == fused
        masked = [step[2] is not None for step in model._backward_plans[True]]
        assert masked == ([True, False] if fused else [False, False, False])
        out = model.forward(x)
        results.append((out, model.backward(dout).copy(),
                        [p.grad.copy() for p in model.parameters()]))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    for a, b in zip(results[0][2], results[1][2]):
        np.testing.assert_array_equal(a, b)


def test_buffers_one_training_and_one_inference_shape():
    layer = nn.Dense(4, 3, seed=0)
    rng = np.random.default_rng(3)
    for batch in (8, 5, 8, 3, 9):
        x = rng.standard_normal((batch, 2, 4)).astype(np.float32)
        layer.forward(x)
        layer.backward(np.ones((batch, 2, 3), np.float32))
        layer.infer(x[:batch - 1])
    arrays = layer._buffers._arrays
    assert sorted(arrays) == ["dx", "y", "y_infer"]
    assert arrays["y"].shape == (9, 2, 3) and arrays["y_infer"].shape == (8, 2, 3)


@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (7,), (5, 3), (1000, 257)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_empty_begins_on_a_cache_line(shape, dtype):
    a = F.empty(shape, dtype)
    assert a.shape == shape and a.dtype == dtype
    assert a.flags.c_contiguous and a.flags.writeable
    assert a.size == 0 or a.ctypes.data % 64 == 0  # an empty array has no data to place
    a[...] = 1
    assert a.sum() == a.size


def test_buffers_begin_on_a_cache_line():
    """Large NumPy arrays begin 16 bytes into a page; the layers' buffers on a line (where
    every AVX-512 vector of a row is one line, not two)."""
    model = nn.Sequential(nn.Dense(45, 64, seed=0), nn.ReLU(), nn.LayerNorm(64),
                          nn.GRU(64, 16, seed=1), nn.LastStep(), nn.Dense(16, 1, seed=2))
    x = np.random.default_rng(5).standard_normal((64, 64, 45)).astype(np.float32)
    model.forward(x)
    model.backward(np.ones((64, 1), np.float32))
    model.infer(x)
    arrays = [a for layer in model.layers for a in layer._buffers._arrays.values()]
    assert len(arrays) > 10
    assert all(a.ctypes.data % 64 == 0 for a in arrays)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_model_threads_bitwise(dtype):
    model = nn.Sequential(nn.Dense(45, 64, seed=0, dtype=dtype), nn.ReLU(),
                          nn.LayerNorm(64, dtype=dtype), nn.Dense(64, 64, seed=1, dtype=dtype),
                          nn.GELU(), nn.MeanOverTime(), nn.Dense(64, 3, seed=2, dtype=dtype))
    rng = np.random.default_rng(4)
    x = rng.standard_normal((32, 40, 45)).astype(dtype)
    dout = rng.standard_normal((32, 3)).astype(dtype)
    results = []
    for n in (1, 2):
        with threads(n):
            out = model.forward(x)
            dx = model.backward(dout, write=True).copy()
            results.append([out, dx] + [p.grad.copy() for p in model.parameters()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make,shape", [
    (lambda: nn.Dense(5, 3, seed=0), (7, 5)),
    (lambda: nn.Dense(5, 3, seed=0), (3, 7, 5)),
    (lambda: nn.Conv1d(5, 3, 3, dilation=2, seed=0), (3, 7, 5)),
    (lambda: nn.MultiheadAttention(6, 2, seed=0), (3, 7, 6)),
], ids=["dense_2d", "dense_3d", "conv1d", "attention"])
def test_backward_adds_into_add_to(make, shape):
    """backward(dy, add_to=a) returns a, holding a + dx (a residual's gradient plus this
    path's, fused into the dx product); a bad add_to is refused before anything changes."""
    rng = np.random.default_rng(7)
    layer, x = make(), rng.standard_normal(shape).astype(np.float32)
    dy = rng.standard_normal(layer.forward(x).shape).astype(np.float32)
    dx = layer.backward(dy, write=True).copy()
    grads = [p.grad.copy() for p in layer.parameters()]
    other = rng.standard_normal(shape).astype(np.float32)
    add_to = other.copy()
    assert layer.backward(dy, write=True, add_to=add_to) is add_to
    np.testing.assert_allclose(add_to, other + dx, rtol=1e-5, atol=1e-6)
    for p, g in zip(layer.parameters(), grads):
        np.testing.assert_array_equal(p.grad, g)
    for bad in (np.zeros(shape[:-1] + (shape[-1] + 1,), np.float32),
                np.zeros(shape[::-1], np.float32).T, other.tolist()):
        before = [p.grad.copy() for p in layer.parameters()]
        with pytest.raises(ValueError, match="add_to must be a C-contiguous array"):
            layer.backward(dy, add_to=bad)
        for p, g in zip(layer.parameters(), before):
            np.testing.assert_array_equal(p.grad, g)
    with pytest.raises(TypeError, match="float32"):
        layer.backward(dy, add_to=np.zeros(shape, np.float64))


def test_bad_input_is_refused_and_changes_nothing():
    rng = np.random.default_rng(5)
    model = nn.Sequential(nn.Dense(4, 6, seed=0), nn.ReLU(), nn.LastStep(), nn.Dense(6, 2, seed=1))
    before = model.state_dict()
    with pytest.raises(ValueError, match="x has 5 features, the model expects 4"):
        model.forward(np.ones((2, 3, 5)))
    with pytest.raises(ValueError, match=r"LastStep\(\) takes sequences of shape \(batch, time, "):
        model.forward(np.ones((2, 4)))  # Dense takes (2, 4); LastStep needs (B, T, F)
    x = rng.standard_normal((3, 5, 4))
    model.forward(x)
    with pytest.raises(ValueError, match="dout must be an array of the last output's shape"):
        model.backward(np.ones((3, 5, 2), np.float32))
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.data, before[name])
        assert not p.grad.any()
    for layer, dy in [(nn.LastStep(), np.ones((3, 5))), (nn.MeanOverTime(), np.ones((3, 4, 4))),
                      (nn.Flatten(), np.ones((3, 19)))]:
        layer.forward(x)
        with pytest.raises(ValueError, match="dy must have the last output's shape"):
            layer.backward(dy)
    with pytest.raises(ValueError, match=r"LayerNorm\(\(4,\), eps=1e-05\) takes inputs of shape"):
        nn.Sequential(nn.Dense(3, 3), nn.LayerNorm(4)).forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match="normalized_shape"):
        nn.LayerNorm((3, 4))
    with pytest.raises(ValueError, match="eps"):
        nn.LayerNorm(3, eps=0)
    with pytest.raises(TypeError, match="mix dtypes"):
        nn.Sequential(nn.Dense(2, 2), nn.Sequential(nn.LayerNorm(2, dtype=np.float64)))


@pytest.mark.parametrize("make,ours_to_torch", [
    (lambda d: nn.LastStep(), lambda t, x: x[:, -1]),
    (lambda d: nn.MeanOverTime(), lambda t, x: x.mean(1)),
    (lambda d: nn.Flatten(), lambda t, x: t.nn.Flatten()(x)),
], ids=["last_step", "mean_over_time", "flatten"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reshaping_layers_vs_torch(make, ours_to_torch, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x = rng.standard_normal((5, 7, 3)).astype(dtype)
    layer = make(dtype)
    y = layer.forward(x).copy()
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx = layer.backward(dy)
    tx = torch.from_numpy(x).requires_grad_(True)
    ty = ours_to_torch(torch, tx)
    ty.backward(torch.from_numpy(dy))
    tol = dict(rtol=1e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(y, ty.detach().numpy(), **tol)
    np.testing.assert_allclose(dx, tx.grad.numpy(), **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine,bias", [(True, True), (True, False), (False, False)])
def test_layernorm_vs_torch(simd_target, dtype, affine, bias):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    ours = nn.LayerNorm(33, elementwise_affine=affine, bias=bias, dtype=dtype)
    theirs = torch.nn.LayerNorm(33, elementwise_affine=affine, bias=bias, dtype=tdtype)
    _randomize(ours, rng)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = (2 * rng.standard_normal((3, 17, 33)) + 0.5).astype(dtype)
    dy = rng.standard_normal(x.shape).astype(dtype)
    y = ours.forward(x).copy()
    dx = ours.backward(dy)
    tx = torch.from_numpy(x).requires_grad_(True)
    ty = theirs(tx)
    ty.backward(torch.from_numpy(dy))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y, ty.detach().numpy(), **tol)
    np.testing.assert_allclose(dx, tx.grad.numpy(), **tol)
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_on_3d_input_vs_torch(simd_target, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    ours = nn.Dense(45, 17, seed=0, dtype=dtype)
    theirs = torch.nn.Linear(45, 17, dtype=tdtype)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((5, 11, 45)).astype(dtype)
    dy = rng.standard_normal((5, 11, 17)).astype(dtype)
    y = ours.forward(x).copy()
    dx = ours.backward(dy)
    tx = torch.from_numpy(x).requires_grad_(True)
    ty = theirs(tx)
    ty.backward(torch.from_numpy(dy))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y, ty.detach().numpy(), **tol)
    np.testing.assert_allclose(dx, tx.grad.numpy(), **tol)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), **tol)
    np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), **tol)
