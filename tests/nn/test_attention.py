"""MultiheadAttention, TransformerEncoderLayer and PositionalEncoding: the attention kernels
(steepest.nn.functional.attention_*) against the float64 NumPy reference and float64 finite
differences (with and without dropout, causal and not), on every SIMD target, both dtypes,
bitwise on 1 and 2 threads; bad input; the layers against torch.nn.MultiheadAttention and
torch.nn.TransformerEncoderLayer (batch_first=True, dropout 0) with torch's own state_dict
loaded, forward and every gradient; a small Transformer trained with fit.
"""
import numpy as np
import pytest

from steepest import nn, optim
from steepest.nn import functional as F
from steepest.reference import nn as ref

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]
TORCH_DTYPES = {np.float32: torch.float32, np.float64: torch.float64}
# (batch, steps, embed_dim, heads): T 1, 5, 33; E 4, 12, 64; 1, 2, 4 heads; and T 70 (row
# blocks of 8 and column vectors past the first, with remainders), head_dim 20 (not a whole
# number of vectors: copied operands) and 32
SIZES = [(2, 1, 4, 1), (3, 5, 4, 2), (2, 5, 12, 4), (2, 33, 12, 2), (2, 33, 64, 4),
         (1, 5, 64, 1), (2, 70, 80, 4), (3, 17, 96, 3)]


def size_id(s):
    return "B{}T{}E{}H{}".format(*s)


def tol(dtype):
    if dtype == np.float32:
        return dict(rtol=2e-4, atol=2e-5)
    return dict(rtol=1e-9, atol=1e-11)


