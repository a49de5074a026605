"""The closure convention shared by SAM and LBFGS.

``closure()`` evaluates the loss at the parameters' current values and returns either

* ``(loss, grads)``: the loss and a list of gradients aligned with the parameters (the form for
  plain NumPy arrays, which have no ``.grad``), or
* ``loss`` alone, having set each parameter's ``.grad`` (objects with ``.data``/``.grad``, as in
  torch).

The loss may be a Python number or a 0-d array.
"""

import numpy as np

from .accumulate import gradients


def evaluate(closure, params, caller):
    """Call ``closure`` once: (loss as returned, gradients checked and aligned with params)."""
    out = closure()
    if isinstance(out, tuple):
        if len(out) != 2:
            raise ValueError(f"{caller}: the closure must return loss or (loss, grads), got a "
                             f"tuple of {len(out)}")
        loss, grads = out
        if grads is None:
            raise ValueError(f"{caller}: the closure returned (loss, None); return the "
                             "gradients, or the loss alone after setting each .grad")
    else:
        loss, grads = out, None
        if any(isinstance(p, np.ndarray) for p in params):
            raise ValueError(f"{caller}: the parameters are plain arrays, so the closure must "
                             "return (loss, grads)")
    return loss, gradients(params, grads, caller)
