"""LSTM: the kernels (steepest.nn.functional.lstm_*) against the float64 NumPy reference on every
SIMD target; the layer against torch.nn.LSTM(batch_first=True) with copied weights (forward,
final states and every gradient) at odd sizes, 1 and 2 layers, both dtypes, with and without
initial states; float64 finite differences; bitwise on 1 and 2 threads; dropout between layers;
bad input; torch state_dicts; training with fit on windows of a synthetic price series.
"""
import numpy as np
import pytest

from steepest import nn
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


def torch_lstm(ours):
    """torch.nn.LSTM(batch_first=True) with our layer's weights, loaded from our state_dict."""
    net = torch.nn.LSTM(ours.input_size, ours.hidden_size, ours.num_layers, bias=ours.bias,
                        batch_first=True, dropout=ours.p, dtype=TORCH_DTYPE[ours.dtype.type])
    net.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    return net


def grads_of(layer):
    return {name: p.grad.copy() for name, p in layer.named_parameters()}


# --- kernels against the reference ----------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias,initial", [(True, False), (False, True), (True, True)])
def test_lstm_kernels_match_reference(simd_target, dtype, bias, initial):
    rng = np.random.default_rng(0)
    B, T, Fe, H = 3, 7, 5, 9  # sizes off the SIMD widths
    x = rng.standard_normal((B, T, Fe)).astype(dtype)
    w_ih, w_hh = ((0.4 * rng.standard_normal(s)).astype(dtype) for s in ((4 * H, Fe), (4 * H, H)))
    b_ih, b_hh = (rng.standard_normal(4 * H).astype(dtype) if bias else None for _ in range(2))
    h0, c0 = (rng.standard_normal((B, H)).astype(dtype) if initial else None for _ in range(2))
    dy = rng.standard_normal((B, T, H)).astype(dtype)
    y, c, gates = F.lstm_forward(x, w_ih, w_hh, b_ih, b_hh, h0, c0)
    ry, rc, rgates = ref.lstm_forward(x, w_ih, w_hh, b_ih, b_hh, h0, c0)
    t = tol(dtype)
    for ours, theirs in [(y, ry), (c, rc), (gates, rgates)]:
        np.testing.assert_allclose(ours, theirs, **t)
    rdx, rdw_ih, rdw_hh, rdb = ref.lstm_backward(dy, x, w_ih, w_hh, b_ih, b_hh, h0, c0)
    dw_ih, dw_hh = np.full_like(w_ih, 0.5), np.full_like(w_hh, 0.5)
    db_ih, db_hh = (np.full(4 * H, 0.5, dtype) if bias else None for _ in range(2))
    dx = F.lstm_backward(dy, x, y, c, gates, w_ih, w_hh, dw_ih, dw_hh, db_ih, db_hh, h0, c0)
    np.testing.assert_allclose(dx, rdx, **t)
    np.testing.assert_allclose(dw_ih, rdw_ih + 0.5, **t)  # accumulated
    np.testing.assert_allclose(dw_hh, rdw_hh + 0.5, **t)
    if bias:
        np.testing.assert_allclose(db_ih, rdb + 0.5, **t)
        np.testing.assert_allclose(db_hh, rdb + 0.5, **t)
    # written (accumulate=False): bitwise what accumulating into zeros gives
    w1 = [np.zeros_like(w_ih), np.zeros_like(w_hh)] + \
        [np.zeros(4 * H, dtype) if bias else None for _ in range(2)]
    w2 = [np.full_like(w_ih, np.nan), np.full_like(w_hh, np.nan)] + \
        [np.full(4 * H, np.nan, dtype) if bias else None for _ in range(2)]
    F.lstm_backward(dy, x, y, c, gates, w_ih, w_hh, *w1, h0, c0, input_grad=False)
    F.lstm_backward(dy, x, y, c, gates, w_ih, w_hh, *w2, h0, c0, input_grad=False,
                    accumulate=False)
    for a, b in zip(w1, w2):
        if a is not None:
            np.testing.assert_array_equal(a, b)


