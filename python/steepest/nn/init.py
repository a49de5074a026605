"""Weight initializers, with torch.nn.init's formulas, names and defaults.

Each takes the shape (for a dense weight: (out, in), like torch.nn.Linear), a ``seed`` (an int,
a ``numpy.random.Generator``, or None for fresh entropy) and a ``dtype``, and returns a new array.
Fans are torch's: fan_in = shape[1] * receptive field, fan_out = shape[0] * receptive field
(the receptive field is the product of shape[2:], 1 for a dense weight).

    xavier_uniform  (Glorot & Bengio 2010)  U(-a, a),  a = gain * sqrt(6 / (fan_in + fan_out))
    xavier_normal                           N(0, s^2), s = gain * sqrt(2 / (fan_in + fan_out))
    kaiming_uniform (He et al. 2015)        U(-a, a),  a = gain * sqrt(3 / fan)
    kaiming_normal                          N(0, s^2), s = gain / sqrt(fan)
    orthogonal      (Saxe et al. 2013)      gain * Q, Q orthonormal rows or columns (the shape
                                            flattened to (shape[0], rest)), from the QR of a
                                            normal matrix with the signs of R's diagonal
    zeros

with ``gain = calculate_gain(nonlinearity, a)`` and ``fan`` the fan_in or fan_out (``mode``).
Glorot/He are also reachable by those names (``glorot_uniform``, ``he_normal``, ...).
``linear_default`` is torch.nn.Linear's own initialization: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
(kaiming_uniform with a = sqrt(5)), for the weight and for the bias alike.
The random numbers are NumPy's, so the same formula does not give torch's same values.
"""

import math
import numbers

import numpy as np

__all__ = ["calculate_gain", "xavier_uniform", "xavier_normal", "kaiming_uniform",
           "kaiming_normal", "orthogonal", "zeros", "linear_default", "get", "generator"]


def calculate_gain(nonlinearity, param=None):
    """torch.nn.init.calculate_gain: the recommended gain for a nonlinearity."""
    if nonlinearity in ("linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, numbers.Real):
            raise ValueError(f"negative_slope {slope!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity!r}")


def _fans(shape):
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for a shape with fewer than "
                         f"2 dimensions, got {tuple(shape)}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def generator(seed):
    """A numpy Generator from ``seed`` (an int, a Generator, returned as is, or None)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"seed must be an int, a numpy.random.Generator or None, got "
                        f"{type(seed).__name__}")
    return np.random.default_rng(seed)


def _uniform(shape, bound, seed, dtype):
    return generator(seed).uniform(-bound, bound, size=tuple(shape)).astype(dtype)


def _normal(shape, std, seed, dtype):
    return generator(seed).normal(0.0, std, size=tuple(shape)).astype(dtype)


def xavier_uniform(shape, gain=1.0, seed=None, dtype=np.float32):
    fan_in, fan_out = _fans(shape)
    return _uniform(shape, gain * math.sqrt(6.0 / (fan_in + fan_out)), seed, dtype)


def xavier_normal(shape, gain=1.0, seed=None, dtype=np.float32):
    fan_in, fan_out = _fans(shape)
    return _normal(shape, gain * math.sqrt(2.0 / (fan_in + fan_out)), seed, dtype)


def _kaiming_std(shape, a, mode, nonlinearity):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode!r} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _fans(shape)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)


def kaiming_uniform(shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", seed=None,
                    dtype=np.float32):
    std = _kaiming_std(shape, a, mode, nonlinearity)
    return _uniform(shape, math.sqrt(3.0) * std, seed, dtype)


def kaiming_normal(shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", seed=None,
                   dtype=np.float32):
    return _normal(shape, _kaiming_std(shape, a, mode, nonlinearity), seed, dtype)


def orthogonal(shape, gain=1.0, seed=None, dtype=np.float32):
    """torch.nn.init.orthogonal_: a (rows, cols) = (shape[0], prod(shape[1:])) matrix with
    orthonormal rows (rows <= cols) or columns, times ``gain``, reshaped to ``shape``."""
    if len(shape) < 2:
        raise ValueError(f"Only tensors with 2 or more dimensions are supported, got shape "
                         f"{tuple(shape)}")
    rows, cols = shape[0], math.prod(shape[1:])
    a = generator(seed).normal(0.0, 1.0, size=(rows, cols))
    if rows < cols:
        a = a.T
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))  # unique: R's diagonal made positive (torch's convention)
    if rows < cols:
        q = q.T
    return (gain * q).reshape(tuple(shape)).astype(dtype)


def zeros(shape, seed=None, dtype=np.float32):
    """All zeros (``seed`` is accepted for a uniform signature and unused)."""
    return np.zeros(tuple(shape), dtype)


def linear_default(shape, fan_in=None, seed=None, dtype=np.float32):
    """torch.nn.Linear's reset_parameters: U(-1/sqrt(fan_in), 1/sqrt(fan_in)); ``fan_in``
    defaults to shape[1] (give it for a bias, whose shape is (out,))."""
    if fan_in is None:
        fan_in = _fans(shape)[0]
    return _uniform(shape, 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0, seed, dtype)


_BY_NAME = {
    "xavier_uniform": xavier_uniform, "glorot_uniform": xavier_uniform,
    "xavier_normal": xavier_normal, "glorot_normal": xavier_normal,
    "kaiming_uniform": kaiming_uniform, "he_uniform": kaiming_uniform,
    "kaiming_normal": kaiming_normal, "he_normal": kaiming_normal,
    "orthogonal": orthogonal, "zeros": zeros, "linear_default": linear_default,
}


def get(init):
    """An initializer from its name (see the module docstring) or a callable
    ``init(shape, seed=..., dtype=...) -> array``, returned as is."""
    if callable(init):
        return init
    if init not in _BY_NAME:
        raise ValueError(f"unknown initializer {init!r}; choose one of {sorted(_BY_NAME)} "
                         "or pass a callable init(shape, seed=..., dtype=...)")
    return _BY_NAME[init]
