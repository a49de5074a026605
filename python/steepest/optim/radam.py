"""RAdam (torch.optim.RAdam)."""

from .. import _core
from .optimizer import Optimizer


class RAdam(Optimizer):
    r"""RAdam, rectified Adam (Liu et al. 2020, "On the Variance of the Adaptive Learning Rate
    and Beyond"), with torch.optim.RAdam's arguments, defaults and semantics; with
    ``decoupled_weight_decay`` it is RAdamW. At step t (from 1)::

        g     = -grad if maximize else grad
        p     = p * (1 - lr * weight_decay)    (decoupled_weight_decay)
        g     = g + weight_decay * p           (otherwise: L2)
        m     = beta1 * m + (1 - beta1) * g
        v     = beta2 * v + (1 - beta2) * g**2
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)
        if rho_t > 5:
            r = sqrt((rho_t - 4) (rho_t - 2) rho_inf / ((rho_inf - 4) (rho_inf - 2) rho_t))
            p = p - lr * r * m / (1 - beta1**t) * sqrt(1 - beta2**t) / (sqrt(v) + eps)
        else:
            p = p - lr * m / (1 - beta1**t)

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v).
    """

    state_keys = ("step", "exp_avg", "exp_avg_sq")
    required_state = ("step", "exp_avg", "exp_avg_sq")
    _kernel = staticmethod(_core.radam_step)
    _checker = staticmethod(_core.check_radam)
    _hyper_names = _core.rules["radam"]["hyper"]

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, maximize=False, nonfinite="propagate"):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults, nonfinite)
