"""LAMB: Adam's update scaled per tensor by a trust ratio (You et al. 2019)."""

import math

from .. import _core
from .optimizer import Optimizer


class Lamb(Optimizer):
    r"""LAMB (You et al. 2019, "Large Batch Optimization for Deep Learning: Training BERT in 76
    minutes"): Adam's moments, a decoupled weight decay and a layer-wise (per tensor) trust
    ratio. torch.optim has no LAMB; names and defaults follow torch.optim.Adam where they apply.
    At step t (from 1), for each parameter tensor::

        g  = -grad if maximize else grad
        m  = beta1 * m + (1 - beta1) * g
        v  = beta2 * v + (1 - beta2) * g**2
        m^ = m / (1 - beta1**t),  v^ = v / (1 - beta2**t)   (m^ = m, v^ = v without bias_correction)
        u  = m^ / (sqrt(v^) + eps) + weight_decay * p
        r  = min(||p||, max_weight_norm) / ||u||             (1 if either norm is 0)
        p  = p - lr * r * u

    ``max_weight_norm`` (None: no clamp) bounds the parameter norm used in the trust ratio
    (the "clamp_value" of some implementations). Norms are computed in double with a fixed
    summation order: results are bitwise the same for any thread count.

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v).
    """

    state_keys = ("step", "exp_avg", "exp_avg_sq")
    required_state = ("step", "exp_avg", "exp_avg_sq")
    _kernel = staticmethod(_core.lamb_step)
    _checker = staticmethod(_core.check_lamb)
    _hyper_names = _core.rules["lamb"]["hyper"]
    _none_as = {"max_weight_norm": math.inf}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0,
                 max_weight_norm=None, bias_correction=True, *, maximize=False,
                 nonfinite="propagate"):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        max_weight_norm=max_weight_norm, bias_correction=bias_correction,
                        maximize=maximize)
        super().__init__(params, defaults, nonfinite)
