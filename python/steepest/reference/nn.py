"""Pure-NumPy references of the backprop kernels (steepest.nn.functional), computed in float64.

Written from torch.nn.functional's definitions, one NumPy operation per term; each returns new
arrays (float64) instead of writing in place. Gradient buffers are returned as the increments the
kernels add (dense_backward's dweight and dbias).
"""

import math

import numpy as np

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _f64(a):
    return np.asarray(a, dtype=np.float64)


def dense_forward(x, weight, bias=None, activation="none"):
    """y (B, out) = x (B, in) @ weight (out, in).T + bias, then relu if asked."""
    y = _f64(x) @ _f64(weight).T
    if bias is not None:
        y = y + _f64(bias)
    return np.maximum(y, 0.0) if activation == "relu" else y


def dense_backward(dy, x, weight):
    """(dx, dweight, dbias): dx = dy @ weight, dweight = dy.T @ x, dbias = dy.sum(0)."""
    dy = _f64(dy)
    return dy @ _f64(weight), dy.T @ _f64(x), dy.sum(axis=0)


def activation_forward(name, x, negative_slope=0.01, approximate="none"):
    x = _f64(x)
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "leaky_relu":
        return np.where(x > 0, x, negative_slope * x)
    if name == "tanh":
        return np.tanh(x)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if name == "gelu" and approximate == "tanh":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    if name == "gelu":
        return x * 0.5 * (1.0 + _erf(x / math.sqrt(2)))
    raise ValueError(name)


def activation_backward(name, dy, x, negative_slope=0.01, approximate="none"):
    """dx = dy * f'(x), from the input x (whatever the kernel saves)."""
    dy, x = _f64(dy), _f64(x)
    if name == "relu":  # torch's threshold_backward: 0 where x <= 0, else dy (also at a NaN x)
        return np.where(x <= 0, 0.0, dy)
    if name == "leaky_relu":
        return dy * np.where(x > 0, 1.0, negative_slope)
    if name == "tanh":
        return dy * (1.0 - np.tanh(x) ** 2)
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-x))
        return dy * s * (1.0 - s)
    if name == "gelu" and approximate == "tanh":
        k = math.sqrt(2 / math.pi)
        t = np.tanh(k * (x + 0.044715 * x**3))
        return dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t**2) * k * (1.0 + 3 * 0.044715 * x**2))
    if name == "gelu":
        cdf = 0.5 * (1.0 + _erf(x / math.sqrt(2)))
        return dy * (cdf + x * np.exp(-0.5 * x**2) / math.sqrt(2 * math.pi))
    raise ValueError(name)


def loss_value_and_grad(name, pred, target, delta=1.0):
    """(mean loss, d loss / d pred) in float64."""
    p = _f64(pred)
    if name == "cross_entropy":
        labels = np.asarray(target)
        m = p.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(p - m).sum(axis=1))
        rows = np.arange(len(p))
        value = np.mean(lse - p[rows, labels])
        grad = np.exp(p - lse[:, None])
        grad[rows, labels] -= 1.0
        return value, grad / len(p)
    t = _f64(target)
    d = p - t
    n = d.size
    if name == "mse":
        return np.mean(d**2), 2.0 * d / n
    if name == "mae":
        return np.mean(np.abs(d)), np.sign(d) / n
    if name == "huber":
        a = np.abs(d)
        value = np.where(a < delta, 0.5 * d**2, delta * (a - 0.5 * delta))
        return np.mean(value), np.clip(d, -delta, delta) / n
    if name == "bce_with_logits":
        value = np.maximum(p, 0.0) - p * t + np.log1p(np.exp(-np.abs(p)))
        return np.mean(value), (1.0 / (1.0 + np.exp(-p)) - t) / n
    raise ValueError(name)


