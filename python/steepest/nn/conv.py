"""Convolutional layers on sequences of shape (B, T, C), channels last: Conv1d and the residual
block of a temporal convolutional network (TCNBlock). They follow the layer protocol of
``steepest.nn.Layer``; names and layouts of the parameters are torch.nn's (Conv1d's weight is
(out_channels, in_channels, kernel_size)), so state_dicts convert both ways, while the data is
channels last (torch's Conv1d takes (B, C, T): transpose the data, not the weights).
"""

import numpy as np

from . import functional as F
from . import init as initializers
from .checks import positive_int
from .layers import Block, Dropout, Layer, Parameter, _grads, _input_grad

__all__ = ["Conv1d", "TCNBlock"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class Conv1d(Layer):
    """y (B, T_out, out) = conv1d of x (B, T, in) with ``weight`` (out_channels, in_channels,
    kernel_size) and ``bias`` (out_channels,), like torch.nn.Conv1d on channels-last data:

        y[b, t, o] = bias[o] + sum_k sum_c x[b, t stride + k dilation - left, c] weight[o, c, k]

    with x = 0 outside [0, T) and T_out = (T + left + right - dilation (K - 1) - 1) // stride + 1.
    ``padding``: "causal" (the default) pads (K - 1) dilation steps on the left only, so output t
    sees inputs <= t and T_out = T at stride 1 (Bai, Kolter & Koltun 2018, "An Empirical
    Evaluation of Generic Convolutional and Recurrent Networks for Sequence Modeling");
    "same" as torch (stride 1 only); "valid" none; an int p on both sides.

    ``init`` and ``bias_init``: a name from ``steepest.nn.init`` or a callable
    ``init(shape, seed=..., dtype=...)``; the default, "linear_default", is torch.nn.Conv1d's
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_channels * kernel_size, for both.
    ``seed`` (int, Generator or None) draws the weight and then the bias from one generator.

    Fusions: ``epilogue="relu"`` applies a following ReLU inside the product;
    ``input_mask=m`` (x's shape) applies a preceding ReLU's backward inside the dx product.
    """

    epilogue_activations = ("relu",)
    takes_input_mask = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding="causal",
                 dilation=1, bias=True, init="linear_default", bias_init="linear_default",
                 seed=None, dtype=np.float32):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels")
        self.out_channels = positive_int(out_channels, "out_channels")
        self.kernel_size = positive_int(kernel_size, "kernel_size")
        self.stride = positive_int(stride, "stride")
        self.dilation = positive_int(dilation, "dilation")
        self.padding = padding
        self.pad = F.conv1d_padding(padding, self.kernel_size, self.dilation, self.stride)
        self.in_features = self.in_channels
        dtype = np.dtype(dtype)
        if dtype not in _FLOATS:
            raise TypeError(f"dtype must be float32 or float64, got {dtype}")
        rng = initializers.generator(seed)
        fan_in = self.in_channels * self.kernel_size
        shape = (self.out_channels, self.in_channels, self.kernel_size)
        self.weight = Parameter(_draw(init, shape, fan_in, rng, dtype, "init"))
        self.bias = None
        if bias:
            self.bias = Parameter(_draw(bias_init, (self.out_channels,), fan_in, rng, dtype,
                                        "bias_init"))
        self._x = None

    @property
    def dtype(self):
        return self.weight.data.dtype

    def steps_out(self, steps):
        """T_out for inputs of T = ``steps`` time steps (< 1: too short for the kernel)."""
        left, right = self.pad
        span = self.dilation * (self.kernel_size - 1) + 1
        return (steps + left + right - span) // self.stride + 1

    def output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 2 or input_shape[1] != self.in_channels \
                or self.steps_out(input_shape[0]) < 1:
            span = self.dilation * (self.kernel_size - 1) + 1
            raise ValueError(
                f"{self!r} takes inputs of shape (batch, steps, {self.in_channels}) with at "
                f"least {max(span - sum(self.pad), 1)} steps, got (batch, "
                f"{', '.join(map(str, input_shape))})")
        return (self.steps_out(input_shape[0]), self.out_channels)

    def named_parameters(self):
        if self.bias is None:
            return [("weight", self.weight)]
        return [("weight", self.weight), ("bias", self.bias)]

    def forward(self, x, training=True, epilogue=None):
        y = self._convolve(x, epilogue, "y")
        self._x = x
        return y

    def infer(self, x, epilogue=None):
        return self._convolve(x, epilogue, "y_infer")

    def _convolve(self, x, epilogue, buffer):
        if not isinstance(x, np.ndarray) or x.ndim != 3:
            raise ValueError(f"{self!r}: x must be a 3-d array (batch, steps, "
                             f"{self.in_channels}), got {getattr(x, 'shape', type(x).__name__)}")
        shape = (x.shape[0], max(self.steps_out(x.shape[1]), 0), self.out_channels)
        return F.conv1d_forward(x, self.weight.data,
                                None if self.bias is None else self.bias.data, self.stride,
                                self.dilation, self.pad, epilogue or "none",
                                out=self._buffers.get(buffer, shape, self.dtype))

    def backward(self, dy, *, input_grad=True, write=False, input_mask=None, add_to=None):
        """``input_mask`` (x's shape): dx = 0 where it is <= 0 (kept where it is NaN), the
        backward of a ReLU before this layer whose output it is, fused into the dx product.
        ``add_to`` (x's shape): dx is added into it, which is returned (the gradient that
        reaches x by another path, a residual connection's), fused into the dx product."""
        x = self._x
        if x is None:
            raise RuntimeError("Conv1d.backward called before forward")
        dx = _input_grad(self, x, input_grad, add_to)
        weight, bias = self.weight, self.bias
        _grads(self.parameters())
        return F.conv1d_backward(dy, x, weight.data, weight.grad,
                                 None if bias is None else bias.grad, self.stride,
                                 self.dilation, self.pad, dx=dx, input_grad=input_grad,
                                 accumulate=not write, relu_output=input_mask,
                                 accumulate_dx=add_to is not None)

    def _extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
                + ("" if self.stride == 1 else f", stride={self.stride}")
                + f", padding={self.padding!r}"
                + ("" if self.dilation == 1 else f", dilation={self.dilation}")
                + ("" if self.bias is not None else ", bias=False")
                + ("" if self.dtype == np.float32 else f", dtype={self.dtype}"))


