"""Adan (not in torch.optim)."""

from .. import _core
from .optimizer import Optimizer

_RULE = _core.rules["adan"]


class Adan(Optimizer):
    r"""Adan, adaptive Nesterov momentum (Xie et al. 2022, "Adan: Adaptive Nesterov Momentum
    Algorithm for Faster Optimizing Deep Models", Algorithm 1), as its authors' code
    (github.com/sail-sg/Adan) runs it, with its arguments and defaults. ``betas`` weigh the
    old value, as in that code: the paper's (0.02, 0.08, 0.01) are (0.98, 0.92, 0.99) here. The
    code's bias corrections are applied; its ``max_grad_norm`` (a global clip inside the step)
    is left to :func:`clip_grad_norm_`. At step t (from 1), with d = g - g_prev (0 at t = 1)::

        g  = -grad if maximize else grad
        m  = beta1 * m + (1 - beta1) * g
        v  = beta2 * v + (1 - beta2) * d
        n  = beta3 * n + (1 - beta3) * (g + beta2 * d)**2
        w  = (lr / bc1 * m + lr * beta2 / bc2 * v) / (sqrt(n) / sqrt(bc3) + eps)
        p  = (p - w) / (1 + lr * weight_decay)        (the paper's proximal step)
        p  = p * (1 - lr * weight_decay) - w          (no_prox: decoupled decay)

    with bc_i = 1 - beta_i**t.

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (n), ``exp_avg_diff`` (v) and
    ``neg_pre_grad`` (-g of the last step): the authors' keys.
    """

    state_keys = ("step", *_RULE["state"])
    required_state = state_keys
    _kernel = staticmethod(_core.adan_step)
    _checker = staticmethod(_core.check_adan)
    _hyper_names = _RULE["hyper"]

    def __init__(self, params, lr=1e-3, betas=(0.98, 0.92, 0.99), eps=1e-8, weight_decay=0.0,
                 no_prox=False, *, maximize=False, nonfinite="propagate"):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        no_prox=no_prox, maximize=maximize)
        super().__init__(params, defaults, nonfinite)
