"""AdaBelief (not in torch.optim)."""

from .. import _core
from .optimizer import Optimizer

_RULE = _core.rules["adabelief"]


class AdaBelief(Optimizer):
    r"""AdaBelief (Zhuang et al. 2020, "AdaBelief Optimizer: Adapting Stepsizes by the Belief in
    Observed Gradients", NeurIPS, Algorithm 2): Adam whose second moment tracks the squared
    deviation of the gradient from its mean, the "belief" in it. Defaults and options as the
    authors' package adabelief-pytorch 0.2 (``eps=1e-16``, decoupled weight decay; its
    ``weight_decouple`` is ``decoupled_weight_decay`` here, torch's name), without its RAdam-style
    rectification (``rectify``, not part of the paper's algorithm: this class is the package's
    ``rectify=False``). At step t (from 1)::

        g  = -grad if maximize else grad
        g  = g + weight_decay * p                     (not decoupled_weight_decay)
        p  = p * (1 - lr * weight_decay)              (decoupled_weight_decay)
        m  = beta1 * m + (1 - beta1) * g
        s  = beta2 * s + (1 - beta2) * (g - m)**2 + eps
        smax = max(smax, s);  s^ = smax if amsgrad else s
        p  = p - lr / bc1 * m / (sqrt(s^) / sqrt(bc2) + eps)

    with bc1 = 1 - beta1**t, bc2 = 1 - beta2**t (both 1 with ``bias_correction=False``).

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_avg_var`` (s) and, with amsgrad,
    ``max_exp_avg_var`` (smax): the package's keys.
    """

    state_keys = ("step", *_RULE["state"])
    required_state = ("step", "exp_avg", "exp_avg_var")
    _kernel = staticmethod(_core.adabelief_step)
    _checker = staticmethod(_core.check_adabelief)
    _hyper_names = _RULE["hyper"]

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-16, weight_decay=0.0,
                 amsgrad=False, *, decoupled_weight_decay=True, bias_correction=True,
                 maximize=False, nonfinite="propagate"):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, decoupled_weight_decay=decoupled_weight_decay,
                        bias_correction=bias_correction, maximize=maximize)
        super().__init__(params, defaults, nonfinite)
