"""NAdam (torch.optim.NAdam)."""

from .. import _core
from .optimizer import Optimizer


class NAdam(Optimizer):
    r"""NAdam, Adam with Nesterov momentum (Dozat 2016, "Incorporating Nesterov Momentum into
    Adam"), with torch.optim.NAdam's arguments, defaults and semantics; with
    ``decoupled_weight_decay`` it is NAdamW. At step t (from 1)::

        g    = -grad if maximize else grad
        p    = p * (1 - lr * weight_decay)     (decoupled_weight_decay)
        g    = g + weight_decay * p            (otherwise: L2)
        mu_t = beta1 * (1 - 0.5 * 0.96**(t * momentum_decay))
        P    = P * mu_t                        (mu_product, starting at 1)
        m    = beta1 * m + (1 - beta1) * g
        v    = beta2 * v + (1 - beta2) * g**2
        d    = sqrt(v / (1 - beta2**t)) + eps
        p    = p - lr * (1 - mu_t) / (1 - P) * g / d
               - lr * mu_{t+1} / (1 - P * mu_{t+1}) * m / d

    State per parameter: ``step``, ``mu_product`` (P; a float64 number, where torch keeps a
    0-d tensor of its default dtype), ``exp_avg`` (m), ``exp_avg_sq`` (v).
    """

    state_keys = ("step", "mu_product", "exp_avg", "exp_avg_sq")
    required_state = ("step", "mu_product", "exp_avg", "exp_avg_sq")
    scalar_state = {"mu_product": 1.0}
    _kernel = staticmethod(_core.nadam_step)
    _checker = staticmethod(_core.check_nadam)
    _hyper_names = _core.rules["nadam"]["hyper"]

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, maximize=False,
                 nonfinite="propagate"):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults, nonfinite)
