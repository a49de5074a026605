"""GRU: the kernels (steepest.nn.functional.gru_*) against the float64 NumPy reference on every
SIMD target; the layer against torch.nn.GRU(batch_first=True) with copied weights (forward, final
state and every gradient) at odd sizes, 1 and 2 layers, both dtypes, with and without an initial
state; float64 finite differences; bitwise on 1 and 2 threads; dropout between layers; bad input;
torch state_dicts; training with fit on windows of a synthetic price series.
"""
import numpy as np
import pytest

from steepest import _core, nn
from steepest.nn import functional as F
from steepest.reference import nn as ref

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}

# (batch, steps, features, hidden, layers): the odd sizes B 1, 3, 17; T 1, 5, 33;
# F 1, 7, 45; H 1, 5, 64, each value in some case, and 1 and 2 layers.
CASES = [
    (1, 1, 1, 1, 1),
    (3, 5, 7, 5, 1),
    (17, 33, 45, 64, 1),
    (3, 33, 1, 64, 2),
    (17, 5, 45, 1, 2),
    (1, 33, 7, 5, 2),
    (17, 1, 7, 64, 2),
    (3, 5, 45, 5, 2),
    (20, 5, 7, 128, 1),  # the step products' packed weights: two depth blocks backwards
]


def case_id(c):
    return "B{}T{}F{}H{}L{}".format(*c)


def tol(dtype):
    if dtype == np.float32:
        return dict(rtol=2e-4, atol=2e-5)
    return dict(rtol=1e-10, atol=1e-12)


def torch_gru(ours):
    """torch.nn.GRU(batch_first=True) with our layer's weights, loaded from our state_dict."""
    net = torch.nn.GRU(ours.input_size, ours.hidden_size, ours.num_layers, bias=ours.bias,
                       batch_first=True, dropout=ours.p, dtype=TORCH_DTYPE[ours.dtype.type])
    net.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    return net


def grads_of(layer):
    return {name: p.grad.copy() for name, p in layer.named_parameters()}


def kernel_inputs(dtype, bias, initial, sizes=(3, 7, 5, 9), seed=0):
    """x, weights, biases, h0 and dy of one layer at sizes off the SIMD widths."""
    B, T, Fe, H = sizes
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, T, Fe)).astype(dtype)
    w_ih, w_hh = ((0.4 * rng.standard_normal(s)).astype(dtype) for s in ((3 * H, Fe), (3 * H, H)))
    b_ih, b_hh = (rng.standard_normal(3 * H).astype(dtype) if bias else None for _ in range(2))
    h0 = rng.standard_normal((B, H)).astype(dtype) if initial else None
    dy = rng.standard_normal((B, T, H)).astype(dtype)
    return x, w_ih, w_hh, b_ih, b_hh, h0, dy