def test_lstm_kernels_bad_input_write_nothing():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    w_ih, w_hh = np.zeros((8, 4), np.float32), np.zeros((8, 2), np.float32)
    y, c, g = np.zeros((2, 3, 2), np.float32), np.zeros((2, 3, 2), np.float32), \
        np.zeros((2, 3, 8), np.float32)
    bad = [
        (dict(weight_hh=np.zeros((8, 3), np.float32)), ValueError, "weight_hh"),
        (dict(weight_ih=np.zeros((8, 5), np.float32)), ValueError, "weight_ih"),
        (dict(x=x[:, :, :3].copy()), ValueError, "weight_ih"),
        (dict(x=x.astype(np.float64)), TypeError, "weight_ih"),
        (dict(x=x[:, :, 0].copy()), ValueError, "3-d"),
        (dict(h0=np.zeros((2, 3), np.float32)), ValueError, "h0"),
        (dict(bias_ih=np.zeros(7, np.float32)), ValueError, "bias_ih"),
        (dict(c=y), ValueError, "overlaps"),
        (dict(x=np.asfortranarray(np.zeros((2, 3, 4), np.float32))), ValueError, "x"),
    ]
    for change, error, match in bad:
        args = dict(x=x, weight_ih=w_ih, weight_hh=w_hh, out=y, c=c, gates=g)
        args.update(change)
        with pytest.raises(error, match=match):
            F.lstm_forward(**args)
        assert not y.any() and not c.any() and not g.any()


def test_lstm_backward_kernel_bad_input_writes_nothing():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    w_ih, w_hh = rng.standard_normal((8, 4)).astype(np.float32), \
        rng.standard_normal((8, 2)).astype(np.float32)
    y, c, gates = F.lstm_forward(x, w_ih, w_hh)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dw_ih, dw_hh, dx, dgates = np.zeros_like(w_ih), np.zeros_like(w_hh), np.zeros_like(x), \
        np.zeros_like(gates)
    bad = [
        (dict(dy=dy[:, :2].copy()), ValueError, "dy"),
        (dict(gates=gates[:, :, :4].copy()), ValueError, "gates"),
        (dict(dgates=np.zeros((2, 3, 4), np.float32)), ValueError, "dgates"),
        (dict(dweight_hh=np.zeros((8, 3), np.float32)), ValueError, "dweight_hh"),
        (dict(dbias_ih=np.zeros(8, np.float64)), TypeError, "dbias_ih"),
        (dict(dgates=gates), ValueError, "overlaps"),
        (dict(c0=np.zeros((2, 3), np.float32)), ValueError, "c0"),
        (dict(dx=np.zeros((2, 3, 2), np.float32)), ValueError, "dx"),
    ]
    for change, error, match in bad:
        args = dict(dy=dy, x=x, y=y, c=c, gates=gates, weight_ih=w_ih, weight_hh=w_hh,
                    dweight_ih=dw_ih, dweight_hh=dw_hh, dx=dx, dgates=dgates)
        args.update(change)
        with pytest.raises(error, match=match):
            F.lstm_backward(**args)
        assert not dw_ih.any() and not dw_hh.any() and not dx.any() and not dgates.any()


# --- the layer against torch.nn.LSTM --------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_lstm_vs_torch(dtype, case):
    B, T, Fe, H, L = case
    rng = np.random.default_rng(sum(case))
    ours = nn.LSTM(Fe, H, L, seed=1, dtype=dtype)
    net = torch_lstm(ours)
    x = rng.standard_normal((B, T, Fe)).astype(dtype)
    dy = rng.standard_normal((B, T, H)).astype(dtype)
    with_state = B * T % 2 == 1  # half the cases from given initial states
    h0, c0 = (rng.standard_normal((L, B, H)).astype(dtype) for _ in range(2))
    xt = torch.from_numpy(x).requires_grad_()
    if with_state:
        yt, (hn, cn) = net(xt, (torch.from_numpy(h0), torch.from_numpy(c0)))
        y = ours.forward(x, initial_state=(h0, c0))
    else:
        yt, (hn, cn) = net(xt)
        y = ours.forward(x)
    t = tol(dtype)
    np.testing.assert_allclose(y, yt.detach().numpy(), **t)
    np.testing.assert_allclose(ours.final_state[0], hn.detach().numpy(), **t)
    np.testing.assert_allclose(ours.final_state[1], cn.detach().numpy(), **t)
    (yt * torch.from_numpy(dy)).sum().backward()
    dx = ours.backward(dy, write=True)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **t)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, getattr(net, name).grad.numpy(), err_msg=name, **t)
    np.testing.assert_array_equal(ours.infer(x, initial_state=(h0, c0) if with_state else None),
                                  y)


