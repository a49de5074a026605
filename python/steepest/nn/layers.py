"""Layers: Dense, the activations, Dropout and LayerNorm, each a forward/backward pair over
``steepest.nn.functional`` (one call into C++ per layer per direction), the reshaping layers
(LastStep, MeanOverTime, Flatten), and the protocol every layer follows (``Layer``).

A layer's ``forward(x, training)`` returns an array the layer owns and reuses: it is overwritten
by the layer's next forward (the buffers are allocated once per batch shape, so a training step
makes no NumPy temporaries), and keeps what its backward needs.
``backward(dy, *, input_grad=True, write=False)`` returns dL/dx in another such buffer (None
when ``input_grad`` is False, for the first layer) and ADDS the parameters' gradients to their
``.grad`` (``write=True``: writes them). ``infer(x)`` is the forward at inference into buffers
of its own: it leaves what a pending backward needs untouched (so predicting between a forward
and its backward is harmless). Shapes: x (B, *features), e.g. (B, T, F) windows of T time steps.
``Sequential`` (model.py) chains them; using a layer alone follows the same rules.
"""

import math
import numbers

import numpy as np

from . import config
from . import functional as F
from . import init as initializers
from .checks import positive_int
from ..optim.optimizer import loadable

__all__ = ["Parameter", "Layer", "Block", "Dense", "ReLU", "LeakyReLU", "Tanh", "Sigmoid",
           "GELU", "Dropout", "LastStep", "MeanOverTime", "Flatten", "LayerNorm"]

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
    """The arrays a layer reuses from step to step, one per name: "y", "dx", ... for the
    training batch and "y_infer", ... for the inference batch. A new shape or dtype under a name
    replaces its array, so a layer keeps what one training and one inference batch shape need,
    however many arrays each uses."""

    __slots__ = ("_arrays",)

    def __init__(self):
        self._arrays = {}

    def get(self, name, shape, dtype):
        array = self._arrays.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = self._arrays[name] = F.empty(shape, dtype)
        return array


def _check_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype not in _FLOATS:
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def _grads(params):
    """Allocate (zeros) the ``.grad`` that zero_grad(set_to_none=True) left None."""
    for p in params:
        if p.grad is None:
            p.grad = np.zeros_like(p.data)


