"""Layers: Dense, the activations and Dropout, each a forward/backward pair over
``steepest.nn.functional`` (one call into C++ per layer per direction).

A layer's ``forward(x, training)`` returns an array the layer owns and reuses: it is overwritten
by the layer's next forward at the same batch size (the buffers are allocated once per batch
shape, so a training step makes no NumPy temporaries), and keeps what its backward needs.
``backward(dy, input_grad)`` returns dL/dx in another such buffer (None when ``input_grad`` is
False, for the first layer) and ACCUMULATES the parameters' gradients into their ``.grad``.
``infer(x)`` is the forward at inference into buffers of its own: it leaves what a pending
backward needs untouched (so predicting between a forward and its backward is harmless).
Shapes: x (B, in), y (B, out). ``Sequential`` (model.py) chains them; using a layer alone
follows the same rules.
"""

import math
import numbers

import numpy as np

from . import functional as F
from . import init as initializers
from .checks import positive_int

__all__ = ["Parameter", "Layer", "Dense", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "GELU",
           "Dropout"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class Parameter:
    """A trainable array ``data`` and its gradient ``grad`` (same shape and dtype), the objects
    ``steepest.optim`` optimizers take."""

    __slots__ = ("data", "grad")

    def __init__(self, data):
        self.data = data
        self.grad = np.zeros_like(data)

    def __repr__(self):
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class _Buffers:
    """Arrays reused from step to step, one per (name, shape, dtype). A handful of batch
    shapes (the training batch, a last partial batch, the evaluation batch) are kept."""

    __slots__ = ("_arrays",)
    _LIMIT = 24

    def __init__(self):
        self._arrays = {}

    def get(self, name, shape, dtype):
        key = (name, shape, dtype)
        array = self._arrays.get(key)
        if array is None:
            if len(self._arrays) >= self._LIMIT:
                self._arrays.clear()
            array = self._arrays[key] = np.empty(shape, dtype)
        return array


class Layer:
    """Base class: a layer without parameters that passes ``x`` through unchanged."""

    def __init__(self):
        self._buffers = _Buffers()

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def named_parameters(self):
        """``[(name, Parameter)]``: "weight", "bias" for Dense, nothing for the others."""
        return []

    def forward(self, x, training=True):
        return x

    def backward(self, dy, input_grad=True):
        return dy if input_grad else None

    def infer(self, x):
        return x

    def __repr__(self):
        return f"{type(self).__name__}({self._extra_repr()})"

    def _extra_repr(self):
        return ""


class Dense(Layer):
    """y (B, out) = x (B, in) @ weight.T + bias, like torch.nn.Linear: ``weight`` (out, in),
    ``bias`` (out,).

    ``init`` and ``bias_init``: a name from ``steepest.nn.init`` ("xavier_uniform",
    "he_normal", "zeros", ...) or a callable ``init(shape, seed=..., dtype=...)``. The default
    for both, "linear_default", is torch.nn.Linear's: U(-1/sqrt(in), 1/sqrt(in)). ``seed``
    (int, Generator or None) draws the weight and then the bias from one generator.
    """

    def __init__(self, in_features, out_features, bias=True, init="linear_default",
                 bias_init="linear_default", seed=None, dtype=np.float32):
        super().__init__()
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
        dtype = np.dtype(dtype)
        if dtype not in _FLOATS:
            raise TypeError(f"dtype must be float32 or float64, got {dtype}")
        rng = initializers.generator(seed)
        shape = (self.out_features, self.in_features)
        self.weight = Parameter(self._draw(init, shape, rng, dtype, "init"))
        self.bias = None
        if bias:
            self.bias = Parameter(self._draw(bias_init, (self.out_features,), rng, dtype,
                                             "bias_init"))
        self._x = None

    def _draw(self, init, shape, rng, dtype, name):
        fn = initializers.get(init)
        if fn is initializers.linear_default:
            data = fn(shape, fan_in=self.in_features, seed=rng, dtype=dtype)
        else:
            data = fn(shape, seed=rng, dtype=dtype)
        if not isinstance(data, np.ndarray) or data.shape != shape:
            raise ValueError(f"{name} must return an array of shape {shape}, got "
                             f"{getattr(data, 'shape', type(data).__name__)}")
        return np.ascontiguousarray(data, dtype=dtype)

    def named_parameters(self):
        if self.bias is None:
            return [("weight", self.weight)]
        return [("weight", self.weight), ("bias", self.bias)]

    def forward(self, x, training=True, relu=False):
        """``relu=True`` fuses a following ReLU into the product's epilogue."""
        self._x = x
        return self._product(x, relu, "y")

    def infer(self, x, relu=False):
        return self._product(x, relu, "y_infer")

    def _product(self, x, relu, buffer):
        y = self._buffers.get(buffer, (x.shape[0], self.out_features), self.weight.data.dtype)
        return F.dense_forward(x, self.weight.data,
                               None if self.bias is None else self.bias.data,
                               "relu" if relu else "none", out=y)

    def backward(self, dy, input_grad=True, accumulate=True, relu=None):
        """Accumulates into the parameters' ``.grad``, or with ``accumulate=False`` writes
        them (what zeroing them first gives, without the pass that zeroes). ``relu``: the ReLU
        layer before this one, whose backward is fused into dx (its own is then skipped)."""
        if self._x is None:
            raise RuntimeError("Dense.backward called before forward")
        relu_output = None
        if relu is not None:
            if relu._saved is None:
                raise RuntimeError("ReLU.backward called before forward")
            relu_output = relu._saved
        weight, bias = self.weight, self.bias
        if weight.grad is None:  # set to None by zero_grad(set_to_none=True)
            weight.grad = np.zeros_like(weight.data)
        if bias is not None and bias.grad is None:
            bias.grad = np.zeros_like(bias.data)
        dx = self._buffers.get("dx", self._x.shape, dy.dtype) if input_grad else None
        return F.dense_backward(dy, self._x, weight.data, weight.grad,
                                None if bias is None else bias.grad, dx=dx,
                                input_grad=input_grad, accumulate=accumulate,
                                relu_output=relu_output)

    def _extra_repr(self):
        return (f"{self.in_features}, {self.out_features}"
                + ("" if self.bias is not None else ", bias=False")
                + ("" if self.weight.data.dtype == np.float32 else
                   f", dtype={self.weight.data.dtype}"))


class _Activation(Layer):
    """An element-wise f(x); backward from what functional.SAVES says f' needs (x or y)."""

    kind = None  # the activation's name in functional
    _saved = None  # x or y of the last forward

    def _options(self):
        return {}

    def forward(self, x, training=True):
        y = self._apply(x, "y")
        self._saved = y if F.SAVES[self.kind] == "output" else x
        return y

    def infer(self, x):
        return self._apply(x, "y_infer")

    def _apply(self, x, buffer):
        return F.activation_forward(self.kind, x, out=self._buffers.get(buffer, x.shape, x.dtype),
                                    **self._options())

    def backward(self, dy, input_grad=True):
        if not input_grad:
            return None
        if self._saved is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        dx = self._buffers.get("dx", dy.shape, dy.dtype)
        return F.activation_backward(self.kind, dy, self._saved, dx=dx, **self._options())


class ReLU(_Activation):
    """max(x, 0), NaN kept (torch.relu). After a Dense, Sequential fuses it into the Dense's
    product."""

    kind = "relu"

    def follow_fused(self, y):
        """Adopt y = relu(x) computed by the Dense before: relu'(x) = 0 where y <= 0, else 1."""
        self._saved = y
        return y


class LeakyReLU(_Activation):
    """x if x >= 0 else negative_slope * x (torch's default slope 0.01)."""

    kind = "leaky_relu"

    def __init__(self, negative_slope=0.01):
        super().__init__()
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real):
            raise TypeError(f"negative_slope must be a number, got {negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def _options(self):
        return {"negative_slope": self.negative_slope}

    def _extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Tanh(_Activation):
    kind = "tanh"


class Sigmoid(_Activation):
    """1 / (1 + exp(-x))."""

    kind = "sigmoid"


class GELU(_Activation):
    """x * Phi(x) (``approximate="none"``, the erf form) or torch's tanh approximation
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (``approximate="tanh"``)."""

    kind = "gelu"

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def _options(self):
        return {"approximate": self.approximate}

    def _extra_repr(self):
        return "" if self.approximate == "none" else "approximate='tanh'"


def _splitmix64(z):
    """One step of SplitMix64 (Steele et al. 2014): a well-mixed 64-bit seed per call."""
    z = (z + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return z ^ (z >> 31)


class Dropout(Layer):
    """Zeroes each element with probability p while training and scales the others by
    1 / (1 - p) (inverted dropout); the identity at inference (``training=False``).

    Each training forward draws a new mask from a seed derived from ``seed`` and a call
    counter, so a run is reproducible for a given ``seed`` (None: drawn from fresh entropy),
    and the mask does not depend on the thread count or the SIMD target.
    """

    def __init__(self, p=0.5, seed=None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1 \
                or math.isnan(p):
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p!r}")
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0])
        elif isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
        self.p = float(p)
        self._state = int(seed) & 0xFFFFFFFFFFFFFFFF
        self._seed = None  # the mask of the last training forward; None: it was the identity

    def forward(self, x, training=True):
        if not training or self.p == 0:
            self._seed = None
            return x
        self._state = (self._state + 1) & 0xFFFFFFFFFFFFFFFF
        self._seed = _splitmix64(self._state)
        return F.dropout_forward(x, self.p, self._seed,
                                 out=self._buffers.get("y", x.shape, x.dtype))

    def backward(self, dy, input_grad=True):
        if not input_grad or self._seed is None:
            return dy if input_grad else None
        return F.dropout_backward(dy, self.p, self._seed,
                                  dx=self._buffers.get("dx", dy.shape, dy.dtype))

    def _extra_repr(self):
        return f"p={self.p}"
