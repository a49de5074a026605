"""Adamax (torch.optim.Adamax)."""

from .. import _core
from .optimizer import Optimizer


class Adamax(Optimizer):
    r"""Adamax, Adam with the infinity norm (Kingma & Ba 2015, "Adam: A Method for Stochastic
    Optimization", section 7), with torch.optim.Adamax's arguments, defaults and semantics. At
    step t (from 1)::

        g  = -grad if maximize else grad
        g  = g + weight_decay * p
        m  = beta1 * m + (1 - beta1) * g
        u  = max(beta2 * u, |g| + eps)
        p  = p - lr / (1 - beta1**t) * m / u

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_inf`` (u).
    """

    state_keys = ("step", "exp_avg", "exp_inf")
    required_state = ("step", "exp_avg", "exp_inf")
    _kernel = staticmethod(_core.adamax_step)
    _checker = staticmethod(_core.check_adamax)
    _hyper_names = _core.rules["adamax"]["hyper"]

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, *,
                 maximize=False, nonfinite="propagate"):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults, nonfinite)
