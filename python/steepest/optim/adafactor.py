"""Adafactor (torch.optim.Adafactor)."""

import math

from .. import _core
from .optimizer import Optimizer


class Adafactor(Optimizer):
    r"""Adafactor (Shazeer & Stern 2018, "Adafactor: Adaptive Learning Rates with Sublinear
    Memory Cost") with torch.optim.Adafactor's arguments, defaults and semantics. For a
    parameter of 2+ dimensions the second moment is factored over the last two into a row
    variance R and a column variance C; otherwise it is kept whole. At step t (from 1)::

        g     = -grad if maximize else grad
        b     = t ** beta2_decay,   rho = min(lr, 1 / sqrt(t))
        alpha = max(eps2, ||p|| / sqrt(numel)) * rho
        p     = p * (1 - lr * weight_decay)
        factored:   R = lerp(R, mean(g**2, -1), b),  C = lerp(C, mean(g**2, -2), b)
                    V = (R / max(mean(R, -2), eps1)) C
        otherwise:  V = variance = lerp(variance, g**2, b)
        u     = g / sqrt(max(V, eps1**2))
        p     = p - alpha / max(1, ||u|| / (sqrt(numel) * d)) * u

    ``eps = (eps1, eps2)``; eps1 None is the machine epsilon of the parameter's dtype. V is
    computed in that order (R / mean(R) is at most the number of rows), not as torch's (R C) /
    mean(R), whose g**4-sized product overflows float32 for gradients above ~1.4e9. Each
    tensor is updated whole by one thread (its norms and row/column means span it), tensors in
    parallel; results are bitwise the same for any thread count.

    State per parameter: ``step``, and ``row_var`` (shape (..., R, 1)) and ``col_var``
    ((..., 1, C)) for 2+ dimensions, else ``variance``. Takes the 16-bit options
    (optim/_precision.py: bfloat16/float16 params, master weights, bfloat16 state; not int8),
    with the arithmetic in float32. An empty parameter only counts the
    step (torch raises ZeroDivisionError).
    """

    state_keys = ("step", "row_var", "col_var", "variance")
    required_state = ("step",)
    _kernel = staticmethod(_core.adafactor_step)
    _checker = staticmethod(_core.check_adafactor)
    _hyper_names = _core.rules["adafactor"]["hyper"]
    _none_as = {"eps[0]": math.nan}

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, maximize=False, nonfinite="propagate"):
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=tuple(eps), d=d,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults, nonfinite)

    def _state_shape(self, key, shape):
        factored = len(shape) > 1
        if key == "row_var":
            return shape[:-1] + (1,) if factored else None
        if key == "col_var":
            return shape[:-2] + (1, shape[-1]) if factored else None
        return None if factored else shape