def test_lstm_torch_state_dict_loads():
    torch.manual_seed(0)
    net = torch.nn.LSTM(7, 5, 2, batch_first=True)
    ours = nn.LSTM(7, 5, 2, seed=3)
    assert [n for n, _ in ours.named_parameters()] == list(net.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in net.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, 6, 7)).astype(np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(ours.infer(x), net(torch.from_numpy(x))[0].numpy(), **tol(
            np.float32))
    model = nn.Sequential(nn.LSTM(7, 5, seed=0), nn.LastStep(), nn.Dense(5, 1, seed=1))
    assert [n for n, _ in model.named_parameters()] == [
        "0.weight_ih_l0", "0.weight_hh_l0", "0.bias_ih_l0", "0.bias_hh_l0", "2.weight",
        "2.bias"]


def test_lstm_init_is_torchs():
    ours = nn.LSTM(45, 64, 2, seed=0, dtype=np.float64)
    bound = 1 / 8
    for name, p in ours.named_parameters():
        assert p.data.dtype == np.float64
        assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.99 * bound, name
        assert abs(p.data.mean()) < 0.1 * bound
    shapes = {n: p.data.shape for n, p in ours.named_parameters()}
    assert shapes == {"weight_ih_l0": (256, 45), "weight_hh_l0": (256, 64), "bias_ih_l0": (256,),
                      "bias_hh_l0": (256,), "weight_ih_l1": (256, 64), "weight_hh_l1": (256, 64),
                      "bias_ih_l1": (256,), "bias_hh_l1": (256,)}
    again = nn.LSTM(45, 64, 2, seed=0, dtype=np.float64)
    assert all(np.array_equal(a.data, b.data) for a, b in zip(ours.parameters(),
                                                                again.parameters()))
    assert len(nn.LSTM(3, 4, bias=False).parameters()) == 2
    assert nn.LSTM(3, 4).output_shape((10, 3)) == (10, 4)


# --- float64 finite differences -------------------------------------------------------------

@pytest.mark.parametrize("bias,initial", [(True, True), (False, False)])
def test_lstm_finite_differences(bias, initial):
    rng = np.random.default_rng(5)
    B, T, Fe, H, L = 2, 4, 3, 3, 2
    lstm = nn.LSTM(Fe, H, L, bias=bias, seed=2, dtype=np.float64)
    x = rng.standard_normal((B, T, Fe))
    dy = rng.standard_normal((B, T, H))
    state = tuple(rng.standard_normal((L, B, H)) for _ in range(2)) if initial else None
    loss = lambda: float((lstm.infer(x, initial_state=state) * dy).sum())
    lstm.forward(x, initial_state=state)
    dx = lstm.backward(dy, write=True).copy()
    eps = 1e-6
    for array, grad in [(x, dx)] + [(p.data, p.grad) for p in lstm.parameters()]:
        numeric = np.empty_like(array)
        for i in np.ndindex(array.shape):
            keep = array[i]
            array[i] = keep + eps
            up = loss()
            array[i] = keep - eps
            numeric[i] = (up - loss()) / (2 * eps)
            array[i] = keep
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


# --- threads and SIMD targets ---------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch,initial", [(64, False), (17, True), (9, False)])
def test_lstm_bitwise_across_thread_counts(simd_target, num_threads, dtype, batch, initial):
    """On 2 threads the time loop runs by parts of the batch (64: 32 + 32 rows, 17: 8 + 9, with
    initial states), or (9 rows: too few to cut) on one thread; the all-steps products are
    split."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((batch, 9, 45)).astype(dtype)
    dy = rng.standard_normal((batch, 9, 64)).astype(dtype)
    state = (tuple(rng.standard_normal((2, batch, 64)).astype(dtype) for _ in range(2))
             if initial else None)
    results = []
    for n in (1, 2):
        lstm = nn.LSTM(45, 64, 2, seed=0, dtype=dtype)
        with num_threads(n):
            y = lstm.forward(x, initial_state=state).copy()
            dx = lstm.backward(dy, write=True).copy()
        results.append([y, dx] + [p.grad for p in lstm.parameters()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


# --- dropout, state, protocol ---------------------------------------------------------------

def test_lstm_dropout_between_layers():
    """Training: layer 1 reads layer 0's output through the counter-based dropout mask (none
    after the last layer); infer and training=False: no dropout. Backward through the mask."""
    rng = np.random.default_rng(4)
    lstm = nn.LSTM(6, 5, 2, dropout=0.5, seed=7, dtype=np.float64)
    first, second = nn.LSTM(6, 5, dtype=np.float64), nn.LSTM(5, 5, dtype=np.float64)
    state = lstm.state_dict()
    first.load_state_dict({k: v for k, v in state.items() if k.endswith("l0")})
    second.load_state_dict({k.replace("l1", "l0"): v for k, v in state.items()
                            if k.endswith("l1")})
    x = rng.standard_normal((3, 8, 6))
    dy = rng.standard_normal((3, 8, 5))

    y = lstm.forward(x).copy()
    seed = lstm._dropouts[0]._seed
    masked = F.dropout_forward(first.forward(x), 0.5, seed)
    assert (masked == 0).mean() > 0.3
    np.testing.assert_array_equal(y, second.forward(masked))
    dx = lstm.backward(dy, write=True)
    expected = first.backward(F.dropout_backward(second.backward(dy, write=True), 0.5, seed),
                              write=True)
    np.testing.assert_array_equal(dx, expected)
    assert not np.array_equal(lstm.forward(x), y)  # a new mask per training forward

    plain = second.infer(first.infer(x))
    np.testing.assert_array_equal(lstm.infer(x), plain)
    np.testing.assert_array_equal(lstm.forward(x, training=False), plain)


def test_lstm_carries_state_across_windows():
    """Two windows fed one after the other with the final state carried over give the output of
    the whole sequence (what users carrying state across windows rely on)."""
    rng = np.random.default_rng(6)
    lstm = nn.LSTM(4, 6, 2, seed=0, dtype=np.float64)
    x = rng.standard_normal((2, 10, 4))
    whole = lstm.infer(x).copy()
    first = lstm.infer(x[:, :6]).copy()
    h, c = (s.copy() for s in lstm.final_state)
    assert h.shape == c.shape == (2, 2, 6)
    np.testing.assert_allclose(first, whole[:, :6], rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(lstm.infer(x[:, 6:], initial_state=(h, c)), whole[:, 6:],
                               rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(lstm.final_state[0][1], whole[:, -1])


def test_lstm_accumulates_and_writes():
    rng = np.random.default_rng(8)
    lstm = nn.LSTM(3, 4, 2, seed=0)
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    dy = rng.standard_normal((2, 5, 4)).astype(np.float32)
    for p in lstm.parameters():
        p.grad = None  # zero_grad(set_to_none=True): backward allocates them
    lstm.forward(x)
    assert lstm.backward(dy, input_grad=False) is None
    once = grads_of(lstm)
    lstm.backward(dy)
    for name, p in lstm.named_parameters():
        np.testing.assert_allclose(p.grad, 2 * once[name], rtol=1e-6, atol=1e-7)
    lstm.backward(dy, write=True)
    for name, p in lstm.named_parameters():
        np.testing.assert_array_equal(p.grad, once[name])


# --- bad input --------------------------------------------------------------------------------

def test_lstm_arguments_are_checked():
    with pytest.raises(ValueError, match="hidden_size"):
        nn.LSTM(3, 0)
    with pytest.raises(ValueError, match="input_size"):
        nn.LSTM(2.5, 4)
    with pytest.raises(ValueError, match="num_layers"):
        nn.LSTM(3, 4, num_layers=0)
    with pytest.raises(ValueError, match="dropout"):
        nn.LSTM(3, 4, dropout=1.5)
    with pytest.raises(TypeError, match="bias"):
        nn.LSTM(3, 4, bias="yes")
    with pytest.raises(TypeError, match="dtype"):
        nn.LSTM(3, 4, dtype=np.int32)
    with pytest.raises(ValueError, match=r"\(batch, steps, 3\)"):
        nn.LSTM(3, 4).output_shape((10, 5))


def test_lstm_bad_input_raises_before_anything_changes():
    rng = np.random.default_rng(9)
    lstm = nn.LSTM(3, 4, 2, seed=0)
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    y = lstm.forward(x)
    y_before, final_before = y.copy(), [s.copy() for s in lstm.final_state]
    weights = [p.data.copy() for p in lstm.parameters()]
    nan = x.copy()
    nan[1, 2, 0] = np.nan
    h = np.zeros((2, 2, 4), np.float32)
    bad = [
        (lambda: lstm.forward(x[:, 0]), ValueError, "3-d"),
        (lambda: lstm.forward(x[:, :, :2]), ValueError, r"\(batch, steps, 3\)"),
        (lambda: lstm.forward(nan), ValueError, "NaN"),
        (lambda: lstm.forward(x.astype(np.float64)), TypeError, "dtype"),
        (lambda: lstm.forward(x, initial_state=h), TypeError, "tuple"),
        (lambda: lstm.forward(x, initial_state=(h, h[:1])), ValueError, "c0"),
        (lambda: lstm.forward(x, initial_state=(h, h * np.nan)), ValueError, "NaN"),
        (lambda: lstm.backward(np.zeros((2, 5, 3), np.float32)), ValueError, "dy"),
    ]
    for call, error, match in bad:
        with pytest.raises(error, match=match):
            call()
        np.testing.assert_array_equal(y, y_before)
        for s, before in zip(lstm.final_state, final_before):
            np.testing.assert_array_equal(s, before)
        for p, w in zip(lstm.parameters(), weights):
            np.testing.assert_array_equal(p.data, w)
    with pytest.raises(RuntimeError, match="before forward"):
        nn.LSTM(3, 4).backward(np.zeros((2, 5, 4), np.float32))

    model = nn.Sequential(nn.LSTM(3, 4, seed=0), nn.LastStep(), nn.Dense(4, 1, seed=1))
    weights = [p.data.copy() for p in model.parameters()]
    with pytest.raises(ValueError):
        model.fit(nan, np.zeros((2, 1), np.float32), loss="mse", epochs=1)
    with pytest.raises(ValueError):
        model.fit(x[:, :, :2], np.zeros((2, 1), np.float32), loss="mse", epochs=1)
    for p, w in zip(model.parameters(), weights):
        np.testing.assert_array_equal(p.data, w)


# --- training -------------------------------------------------------------------------------

def test_lstm_trains_with_fit_on_price_windows():
    """LSTM -> LastStep -> Dense predicts the next return of a synthetic price series whose
    returns follow an AR(2) process, from windows of the last returns and a volatility feature,
    to a lower validation loss than predicting the mean."""
    rng = np.random.default_rng(0)
    n, window = 2400, 16
    r = np.zeros(n)
    noise = rng.standard_normal(n)
    for t in range(2, n):
        r[t] = 0.5 * r[t - 1] - 0.3 * r[t - 2] + 0.5 * noise[t]
    vol = np.sqrt(np.convolve(r**2, np.ones(8) / 8)[:n])  # of the 8 returns up to t
    features = np.stack([r, vol], axis=1).astype(np.float32)
    X = np.stack([features[t - window:t] for t in range(window, n)])
    y = r[window:n].astype(np.float32).reshape(-1, 1)
    split = int(0.8 * len(X))
    model = nn.Sequential(nn.LSTM(2, 16, seed=0), nn.LastStep(), nn.Dense(16, 1, seed=1))
    history = model.fit(X[:split], y[:split], loss="mse", optimizer="adam", epochs=10,
                        batch_size=64, seed=0, validation_data=(X[split:], y[split:]))
    baseline = float(((y[split:] - y[:split].mean()) ** 2).mean())
    assert history["val_loss"][-1] < 0.85 * baseline  # the AR(2) optimum: 0.75