def draw(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


# --- kernels against the reference ----------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("p", [0.0, 0.3])
@pytest.mark.parametrize("size", SIZES, ids=size_id)
def test_attention_kernels_match_reference(simd_target, dtype, causal, p, size):
    b, t, e, h = size
    rng = np.random.default_rng(1)
    qkv, dout = draw(rng, (b, t, 3 * e), dtype), draw(rng, (b, t, e), dtype)
    out, probs, dropped = F.attention_forward(qkv, h, causal, p, seed=7)
    r_out, r_probs, r_dropped = ref.attention_forward(qkv, h, causal, p, seed=7)
    np.testing.assert_allclose(probs, r_probs, **tol(dtype))
    np.testing.assert_allclose(out, r_out, **tol(dtype))
    assert (dropped is None) == (p == 0)
    if p:
        np.testing.assert_allclose(dropped, r_dropped, **tol(dtype))
        if probs.size > 1000:
            assert 0.2 < np.mean(dropped[probs > 0] == 0) < 0.4
    if causal:
        assert np.all(probs[..., np.triu_indices(t, 1)[0], np.triu_indices(t, 1)[1]] == 0)
    np.testing.assert_allclose(probs.sum(-1), 1, **tol(dtype))
    dqkv = F.attention_backward(dout, qkv, probs, dropped, h, causal)
    np.testing.assert_allclose(dqkv, ref.attention_backward(dout, qkv, probs, probs if
                                                            dropped is None else dropped, h),
                               **tol(dtype))


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("p", [0.0, 0.25])
def test_attention_kernels_finite_differences(causal, p):
    b, t, e, h = 2, 5, 6, 2
    rng = np.random.default_rng(2)
    qkv, w = draw(rng, (b, t, 3 * e), np.float64), draw(rng, (b, t, e), np.float64)

    def loss(a):  # the same dropout mask at every call (seed 3)
        return float(np.sum(F.attention_forward(a, h, causal, p, seed=3)[0] * w))

    _, probs, dropped = F.attention_forward(qkv, h, causal, p, seed=3)
    grad = F.attention_backward(w, qkv, probs, dropped, h, causal)
    step = 1e-6
    for index in np.ndindex(qkv.shape):
        up, down = qkv.copy(), qkv.copy()
        up[index] += step
        down[index] -= step
        assert grad[index] == pytest.approx((loss(up) - loss(down)) / (2 * step), abs=1e-7)


def test_attention_causal_sees_only_the_past():
    rng = np.random.default_rng(3)
    qkv = draw(rng, (2, 9, 12), np.float64)
    later = qkv.copy()
    later[:, 5:] = rng.standard_normal(later[:, 5:].shape)
    one, two = F.attention_forward(qkv, 2, True)[0], F.attention_forward(later, 2, True)[0]
    np.testing.assert_array_equal(one[:, :5], two[:, :5])
    assert not np.allclose(one[:, 5:], two[:, 5:])


def run_layers(dtype):
    """Every output and gradient of two MHAs (dropout on; head_dim 16 and 20) and of an encoder
    layer."""
    rng = np.random.default_rng(4)
    results = []
    for layer, shape in (
            (nn.MultiheadAttention(64, 4, dropout=0.2, causal=True, seed=0, dtype=dtype),
             (4, 33, 64)),
            (nn.MultiheadAttention(80, 4, seed=2, dtype=dtype), (3, 70, 80)),
            (nn.TransformerEncoderLayer(64, 4, 96, dropout=0.1, seed=1, dtype=dtype),
             (4, 33, 64))):
        x, dy = draw(rng, shape, dtype), draw(rng, shape, dtype)
        results.append(layer.forward(x).copy())
        results.append(layer.backward(dy, write=True).copy())
        results += [p.grad.copy() for p in layer.parameters()]
        results.append(layer.infer(x).copy())
    return results


@pytest.mark.parametrize("dtype", DTYPES)
def test_attention_bitwise_across_thread_counts(simd_target, num_threads, dtype):
    """1, 2 and 3 threads: the (batch, head) chunks run on the pool (B H T^2 d >= 2^18)."""
    with num_threads(1):
        one = run_layers(dtype)
    for n in (2, 3):  # 3 threads on 2 cores: late participants, their chunks taken over
        with num_threads(n):
            other = run_layers(dtype)
        for a, b in zip(one, other):
            np.testing.assert_array_equal(a, b)


# --- the layers against torch -----------------------------------------------------------------

def causal_mask(t, dtype):
    return torch.triu(torch.full((t, t), float("-inf"), dtype=TORCH_DTYPES[dtype]), 1)


def torch_state(module):
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


def check_grads(ours, theirs, dtype):
    grads = dict(theirs.named_parameters())
    names = [n for n, _ in ours.named_parameters()]
    assert names == list(grads)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, grads[name].grad.numpy(), **tol(dtype), err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("size", SIZES, ids=size_id)
def test_multihead_attention_vs_torch(simd_target, dtype, causal, size):
    b, t, e, h = size
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(e, h, batch_first=True, dtype=TORCH_DTYPES[dtype])
    with torch.no_grad():  # non-zero biases, to check them
        theirs.in_proj_bias.normal_()
        theirs.out_proj.bias.normal_()
    ours = nn.MultiheadAttention(e, h, causal=causal, seed=5, dtype=dtype)
    ours.load_state_dict(torch_state(theirs))
    rng = np.random.default_rng(5)
    x, dy = draw(rng, (b, t, e), dtype), draw(rng, (b, t, e), dtype)
    xt = torch.tensor(x, requires_grad=True)
    y, weights = theirs(xt, xt, xt, attn_mask=causal_mask(t, dtype) if causal else None)
    y.backward(torch.tensor(dy))
    np.testing.assert_allclose(ours.forward(x), y.detach().numpy(), **tol(dtype))
    np.testing.assert_allclose(ours.attention_weights(), weights.detach().numpy(), **tol(dtype))
    dx = ours.backward(dy, write=True)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **tol(dtype))
    check_grads(ours, theirs, dtype)
    np.testing.assert_allclose(ours.infer(x), y.detach().numpy(), **tol(dtype))


ENCODER_CASES = [  # (batch, steps, d_model, heads, feed-forward, activation, norm_first, causal)
    (2, 1, 4, 2, 7, "relu", False, False),
    (3, 5, 12, 4, 9, "gelu", False, True),
    (2, 5, 12, 1, 16, "relu", True, True),
    (2, 33, 64, 4, 33, "gelu", True, False),
    (2, 33, 64, 2, 128, "relu", False, True),
    (1, 33, 4, 4, 5, "gelu", True, True),
]


def encoder_id(c):
    return "B{}T{}d{}H{}ff{}-{}-{}-{}".format(c[0], c[1], c[2], c[3], c[4], c[5],
                                              "pre" if c[6] else "post",
                                              "causal" if c[7] else "full")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", ENCODER_CASES, ids=encoder_id)
