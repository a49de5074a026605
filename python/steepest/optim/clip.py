"""Gradient clipping with torch.nn.utils' names and semantics: ``clip_grad_norm_`` and
``clip_grad_value_``, in place, in one call into C++ over every gradient.

``grads_or_params`` is a list of gradient arrays (clipped themselves), of parameters with a
``.grad`` (their ``.grad`` is clipped; a None grad is skipped, as in torch), or one of either.
An element with a ``.grad`` attribute is a parameter: that includes torch tensors, whose
``.grad`` must be a contiguous float32/float64 CPU tensor (it is clipped in its own memory).
Gradients may have different dtypes; each is scaled in its own.
"""

import numbers
import sys

import numpy as np

from .. import _core

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _gradient(x, k, torch):
    """The array to clip for element ``k``: an ndarray itself, a torch tensor's memory, or
    None (a parameter without a gradient)."""
    if torch is not None and isinstance(x, torch.Tensor):
        if x.device.type != "cpu" or x.layout != torch.strided or not x.is_contiguous():
            raise ValueError(f"grads[{k}]: expected a contiguous CPU tensor; the gradient is "
                             "clipped in place, never on a copy")
        return x.detach().numpy()
    return x


def _gradients(grads_or_params, caller):
    if isinstance(grads_or_params, np.ndarray) or hasattr(grads_or_params, "grad"):
        items = [grads_or_params]
    else:
        try:
            items = list(grads_or_params)
        except TypeError:
            raise TypeError(f"{caller}: expected an array, a parameter with .grad, or a list of "
                            f"them, got {type(grads_or_params).__name__}") from None
    torch = sys.modules.get("torch")  # a torch tensor exists only if torch was imported
    grads = []
    for k, x in enumerate(items):
        if not isinstance(x, np.ndarray):
            if hasattr(x, "grad"):
                x = x.grad
            if x is not None:
                x = _gradient(x, k, torch)
        grads.append(x)
    return grads


def _number(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    try:
        return float(value)
    except OverflowError:  # an int beyond float64's range
        raise ValueError(f"{name}: expected a finite number, got an int too large for a "
                         "float") from None


def _check_foreach(foreach):
    if foreach is not None and not isinstance(foreach, bool):
        raise TypeError(f"foreach: expected None or a bool, got {type(foreach).__name__}")


def clip_grad_norm_(grads_or_params, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    r"""Scale the gradients in place so that their total ``norm_type``-norm is at most
    ``max_norm``, as torch.nn.utils.clip_grad_norm_ does::

        total = || (||g_1||_p, ..., ||g_n||_p) ||_p    (= max |g| for p = inf)
        coef  = min(max_norm / (total + 1e-6), 1)
        g_i   = coef * g_i                             (every gradient, in place)

    Returns ``total`` (a NumPy float64; torch returns a tensor of the gradients' dtype). The
    norms are summed in double, over fixed chunks in a fixed order, so ``total`` and the clipped
    gradients are bitwise the same for any thread count; ``coef`` is computed in double and
    rounded once to each gradient's dtype. In double the 2-norm of float32 gradients is always
    finite (torch sums float32 squares in float32: its total is inf once their sum passes
    3.4e38, e.g. for a single element of 1.9e19, and it then scales every gradient to 0); with
    float64 gradients it overflows, as torch's, for elements above ~1e154 (p = 2).
    ``norm_type`` is a number > 0 or inf (torch also takes p <= 0 and -inf; here they raise
    ValueError), ``max_norm`` a number >= 0.

    A non-finite total with ``error_if_nonfinite`` raises RuntimeError (torch's message) and
    changes nothing; without it the gradients are scaled anyway: by NaN (a NaN gradient) or by
    0 (an infinite one), as in torch. ``foreach`` is accepted for torch's signature and
    ignored: the pass is always one fused, threaded call. No gradients: returns 0.0.
    """
    _check_foreach(foreach)
    grads = _gradients(grads_or_params, "clip_grad_norm_")
    total = _core.clip_grad_norm(grads, _number(max_norm, "max_norm"),
                                 _number(norm_type, "norm_type"), bool(error_if_nonfinite))
    return np.float64(total)


def clip_grad_value_(grads_or_params, clip_value, foreach=None):
    r"""Clamp every gradient in place to ``[-clip_value, clip_value]`` (a NaN stays NaN), as
    torch.nn.utils.clip_grad_value_ does; one threaded call over all of them. ``clip_value`` is
    a number >= 0; ``foreach`` is accepted for torch's signature and ignored."""
    _check_foreach(foreach)
    grads = _gradients(grads_or_params, "clip_grad_value_")
    _core.clip_grad_value(grads, _number(clip_value, "clip_value"))