# --- kernels against the reference ----------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias,initial", [(True, False), (False, True), (True, True)])
def test_gru_kernels_match_reference(simd_target, dtype, bias, initial):
    x, w_ih, w_hh, b_ih, b_hh, h0, dy = kernel_inputs(dtype, bias, initial)
    H = w_hh.shape[1]
    y, gates = F.gru_forward(x, w_ih, w_hh, b_ih, b_hh, h0)
    ry, rgates = ref.gru_forward(x, w_ih, w_hh, b_ih, b_hh, h0)
    t = tol(dtype)
    np.testing.assert_allclose(y, ry, **t)
    np.testing.assert_allclose(gates, rgates, **t)
    rdx, rdh0, rdw_ih, rdw_hh, rdb_ih, rdb_hh = ref.gru_backward(dy, x, w_ih, w_hh, ry, rgates, h0)
    dw_ih, dw_hh = np.full_like(w_ih, 0.5), np.full_like(w_hh, 0.5)
    db_ih, db_hh = (np.full(3 * H, 0.5, dtype) if bias else None for _ in range(2))
    dh0 = np.full(y[:, 0].shape, np.nan, dtype)
    dgates_ih, dgates_hh = np.empty_like(gates[..., :3 * H]), np.empty_like(gates[..., :3 * H])
    dx = F.gru_backward(dy, x, w_ih, w_hh, y, gates, dw_ih, dw_hh, db_ih, db_hh, h0, dh0=dh0,
                        dgates_ih=dgates_ih, dgates_hh=dgates_hh)
    np.testing.assert_allclose(dx, rdx, **t)
    np.testing.assert_allclose(dh0, rdh0, **t)
    np.testing.assert_allclose(dw_ih, rdw_ih + 0.5, **t)  # accumulated
    np.testing.assert_allclose(dw_hh, rdw_hh + 0.5, **t)
    if bias:
        np.testing.assert_allclose(db_ih, rdb_ih + 0.5, **t)
        np.testing.assert_allclose(db_hh, rdb_hh + 0.5, **t)
    # the gate gradients: r and z alike on both sides, n's recurrent side is r times its input's
    np.testing.assert_array_equal(dgates_ih[..., :2 * H], dgates_hh[..., :2 * H])
    np.testing.assert_array_equal(dgates_hh[..., 2 * H:],
                                  dgates_ih[..., 2 * H:] * gates[..., :H])
    np.testing.assert_allclose(dgates_ih.sum((0, 1)), rdb_ih, **t)
    # written (accumulate=False): bitwise what accumulating into zeros gives
    w1 = [np.zeros_like(w_ih), np.zeros_like(w_hh)] + \
        [np.zeros(3 * H, dtype) if bias else None for _ in range(2)]
    w2 = [np.full_like(w_ih, np.nan), np.full_like(w_hh, np.nan)] + \
        [np.full(3 * H, np.nan, dtype) if bias else None for _ in range(2)]
    assert F.gru_backward(dy, x, w_ih, w_hh, y, gates, *w1, h0, input_grad=False) is None
    F.gru_backward(dy, x, w_ih, w_hh, y, gates, *w2, h0, input_grad=False, accumulate=False)
    for a, b in zip(w1, w2):
        if a is not None:
            np.testing.assert_array_equal(a, b)


def test_gru_kernel_zero_state_is_no_state():
    """h0 None runs as zeros, bitwise; dh0 is also computed without an h0."""
    x, w_ih, w_hh, b_ih, b_hh, _, dy = kernel_inputs(np.float32, True, False, seed=1)
    zeros = np.zeros((x.shape[0], w_hh.shape[1]), np.float32)
    y, gates = F.gru_forward(x, w_ih, w_hh, b_ih, b_hh)
    y0, gates0 = F.gru_forward(x, w_ih, w_hh, b_ih, b_hh, zeros)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(gates, gates0)
    grads = [[np.zeros_like(a) for a in (w_ih, w_hh, b_ih, b_hh, zeros)] for _ in range(2)]
    for h0, (dw_ih, dw_hh, db_ih, db_hh, dh0) in zip([None, zeros], grads):
        F.gru_backward(dy, x, w_ih, w_hh, y, gates, dw_ih, dw_hh, db_ih, db_hh, h0, dh0=dh0)
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)
    assert np.abs(grads[0][4]).max() > 0


