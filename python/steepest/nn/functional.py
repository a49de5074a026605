"""Forward/backward kernels of the layers, as functions on NumPy arrays.

Thin wrappers over the C++ kernels (``steepest._core``): every array is float32 or float64,
C-contiguous, all of one dtype, never converted. ``out=`` / ``dx=`` / ``grad=`` arrays are written
in place (allocated when None); parameter gradients (``dweight``, ``dbias``) are ACCUMULATED
into (``+=``), so zero them between steps. Bad input raises TypeError/ValueError naming the
argument and writes nothing. Results are bitwise the same for any thread count.

Dense layer (weight stored (out, in) like torch.nn.Linear)::

    dense_forward(x, weight, bias=None, activation="none", out=None) -> y
        x (B, in), weight (out, in), bias (out,) or None -> y (B, out) = x @ weight.T + bias,
        then activation "none" or "relu" (fused into the product).
    dense_backward(dy, x, weight, dweight, dbias=None, dx=None, input_grad=True) -> dx or None
        dy (B, out), x (B, in): dweight (out, in) += dy.T @ x; dbias (out,) += dy.sum(0)
        (summed over the batch in row order); dx (B, in) = dy @ weight, written, unless
        input_grad=False (the first layer needs no dx; returns None).

Activations, element-wise on arrays of any shape (names as in torch.nn.functional)::

    activation_forward(name, x, out=None, **kw) -> y
    activation_backward(name, dy, saved, dx=None, **kw) -> dx     dx = dy * f'(.), written
        name: "relu", "leaky_relu" (kw negative_slope=0.01), "tanh", "sigmoid",
              "gelu" (kw approximate="none" (erf form) or "tanh", torch's definitions).
        saved is what SAVES[name] says the forward must keep: "output" y for tanh and sigmoid,
        "input" x for the others (relu accepts y too: y <= 0 exactly where x <= 0).
        relu keeps NaN as torch does: relu(NaN) = NaN, and its backward passes dy where the
        saved value is NaN (torch's: 0 where y <= 0, else dy).

Losses, mean reduction, the value summed in float64 in a fixed order::

    loss_value_and_grad(name, pred, target, grad=None, **kw) -> (value: float, grad)
    loss_value(name, pred, target, **kw) -> value: float
        "mse", "mae" (L1), "huber" (kw delta=1.0): pred and target of one shape, mean over all
            elements.
        "bce_with_logits": pred are logits, target probabilities in [0, 1], same shape; mean
            over all elements; stable form max(x, 0) - x t + log(1 + exp(-|x|)).
        "cross_entropy": pred (B, C) logits, target (B,) int64 class labels in [0, C); softmax
            cross-entropy (stable log-sum-exp), mean over the batch. A label out of range is a
            ValueError naming its index.
        grad (pred's shape) = d value / d pred, written.

Trading losses over a batch whose rows are in time order (equations in
``steepest.reference.trading``), the value summed in float64 in row order::

    ratio_loss(kind, pred, target, grad=None, *, cost=0.0, periods_per_year=252, eps=1e-12)
        -> (value: float, grad or None)
        kind "sharpe" or "sortino": the negative annualized ratio of the returns
        pred * target - cost * |change of pred| (pred: positions, target: next returns, as many
        of each; at least 2 rows). grad (pred's shape) = d value / d pred, written unless
        grad=False.
    reinforce_loss(pred, target, grad=None) -> (value: float, grad or None)
        pred (B, A) a softmax policy's logits, target (B, 2): the action taken (a whole number
        in [0, A)) and its advantage; -mean(advantage * log softmax(pred)[action]).

Layer normalization over the last dimension (torch.nn.functional.layer_norm)::

    layernorm_forward(x, weight=None, bias=None, eps=1e-5, out=None, mean=None, rstd=None) -> y
        x (rows, C) -> y (rows, C) = (x - mean) * rstd * weight + bias per row, mean and var
        (biased) over the row, rstd = 1 / sqrt(var + eps); weight, bias (C,) or None. mean and
        rstd (rows,) are written when given (what backward needs).
    layernorm_backward(dy, x, mean, rstd, weight=None, dweight=None, dbias=None, dx=None,
                       input_grad=True, accumulate=True) -> dx or None
        dx (rows, C) = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * weight,
        xhat = (x - mean) * rstd; dweight (C,) += sum over rows of dy * xhat; dbias (C,) +=
        sum over rows of dy (written with accumulate=False).

Dropout (inverted: kept elements are scaled by 1 / (1 - p))::

    dropout_forward(x, p, seed, training=True, out=None) -> y
    dropout_backward(dy, p, seed, training=True, dx=None) -> dx
        Element i is kept iff a counter-based hash of (seed, i) is at least p (p in [0, 1],
        quantized to 2^-24), so the mask depends only on (seed, i): the same on every thread
        count and SIMD target, and backward regenerates it instead of storing it. Give the
        forward and backward of one step the same seed, and every step a new one. p == 0 or
        training=False is the identity (a copy into out).

1-d convolution on channels-last data (weight stored (out, in, K) like torch.nn.Conv1d)::

    conv1d_padding(padding, kernel_size, dilation=1, stride=1) -> (left, right)
        "causal": ((K - 1) dilation, 0), output t sees inputs <= t; "same": torch's (stride 1
        only; the odd step on the right); "valid": (0, 0); an int p: (p, p); a pair: itself.
    conv1d_forward(x, weight, bias=None, stride=1, dilation=1, padding=(0, 0),
                   activation="none", out=None) -> y
        x (B, T, in), weight (out, in, K) -> y (B, T_out, out),
        y[b, t] = bias + sum_k x[b, t stride + k dilation - left] @ weight[:, :, k].T (x zero
        outside [0, T)), T_out = (T + left + right - dilation (K - 1) - 1) // stride + 1;
        then "none" or "relu" (fused).
    conv1d_backward(dy, x, weight, dweight, dbias=None, stride=1, dilation=1, padding=(0, 0),
                    dx=None, input_grad=True, accumulate=True, relu_output=None) -> dx or None
        dweight (out, in, K) and dbias (out,) += (or = with accumulate=False) their gradients;
        dx (B, T, in) written unless input_grad=False; relu_output as in dense_backward.

Self-attention per head on a packed projection (torch.nn.MultiheadAttention's core)::

    attention_forward(qkv, num_heads, causal=False, p=0.0, seed=0, out=None, probs=None,
                      dropped=None) -> (out, probs, dropped)
        qkv (B, T, 3E): q | k | v, head h in columns h d of each (d = E / num_heads).
        probs (B, H, T, T) = softmax(Q K^T / sqrt(d)) per head (masked above the diagonal when
        causal), dropped = dropout(probs, p, seed) (None when p == 0), out (B, T, E) =
        dropped V (probs V without dropout), heads side by side.
    attention_backward(dout, qkv, probs, dropped, num_heads, causal=False, dqkv=None) -> dqkv
        dqkv (B, T, 3E) written from dout (B, T, E) and the forward's probs and dropped.

One LSTM layer over a whole sequence (torch.nn.LSTM's layouts, gate order i, f, g, o)::

    lstm_forward(x, weight_ih, weight_hh, bias_ih=None, bias_hh=None, h0=None, c0=None,
                 out=None, c=None, gates=None) -> (y, c, gates)
        x (B, T, F), weight_ih (4H, F), weight_hh (4H, H), biases (4H,), h0, c0 (B, H) (None:
        zeros): z_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh, i, f, o = sigmoid, g = tanh of
        z_t's quarters, c_t = f c_{t-1} + i g, h_t = o tanh(c_t). y (B, T, H) = h_t, c (B, T, H)
        = c_t and gates (B, T, 4H) = [i f g o] are what lstm_backward reads.
    lstm_backward(dy, x, y, c, gates, weight_ih, weight_hh, dweight_ih, dweight_hh,
                  dbias_ih=None, dbias_hh=None, h0=None, c0=None, dgates=None, dx=None,
                  input_grad=True, accumulate=True) -> dx or None
        Backward through time from dy (B, T, H) (the final states' gradients zero): dweight_*
        and dbias_* += (or = with accumulate=False) their gradients, dx (B, T, F) written unless
        input_grad=False; dgates (B, T, 4H) is a workspace (the gates' pre-activation
        gradients).

One GRU layer over a whole sequence (torch.nn.GRU's weights (3H, F) / (3H, H), gates r, z, n;
equations in ``steepest.reference.nn.gru_forward``), one call per layer per pass::

    gru_forward(x, weight_ih, weight_hh, bias_ih=None, bias_hh=None, h0=None, out=None,
                gates=None) -> (y, gates)
        x (B, T, F), h0 (B, H) or None (zeros) -> y (B, T, H) = h_1..h_T, gates (B, T, 4H) = r,
        z, n and W_hn h + b_hn of each step (what gru_backward needs).
    gru_backward(dy, x, weight_ih, weight_hh, y, gates, dweight_ih, dweight_hh, dbias_ih=None,
                 dbias_hh=None, h0=None, dx=None, dh0=None, input_grad=True, accumulate=True,
                 dgates_ih=None, dgates_hh=None) -> dx or None
        dy (B, T, H) = dL/dy: the weight and bias gradients += (or = with accumulate=False);
        dx (B, T, F) written unless input_grad=False; dh0 (B, H) = dL/dh0 written if given;
        dgates_ih, dgates_hh (B, T, 3H): the gates' gradients (scratch, allocated if None).

The arrays these functions allocate, and the layers' buffers, come from::

    empty(shape, dtype) -> an uninitialised C-contiguous array whose data begins on a 64-byte
        cache line (pass such arrays as out=, dx=, ...: the kernels' vector accesses then never
        straddle two lines).
"""

