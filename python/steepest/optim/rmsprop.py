"""RMSprop (torch.optim.RMSprop)."""

from .. import _core
from .optimizer import Optimizer


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, Srivastava & Swersky 2012, "Neural Networks for Machine Learning",
    lecture 6e; centered variant: Graves 2013, "Generating Sequences With Recurrent Neural
    Networks"), with torch.optim.RMSprop's arguments, defaults and semantics::

        g  = -grad if maximize else grad
        g  = g + weight_decay * p
        v  = alpha * v + (1 - alpha) * g**2
        centered:  ga = alpha * ga + (1 - alpha) * g;  a = sqrt(v - ga**2) + eps
        otherwise: a = sqrt(v) + eps
        momentum > 0:  b = momentum * b + g / a;  p = p - lr * b
        otherwise:     p = p - lr * g / a

    State per parameter: ``step``, ``square_avg`` (v), ``momentum_buffer`` (b, momentum > 0),
    ``grad_avg`` (ga, centered).
    """

    state_keys = ("step", "square_avg", "momentum_buffer", "grad_avg")
    required_state = ("step", "square_avg")
    _kernel = staticmethod(_core.rmsprop_step)
    _checker = staticmethod(_core.check_rmsprop)
    _hyper_names = _core.rules["rmsprop"]["hyper"]

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, *, maximize=False, nonfinite="propagate"):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        super().__init__(params, defaults, nonfinite)