def test_gru_kernels_bad_input_write_nothing():
    f32 = np.float32
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4)).astype(f32)
    w_ih, w_hh = np.zeros((6, 4), f32), np.zeros((6, 2), f32)
    y, g = np.zeros((2, 3, 2), f32), np.zeros((2, 3, 8), f32)
    read_only = np.zeros((2, 3, 2), f32)
    read_only.setflags(write=False)
    bad = [
        (dict(weight_hh=np.zeros((6, 3), f32)), ValueError, "weight_hh"),
        (dict(weight_ih=np.zeros((6, 5), f32)), ValueError, "weight_ih"),
        (dict(weight_ih=np.zeros((7, 4), f32)), ValueError, "3 \\* hidden_size"),
        (dict(x=x[:, :, :3].copy()), ValueError, "weight_ih"),
        (dict(x=x.astype(np.float64)), TypeError, "weight_ih"),
        (dict(x=x[:, :, 0].copy()), ValueError, "3-d"),
        (dict(x=np.zeros((2, 0, 4), f32)), ValueError, "empty"),
        (dict(h0=np.zeros((2, 3), f32)), ValueError, "h0"),
        (dict(h0=np.zeros((2, 2), np.float64)), TypeError, "h0"),
        (dict(bias_ih=np.zeros(7, f32)), ValueError, "bias_ih"),
        (dict(bias_hh=np.zeros(6, np.float64)), TypeError, "bias_hh"),
        (dict(gates=np.zeros((2, 3, 6), f32)), ValueError, "gates"),
        (dict(out=read_only), ValueError, "out"),
        (dict(x=np.asfortranarray(np.zeros((2, 3, 4), f32))), ValueError, "x"),
    ]
    for change, error, match in bad:
        args = dict(x=x, weight_ih=w_ih, weight_hh=w_hh, out=y, gates=g)
        args.update(change)
        with pytest.raises(error, match=match):
            F.gru_forward(**args)
        assert not y.any() and not g.any()
    # out overlapping gates or x: refused, nothing written
    buf = np.zeros(2 * 3 * 10, f32)
    with pytest.raises(ValueError, match="out overlaps gates"):
        _core.gru_forward(buf[:12].reshape(2, 3, 2), buf[10:58].reshape(2, 3, 8), x, None, w_ih,
                          w_hh, None, None)
    assert not buf.any()


def test_gru_backward_bad_input_writes_nothing():
    f32 = np.float32
    x, w_ih, w_hh, b_ih, b_hh, h0, dy = kernel_inputs(f32, True, True, sizes=(2, 3, 4, 2))
    y, gates = F.gru_forward(x, w_ih, w_hh, b_ih, b_hh, h0)
    bad = [
        (dict(dy=dy[:, :2].copy()), ValueError, r"dy must have shape \(2, 3, 2\)"),
        (dict(y=y[:, :, :1].copy()), ValueError, "y must have shape"),
        (dict(gates=gates[..., :6].copy()), ValueError, "gates must have shape"),
        (dict(dw_ih=np.zeros((6, 3), f32)), ValueError, "dweight_ih must have shape"),
        (dict(dw_hh=np.zeros((6, 2), np.float64)), TypeError, "dweight_hh"),
        (dict(db_hh=np.zeros(5, f32)), ValueError, "dbias_hh must have shape"),
        (dict(dx=np.zeros((2, 3, 3), f32)), ValueError, "dx must have shape"),
        (dict(dh0=np.zeros((2, 3), f32)), ValueError, "dh0 must have shape"),
        (dict(h0=np.zeros((1, 2), f32)), ValueError, "h0 must have shape"),
        (dict(dg_ih=np.zeros((2, 3, 8), f32)), ValueError, "dgates_ih must have shape"),
    ]
    for change, error, match in bad:
        args = dict(dy=dy, y=y, gates=gates, h0=h0, dw_ih=np.full((6, 4), 5, f32),
                    dw_hh=np.full((6, 2), 5, f32), db_ih=np.full(6, 5, f32),
                    db_hh=np.full(6, 5, f32), dx=np.full((2, 3, 4), 5, f32),
                    dh0=np.full((2, 2), 5, f32), dg_ih=np.full((2, 3, 6), 5, f32),
                    dg_hh=np.full((2, 3, 6), 5, f32)) | change
        written = ("dw_ih", "dw_hh", "db_ih", "db_hh", "dx", "dh0", "dg_ih", "dg_hh")
        before = [args[k].copy() for k in written]
        with pytest.raises(error, match=match):
            F.gru_backward(args["dy"], x, w_ih, w_hh, args["y"], args["gates"], args["dw_ih"],
                           args["dw_hh"], args["db_ih"], args["db_hh"], args["h0"],
                           dx=args["dx"], dh0=args["dh0"], dgates_ih=args["dg_ih"],
                           dgates_hh=args["dg_hh"])
        for k, old in zip(written, before):
            np.testing.assert_array_equal(args[k], old, err_msg=k)
    # a gradient overlapping another: refused, nothing written
    grads = np.full(6 * 4 + 6 * 2, 5, f32)
    with pytest.raises(ValueError, match="overlaps"):
        F.gru_backward(dy, x, w_ih, w_hh, y, gates, grads[:24].reshape(6, 4),
                       grads[20:32].reshape(6, 2))
    np.testing.assert_array_equal(grads, 5)


