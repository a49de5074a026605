"""LARS: momentum SGD with a layer-wise trust ratio (You et al. 2017)."""

from .. import _core
from .optimizer import Optimizer


class Lars(Optimizer):
    r"""LARS (You et al. 2017, "Large Batch Training of Convolutional Networks"): momentum SGD
    whose step is scaled per tensor by a trust ratio. torch.optim has no LARS; names follow
    torch.optim.SGD where they apply. For each parameter tensor, at each step::

        g  = -grad if maximize else grad
        l  = trust_coefficient * ||p|| / (||g|| + weight_decay * ||p|| + eps)
                                                  (1 if ||p|| or ||g|| is 0)
        g' = (g + weight_decay * p) * l
        b  = g'                                   (first step, momentum != 0)
        b  = momentum * b + g'                    (later steps)
        d  = g' + momentum * b  if nesterov  else  b      (g' without momentum)
        p  = p - lr * d

    With ``exclude_1d=True`` (the default, as in the paper's practice), parameters of at most
    one dimension (biases, normalization scales) take neither the trust ratio nor the weight
    decay: plain momentum SGD. Norms are computed in double with a fixed summation order:
    results are bitwise the same for any thread count. In double a sum of squares of float32
    values is always finite; of float64 values it overflows for elements above ~1e154 (then
    ||g|| = inf and the step is 0), as a plain sum of squares does in torch.

    State per parameter: ``momentum_buffer`` (when momentum != 0).
    """

    state_keys = ("momentum_buffer",)
    required_state = ()
    _kernel = staticmethod(_core.lars_step)
    _checker = staticmethod(_core.check_lars)
    _hyper_names = _core.rules["lars"]["hyper"]

    def __init__(self, params, lr=0.1, momentum=0.9, weight_decay=0.0, nesterov=False,
                 trust_coefficient=0.001, eps=1e-8, exclude_1d=True, *, maximize=False,
                 nonfinite="propagate"):
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov,
                        trust_coefficient=trust_coefficient, eps=eps, exclude_1d=exclude_1d,
                        maximize=maximize)
        super().__init__(params, defaults, nonfinite)
