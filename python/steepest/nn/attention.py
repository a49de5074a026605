"""Attention layers on sequences of shape (B, T, E): MultiheadAttention (self-attention),
TransformerEncoderLayer and PositionalEncoding. They follow the layer protocol of
``steepest.nn.Layer``; parameter names and layouts are torch.nn's (``in_proj_weight`` (3E, E),
``out_proj.weight``, ``self_attn.*``, ``linear1``, ``norm1``, ...), so state_dicts convert both
ways with torch modules built with ``batch_first=True``.
"""

import math
import numbers

import numpy as np

from . import functional as F
from . import init as initializers
from .checks import positive_int
from .layers import (GELU, Block, Dense, Dropout, Layer, LayerNorm, Parameter, _check_dtype,
                     _flat, _grads, _input_grad, _splitmix64)

__all__ = ["MultiheadAttention", "TransformerEncoderLayer", "PositionalEncoding"]


def _probability(p, name="dropout"):
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1 \
            or math.isnan(p):
        raise ValueError(f"{name} probability has to be between 0 and 1, but got {p!r}")
    return float(p)


def _check_sequence(layer, x, features, dtype):
    """x must be a (B, T, features) array of ``dtype``."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{type(layer).__name__}: x must be a numpy array, got "
                        f"{type(x).__name__}")
    if x.ndim != 3 or x.shape[2] != features:
        raise ValueError(f"{layer!r} takes sequences of shape (batch, time, {features}), got "
                         f"{x.shape}")
    if x.dtype != dtype:
        raise TypeError(f"{type(layer).__name__}: x must be {dtype}, got {x.dtype}")


def _sequence_shape(layer, input_shape, features):
    input_shape = tuple(input_shape)
    if len(input_shape) != 2 or input_shape[1] != features:
        raise ValueError(f"{layer!r} takes sequences of shape (batch, time, {features}), got "
                         f"(batch, {', '.join(map(str, input_shape))})")
    return input_shape


class MultiheadAttention(Block):
    """Multi-head scaled dot-product self-attention (Vaswani et al. 2017, "Attention Is All You
    Need"), torch.nn.MultiheadAttention(embed_dim, num_heads, batch_first=True)(x, x, x) on
    x (B, T, E), H = ``num_heads`` heads of d = E / H features:

        [Q | K | V] = x in_proj_weight^T + in_proj_bias                  (B, T, 3E)
        head h:  P_h = softmax(Q_h K_h^T / sqrt(d)),  O_h = dropout(P_h) V_h   (Q_h: columns h d)
        y = [O_1 | ... | O_H] out_proj.weight^T + out_proj.bias

    ``causal=True`` masks the future: position t attends to positions <= t (torch's
    ``is_causal`` / an attn_mask of -inf above the diagonal). ``dropout`` drops attention
    weights while training (the counter-based mask of ``Dropout``, a new one per forward,
    reproducible from ``seed``). Initialization as torch's: in_proj_weight xavier_uniform,
    in_proj_bias and out_proj.bias zeros, out_proj.weight U(-1/sqrt(E), 1/sqrt(E)).

    ``attention_weights()``: the last forward's (or infer's) attention weights averaged over
    the heads, (B, T, T) (after dropout, as torch's ``need_weights=True`` returns them).
    """

    def __init__(self, embed_dim, num_heads, bias=True, dropout=0.0, causal=False, seed=None,
                 dtype=np.float32):
        super().__init__()
        self.embed_dim = positive_int(embed_dim, "embed_dim")
        self.num_heads = positive_int(num_heads, "num_heads")
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim must be divisible by num_heads, got embed_dim "
                             f"{self.embed_dim} and num_heads {self.num_heads}")
        self.head_dim = self.embed_dim // self.num_heads
        self.dropout = _probability(dropout)
        self.causal = bool(causal)
        dtype = _check_dtype(dtype)
        rng = initializers.generator(seed)
        e = self.embed_dim
        self.in_proj_weight = Parameter(initializers.xavier_uniform((3 * e, e), seed=rng,
                                                                    dtype=dtype))
        self.in_proj_bias = Parameter(np.zeros(3 * e, dtype)) if bias else None
        self.out_proj = Dense(e, e, bias=bias, bias_init="zeros", seed=rng, dtype=dtype)
        self.in_features = e
        self._state = int(rng.integers(2**63))  # the dropout masks' counter
        self._seed = 0  # of the last training forward's mask
        self._x = None
        self._training_arrays = None  # (qkv, probs, dropped) of the last training forward
        self._weights = None  # the (dropped) probabilities of the last forward or infer

    def named_parameters(self):
        own = [("in_proj_weight", self.in_proj_weight)]
        if self.in_proj_bias is not None:
            own.append(("in_proj_bias", self.in_proj_bias))
        return own + super().named_parameters()

    def output_shape(self, input_shape):
        return _sequence_shape(self, input_shape, self.embed_dim)

    def forward(self, x, training=True):
        _check_sequence(self, x, self.embed_dim, self.dtype)
        p = self.dropout if training else 0.0
        if p > 0:
            self._state = (self._state + 1) & 0xFFFFFFFFFFFFFFFF
            self._seed = _splitmix64(self._state)
        qkv, probs, dropped, out = self._attend(x, p, "")
        self._x = x
        self._training_arrays = (qkv, probs, dropped)
        return self.out_proj.forward(out)

    def infer(self, x):
        _check_sequence(self, x, self.embed_dim, self.dtype)
        return self.out_proj.infer(self._attend(x, 0.0, "_infer")[3])

    def _attend(self, x, p, kind):
        """qkv, probs, dropped (None without dropout) and the heads' outputs (B, T, E), in the
        buffers named with suffix ``kind``."""
        b, t, e = x.shape
        buffers, h = self._buffers, self.num_heads
        qkv = buffers.get("qkv" + kind, (b, t, 3 * e), x.dtype)
        F.dense_forward(_flat(x), self.in_proj_weight.data,
                        None if self.in_proj_bias is None else self.in_proj_bias.data,
                        out=_flat(qkv))
        probs = buffers.get("probs" + kind, (b, h, t, t), x.dtype)
        dropped = buffers.get("dropped", (b, h, t, t), x.dtype) if p > 0 else None
        out = buffers.get("out" + kind, (b, t, e), x.dtype)
        F.attention_forward(qkv, h, self.causal, p, self._seed, out=out, probs=probs,
                            dropped=dropped)
        self._weights = probs if dropped is None else dropped
        return qkv, probs, dropped, out

    def attention_weights(self):
        """(B, T, T): the last forward's or infer's attention weights, mean over the heads."""
        if self._weights is None:
            raise RuntimeError("attention_weights called before forward")
        return self._weights.mean(axis=1)

    def backward(self, dy, *, input_grad=True, write=False, add_to=None):
        """``add_to`` (x's shape): dx is added into it, which is returned (the gradient that
        reaches x by another path, a residual connection's), fused into the dx product."""
        x = self._x
        if x is None:
            raise RuntimeError("MultiheadAttention.backward called before forward")
        dx = _input_grad(self, x, input_grad, add_to)
        qkv, probs, dropped = self._training_arrays
        dout = self.out_proj.backward(dy, input_grad=True, write=write)
        dqkv = F.attention_backward(dout, qkv, probs, dropped, self.num_heads, self.causal,
                                    dqkv=self._buffers.get("dqkv", qkv.shape, qkv.dtype))
        own = [self.in_proj_weight] + ([] if self.in_proj_bias is None else [self.in_proj_bias])
        _grads(own)
        F.dense_backward(_flat(dqkv), _flat(x), self.in_proj_weight.data,
                         self.in_proj_weight.grad,
                         None if self.in_proj_bias is None else self.in_proj_bias.grad,
                         dx=None if dx is None else _flat(dx), input_grad=input_grad,
                         accumulate=not write, accumulate_dx=add_to is not None)
        return dx

    def _extra_repr(self):
        return (f"{self.embed_dim}, {self.num_heads}"
                + ("" if self.in_proj_bias is not None else ", bias=False")
                + (f", dropout={self.dropout}" if self.dropout else "")
                + (", causal=True" if self.causal else "")
                + ("" if self.dtype == np.float32 else f", dtype={self.dtype}"))


class TransformerEncoderLayer(Block):
    """torch.nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, activation,
    layer_norm_eps, batch_first=True, norm_first) on x (B, T, d_model):

        sa(x) = dropout1(self_attn(x)),  ff(x) = dropout2(linear2(dropout(act(linear1(x)))))
        post-norm (default):   h = norm1(x + sa(x)),   y = norm2(h + ff(h))
        pre-norm (norm_first): h = x + sa(norm1(x)),   y = h + ff(norm2(h))

    ``activation`` "relu" (applied inside linear1's product, its backward inside linear2's) or
    "gelu"; ``causal=True`` masks the future in self_attn. Children and parameter names as
    torch's: self_attn (MultiheadAttention), linear1, linear2 (Dense), norm1, norm2 (LayerNorm);
    each initialized as torch's. ``seed`` draws every child's initialization and dropout seed.
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 norm_first=False, causal=False, layer_norm_eps=1e-5, seed=None,
                 dtype=np.float32):
        super().__init__()
        d_model = positive_int(d_model, "d_model")
        dim_feedforward = positive_int(dim_feedforward, "dim_feedforward")
        if activation not in ("relu", "gelu"):
            raise ValueError(f"activation must be 'relu' or 'gelu', got {activation!r}")
        p = _probability(dropout)
        rng = initializers.generator(seed)

        def dropout_layer():
            return Dropout(p, seed=int(rng.integers(2**63)))

        self.self_attn = MultiheadAttention(d_model, nhead, dropout=p, causal=causal, seed=rng,
                                            dtype=dtype)
        self.linear1 = Dense(d_model, dim_feedforward, seed=rng, dtype=dtype)
        self.dropout = dropout_layer()
        self.linear2 = Dense(dim_feedforward, d_model, seed=rng, dtype=dtype)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, dtype=dtype)
        self.dropout1 = dropout_layer()
        self.dropout2 = dropout_layer()
        self.gelu = GELU() if activation == "gelu" else None
        self.d_model, self.activation, self.norm_first = d_model, activation, bool(norm_first)
        self.in_features = d_model
        self._hidden = None  # linear1's relu output (the mask of its backward)

    def output_shape(self, input_shape):
        return _sequence_shape(self, input_shape, self.d_model)

    def _ff(self, x, training, infer):
        """dropout2(linear2(dropout(act(linear1(x))))), with the layers' infer at inference."""
        if infer:
            h = (self.linear1.infer(x, epilogue="relu") if self.gelu is None
                 else self.gelu.infer(self.linear1.infer(x)))
            return self.linear2.infer(h)
        if self.gelu is None:
            h = self._hidden = self.linear1.forward(x, training, epilogue="relu")
        else:
            h = self.gelu.forward(self.linear1.forward(x, training), training)
        h = self.linear2.forward(self.dropout.forward(h, training), training)
        return self.dropout2.forward(h, training)

    def _ff_backward(self, dy, write, add_to=None):
        d = self.dropout2.backward(dy)
        d = self.linear2.backward(d, write=write, input_mask=self._hidden)
        d = self.dropout.backward(d)
        if self.gelu is not None:
            d = self.gelu.backward(d)
        return self.linear1.backward(d, write=write, add_to=add_to)

    def _sum(self, a, b, name):
        return np.add(a, b, out=self._buffers.get(name, a.shape, a.dtype))

    def _run(self, x, training, infer):
        _check_sequence(self, x, self.d_model, self.dtype)
        kind = "_infer" if infer else ""
        if infer:
            attn, norm1, norm2 = self.self_attn.infer, self.norm1.infer, self.norm2.infer
        else:
            def attn(v):
                return self.dropout1.forward(self.self_attn.forward(v, training), training)

            def norm1(v):
                return self.norm1.forward(v, training)

            def norm2(v):
                return self.norm2.forward(v, training)
        if self.norm_first:
            h = self._sum(x, attn(norm1(x)), "h" + kind)
            return self._sum(h, self._ff(norm2(h), training, infer), "y" + kind)
        h = norm1(self._sum(x, attn(x), "s1" + kind))
        return norm2(self._sum(h, self._ff(h, training, infer), "s2" + kind))

    def forward(self, x, training=True):
        return self._run(x, training, infer=False)

    def infer(self, x):
        return self._run(x, False, infer=True)

    def backward(self, dy, *, input_grad=True, write=False):
        attn = self.self_attn
        if self.norm_first:
            # y = h + ff(norm2(h)),  h = x + sa(norm1(x))
            dh = self._sum(dy, self.norm2.backward(self._ff_backward(dy, write), write=write),
                           "dh")
            dn1 = attn.backward(self.dropout1.backward(dh), write=write)
            dx = self.norm1.backward(dn1, input_grad=input_grad, write=write)
            return self._sum(dh, dx, "dx") if input_grad else None
        # y = norm2(s2), s2 = h + ff(h);  h = norm1(s1), s1 = x + sa(x). The residuals'
        # gradients ds2 and ds1 take the sublayers' dx added into them (neither is read after).
        ds2 = self.norm2.backward(dy, write=write)
        dh = self._ff_backward(ds2, write, add_to=ds2)
        ds1 = self.norm1.backward(dh, write=write)
        return attn.backward(self.dropout1.backward(ds1), input_grad=input_grad, write=write,
                             add_to=ds1 if input_grad else None)

    def _extra_repr(self):
        return (f"d_model={self.d_model}, activation={self.activation!r}"
                + (", norm_first=True" if self.norm_first else "") + super()._extra_repr())


class PositionalEncoding(Layer):
    """y (B, T, d_model) = x + pe[:T] for x (B, T, d_model), T <= ``max_len``.

    ``kind="sinusoidal"``: the fixed table of Vaswani et al. 2017 as the PyTorch tutorial
    builds it, pe[t, 2i] = sin(t w_i), pe[t, 2i + 1] = cos(t w_i), w_i = 10000^(-2i / d_model)
    (computed in float64, then cast); no parameters. ``kind="learned"``: pe is the parameter
    ``weight`` (max_len, d_model), drawn from N(0, 1) like torch.nn.Embedding's weight.
    (The tutorial's module also applies dropout: add a ``Dropout`` layer after it.)
    """

    def __init__(self, d_model, max_len=5000, kind="sinusoidal", seed=None, dtype=np.float32):
        super().__init__()
        self.d_model = positive_int(d_model, "d_model")
        self.max_len = positive_int(max_len, "max_len")
        if kind not in ("sinusoidal", "learned"):
            raise ValueError(f"kind must be 'sinusoidal' or 'learned', got {kind!r}")
        self.kind = kind
        self._dtype = _check_dtype(dtype)
        self.in_features = self.d_model
        if kind == "learned":
            rng = initializers.generator(seed)
            self.weight = Parameter(rng.standard_normal((self.max_len, self.d_model))
                                    .astype(self._dtype))
            self._table = self.weight.data
        else:
            self.weight = None
            position = np.arange(self.max_len, dtype=np.float64)[:, None]
            rate = np.exp(np.arange(0, self.d_model, 2) * (-math.log(10000.0) / self.d_model))
            table = np.zeros((self.max_len, self.d_model))
            table[:, 0::2] = np.sin(position * rate)
            table[:, 1::2] = np.cos(position * rate[:self.d_model // 2])
            self._table = table.astype(self._dtype)
        self._steps = None  # T of the last forward

    @property
    def dtype(self):
        return self._dtype

    def named_parameters(self):
        return [] if self.weight is None else [("weight", self.weight)]

    def output_shape(self, input_shape):
        shape = _sequence_shape(self, input_shape, self.d_model)
        if shape[0] > self.max_len:
            raise ValueError(f"{self!r} takes at most max_len={self.max_len} time steps, got "
                             f"{shape[0]}")
        return shape

    def _add(self, x, name):
        _check_sequence(self, x, self.d_model, self._dtype)
        self.output_shape(x.shape[1:])
        return np.add(x, self._table[:x.shape[1]], out=self._buffers.get(name, x.shape, x.dtype))

    def forward(self, x, training=True):
        y = self._add(x, "y")
        self._steps = x.shape[1]
        return y

    def infer(self, x):
        return self._add(x, "y_infer")

    def backward(self, dy, *, input_grad=True, write=False):
        if self._steps is None:
            raise RuntimeError("PositionalEncoding.backward called before forward")
        if self.weight is not None:
            _grads([self.weight])
            grad = self.weight.grad
            if write:
                grad[self._steps:] = 0
                np.sum(dy, axis=0, out=grad[:self._steps])
            else:
                grad[:self._steps] += dy.sum(axis=0)
        return dy if input_grad else None

    def _extra_repr(self):
        return (f"{self.d_model}, max_len={self.max_len}"
                + ("" if self.kind == "sinusoidal" else ", kind='learned'")
                + ("" if self._dtype == np.float32 else f", dtype={self._dtype}"))