def test_encoder_layer_vs_torch(simd_target, dtype, case):
    b, t, d, h, ff, activation, norm_first, causal = case
    torch.manual_seed(1)
    theirs = torch.nn.TransformerEncoderLayer(d, h, ff, dropout=0.0, activation=activation,
                                              norm_first=norm_first, batch_first=True,
                                              dtype=TORCH_DTYPES[dtype])
    with torch.no_grad():
        for name, p in theirs.named_parameters():
            if "norm" in name or "bias" in name:
                p.add_(0.3 * torch.randn_like(p))
    ours = nn.TransformerEncoderLayer(d, h, ff, dropout=0.0, activation=activation,
                                      norm_first=norm_first, causal=causal, seed=2, dtype=dtype)
    ours.load_state_dict(torch_state(theirs))
    rng = np.random.default_rng(6)
    x, dy = draw(rng, (b, t, d), dtype), draw(rng, (b, t, d), dtype)
    xt = torch.tensor(x, requires_grad=True)
    mask = causal_mask(t, dtype) if causal else None
    y = theirs(xt, src_mask=mask, is_causal=causal)
    y.backward(torch.tensor(dy))
    np.testing.assert_allclose(ours.forward(x), y.detach().numpy(), **tol(dtype))
    np.testing.assert_allclose(ours.backward(dy, write=True), xt.grad.numpy(), **tol(dtype))
    check_grads(ours, theirs, dtype)
    np.testing.assert_allclose(ours.infer(x), y.detach().numpy(), **tol(dtype))
    # gradients accumulate without write
    before = [p.grad.copy() for p in ours.parameters()]
    ours.forward(x)
    ours.backward(dy)
    for g, p in zip(before, ours.parameters()):
        np.testing.assert_allclose(p.grad, 2 * g, **tol(dtype))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_finite_differences(norm_first, activation):
    layer = nn.TransformerEncoderLayer(6, 2, 5, dropout=0.0, activation=activation,
                                       norm_first=norm_first, causal=True, seed=3,
                                       dtype=np.float64)
    rng = np.random.default_rng(7)
    x, w = draw(rng, (2, 4, 6), np.float64), draw(rng, (2, 4, 6), np.float64)
    for p in layer.parameters():  # non-trivial norms and biases
        p.data += 0.2 * rng.standard_normal(p.data.shape)

    def loss():
        return float(np.sum(layer.infer(x) * w))

    layer.forward(x)
    dx = layer.backward(w, write=True).copy()
    step = 1e-6
    for array, grad in [(x, dx)] + [(p.data, p.grad) for p in layer.parameters()]:
        for index in list(np.ndindex(array.shape))[::3]:
            keep = array[index]
            array[index] = keep + step
            up = loss()
            array[index] = keep - step
            down = loss()
            array[index] = keep
            assert grad[index] == pytest.approx((up - down) / (2 * step), abs=1e-6)


def test_multihead_attention_init_and_protocol():
    layer = nn.MultiheadAttention(12, 3, seed=0)
    names = [n for n, _ in layer.named_parameters()]
    assert names == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    w = layer.in_proj_weight.data
    assert w.shape == (36, 12) and w.dtype == np.float32
    assert np.abs(w).max() <= np.sqrt(6 / 48) and np.abs(w).max() > 0.5 * np.sqrt(6 / 48)
    assert not layer.in_proj_bias.data.any() and not layer.out_proj.bias.data.any()
    assert np.abs(layer.out_proj.weight.data).max() <= 1 / np.sqrt(12)
    assert layer.output_shape((7, 12)) == (7, 12)
    again = nn.MultiheadAttention(12, 3, seed=0)
    np.testing.assert_array_equal(again.in_proj_weight.data, w)
    no_bias = nn.MultiheadAttention(12, 3, bias=False, dtype=np.float64)
    assert [n for n, _ in no_bias.named_parameters()] == ["in_proj_weight", "out_proj.weight"]
    theirs = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    ours = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, seed=4)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    # our state_dict loads into torch (strictly) and gives our outputs
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = draw(np.random.default_rng(17), (3, 7, 8), np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(theirs(torch.from_numpy(x)).numpy(), ours.infer(x),
                                   **tol(np.float32))


def test_encoder_layer_forward_without_training_is_the_dropout_free_layer():
    """forward(x, training=False) turns dropout off and keeps what backward needs."""
    rng = np.random.default_rng(18)
    x, dy = draw(rng, (2, 6, 8), np.float64), draw(rng, (2, 6, 8), np.float64)
    for activation in ("relu", "gelu"):
        ours = nn.TransformerEncoderLayer(8, 2, 12, dropout=0.5, activation=activation, seed=5,
                                          dtype=np.float64)
        plain = nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0, activation=activation,
                                           dtype=np.float64)
        plain.load_state_dict(ours.state_dict())
        np.testing.assert_array_equal(ours.forward(x, training=False), plain.forward(x))
        np.testing.assert_array_equal(ours.infer(x), plain.infer(x))
        np.testing.assert_array_equal(ours.backward(dy, write=True),
                                      plain.backward(dy, write=True))
        for p, q in zip(ours.parameters(), plain.parameters()):
            np.testing.assert_array_equal(p.grad, q.grad)
        assert not np.array_equal(ours.forward(x), plain.forward(x))