def _mix32(h):
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def dropout_mask(size, p, seed):
    """keep (bool, size): element i is kept iff hash24(seed, i) >= round(p * 2^24).

    The hash: (k0, k1) are the low and high halves of splitmix64's finalizer of the seed;
    hash24 = mix32(mix32(lo ^ k0) ^ (k1 + hi)) >> 8 with i = hi * 2^32 + lo and mix32 murmur3's
    32-bit finalizer.
    """
    z = (seed + 0x9E3779B97F4A7C15) % 2**64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2**64
    z ^= z >> 31
    k0, k1 = np.uint32(z & 0xFFFFFFFF), np.uint32(z >> 32)
    i = np.arange(size, dtype=np.uint64)
    lo, hi = (i & np.uint64(0xFFFFFFFF)).astype(np.uint32), (i >> np.uint64(32)).astype(np.uint32)
    with np.errstate(over="ignore"):
        h = _mix32(_mix32(lo ^ k0) ^ (k1 + hi))
    return (h >> np.uint32(8)).astype(np.int64) >= round(p * 2**24)


def dropout(x, p, seed):
    """x * (keep ? 1 / (1 - p) : 0) in x's dtype like the kernel (the mask is 0 when p == 1)."""
    x = np.asarray(x)
    scale = x.dtype.type(1) / x.dtype.type(1 - p) if p < 1 else x.dtype.type(0)
    keep = dropout_mask(x.size, p, seed).reshape(x.shape)
    return x * np.where(keep, scale, x.dtype.type(0))


def layernorm_forward(x, weight=None, bias=None, eps=1e-5):
    """(y, mean, rstd) over the last dimension of x (rows, C): y = (x - mean) * rstd * weight
    + bias, mean and the biased variance per row, rstd = 1 / sqrt(var + eps)."""
    x = _f64(x)
    mean = x.mean(axis=-1, keepdims=True)
    rstd = 1.0 / np.sqrt(((x - mean) ** 2).mean(axis=-1, keepdims=True) + eps)
    y = (x - mean) * rstd
    if weight is not None:
        y = y * _f64(weight)
    if bias is not None:
        y = y + _f64(bias)
    return y, mean[..., 0], rstd[..., 0]


def layernorm_backward(dy, x, weight=None, eps=1e-5):
    """(dx, dweight, dbias) of layernorm_forward, recomputing mean and rstd:
    g = dy * weight, dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), dweight = sum over rows
    of dy * xhat, dbias = sum over rows of dy."""
    dy, x = _f64(dy), _f64(x)
    _, mean, rstd = layernorm_forward(x, eps=eps)
    mean, rstd = mean[..., None], rstd[..., None]
    xhat = (x - mean) * rstd
    g = dy * _f64(weight) if weight is not None else dy
    dx = rstd * (g - g.mean(axis=-1, keepdims=True)
                 - xhat * (g * xhat).mean(axis=-1, keepdims=True))
    rows = dy.reshape(-1, dy.shape[-1])
    return dx, (rows * xhat.reshape(rows.shape)).sum(axis=0), rows.sum(axis=0)
def _conv1d_padded(x, stride, dilation, padding, taps):
    """x (B, T, in) zero-padded to (B, pad_left + T + pad_right, in), and T_out."""
    left, right = padding
    xp = np.pad(_f64(x), ((0, 0), (left, right), (0, 0)))
    return xp, (xp.shape[1] - dilation * (taps - 1) - 1) // stride + 1


def conv1d_forward(x, weight, bias=None, stride=1, dilation=1, padding=(0, 0), activation="none"):
    """y (B, T_out, out) = sum over taps k of x[:, t s + k d - pad_left, :] @ weight[:, :, k].T
    (x channels-last (B, T, in), weight (out, in, K) as torch.nn.Conv1d, padding (left, right)
    steps of zeros), + bias, then relu if asked."""
    weight = _f64(weight)
    taps = weight.shape[2]
    xp, steps_out = _conv1d_padded(x, stride, dilation, padding, taps)
    y = np.zeros((xp.shape[0], steps_out, weight.shape[0]))
    for k in range(taps):
        start = k * dilation
        shifted = xp[:, start:start + stride * (steps_out - 1) + 1:stride, :]  # (B, T_out, in)
        y += np.einsum("btc,oc->bto", shifted, weight[:, :, k])
    if bias is not None:
        y = y + _f64(bias)
    return np.maximum(y, 0.0) if activation == "relu" else y


