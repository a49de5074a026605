"""ASGD, averaged stochastic gradient descent (torch.optim.ASGD)."""

from .. import _core
from .optimizer import Optimizer


class ASGD(Optimizer):
    r"""Averaged SGD (Polyak & Juditsky 1992, "Acceleration of Stochastic Approximation by
    Averaging"), with torch.optim.ASGD's arguments, defaults and semantics. At step t (from 1)::

        eta_t = lr / (1 + lambd * lr * (t - 1))**alpha
        mu_t  = 1 / max(1, t - 1 - t0)
        g  = -grad if maximize else grad
        g  = g + weight_decay * p
        p  = p * (1 - lambd * eta_t)
        p  = p - eta_t * g
        ax = ax + mu_t * (p - ax)            (ax = p when mu_t = 1)

    State per parameter: ``step``, ``ax`` (the average). torch also stores ``eta`` and ``mu``
    (computed after each step from the step count and the lr of that step); here they are
    computed from the step count and the current lr, so changing lr between steps takes effect
    one step earlier than in torch.
    """

    state_keys = ("step", "ax")
    required_state = ("step", "ax")
    _kernel = staticmethod(_core.asgd_step)
    _checker = staticmethod(_core.check_asgd)

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, *,
                 maximize=False):
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _hyper(self, group):
        return (group["lr"], group["lambd"], group["alpha"], group["t0"], group["weight_decay"],
                group["maximize"])
