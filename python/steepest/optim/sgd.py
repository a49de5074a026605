"""Stochastic gradient descent with momentum (torch.optim.SGD)."""

from .. import _core
from .optimizer import Optimizer


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum (Polyak 1964) or Nesterov momentum
    (Sutskever et al. 2013, "On the importance of initialization and momentum in deep
    learning"), with torch.optim.SGD's arguments, defaults and semantics::

        g  = -grad if maximize else grad
        g  = g + weight_decay * p
        b  = g                                            (first step, momentum != 0)
        b  = momentum * b + (1 - dampening) * g           (later steps)
        g  = g + momentum * b   if nesterov   else   b
        p  = p - lr * g

    State per parameter: ``momentum_buffer`` (when momentum != 0).
    """

    state_keys = ("momentum_buffer",)
    required_state = ()  # no buffer while momentum is 0
    _kernel = staticmethod(_core.sgd_step)
    _checker = staticmethod(_core.check_sgd)
    _hyper_names = _core.rules["sgd"]["hyper"]

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False, nonfinite="propagate"):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults, nonfinite)