def conv1d_backward(dy, x, weight, stride=1, dilation=1, padding=(0, 0)):
    """(dx, dweight, dbias) of conv1d_forward (without activation) for the upstream dy
    (B, T_out, out): the transpose of each tap's product, scattered back to its steps."""
    dy, weight = _f64(dy), _f64(weight)
    taps = weight.shape[2]
    xp, steps_out = _conv1d_padded(x, stride, dilation, padding, taps)
    dxp = np.zeros_like(xp)
    dweight = np.zeros_like(weight)
    for k in range(taps):
        start = k * dilation
        rows = slice(start, start + stride * (steps_out - 1) + 1, stride)
        dxp[:, rows, :] += np.einsum("bto,oc->btc", dy, weight[:, :, k])
        dweight[:, :, k] = np.einsum("bto,btc->oc", dy, xp[:, rows, :])
    left = padding[0]
    return dxp[:, left:left + np.shape(x)[1], :], dweight, dy.sum(axis=(0, 1))


def _heads(qkv, num_heads):
    """qkv (B, T, 3E) -> q, k, v (B, H, T, d), float64."""
    qkv = _f64(qkv)
    b, t, e3 = qkv.shape
    d = e3 // 3 // num_heads
    q, k, v = (qkv[:, :, i * e3 // 3:(i + 1) * e3 // 3].reshape(b, t, num_heads, d)
               .transpose(0, 2, 1, 3) for i in range(3))
    return q, k, v


def attention_forward(qkv, num_heads, causal=False, p=0.0, seed=0):
    """Self-attention per head on qkv (B, T, 3E) (q | k | v, head h in columns h d of each):
    probs (B, H, T, T) = softmax(Q K^T / sqrt(d)) (-inf above the diagonal if causal),
    dropped = dropout(probs, p, seed) (the kernel's mask over probs' elements in order),
    out (B, T, E) = dropped V with the heads side by side. Returns (out, probs, dropped)."""
    q, k, v = _heads(qkv, num_heads)
    b, h, t, d = q.shape
    s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d)
    if causal:
        s = np.where(np.tril(np.ones((t, t), bool)), s, -np.inf)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    probs = e / e.sum(axis=-1, keepdims=True)
    dropped = dropout(probs, p, seed) if p > 0 else probs
    out = (dropped @ v).transpose(0, 2, 1, 3).reshape(b, t, h * d)
    return out, probs, dropped


def attention_backward(dout, qkv, probs, dropped, num_heads):
    """dqkv (B, T, 3E) from dout (B, T, E): dV = Pd^T dO, dPd = dO V^T, dS = (Pd dPd -
    P rowsum(Pd dPd)) / sqrt(d), dQ = dS K, dK = dS^T Q."""
    q, k, v = _heads(qkv, num_heads)
    b, h, t, d = q.shape
    p, pd = _f64(probs), _f64(dropped)
    do = _f64(dout).reshape(b, t, h, d).transpose(0, 2, 1, 3)
    dv = pd.transpose(0, 1, 3, 2) @ do
    dpd = do @ v.transpose(0, 1, 3, 2)
    ds = (pd * dpd - p * (pd * dpd).sum(axis=-1, keepdims=True)) / math.sqrt(d)
    dq, dk = ds @ k, ds.transpose(0, 1, 3, 2) @ q
    return np.concatenate([g.transpose(0, 2, 1, 3).reshape(b, t, h * d) for g in (dq, dk, dv)],
                          axis=2)