# --- the layer against torch.nn.GRU ---------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_gru_vs_torch(dtype, case):
    B, T, Fe, H, L = case
    rng = np.random.default_rng(sum(case))
    ours = nn.GRU(Fe, H, L, seed=1, dtype=dtype)
    net = torch_gru(ours)
    x = rng.standard_normal((B, T, Fe)).astype(dtype)
    dy = rng.standard_normal((B, T, H)).astype(dtype)
    with_state = B * T % 2 == 1  # half the cases from a given initial state
    h0 = rng.standard_normal((L, B, H)).astype(dtype)
    xt = torch.from_numpy(x).requires_grad_()
    if with_state:
        yt, hn = net(xt, torch.from_numpy(h0))
        y = ours.forward(x, initial_state=h0)
    else:
        yt, hn = net(xt)
        y = ours.forward(x)
    t = tol(dtype)
    np.testing.assert_allclose(y, yt.detach().numpy(), **t)
    assert ours.final_state.shape == (L, B, H)
    np.testing.assert_allclose(ours.final_state, hn.detach().numpy(), **t)
    (yt * torch.from_numpy(dy)).sum().backward()
    dx = ours.backward(dy, write=True)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **t)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, getattr(net, name).grad.numpy(), err_msg=name, **t)
    np.testing.assert_array_equal(ours.infer(x, initial_state=h0 if with_state else None), y)


@pytest.mark.parametrize("case", [CASES[2], CASES[3]], ids=case_id)
def test_gru_vs_torch_on_every_target(simd_target, case):
    """float32, where the targets' approximations of sigmoid and tanh run."""
    test_gru_vs_torch(np.float32, case)


def test_gru_torch_state_dict_loads():
    torch.manual_seed(0)
    net = torch.nn.GRU(7, 5, 2, batch_first=True)
    ours = nn.GRU(7, 5, 2, seed=3)
    assert [n for n, _ in ours.named_parameters()] == list(net.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in net.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, 6, 7)).astype(np.float32)
    h0 = np.random.default_rng(1).standard_normal((2, 3, 5)).astype(np.float32)
    with torch.no_grad():
        yt, hn = net(torch.from_numpy(x), torch.from_numpy(h0))
    np.testing.assert_allclose(ours.infer(x, initial_state=h0), yt.numpy(), **tol(np.float32))
    np.testing.assert_allclose(ours.final_state, hn.numpy(), **tol(np.float32))
    # and back: our state_dict into a fresh torch.nn.GRU
    fresh = torch.nn.GRU(7, 5, 2, batch_first=True)
    fresh.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    with torch.no_grad():
        np.testing.assert_allclose(fresh(torch.from_numpy(x))[0].numpy(), ours.infer(x),
                                   **tol(np.float32))
    model = nn.Sequential(nn.GRU(7, 5, seed=0), nn.LastStep(), nn.Dense(5, 1, seed=1))
    assert [n for n, _ in model.named_parameters()] == [
        "0.weight_ih_l0", "0.weight_hh_l0", "0.bias_ih_l0", "0.bias_hh_l0", "2.weight",
        "2.bias"]


