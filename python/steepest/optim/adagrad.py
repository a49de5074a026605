"""Adagrad (torch.optim.Adagrad)."""

from .. import _core
from .optimizer import Optimizer


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer 2011, "Adaptive Subgradient Methods for Online Learning
    and Stochastic Optimization"), with torch.optim.Adagrad's arguments, defaults and semantics.
    At step t (from 1)::

        g   = -grad if maximize else grad
        g   = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s   = s + g**2                       (s starts at initial_accumulator_value)
        p   = p - clr * g / (sqrt(s) + eps)

    State per parameter: ``step``, ``sum`` (s). Unlike torch, which creates the state in the
    constructor, the state appears at a parameter's first step (as every steepest rule's does).
    """

    state_keys = ("step", "sum")
    required_state = ("step", "sum")
    _kernel = staticmethod(_core.adagrad_step)
    _checker = staticmethod(_core.check_adagrad)
    _hyper_names = _core.rules["adagrad"]["hyper"]

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, *, maximize=False, nonfinite="propagate"):
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps,
                        maximize=maximize)
        super().__init__(params, defaults, nonfinite)