def multihead_attention_forward(x, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias,
                                num_heads, causal=False):
    """torch.nn.MultiheadAttention(batch_first=True)(x, x, x) without dropout: y (B, T, E) =
    attention(x W_in^T + b_in) W_out^T + b_out."""
    qkv = _f64(x) @ _f64(in_proj_weight).T
    if in_proj_bias is not None:
        qkv = qkv + _f64(in_proj_bias)
    out = attention_forward(qkv, num_heads, causal)[0] @ _f64(out_proj_weight).T
    return out if out_proj_bias is None else out + _f64(out_proj_bias)


def positional_encoding(max_len, d_model):
    """The sinusoidal table (max_len, d_model) of Vaswani et al. 2017 as the PyTorch tutorial
    builds it: pe[t, 2i] = sin(t w_i), pe[t, 2i + 1] = cos(t w_i), w_i = 10000^(-2i / d_model)."""
    position = np.arange(max_len, dtype=np.float64)[:, None]
    rate = np.exp(np.arange(0, d_model, 2, dtype=np.float64) * (-math.log(10000.0) / d_model))
    pe = np.zeros((max_len, d_model))
    pe[:, 0::2] = np.sin(position * rate)
    pe[:, 1::2] = np.cos(position * rate[:d_model // 2])
    return pe

def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def lstm_forward(x, weight_ih, weight_hh, bias_ih=None, bias_hh=None, h0=None, c0=None):
    """One LSTM layer (torch.nn.LSTM's equations, gate order i, f, g, o) over x (B, T, F):
    (y (B, T, H), c (B, T, H), gates (B, T, 4H) = [i f g o] after their activations), step by
    step: z = x_t W_ih^T + b_ih + h W_hh^T + b_hh, c = f c + i g, h = o tanh(c)."""
    x, weight_ih, weight_hh = _f64(x), _f64(weight_ih), _f64(weight_hh)
    batch, steps, _ = x.shape
    hidden = weight_hh.shape[1]
    h = np.zeros((batch, hidden)) if h0 is None else _f64(h0)
    cell = np.zeros((batch, hidden)) if c0 is None else _f64(c0)
    bias = (0.0 if bias_ih is None else _f64(bias_ih)) + (0.0 if bias_hh is None else _f64(bias_hh))
    y, c, gates = (np.empty((batch, steps, n * hidden)) for n in (1, 1, 4))
    for t in range(steps):
        z = x[:, t] @ weight_ih.T + h @ weight_hh.T + bias
        i, f, g, o = np.split(z, 4, axis=1)
        i, f, g, o = _sigmoid(i), _sigmoid(f), np.tanh(g), _sigmoid(o)
        cell = f * cell + i * g
        h = o * np.tanh(cell)
        y[:, t], c[:, t], gates[:, t] = h, cell, np.concatenate([i, f, g, o], axis=1)
    return y, c, gates


def lstm_backward(dy, x, weight_ih, weight_hh, bias_ih=None, bias_hh=None, h0=None, c0=None):
    """(dx, dweight_ih, dweight_hh, dbias) of lstm_forward for the upstream dy (B, T, H) (the
    final states' gradients zero; dbias is both biases' gradient), backward through time."""
    dy, x, weight_ih, weight_hh = _f64(dy), _f64(x), _f64(weight_ih), _f64(weight_hh)
    y, c, gates = lstm_forward(x, weight_ih, weight_hh, bias_ih, bias_hh, h0, c0)
    batch, steps, hidden = y.shape
    h_init = np.zeros((batch, hidden)) if h0 is None else _f64(h0)
    c_init = np.zeros((batch, hidden)) if c0 is None else _f64(c0)
    dz = np.empty_like(gates)
    dh, dc = np.zeros((batch, hidden)), np.zeros((batch, hidden))
    for t in reversed(range(steps)):
        i, f, g, o = np.split(gates[:, t], 4, axis=1)
        c_prev = c[:, t - 1] if t > 0 else c_init
        tc = np.tanh(c[:, t])
        dh = dy[:, t] + dh
        dc = dc + dh * o * (1 - tc**2)
        dz[:, t] = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                                   dc * i * (1 - g**2), dh * tc * o * (1 - o)], axis=1)
        dc = dc * f
        dh = dz[:, t] @ weight_hh
    h_prev = np.concatenate([h_init[:, None], y[:, :-1]], axis=1)
    dweight_ih = np.einsum("btg,btf->gf", dz, x)
    dweight_hh = np.einsum("btg,bth->gh", dz, h_prev)
    return dz @ weight_ih, dweight_ih, dweight_hh, dz.sum(axis=(0, 1))


