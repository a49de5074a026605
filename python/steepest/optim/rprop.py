"""Rprop (torch.optim.Rprop)."""

from .. import _core
from .optimizer import Optimizer


class Rprop(Optimizer):
    r"""Rprop, resilient backpropagation (Riedmiller & Braun 1993, "A Direct Adaptive Method for
    Faster Backpropagation Learning: The RPROP Algorithm"), with torch.optim.Rprop's arguments,
    defaults and semantics. Elementwise, with ``(etaminus, etaplus) = etas`` and
    ``(step_size_min, step_size_max) = step_sizes``::

        g  = -grad if maximize else grad
        s  = g * prev
        step_size = clamp(step_size * (etaplus if s > 0 else etaminus if s < 0 else 1),
                          step_size_min, step_size_max)       (step_size starts at lr)
        g  = 0 where s < 0
        p  = p - sign(g) * step_size
        prev = g                                                (prev starts at 0)

    State per parameter: ``step``, ``prev``, ``step_size``. ``lr`` only sets the initial
    step size.
    """

    state_keys = ("step", "prev", "step_size")
    required_state = ("step", "prev", "step_size")
    _kernel = staticmethod(_core.rprop_step)
    _checker = staticmethod(_core.check_rprop)
    _hyper_names = _core.rules["rprop"]["hyper"]

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 maximize=False, nonfinite="propagate"):
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), maximize=maximize)
        super().__init__(params, defaults, nonfinite)