import numbers

import numpy as np

from steepest import _core

__all__ = ["dense_forward", "dense_backward", "activation_forward", "activation_backward",
           "SAVES", "loss_value_and_grad", "loss_value", "LOSSES", "ratio_loss", "reinforce_loss",
           "dropout_forward", "dropout_backward", "layernorm_forward", "layernorm_backward",
           "conv1d_padding", "conv1d_forward", "conv1d_backward",
           "attention_forward", "attention_backward"]

# What each activation's backward needs from its forward.
SAVES = {"relu": "input", "leaky_relu": "input", "tanh": "output", "sigmoid": "output",
         "gelu": "input"}
LOSSES = ("mse", "mae", "huber", "cross_entropy", "bce_with_logits")


_LINE = 64  # bytes


def empty(shape, dtype):
    """``np.empty(shape, dtype)`` whose data begins on a 64-byte cache line. NumPy's large
    arrays begin 16 bytes into a page, where every 64-byte vector of a row would straddle two
    cache lines: a split load or store for each AVX-512 access of the kernels."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    memory = np.empty(size + _LINE, np.uint8)
    start = -memory.ctypes.data % _LINE
    return memory[start:start + size].view(dtype).reshape(shape)


def _like(out, shape, dtype):
    return empty(shape, dtype) if out is None else out


def _dtype_of(name, a):
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(a).__name__}")
    return a.dtype


def dense_forward(x, weight, bias=None, activation="none", out=None):
    """y (B, out) = x (B, in) @ weight (out, in).T + bias (out,), then activation."""
    _dtype_of("x", x)
    _dtype_of("weight", weight)
    if x.ndim != 2 or weight.ndim != 2:
        raise ValueError(f"dense_forward: x must be 2-d (batch, in) and weight 2-d (out, in), "
                         f"got {x.shape} and {weight.shape}")
    out = _like(out, (x.shape[0], weight.shape[0]), x.dtype)
    _core.dense_forward(out, x, weight, bias, activation)
    return out


def dense_backward(dy, x, weight, dweight, dbias=None, dx=None, input_grad=True,
                   accumulate=True, relu_output=None, accumulate_dx=False):
    """dweight += dy.T @ x; dbias += dy.sum(0); dx = dy @ weight (if input_grad). With
    ``accumulate=False`` dweight and dbias are written (=) instead, bitwise as if accumulated
    into zeros. With ``relu_output`` (x's shape: the output, or input, of a ReLU before the
    layer) dx is 0 where it is <= 0 (kept where it is NaN): that ReLU's backward, fused.
    ``accumulate_dx`` adds dy @ weight into the given ``dx`` (the gradient reaching x by
    another path, a residual connection's) instead of writing it."""
    _dtype_of("x", x)
    if accumulate_dx and (dx is None or relu_output is not None):
        raise ValueError("dense_backward: accumulate_dx needs dx and no relu_output")
    if input_grad:
        if x.ndim != 2:
            raise ValueError(f"dense_backward: x must be 2-d (batch, in), got {x.shape}")
        dx = _like(dx, x.shape, x.dtype)
    elif dx is not None:
        raise ValueError("dense_backward: dx given with input_grad=False")
    _core.dense_backward(dx, dweight, dbias, dy, x, weight, bool(accumulate), relu_output,
                         bool(accumulate_dx))
    return dx


def _activation_kind(name, approximate):
    if name not in SAVES:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(SAVES)}")
    if name == "gelu":
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        return "gelu_tanh" if approximate == "tanh" else "gelu"
    return name


