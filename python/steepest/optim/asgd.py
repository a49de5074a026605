"""ASGD, averaged stochastic gradient descent (torch.optim.ASGD)."""

from .. import _core
from .optimizer import Optimizer


class ASGD(Optimizer):
    r"""Averaged SGD (Polyak & Juditsky 1992, "Acceleration of Stochastic Approximation by
    Averaging"), with torch.optim.ASGD's arguments, defaults and semantics. At step t (from 1)::

        g  = -grad if maximize else grad
        g  = g + weight_decay * p
        p  = p * (1 - lambd * eta)
        p  = p - eta * g
        ax = ax + mu * (p - ax)              (ax = p when mu = 1)
        eta = lr / (1 + lambd * lr * t)**alpha     for the next step
        mu  = 1 / max(1, t - t0)                    for the next step

    State per parameter: ``step``, ``eta`` (lr at first), ``mu`` (1 at first) and ``ax`` (the
    average), as in torch.
    """

    state_keys = ("step", "eta", "mu", "ax")
    required_state = ("step", "eta", "mu", "ax")
    scalar_state = {"eta": float("nan"), "mu": 1.0}  # NaN: the group's lr at the first step
    _kernel = staticmethod(_core.asgd_step)
    _checker = staticmethod(_core.check_asgd)
    _hyper_names = _core.rules["asgd"]["hyper"]

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, *,
                 maximize=False, nonfinite="propagate"):
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults, nonfinite)