def _draw(init, shape, fan_in, rng, dtype, name):
    fn = initializers.get(init)
    if fn is initializers.linear_default:
        data = fn(shape, fan_in=fan_in, seed=rng, dtype=dtype)
    else:
        data = fn(shape, seed=rng, dtype=dtype)
    if not isinstance(data, np.ndarray) or data.shape != shape:
        raise ValueError(f"{name} must return an array of shape {shape}, got "
                         f"{getattr(data, 'shape', type(data).__name__)}")
    return np.ascontiguousarray(data, dtype=dtype)


class TCNBlock(Block):
    """The residual block of a temporal convolutional network (Bai, Kolter & Koltun 2018), on
    x (B, T, in_channels) -> y (B, T, out_channels):

        h1 = dropout(relu(conv1(x)))      conv1: Conv1d(in, out, K, padding="causal", dilation)
        h2 = dropout(relu(conv2(h1)))     conv2: Conv1d(out, out, K, padding="causal", dilation)
        y  = relu(h2 + downsample(x))     downsample: Conv1d(in, out, 1) when in != out, else x

    Causal: y[:, t] depends on x[:, :t + 1] only. The convolutions' ReLUs run in their products'
    epilogues and, without dropout, the first ReLU's backward inside conv2's dx product. Parameter
    names are torch's for the same module: "conv1.weight", "conv1.bias", "conv2.weight",
    "conv2.bias", "downsample.weight", "downsample.bias" (the paper's weight normalization is
    not applied). ``seed`` draws conv1, conv2, downsample and the dropout seeds in that order.
    """

    epilogue_activations = ()

    def __init__(self, in_channels, out_channels, kernel_size=3, dilation=1, dropout=0.0,
                 seed=None, dtype=np.float32):
        super().__init__()
        rng = initializers.generator(seed)
        self.conv1 = Conv1d(in_channels, out_channels, kernel_size, padding="causal",
                            dilation=dilation, seed=rng, dtype=dtype)
        self.conv2 = Conv1d(out_channels, out_channels, kernel_size, padding="causal",
                            dilation=dilation, seed=rng, dtype=dtype)
        self.downsample = None
        if in_channels != out_channels:
            self.downsample = Conv1d(in_channels, out_channels, 1, padding="valid", seed=rng,
                                     dtype=dtype)
        seeds = rng.integers(0, 2**63, size=2)
        self.dropout1 = Dropout(dropout, seed=int(seeds[0]))
        self.dropout2 = Dropout(dropout, seed=int(seeds[1]))
        self.in_channels, self.out_channels = self.conv1.in_channels, self.conv1.out_channels
        self.in_features = self.in_channels
        self.kernel_size, self.dilation, self.p = kernel_size, dilation, self.dropout1.p
        self._y = self._r1 = self._r2 = None

    def children(self):
        """``[(name, Layer)]`` with parameters, in torch's order."""
        named = [("conv1", self.conv1), ("conv2", self.conv2)]
        return named + ([("downsample", self.downsample)] if self.downsample else [])

    def output_shape(self, input_shape):  # the residual runs beside conv1 and conv2, not after
        return self.conv2.output_shape(self.conv1.output_shape(input_shape))

    def forward(self, x, training=True):
        self._r1 = self.conv1.forward(x, training, epilogue="relu")  # relu(conv1 x), kept
        h1 = self.dropout1.forward(self._r1, training)
        self._r2 = self.conv2.forward(h1, training, epilogue="relu")
        h2 = self.dropout2.forward(self._r2, training)
        residual = x if self.downsample is None else self.downsample.forward(x, training)
        self._y = self._sum_relu(h2, residual, "y")
        return self._y

    def infer(self, x):
        h1 = self.conv1.infer(x, epilogue="relu")
        h2 = self.conv2.infer(h1, epilogue="relu")
        residual = x if self.downsample is None else self.downsample.infer(x)
        return self._sum_relu(h2, residual, "y_infer")

    def _sum_relu(self, h2, residual, buffer):
        return F.activation_forward("relu", h2, addend=residual,
                                    out=self._buffers.get(buffer, h2.shape, h2.dtype))

    def backward(self, dy, *, input_grad=True, write=False):
        if self._y is None:
            raise RuntimeError("TCNBlock.backward called before forward")
        # d(h2 + residual) = dy where y > 0 (relu's backward from its output)
        g = F.activation_backward("relu", dy, self._y,
                                  dx=self._buffers.get("g", dy.shape, dy.dtype))
        d2 = F.activation_backward("relu", self.dropout2.backward(g), self._r2,
                                   dx=self._buffers.get("d2", g.shape, g.dtype))
        if self.dropout1.p == 0:  # conv2's input is relu(conv1 x): its backward in conv2's dx
            d1 = self.conv2.backward(d2, write=write, input_mask=self._r1)
        else:
            d1 = self.dropout1.backward(self.conv2.backward(d2, write=write))
            d1 = F.activation_backward("relu", d1, self._r1,
                                       dx=self._buffers.get("d1", d1.shape, d1.dtype))
        dres = g  # the residual's gradient; conv1's dx is added into it (g is not needed after)
        if self.downsample is not None:
            dres = self.downsample.backward(g, input_grad=input_grad, write=write)
        return self.conv1.backward(d1, input_grad=input_grad, write=write,
                                   add_to=dres if input_grad else None)

    def _extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}" + (f", dropout={self.p}" if self.p else "")
                + ("" if self.dtype == np.float32 else f", dtype={self.dtype}"))