def _slope(negative_slope):
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real):
        raise TypeError(f"negative_slope must be a number, got {type(negative_slope).__name__}")
    return float(negative_slope)


def activation_forward(name, x, out=None, *, negative_slope=0.01, approximate="none",
                       addend=None):
    """y = f(x), or f(x + addend) with ``addend`` of x's shape (a residual connection's sum and
    its activation in one pass), element-wise; see the module docstring for the names."""
    kind = _activation_kind(name, approximate)
    _dtype_of("x", x)
    out = _like(out, x.shape, x.dtype)
    _core.activation_forward(kind, out, x, _slope(negative_slope), addend)
    return out


def activation_backward(name, dy, saved, dx=None, *, negative_slope=0.01, approximate="none"):
    """dx = dy * f'(x), from ``saved`` (x or y, per SAVES[name])."""
    kind = _activation_kind(name, approximate)
    _dtype_of("dy", dy)
    dx = _like(dx, dy.shape, dy.dtype)
    _core.activation_backward(kind, dx, dy, saved, _slope(negative_slope))
    return dx


def _delta(name, delta):
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real):
        raise TypeError(f"delta must be a number, got {type(delta).__name__}")
    if name == "huber" and not delta > 0:
        raise ValueError(f"huber: delta must be > 0, got {delta}")
    return float(delta)


