"""Adadelta (torch.optim.Adadelta)."""

from .. import _core
from .optimizer import Optimizer


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler 2012, "ADADELTA: An Adaptive Learning Rate Method"), with
    torch.optim.Adadelta's arguments, defaults (``lr=1.0``) and semantics::

        g  = -grad if maximize else grad
        g  = g + weight_decay * p
        v  = rho * v + (1 - rho) * g**2
        d  = sqrt(u + eps) / sqrt(v + eps) * g
        u  = rho * u + (1 - rho) * d**2
        p  = p - lr * d

    State per parameter: ``step``, ``square_avg`` (v), ``acc_delta`` (u).
    """

    state_keys = ("step", "square_avg", "acc_delta")
    required_state = ("step", "square_avg", "acc_delta")
    _kernel = staticmethod(_core.adadelta_step)
    _checker = staticmethod(_core.check_adadelta)
    _hyper_names = _core.rules["adadelta"]["hyper"]

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, *, maximize=False,
                 nonfinite="propagate"):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults, nonfinite)
