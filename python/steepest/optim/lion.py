"""Lion (not in torch.optim)."""

from .. import _core
from .optimizer import Optimizer


class Lion(Optimizer):
    r"""Lion, evolved sign momentum (Chen et al. 2023, "Symbolic Discovery of Optimization
    Algorithms"), with the paper's defaults and torch.optim-style arguments::

        g  = -grad if maximize else grad
        p  = p * (1 - lr * weight_decay)              (decoupled)
        p  = p - lr * sign(beta1 * m + (1 - beta1) * g)   (sign(0) = 0)
        m  = beta2 * m + (1 - beta2) * g

    State per parameter: ``exp_avg`` (m).
    """

    state_keys = ("exp_avg",)
    required_state = ("exp_avg",)
    _kernel = staticmethod(_core.lion_step)
    _checker = staticmethod(_core.check_lion)
    _hyper_names = _core.rules["lion"]["hyper"]

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, *, maximize=False,
                 nonfinite="propagate"):
        defaults = dict(lr=lr, betas=tuple(betas), weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults, nonfinite)