def _loss_name(name):
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {list(LOSSES)}")
    return name


def loss_value_and_grad(name, pred, target, grad=None, *, delta=1.0):
    """(mean loss, d loss / d pred); see the module docstring for the names and shapes."""
    _loss_name(name)
    _dtype_of("pred", pred)
    grad = _like(grad, pred.shape, pred.dtype)
    value = _core.loss(name, grad, pred, target, _delta(name, delta))
    return value, grad


def loss_value(name, pred, target, *, delta=1.0):
    """The mean loss alone (no gradient written)."""
    _loss_name(name)
    return _core.loss(name, None, pred, target, _delta(name, delta))


def _number(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    return float(value)


def ratio_loss(kind, pred, target, grad=None, *, cost=0.0, periods_per_year=252.0, eps=1e-12):
    """(negative annualized Sharpe or Sortino ratio, d value / d pred); see the module
    docstring. ``grad=False`` computes the value alone."""
    _dtype_of("pred", pred)
    options = [_number(v, k) for k, v in (("cost", cost), ("periods_per_year", periods_per_year),
                                          ("eps", eps))]
    if grad is not False:
        grad = _like(grad, pred.shape, pred.dtype)
    value = _core.ratio_loss(kind, None if grad is False else grad, pred, target, *options)
    return value, None if grad is False else grad


def reinforce_loss(pred, target, grad=None):
    """(REINFORCE's loss of a softmax policy, d value / d pred); see the module docstring.
    ``grad=False`` computes the value alone."""
    _dtype_of("pred", pred)
    if grad is not False:
        grad = _like(grad, pred.shape, pred.dtype)
    value = _core.reinforce_loss(None if grad is False else grad, pred, target)
    return value, None if grad is False else grad


def _dropout(x, p, seed, training, out):
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**64:
        raise ValueError(f"dropout: seed must be an int in [0, 2**64), got {seed!r}")
    _dtype_of("x", x)
    out = _like(out, x.shape, x.dtype)
    _core.dropout(out, x, float(p) if training else 0.0, int(seed))
    return out


def dropout_forward(x, p, seed, training=True, out=None):
    """y = x * mask(seed) / (1 - p); the identity when p == 0 or not training."""
    return _dropout(x, p, seed, training, out)


def dropout_backward(dy, p, seed, training=True, dx=None):
    """dx = dy * mask(seed) / (1 - p), the forward's mask regenerated from the seed."""
    return _dropout(dy, p, seed, training, dx)


def layernorm_forward(x, weight=None, bias=None, eps=1e-5, out=None, mean=None, rstd=None):
    """y = (x - mean) * rstd * weight + bias over the last dimension of x (rows, C)."""
    _dtype_of("x", x)
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(f"eps must be a number, got {type(eps).__name__}")
    if x.ndim != 2:
        raise ValueError(f"layernorm_forward: x must be 2-d (rows, C), got {x.shape}")
    out = _like(out, x.shape, x.dtype)
    _core.layernorm_forward(out, mean, rstd, x, weight, bias, float(eps))
    return out


def layernorm_backward(dy, x, mean, rstd, weight=None, dweight=None, dbias=None, dx=None,
                       input_grad=True, accumulate=True):
    """dx written (if input_grad); dweight and dbias added to (written with
    ``accumulate=False``) when given."""
    _dtype_of("x", x)
    if input_grad:
        if x.ndim != 2:
            raise ValueError(f"layernorm_backward: x must be 2-d (rows, C), got {x.shape}")
        dx = _like(dx, x.shape, x.dtype)
    elif dx is not None:
        raise ValueError("layernorm_backward: dx given with input_grad=False")
    _core.layernorm_backward(dx, dweight, dbias, dy, x, mean, rstd, weight, bool(accumulate))
    return dx


def _geometry(value, name, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def conv1d_padding(padding, kernel_size, dilation=1, stride=1):
    """(left, right) zero steps for a padding name, an int or a pair (see the module docstring)."""
    kernel_size = _geometry(kernel_size, "kernel_size", 1)
    dilation = _geometry(dilation, "dilation", 1)
    span = dilation * (kernel_size - 1)
    if isinstance(padding, str):
        if padding == "causal":
            return span, 0
        if padding == "same":
            if stride != 1:
                raise ValueError("padding='same' is not supported for strided convolutions")
            return span // 2, span - span // 2
        if padding == "valid":
            return 0, 0
        raise ValueError(f"padding must be 'causal', 'same', 'valid', an int or a pair, "
                         f"got {padding!r}")
    if isinstance(padding, tuple) and len(padding) == 2:
        return (_geometry(padding[0], "padding[0]", 0), _geometry(padding[1], "padding[1]", 0))
    pad = _geometry(padding, "padding", 0)
    return pad, pad


def _conv1d_args(x, weight, stride, dilation, padding):
    _dtype_of("x", x)
    _dtype_of("weight", weight)
    if x.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"conv1d: x must be 3-d (batch, steps, in_channels) and weight 3-d "
                         f"(out_channels, in_channels, kernel_size), got {x.shape} and "
                         f"{weight.shape}")
    stride = _geometry(stride, "stride", 1)
    dilation = _geometry(dilation, "dilation", 1)
    left, right = conv1d_padding(padding, weight.shape[2], dilation, stride)
    steps_out = (x.shape[1] + left + right - dilation * (weight.shape[2] - 1) - 1) // stride + 1
    return stride, dilation, left, right, steps_out


def conv1d_forward(x, weight, bias=None, stride=1, dilation=1, padding=(0, 0), activation="none",
                   out=None):
    """y (B, T_out, out) = conv1d of x (B, T, in) with weight (out, in, K) + bias, activation."""
    stride, dilation, left, right, steps_out = _conv1d_args(x, weight, stride, dilation, padding)
    out = _like(out, (x.shape[0], max(steps_out, 0), weight.shape[0]), x.dtype)
    _core.conv1d_forward(out, x, weight, bias, stride, dilation, left, right, activation)
    return out


def conv1d_backward(dy, x, weight, dweight, dbias=None, stride=1, dilation=1, padding=(0, 0),
                    dx=None, input_grad=True, accumulate=True, relu_output=None,
                    accumulate_dx=False):
    """dweight += the gradient (out, in, K); dbias += dy.sum((0, 1)); dx (B, T, in) written (if
    input_grad). ``accumulate=False`` writes dweight and dbias, bitwise as if accumulated into
    zeros; ``relu_output`` (x's shape) zeroes dx where it is <= 0 (a ReLU's backward, fused);
    ``accumulate_dx`` adds the input gradient into the given ``dx`` (the gradient reaching x by
    another path, a residual connection's) instead of writing it."""
    stride, dilation, left, right, _ = _conv1d_args(x, weight, stride, dilation, padding)
    if accumulate_dx and (dx is None or relu_output is not None):
        raise ValueError("conv1d_backward: accumulate_dx needs dx and no relu_output")
    if input_grad:
        dx = _like(dx, x.shape, x.dtype)
    elif dx is not None:
        raise ValueError("conv1d_backward: dx given with input_grad=False")
    _core.conv1d_backward(dx, dweight, dbias, dy, x, weight, stride, dilation, left, right,
                          bool(accumulate), relu_output, bool(accumulate_dx))
    return dx


def _attention_sizes(qkv, num_heads):
    _dtype_of("qkv", qkv)
    if qkv.ndim != 3 or qkv.shape[2] % 3:
        raise ValueError(f"attention: qkv must be 3-d (batch, steps, 3 * embed_dim), got "
                         f"{qkv.shape}")
    b, t, e3 = qkv.shape
    return b, t, e3 // 3, _geometry(num_heads, "num_heads", 1)


def attention_forward(qkv, num_heads, causal=False, p=0.0, seed=0, out=None, probs=None,
                      dropped=None):
    """(out (B, T, E), probs (B, H, T, T), dropped or None) of self-attention on qkv."""
    b, t, e, h = _attention_sizes(qkv, num_heads)
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**64:
        raise ValueError(f"attention: seed must be an int in [0, 2**64), got {seed!r}")
    out = _like(out, (b, t, e), qkv.dtype)
    probs = _like(probs, (b, h, t, t), qkv.dtype)
    if p > 0:
        dropped = _like(dropped, (b, h, t, t), qkv.dtype)
    elif dropped is not None:
        raise ValueError("attention_forward: dropped given with p == 0")
    _core.attention_forward(out, probs, dropped, qkv, h, bool(causal), float(p), int(seed))
    return out, probs, dropped


def attention_backward(dout, qkv, probs, dropped, num_heads, causal=False, dqkv=None):
    """dqkv (B, T, 3E), written."""
    _attention_sizes(qkv, num_heads)
    dqkv = _like(dqkv, qkv.shape, qkv.dtype)
    _core.attention_backward(dqkv, dout, qkv, probs, dropped, int(num_heads), bool(causal))
    return dqkv

__all__ += ["lstm_forward", "lstm_backward"]


def _lstm_sizes(x, weight_hh):
    _dtype_of("x", x)
    _dtype_of("weight_hh", weight_hh)
    if x.ndim != 3 or weight_hh.ndim != 2:
        raise ValueError(f"lstm: x must be 3-d (batch, steps, features) and weight_hh 2-d "
                         f"(4 hidden, hidden), got {x.shape} and {weight_hh.shape}")
    return x.shape[0], x.shape[1], weight_hh.shape[1]


def lstm_forward(x, weight_ih, weight_hh, bias_ih=None, bias_hh=None, h0=None, c0=None,
                 out=None, c=None, gates=None):
    """One LSTM layer over x (B, T, F): (y (B, T, H), c (B, T, H), gates (B, T, 4H))."""
    batch, steps, hidden = _lstm_sizes(x, weight_hh)
    out = _like(out, (batch, steps, hidden), x.dtype)
    c = _like(c, (batch, steps, hidden), x.dtype)
    gates = _like(gates, (batch, steps, 4 * hidden), x.dtype)
    _core.lstm_forward(out, c, gates, x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh)
    return out, c, gates


def lstm_backward(dy, x, y, c, gates, weight_ih, weight_hh, dweight_ih, dweight_hh,
                  dbias_ih=None, dbias_hh=None, h0=None, c0=None, dgates=None, dx=None,
                  input_grad=True, accumulate=True):
    """Backward through time of lstm_forward: parameter gradients += (or = with
    ``accumulate=False``); dx (B, T, F) written and returned if input_grad, else None."""
    batch, steps, hidden = _lstm_sizes(x, weight_hh)
    if input_grad:
        dx = _like(dx, x.shape, x.dtype)
    elif dx is not None:
        raise ValueError("lstm_backward: dx given with input_grad=False")
    dgates = _like(dgates, (batch, steps, 4 * hidden), x.dtype)
    _core.lstm_backward(dx, dweight_ih, dweight_hh, dbias_ih, dbias_hh, dgates, dy, x, h0, c0, y,
                        c, gates, weight_ih, weight_hh, bool(accumulate))
    return dx


def _gru_sizes(x, weight_hh):
    _dtype_of("x", x)
    _dtype_of("weight_hh", weight_hh)
    if x.ndim != 3 or weight_hh.ndim != 2:
        raise ValueError(f"gru: x must be 3-d (batch, steps, features) and weight_hh 2-d "
                         f"(3 * hidden_size, hidden_size), got {x.shape} and {weight_hh.shape}")
    return x.shape[0], x.shape[1], weight_hh.shape[1]


def gru_forward(x, weight_ih, weight_hh, bias_ih=None, bias_hh=None, h0=None, out=None,
                gates=None):
    """(y (B, T, H), gates (B, T, 4H)) of one GRU layer over x (B, T, F) from h0 (None: 0)."""
    batch, steps, hidden = _gru_sizes(x, weight_hh)
    out = _like(out, (batch, steps, hidden), x.dtype)
    gates = _like(gates, (batch, steps, 4 * hidden), x.dtype)
    _core.gru_forward(out, gates, x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    return out, gates


def gru_backward(dy, x, weight_ih, weight_hh, y, gates, dweight_ih, dweight_hh, dbias_ih=None,
                 dbias_hh=None, h0=None, dx=None, dh0=None, input_grad=True, accumulate=True,
                 dgates_ih=None, dgates_hh=None):
    """Backward through time of gru_forward: parameter gradients += (= with accumulate=False),
    dh0 written if given, dx (B, T, F) written and returned unless input_grad=False."""
    batch, steps, hidden = _gru_sizes(x, weight_hh)
    if input_grad:
        dx = _like(dx, x.shape, x.dtype)
    elif dx is not None:
        raise ValueError("gru_backward: dx given with input_grad=False")
    dgates_ih = _like(dgates_ih, (batch, steps, 3 * hidden), x.dtype)
    dgates_hh = _like(dgates_hh, (batch, steps, 3 * hidden), x.dtype)
    _core.gru_backward(dx, dh0, dweight_ih, dweight_hh, dbias_ih, dbias_hh, dgates_ih, dgates_hh,
                       dy, x, h0, y, gates, weight_ih, weight_hh, bool(accumulate))
    return dx


__all__ += ["gru_forward", "gru_backward"]