class Layer:
    """The layer protocol (data of shape (B, *features); every shape below excludes B).

    - ``output_shape(input_shape)``: the feature shape of the output for inputs of feature shape
      ``input_shape``; ValueError naming the layer and what it expects when they do not fit.
    - ``dtype``: the parameters' numpy dtype, or None without parameters (follows the input).
    - ``named_parameters()``: ``[(name, Parameter)]``, names as torch.nn's.
    - ``forward(x, training=True)``: y in a buffer the layer owns (overwritten by its next
      forward); keeps what backward needs.
    - ``backward(dy, *, input_grad=True, write=False)``: dL/dx in a buffer the layer owns (None
      when ``input_grad`` is False); parameter gradients ADDED to ``p.grad``, or with
      ``write=True`` written (what zeroing first gives, bitwise, without the zeroing pass).
    - ``infer(x)``: the forward at inference into buffers of its own (what a pending backward
      needs is left untouched).

    Fusion capabilities, offered by a layer and asked for by Sequential (defaults: none):

    - ``epilogue_activations``: the activations this layer's forward can apply to its output in
      the same pass: ``forward(x, training, epilogue=name)``, ``infer(x, epilogue=name)``
      (Dense: ("relu",), in its product's epilogue).
    - ``as_epilogue``: the name of the element-wise activation this layer is, which the layer
      before it may apply in its epilogue (ReLU: "relu"); the model then hands it the fused
      output with ``adopt_output(y)`` in place of its own forward.
    - ``input_mask()``, offered when ``as_input_mask`` is True: m (the layer's output) such that
      the layer's backward is dx = 0 where m <= 0, else dy (ReLU; a NaN in m keeps dy).
    - ``takes_input_mask``: the layer's backward can apply such a mask to its own dx in the
      same pass: ``backward(dy, input_grad=True, write=..., input_mask=m)`` (Dense, inside the
      dx product); the masking layer's backward is then skipped.

    This base is a layer without parameters that passes x through unchanged.
    """

    dtype = None
    input_shape = None  # the inputs' feature shape, when the layer fixes all of it
    in_features = None  # their last dimension, when the layer fixes that
    epilogue_activations = ()
    as_epilogue = None
    as_input_mask = False
    takes_input_mask = False

    def __init__(self):
        self._buffers = _Buffers()

    def __init_subclass__(cls, **kwargs):
        # registered by name, its __init__ recording its arguments, for get_config (config.py)
        super().__init_subclass__(**kwargs)
        config.register(cls)

    def get_config(self):
        """What rebuilds this layer (its class and constructor arguments) as a JSON-ready dict;
        ``steepest.nn.layer_from_config`` builds it again (config.py)."""
        return config.get_config(self)

    def output_shape(self, input_shape):
        return tuple(input_shape)

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def named_parameters(self):
        """``[(name, Parameter)]``: "weight", "bias" for Dense, nothing for the others."""
        return []

    def zero_grad(self):
        """Zero every parameter's gradient (backward accumulates into it)."""
        for p in self.parameters():
            if p.grad is None:
                p.grad = np.zeros_like(p.data)
            else:
                p.grad.fill(0)

    def state_dict(self):
        """``{name: copy of the parameter's array}``."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state_dict):
        """Copy the arrays of ``state_dict`` into the parameters, in place (cast to their
        dtype from another floating-point dtype; an integer, bool or complex array is refused).
        The names and shapes must match exactly; nothing changes otherwise."""
        named = dict(self.named_parameters())
        missing = sorted(set(named) - set(state_dict))
        unexpected = sorted(set(state_dict) - set(named))
        if missing or unexpected:
            raise ValueError(f"load_state_dict: missing {missing}, unexpected {unexpected}")
        arrays = {}
        for name, p in named.items():
            arrays[name] = loadable(state_dict[name], p.data, f"load_state_dict: {name!r}")
        for name, p in named.items():
            np.copyto(p.data, arrays[name], casting="same_kind")

    def forward(self, x, training=True):
        return x

    def backward(self, dy, *, input_grad=True, write=False):
        return dy if input_grad else None

    def infer(self, x):
        return x

    def __repr__(self):
        return f"{type(self).__name__}({self._extra_repr()})"

    def _extra_repr(self):
        return ""


config.register(Layer)  # its subclasses register themselves (__init_subclass__)


class Block(Layer):
    """A layer made of layers (a residual block, an encoder layer), with the same protocol.

    Its children are the Layer attributes in the order they were first assigned
    (``children()``); ``named_parameters`` prefixes theirs with the attribute name as torch
    does ("conv1.weight", "downsample.weight"), so a state_dict converts to the same torch.nn
    module both ways. A subclass writes ``forward``, ``backward`` and ``infer`` from its
    children's; ``output_shape`` chains the children in order unless overridden; ``dtype`` is
    the children's (None when no child has parameters). Sequential is a Block whose children
    are named by their index.
    """

    def children(self):
        """``[(name, Layer)]``."""
        return [(name, v) for name, v in vars(self).items() if isinstance(v, Layer)]

    def named_parameters(self):
        return [(f"{name}.{pname}", p) for name, layer in self.children()
                for pname, p in layer.named_parameters()]

    @property
    def dtype(self):
        dtypes = {np.dtype(layer.dtype) for _, layer in self.children()
                  if layer.dtype is not None}
        if len(dtypes) > 1:
            raise TypeError(f"the layers of {type(self).__name__} mix dtypes "
                            f"{sorted(map(str, dtypes))}")
        return dtypes.pop() if dtypes else None

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        for _, layer in self.children():
            shape = tuple(layer.output_shape(shape))
        return shape

    def _extra_repr(self):
        return "".join(f"\n  ({name}): " + repr(layer).replace("\n", "\n  ")
                       for name, layer in self.children()) + "\n"


def _input_grad(layer, x, input_grad, add_to):
    """The array a layer's backward writes dx into: its own buffer, or ``add_to`` (x's shape,
    C-contiguous: reshaped, never copied) to add dx into; None without input_grad."""
    if add_to is not None and not (isinstance(add_to, np.ndarray) and add_to.shape == x.shape
                                   and add_to.flags.c_contiguous):
        raise ValueError(f"{layer!r}: add_to must be a C-contiguous array of x's shape "
                         f"{x.shape}")
    if not input_grad:
        return None
    return layer._buffers.get("dx", x.shape, x.dtype) if add_to is None else add_to


def _flat(a):
    """a (B, ..., F) as (B*..., F): a view of a contiguous array."""
    return a if a.ndim == 2 else a.reshape(-1, a.shape[-1])


class Dense(Layer):
    """y (B, ..., out) = x (B, ..., in) @ weight.T + bias, like torch.nn.Linear: ``weight``
    (out, in), ``bias`` (out,); over the last dimension of an input of any rank (the product
    sees (B*..., in) rows, a view of the contiguous input).

    ``init`` and ``bias_init``: a name from ``steepest.nn.init`` ("xavier_uniform",
    "he_normal", "zeros", ...) or a callable ``init(shape, seed=..., dtype=...)``. The default
    for both, "linear_default", is torch.nn.Linear's: U(-1/sqrt(in), 1/sqrt(in)). ``seed``
    (int, Generator or None) draws the weight and then the bias from one generator.

    Fusions: ``epilogue="relu"`` applies a following ReLU in the product's epilogue;
    ``input_mask=m`` applies a preceding ReLU's backward inside the dx product.
    """

    epilogue_activations = ("relu",)
    takes_input_mask = True

    def __init__(self, in_features, out_features, bias=True, init="linear_default",
                 bias_init="linear_default", seed=None, dtype=np.float32):
        super().__init__()
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
        dtype = _check_dtype(dtype)
        rng = initializers.generator(seed)
        shape = (self.out_features, self.in_features)
        self.weight = Parameter(self._draw(init, shape, rng, dtype, "init"))
        self.bias = None
        if bias:
            self.bias = Parameter(self._draw(bias_init, (self.out_features,), rng, dtype,
                                             "bias_init"))
        self._x = None

    @property
    def dtype(self):
        return self.weight.data.dtype

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

    def output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if not input_shape or input_shape[-1] != self.in_features:
            raise ValueError(f"{self!r} takes {self.in_features} features (inputs of shape "
                             f"(batch, ..., {self.in_features})), got (batch, "
                             f"{', '.join(map(str, input_shape))})")
        return input_shape[:-1] + (self.out_features,)

    def named_parameters(self):
        if self.bias is None:
            return [("weight", self.weight)]
        return [("weight", self.weight), ("bias", self.bias)]

    def forward(self, x, training=True, epilogue=None):
        self._x = x
        return self._product(x, epilogue, "y")

    def infer(self, x, epilogue=None):
        return self._product(x, epilogue, "y_infer")

    def _product(self, x, epilogue, buffer):
        weight, bias = self.weight.data, None if self.bias is None else self.bias.data
        if x.ndim == 2:
            y = self._buffers.get(buffer, (x.shape[0], self.out_features), weight.dtype)
            return F.dense_forward(x, weight, bias, epilogue or "none", out=y)
        y = self._buffers.get(buffer, x.shape[:-1] + (self.out_features,), weight.dtype)
        F.dense_forward(_flat(x), weight, bias, epilogue or "none", out=_flat(y))
        return y

    def backward(self, dy, *, input_grad=True, write=False, input_mask=None, add_to=None):
        """``input_mask`` (x's shape): dx = 0 where it is <= 0 (kept where it is NaN), the
        backward of a ReLU before this layer whose output it is, fused into the dx product.
        ``add_to`` (x's shape): dx is added into it, which is returned (the gradient that
        reaches x by another path, a residual connection's), fused into the dx product."""
        x = self._x
        if x is None:
            raise RuntimeError("Dense.backward called before forward")
        dx = _input_grad(self, x, input_grad, add_to)
        weight, bias = self.weight, self.bias
        _grads(self.parameters())
        # (B, ..., F): the products see (B*..., F) rows, views of the same arrays
        F.dense_backward(_flat(dy), _flat(x), weight.data, weight.grad,
                         None if bias is None else bias.grad,
                         dx=None if dx is None else _flat(dx), input_grad=input_grad,
                         accumulate=not write,
                         relu_output=None if input_mask is None else _flat(input_mask),
                         accumulate_dx=add_to is not None)
        return dx

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

    def backward(self, dy, *, input_grad=True, write=False):
        if not input_grad:
            return None
        if self._saved is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        dx = self._buffers.get("dx", dy.shape, dy.dtype)
        return F.activation_backward(self.kind, dy, self._saved, dx=dx, **self._options())


class ReLU(_Activation):
    """max(x, 0), NaN kept (torch.relu). It offers itself as a product's epilogue
    (``as_epilogue``) and its backward as the next layer's input-gradient mask
    (``input_mask``): after and before a Dense, Sequential runs it inside the Dense's products."""

    kind = "relu"
    as_epilogue = "relu"
    as_input_mask = True

    def adopt_output(self, y):
        """Adopt y = relu(x) computed by the layer before: relu'(x) = 0 where y <= 0, else 1."""
        self._saved = y
        return y

    def input_mask(self):
        """The saved x or y of the last forward (their signs agree): dx = 0 where <= 0."""
        if self._saved is None:
            raise RuntimeError("ReLU.backward called before forward")
        return self._saved


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

    def backward(self, dy, *, input_grad=True, write=False):
        if not input_grad or self._seed is None:
            return dy if input_grad else None
        return F.dropout_backward(dy, self.p, self._seed,
                                  dx=self._buffers.get("dx", dy.shape, dy.dtype))

    def _extra_repr(self):
        return f"p={self.p}"


def _check_dy(layer, dy, shape):
    if not isinstance(dy, np.ndarray) or dy.shape != shape:
        raise ValueError(f"{type(layer).__name__}.backward: dy must have the last output's shape "
                         f"{shape}, got {getattr(dy, 'shape', type(dy).__name__)}")


def _sequence_shape(layer, input_shape):
    input_shape = tuple(input_shape)
    if len(input_shape) != 2 or input_shape[0] < 1:
        raise ValueError(f"{layer!r} takes sequences of shape (batch, time, features), got "
                         f"(batch, {', '.join(map(str, input_shape))})")
    return input_shape


class LastStep(Layer):
    """y (B, F) = x[:, -1] of x (B, T, F): the last time step (a sequence model's summary
    before a head). Backward: dx = 0 except dx[:, -1] = dy."""

    def __init__(self):
        super().__init__()
        self._shape = None  # x's shape at the last forward

    def output_shape(self, input_shape):
        return _sequence_shape(self, input_shape)[1:]

    def forward(self, x, training=True):
        self._shape = x.shape
        return self._take(x, "y")

    def infer(self, x):
        return self._take(x, "y_infer")

    def _take(self, x, buffer):
        y = self._buffers.get(buffer, (x.shape[0], x.shape[2]), x.dtype)
        np.copyto(y, x[:, -1])
        return y

    def backward(self, dy, *, input_grad=True, write=False):
        if not input_grad:
            return None
        if self._shape is None:
            raise RuntimeError("LastStep.backward called before forward")
        _check_dy(self, dy, (self._shape[0], self._shape[2]))
        dx = self._buffers.get("dx", self._shape, dy.dtype)
        dx[:, :-1] = 0
        dx[:, -1] = dy
        return dx


class MeanOverTime(Layer):
    """y (B, F) = the mean of x (B, T, F) over its T time steps. Backward: dx[:, t] = dy / T."""

    def __init__(self):
        super().__init__()
        self._shape = None

    def output_shape(self, input_shape):
        return _sequence_shape(self, input_shape)[1:]

    def forward(self, x, training=True):
        self._shape = x.shape
        return self._mean(x, "y")

    def infer(self, x):
        return self._mean(x, "y_infer")

    def _mean(self, x, buffer):
        y = self._buffers.get(buffer, (x.shape[0], x.shape[2]), x.dtype)
        return np.mean(x, axis=1, out=y)

    def backward(self, dy, *, input_grad=True, write=False):
        if not input_grad:
            return None
        if self._shape is None:
            raise RuntimeError("MeanOverTime.backward called before forward")
        _check_dy(self, dy, (self._shape[0], self._shape[2]))
        dx = self._buffers.get("dx", self._shape, dy.dtype)
        np.divide(dy[:, None, :], dy.dtype.type(self._shape[1]), out=dx)
        return dx


class Flatten(Layer):
    """y (B, prod(features)) = x (B, *features) reshaped (torch.nn.Flatten(): a view of a
    contiguous x). Backward: dy reshaped back to x's shape."""

    def __init__(self):
        super().__init__()
        self._shape = None

    def output_shape(self, input_shape):
        return (math.prod(input_shape),)

    def forward(self, x, training=True):
        self._shape = x.shape
        return self.infer(x)

    def infer(self, x):
        return np.ascontiguousarray(x).reshape(x.shape[0], -1)

    def backward(self, dy, *, input_grad=True, write=False):
        if not input_grad:
            return None
        if self._shape is None:
            raise RuntimeError("Flatten.backward called before forward")
        _check_dy(self, dy, (self._shape[0], math.prod(self._shape[1:])))
        return dy.reshape(self._shape)


class LayerNorm(Layer):
    """Layer normalization over the last dimension (Ba, Kiros & Hinton 2016; torch.nn.LayerNorm
    with a 1-d ``normalized_shape``): for each row x (C) of x (B, ..., C),

        mean = sum(x) / C,  var = sum((x - mean)^2) / C,  rstd = 1 / sqrt(var + eps)
        y = (x - mean) * rstd * weight + bias

    ``weight`` (C,) ones and ``bias`` (C,) zeros at first (torch's), without them when
    ``elementwise_affine`` is False (``bias=False``: weight only). The forward saves mean and
    rstd per row; backward:

        xhat = (x - mean) * rstd,  g = dy * weight
        dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
        dweight = sum over rows of dy * xhat,  dbias = sum over rows of dy
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 dtype=np.float32):
        super().__init__()
        shape = normalized_shape
        if isinstance(shape, (tuple, list)):
            if len(shape) != 1:
                raise ValueError(f"LayerNorm normalizes over the last dimension: "
                                 f"normalized_shape must be an int or a 1-tuple, got {shape!r}")
            shape = shape[0]
        self.normalized_shape = (positive_int(shape, "normalized_shape"),)
        if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not eps > 0:
            raise ValueError(f"eps must be a number > 0, got {eps!r}")
        self.eps = float(eps)
        self._dtype = _check_dtype(dtype)
        c = self.normalized_shape[0]
        self.weight = Parameter(np.ones(c, self._dtype)) if elementwise_affine else None
        self.bias = (Parameter(np.zeros(c, self._dtype)) if elementwise_affine and bias
                     else None)
        self._x = None

    @property
    def dtype(self):
        return self._dtype

    @property
    def in_features(self):
        return self.normalized_shape[0]

    def output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if not input_shape or input_shape[-1] != self.normalized_shape[0]:
            raise ValueError(f"{self!r} takes inputs of shape (batch, ..., "
                             f"{self.normalized_shape[0]}), got "
                             f"(batch, {', '.join(map(str, input_shape))})")
        return input_shape

    def named_parameters(self):
        return [(name, p) for name, p in (("weight", self.weight), ("bias", self.bias))
                if p is not None]

    def forward(self, x, training=True):
        self._x = x
        rows = x.size // x.shape[-1]
        mean = self._buffers.get("mean", (rows,), x.dtype)
        rstd = self._buffers.get("rstd", (rows,), x.dtype)
        return self._normalize(x, "y", mean, rstd)

    def infer(self, x):
        return self._normalize(x, "y_infer", None, None)

    def _normalize(self, x, buffer, mean, rstd):
        y = self._buffers.get(buffer, x.shape, x.dtype)
        F.layernorm_forward(_flat(x), None if self.weight is None else self.weight.data,
                            None if self.bias is None else self.bias.data, self.eps,
                            out=_flat(y), mean=mean, rstd=rstd)
        return y

    def backward(self, dy, *, input_grad=True, write=False):
        x = self._x
        if x is None:
            raise RuntimeError("LayerNorm.backward called before forward")
        _grads(self.parameters())
        dx = self._buffers.get("dx", x.shape, dy.dtype) if input_grad else None
        rows = x.size // x.shape[-1]
        F.layernorm_backward(
            _flat(dy), _flat(x), self._buffers.get("mean", (rows,), x.dtype),
            self._buffers.get("rstd", (rows,), x.dtype),
            None if self.weight is None else self.weight.data,
            None if self.weight is None else self.weight.grad,
            None if self.bias is None else self.bias.grad,
            dx=None if dx is None else _flat(dx), input_grad=input_grad, accumulate=not write)
        return dx

    def _extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}"
                + ("" if self.weight is not None else ", elementwise_affine=False")
                + ("" if self.weight is None or self.bias is not None else ", bias=False")
                + ("" if self._dtype == np.float32 else f", dtype={self._dtype}"))