def test_gru_init_is_torchs():
    ours = nn.GRU(45, 64, 2, seed=0, dtype=np.float64)
    bound = 1 / 8
    for name, p in ours.named_parameters():
        assert p.data.dtype == np.float64
        assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.95 * bound, name
        assert abs(p.data.mean()) < 0.1 * bound
    shapes = {n: p.data.shape for n, p in ours.named_parameters()}
    assert shapes == {"weight_ih_l0": (192, 45), "weight_hh_l0": (192, 64), "bias_ih_l0": (192,),
                      "bias_hh_l0": (192,), "weight_ih_l1": (192, 64), "weight_hh_l1": (192, 64),
                      "bias_ih_l1": (192,), "bias_hh_l1": (192,)}
    assert len(nn.GRU(3, 4, bias=False).parameters()) == 2
    assert nn.GRU(3, 4).output_shape((10, 3)) == (10, 4)
    assert repr(nn.GRU(3, 4, 2, dropout=0.1)).startswith("GRU(3, 4, num_layers=2, dropout=0.1")


# --- float64 finite differences -------------------------------------------------------------

@pytest.mark.parametrize("bias,initial", [(True, True), (False, False)])
def test_gru_finite_differences(bias, initial):
    rng = np.random.default_rng(5)
    B, T, Fe, H, L = 2, 4, 3, 3, 2
    gru = nn.GRU(Fe, H, L, bias=bias, seed=2, dtype=np.float64)
    x = rng.standard_normal((B, T, Fe))
    dy = rng.standard_normal((B, T, H))
    state = rng.standard_normal((L, B, H)) if initial else None
    loss = lambda: float((gru.infer(x, initial_state=state) * dy).sum())
    gru.forward(x, initial_state=state)
    dx = gru.backward(dy, write=True).copy()
    eps = 1e-6
    for array, grad in [(x, dx)] + [(p.data, p.grad) for p in gru.parameters()]:
        numeric = np.empty_like(array)
        for i in np.ndindex(array.shape):
            keep = array[i]
            array[i] = keep + eps
            up = loss()
            array[i] = keep - eps
            numeric[i] = (up - loss()) / (2 * eps)
            array[i] = keep
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_gru_kernel_dh0_finite_differences():
    """dh0, which the layer does not use (its initial state is a constant), against float64
    finite differences."""
    x, w_ih, w_hh, b_ih, b_hh, h0, dy = kernel_inputs(np.float64, True, True, seed=7)
    y, gates = F.gru_forward(x, w_ih, w_hh, b_ih, b_hh, h0)
    dh0 = np.empty_like(h0)
    F.gru_backward(dy, x, w_ih, w_hh, y, gates, np.zeros_like(w_ih), np.zeros_like(w_hh),
                   h0=h0, dh0=dh0, input_grad=False)
    eps = 1e-6
    for i in np.ndindex(h0.shape):
        keep = h0[i]
        h0[i] = keep + eps
        up = float((F.gru_forward(x, w_ih, w_hh, b_ih, b_hh, h0)[0] * dy).sum())
        h0[i] = keep - eps
        down = float((F.gru_forward(x, w_ih, w_hh, b_ih, b_hh, h0)[0] * dy).sum())
        h0[i] = keep
        np.testing.assert_allclose(dh0[i], (up - down) / (2 * eps), rtol=1e-6, atol=1e-8)


