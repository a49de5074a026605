"""Checks of user data, with errors naming the argument."""

import numbers

import numpy as np


def positive_int(value, name, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or value < (0 if allow_zero else 1):
        raise ValueError(f"{name} must be an int >= {0 if allow_zero else 1}, got {value!r}")
    return int(value)


def check_finite(a, name):
    bad = ~np.isfinite(a)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise ValueError(f"{name} contains NaN or infinity (first at row {row})")


def batch(x, dtype, name="x", in_features=None, finite=True):
    """``x`` as a C-contiguous (n, *features) array of ``dtype`` (converted when it is not one
    already: the input is only read), its last dimension ``in_features`` when that is not None,
    finite unless ``finite`` is False."""
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
    if x.ndim < 2:
        raise ValueError(f"{name} must be 2-d or more (samples, *features): (samples, features) "
                         f"or (samples, time, features), got shape {x.shape}")
    if in_features is not None and x.shape[-1] != in_features:
        raise ValueError(f"{name} has {x.shape[-1]} features, the model expects {in_features} "
                         "(in the last dimension)")
    x = np.ascontiguousarray(x, dtype=dtype)
    if finite:
        check_finite(x, name)
    return x