def test_attention_dropout_changes_per_forward_and_is_off_at_inference():
    layer = nn.MultiheadAttention(8, 2, dropout=0.5, seed=1)
    x = draw(np.random.default_rng(8), (2, 6, 8), np.float32)
    one, two = layer.forward(x).copy(), layer.forward(x).copy()
    assert not np.array_equal(one, two)
    np.testing.assert_array_equal(layer.infer(x), nn.MultiheadAttention(8, 2, seed=1).infer(x))
    np.testing.assert_allclose(layer.attention_weights().sum(-1), 1, rtol=1e-6)


# --- PositionalEncoding -------------------------------------------------------------------

def test_positional_encoding_sinusoidal_is_the_tutorials():
    import math
    d, max_len = 10, 50
    position = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d, 2, dtype=torch.float64) * (-math.log(10000.0) / d))
    pe = torch.zeros(max_len, d, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    layer = nn.PositionalEncoding(d, max_len=max_len, dtype=np.float64)
    x = draw(np.random.default_rng(9), (3, 20, d), np.float64)
    np.testing.assert_allclose(layer.forward(x), x + pe[:20].numpy(), rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(layer.forward(x)[1] - x[1],
                               ref.positional_encoding(max_len, d)[:20], atol=1e-15)
    assert layer.named_parameters() == []
    dy = draw(np.random.default_rng(10), x.shape, np.float64)
    np.testing.assert_array_equal(layer.backward(dy), dy)
    assert nn.PositionalEncoding(7).forward(np.zeros((1, 3, 7), np.float32)).shape == (1, 3, 7)


def test_positional_encoding_learned_gradient():
    layer = nn.PositionalEncoding(4, max_len=9, kind="learned", seed=0, dtype=np.float64)
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    x = draw(np.random.default_rng(11), (3, 5, 4), np.float64)
    dy = draw(np.random.default_rng(12), x.shape, np.float64)
    np.testing.assert_array_equal(layer.forward(x), x + layer.weight.data[:5])
    layer.weight.grad[:] = 1
    layer.backward(dy)
    np.testing.assert_allclose(layer.weight.grad[:5], 1 + dy.sum(0))
    np.testing.assert_array_equal(layer.weight.grad[5:], 1)
    layer.backward(dy, write=True)
    np.testing.assert_allclose(layer.weight.grad[:5], dy.sum(0))
    np.testing.assert_array_equal(layer.weight.grad[5:], 0)
    with pytest.raises(ValueError, match="max_len=9"):
        layer.forward(np.zeros((1, 10, 4)))


# --- bad input ----------------------------------------------------------------------------------

def test_attention_layers_bad_input():
    with pytest.raises(ValueError, match="divisible by num_heads"):
        nn.MultiheadAttention(12, 5)
    with pytest.raises(ValueError, match="divisible by num_heads"):
        nn.TransformerEncoderLayer(10, 3)
    with pytest.raises(ValueError, match="activation"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    with pytest.raises(ValueError, match="dropout"):
        nn.MultiheadAttention(8, 2, dropout=1.5)
    with pytest.raises(ValueError, match="kind"):
        nn.PositionalEncoding(8, kind="rotary")
    rng = np.random.default_rng(13)
    for layer in (nn.MultiheadAttention(8, 2, seed=0), nn.TransformerEncoderLayer(8, 2, 16),
                  nn.PositionalEncoding(8, kind="learned")):
        before = layer.state_dict()
        for bad, error in [(draw(rng, (2, 5, 7), np.float32), ValueError),  # 7 features, not 8
                           (draw(rng, (5, 8), np.float32), ValueError),     # 2-d
                           (draw(rng, (2, 5, 8), np.float64), TypeError),   # dtype
                           ([[[0.0] * 8]], TypeError)]:                     # not an array
            with pytest.raises(error):
                layer.forward(bad)
            with pytest.raises(error):
                layer.infer(bad)
        for name, value in layer.state_dict().items():
            np.testing.assert_array_equal(value, before[name])


def test_fit_with_nan_raises_before_any_weight_moves():
    model = nn.Sequential(nn.Dense(3, 8, seed=0), nn.TransformerEncoderLayer(8, 2, 16, seed=1),
                          nn.LastStep(), nn.Dense(8, 1, seed=2))
    X = np.random.default_rng(14).standard_normal((20, 6, 3)).astype(np.float32)
    y = np.zeros((20, 1), np.float32)
    X[7, 2, 1] = np.nan
    before = model.state_dict()
    with pytest.raises(ValueError, match="NaN"):
        model.fit(X, y, loss="mse", epochs=1, batch_size=8)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_attention_kernels_bad_input():
    rng = np.random.default_rng(15)
    qkv = draw(rng, (2, 5, 12), np.float32)
    out, probs = np.full((2, 5, 4), 7, np.float32), np.full((2, 2, 5, 5), 7, np.float32)
    with pytest.raises(ValueError, match="divisible by num_heads"):
        F.attention_forward(qkv, 3, out=out, probs=np.zeros((2, 3, 5, 5), np.float32))
    with pytest.raises(ValueError, match="qkv must be 3-d"):
        F.attention_forward(qkv[:, :, :10].copy(), 2)
    with pytest.raises(ValueError, match="probs must have shape"):
        F.attention_forward(qkv, 2, out=out, probs=np.zeros((2, 2, 5, 4), np.float32))
    with pytest.raises(TypeError):
        F.attention_forward(qkv, 2, out=out.astype(np.float64), probs=probs)
    read_only = out.copy()
    read_only.setflags(write=False)
    with pytest.raises(ValueError):
        F.attention_forward(qkv, 2, out=read_only, probs=probs)
    with pytest.raises(ValueError, match="overlaps"):
        F.attention_forward(qkv, 2, p=0.5, out=out, probs=probs, dropped=probs)
    with pytest.raises(ValueError, match="dropout probability"):
        F.attention_forward(qkv, 2, p=-0.1, out=out, probs=probs)
    np.testing.assert_array_equal(out, 7)
    np.testing.assert_array_equal(probs, 7)
    dqkv = np.full_like(qkv, 7)
    with pytest.raises(ValueError, match="dout must have shape"):
        F.attention_backward(np.zeros((2, 5, 6), np.float32), qkv, probs, None, 2, dqkv=dqkv)
    with pytest.raises(ValueError, match="overlaps"):
        F.attention_backward(out, qkv, probs, None, 2, dqkv=qkv)
    np.testing.assert_array_equal(dqkv, 7)


# --- a small Transformer trained with fit ---------------------------------------------------------

def test_small_transformer_fits_price_windows():
    """Windows of 16 steps of 5 features of a synthetic price series (returns with a slow
    regime), predicting the next return: the validation loss ends below predicting the mean."""
    rng = np.random.default_rng(16)
    n, steps = 1400, 16
    regime = np.sin(np.arange(n + steps + 1) / 25.0)
    returns = 0.6 * regime + 0.3 * rng.standard_normal(n + steps + 1)
    features = np.stack([returns, np.roll(returns, 1), regime, returns ** 2,
                         np.cumsum(returns) / 50], axis=1).astype(np.float32)
    X = np.stack([features[i:i + steps] for i in range(n)])
    y = returns[steps:steps + n, None].astype(np.float32)
    X_train, y_train, X_val, y_val = X[:1100], y[:1100], X[1100:], y[1100:]
    model = nn.Sequential(nn.Dense(5, 16, seed=0), nn.PositionalEncoding(16, max_len=64),
                          nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, seed=1),
                          nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, norm_first=True,
                                                     seed=2),
                          nn.LastStep(), nn.Dense(16, 1, seed=3))
    model.fit(X_train, y_train, loss="mse", optimizer=optim.AdamW(model.parameters(), lr=3e-3),
              epochs=8, batch_size=64, seed=0)
    val = float(np.mean((model.predict(X_val) - y_val) ** 2))
    baseline = float(np.mean((y_train.mean() - y_val) ** 2))
    assert val < 0.8 * baseline