# --- threads and SIMD targets ---------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch,initial", [(64, True), (17, False), (9, True)])
def test_gru_bitwise_across_thread_counts(simd_target, num_threads, dtype, batch, initial):
    """H 96 on 2 threads: the time loop runs by parts of the batch (64: 32 + 32 rows, 17: 8 + 9),
    or (9 rows: too few to cut) on one thread; the all-steps products are split."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((batch, 9, 45)).astype(dtype)
    dy = rng.standard_normal((batch, 9, 96)).astype(dtype)
    h0 = rng.standard_normal((2, batch, 96)).astype(dtype) if initial else None
    results = []
    for n in (1, 2):
        gru = nn.GRU(45, 96, 2, seed=0, dtype=dtype)
        with num_threads(n):
            y = gru.forward(x, initial_state=h0).copy()
            dx = gru.backward(dy, write=True).copy()
        results.append([y, dx] + [p.grad for p in gru.parameters()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


# --- dropout, state, protocol ---------------------------------------------------------------

def test_gru_dropout_between_layers():
    """Training: layer 1 reads layer 0's output through the dropout mask (none after the last
    layer); infer and training=False: no dropout. Backward through the mask."""
    rng = np.random.default_rng(4)
    gru = nn.GRU(6, 5, 2, dropout=0.5, seed=7, dtype=np.float64)
    first, second = nn.GRU(6, 5, dtype=np.float64), nn.GRU(5, 5, dtype=np.float64)
    state = gru.state_dict()
    first.load_state_dict({k: v for k, v in state.items() if k.endswith("l0")})
    second.load_state_dict({k.replace("l1", "l0"): v for k, v in state.items()
                            if k.endswith("l1")})
    x = rng.standard_normal((3, 8, 6))
    dy = rng.standard_normal((3, 8, 5))

    y = gru.forward(x).copy()
    seed = gru._dropouts[0]._seed
    masked = F.dropout_forward(first.forward(x), 0.5, seed)
    assert (masked == 0).mean() > 0.3
    np.testing.assert_array_equal(y, second.forward(masked))
    dx = gru.backward(dy, write=True)
    expected = first.backward(F.dropout_backward(second.backward(dy, write=True), 0.5, seed),
                              write=True)
    np.testing.assert_array_equal(dx, expected)
    plain = second.infer(first.infer(x))
    np.testing.assert_array_equal(gru.infer(x), plain)
    np.testing.assert_array_equal(gru.forward(x, training=False), plain)


def test_gru_carries_state_across_windows():
    """Two windows fed one after the other with the final state carried over give the output of
    the whole sequence."""
    rng = np.random.default_rng(6)
    gru = nn.GRU(4, 6, 2, seed=0, dtype=np.float64)
    x = rng.standard_normal((2, 10, 4))
    whole = gru.infer(x).copy()
    first = gru.infer(x[:, :6]).copy()
    h = gru.final_state.copy()
    assert h.shape == (2, 2, 6)
    np.testing.assert_array_equal(first, whole[:, :6])
    np.testing.assert_allclose(gru.infer(x[:, 6:], initial_state=h), whole[:, 6:], rtol=1e-14,
                               atol=1e-15)
    np.testing.assert_array_equal(gru.final_state[1], whole[:, -1])


def test_gru_accumulates_and_writes():
    rng = np.random.default_rng(8)
    gru = nn.GRU(3, 4, 2, seed=0)
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    dy = rng.standard_normal((2, 5, 4)).astype(np.float32)
    for p in gru.parameters():
        p.grad = None  # zero_grad(set_to_none=True): backward allocates them
    gru.forward(x)
    assert gru.backward(dy, input_grad=False) is None
    once = grads_of(gru)
    gru.backward(dy)
    for name, p in gru.named_parameters():
        np.testing.assert_allclose(p.grad, 2 * once[name], rtol=1e-6, atol=1e-7)
    gru.backward(dy, write=True)
    for name, p in gru.named_parameters():
        np.testing.assert_array_equal(p.grad, once[name])


# --- bad input --------------------------------------------------------------------------------

def test_gru_arguments_are_checked():
    with pytest.raises(ValueError, match="hidden_size"):
        nn.GRU(3, 0)
    with pytest.raises(ValueError, match="num_layers"):
        nn.GRU(3, 4, num_layers=0)
    with pytest.raises(ValueError, match="dropout"):
        nn.GRU(3, 4, dropout=-0.1)
    with pytest.raises(TypeError, match="dtype"):
        nn.GRU(3, 4, dtype=np.int32)
    with pytest.raises(ValueError, match=r"\(batch, steps, 3\)"):
        nn.GRU(3, 4).output_shape((10, 5))


def test_gru_bad_input_raises_before_anything_changes():
    rng = np.random.default_rng(9)
    gru = nn.GRU(3, 4, 2, seed=0)
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    y = gru.forward(x)
    y_before, final_before = y.copy(), gru.final_state.copy()
    weights = [p.data.copy() for p in gru.parameters()]
    nan = x.copy()
    nan[1, 2, 0] = np.nan
    h = np.zeros((2, 2, 4), np.float32)
    bad = [
        (lambda: gru.forward(x[:, 0]), ValueError, "3-d"),
        (lambda: gru.forward(x[:, :, :2]), ValueError, r"\(batch, steps, 3\)"),
        (lambda: gru.forward(nan), ValueError, "NaN"),
        (lambda: gru.forward(x.astype(np.float64)), TypeError, "dtype"),
        (lambda: gru.forward(x, initial_state=(h, h)), ValueError, "h0"),
        (lambda: gru.forward(x, initial_state=h[:1]), ValueError, "h0"),
        (lambda: gru.forward(x, initial_state=h * np.nan), ValueError, "NaN"),
        (lambda: gru.backward(np.zeros((2, 5, 3), np.float32)), ValueError, "dy"),
    ]
    for call, error, match in bad:
        with pytest.raises(error, match=match):
            call()
        np.testing.assert_array_equal(y, y_before)
        np.testing.assert_array_equal(gru.final_state, final_before)
        for p, w in zip(gru.parameters(), weights):
            np.testing.assert_array_equal(p.data, w)
    with pytest.raises(RuntimeError, match="before forward"):
        nn.GRU(3, 4).backward(np.zeros((2, 5, 4), np.float32))

    model = nn.Sequential(nn.GRU(3, 4, seed=0), nn.LastStep(), nn.Dense(4, 1, seed=1))
    weights = [p.data.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match="NaN"):
        model.fit(nan, np.zeros((2, 1), np.float32), loss="mse", epochs=1)
    with pytest.raises(ValueError, match="3"):
        model.fit(x[:, :, :2], np.zeros((2, 1), np.float32), loss="mse", epochs=1)
    with pytest.raises(ValueError):
        model.fit(x[:, 0], np.zeros((2, 1), np.float32), loss="mse", epochs=1)
    for p, w in zip(model.parameters(), weights):
        np.testing.assert_array_equal(p.data, w)


# --- training -------------------------------------------------------------------------------

def test_gru_trains_with_fit_on_price_windows():
    """GRU -> LastStep -> Dense predicts the next return of a synthetic price series whose
    returns follow an AR(2) process, from windows of the last returns and a volatility feature,
    to a lower validation loss than predicting the mean."""
    rng = np.random.default_rng(0)
    n, window = 2400, 16
    r = np.zeros(n)
    noise = rng.standard_normal(n)
    for t in range(2, n):
        r[t] = 0.5 * r[t - 1] - 0.3 * r[t - 2] + 0.5 * noise[t]
    price = 100 * np.exp(np.cumsum(0.01 * r))  # the series; its log returns are 0.01 r
    returns = np.diff(np.log(price), prepend=np.log(100)) / 0.01
    vol = np.sqrt(np.convolve(returns**2, np.ones(8) / 8)[:n])  # of the 8 returns up to t
    features = np.stack([returns, vol], axis=1).astype(np.float32)
    X = np.stack([features[t - window:t] for t in range(window, n)])
    y = returns[window:n].astype(np.float32).reshape(-1, 1)
    split = int(0.8 * len(X))
    model = nn.Sequential(nn.GRU(2, 16, seed=0), nn.LastStep(), nn.Dense(16, 1, seed=1))
    history = model.fit(X[:split], y[:split], loss="mse", optimizer="adam", epochs=10,
                        batch_size=64, seed=0, validation_data=(X[split:], y[split:]))
    baseline = float(((y[split:] - y[:split].mean()) ** 2).mean())
    assert history["val_loss"][-1] < 0.85 * baseline  # the AR(2) optimum: 0.75