def gru_forward(x, weight_ih, weight_hh, bias_ih=None, bias_hh=None, h0=None):
    """(y, gates) of one torch.nn.GRU layer over x (B, T, F) from h0 (B, H) (None: zeros), gates
    r, z, n in that order (weight_ih (3H, F), weight_hh (3H, H), biases (3H,)):

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)     z likewise
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))  h' = (1 - z) * n + z * h

    y (B, T, H) is every h'; gates (B, T, 4H) holds r, z, n and W_hn h + b_hn of each step."""
    x, w_ih, w_hh = _f64(x), _f64(weight_ih), _f64(weight_hh)
    batch, steps, _ = x.shape
    hidden = w_hh.shape[1]
    b_ih = np.zeros(3 * hidden) if bias_ih is None else _f64(bias_ih)
    b_hh = np.zeros(3 * hidden) if bias_hh is None else _f64(bias_hh)
    h = np.zeros((batch, hidden)) if h0 is None else _f64(h0)
    y = np.zeros((batch, steps, hidden))
    gates = np.zeros((batch, steps, 4 * hidden))
    for t in range(steps):
        gi_r, gi_z, gi_n = np.split(x[:, t] @ w_ih.T + b_ih, 3, axis=1)
        gh_r, gh_z, gh_n = np.split(h @ w_hh.T + b_hh, 3, axis=1)
        r = _sigmoid(gi_r + gh_r)
        z = _sigmoid(gi_z + gh_z)
        n = np.tanh(gi_n + r * gh_n)
        h = (1 - z) * n + z * h
        y[:, t] = h
        gates[:, t] = np.concatenate([r, z, n, gh_n], axis=1)
    return y, gates


def gru_backward(dy, x, weight_ih, weight_hh, y, gates, h0=None):
    """(dx, dh0, dweight_ih, dweight_hh, dbias_ih, dbias_hh) of gru_forward for the upstream dy
    (B, T, H), backwards through time from its saved y and gates."""
    dy, x, w_ih, w_hh = _f64(dy), _f64(x), _f64(weight_ih), _f64(weight_hh)
    y, gates = _f64(y), _f64(gates)
    batch, steps, hidden = dy.shape
    h0 = np.zeros((batch, hidden)) if h0 is None else _f64(h0)
    dx = np.zeros_like(x)
    dw_ih, dw_hh = np.zeros_like(w_ih), np.zeros_like(w_hh)
    db_ih, db_hh = np.zeros(3 * hidden), np.zeros(3 * hidden)
    dh_next = np.zeros((batch, hidden))
    for t in reversed(range(steps)):
        h_prev = y[:, t - 1] if t > 0 else h0
        r, z, n, gh_n = np.split(gates[:, t], 4, axis=1)
        dh = dy[:, t] + dh_next
        da_n = dh * (1 - z) * (1 - n * n)              # through n = tanh(a_n)
        da_z = dh * (h_prev - n) * z * (1 - z)         # through z = sigmoid(a_z)
        da_r = da_n * gh_n * r * (1 - r)               # a_n = gi_n + r gh_n
        dgi = np.concatenate([da_r, da_z, da_n], axis=1)
        dgh = np.concatenate([da_r, da_z, da_n * r], axis=1)
        dx[:, t] = dgi @ w_ih
        dw_ih += dgi.T @ x[:, t]
        dw_hh += dgh.T @ h_prev
        db_ih += dgi.sum(axis=0)
        db_hh += dgh.sum(axis=0)
        dh_next = dh * z + dgh @ w_hh
    return dx, dh_next, dw_ih, dw_hh, db_ih, db_hh
