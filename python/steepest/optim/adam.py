"""Adam and AdamW (torch.optim.Adam, torch.optim.AdamW)."""

from .. import _core
from .optimizer import Optimizer


class Adam(Optimizer):
    r"""Adam (Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization"), with AMSGrad
    (Reddi et al. 2018, "On the Convergence of Adam and Beyond") and torch.optim.Adam's
    arguments, defaults and semantics. ``weight_decay`` is an L2 penalty added to the gradient,
    or with ``decoupled_weight_decay=True`` (as torch 2.13's Adam) a decay of the parameters
    themselves: :class:`AdamW`. At step t (from 1)::

        g  = -grad if maximize else grad
        g  = g + weight_decay * p                     (not decoupled_weight_decay)
        p  = p * (1 - lr * weight_decay)              (decoupled_weight_decay)
        m  = beta1 * m + (1 - beta1) * g
        v  = beta2 * v + (1 - beta2) * g**2
        vmax = max(vmax, v);  v^ = vmax if amsgrad else v
        p  = p - lr / (1 - beta1**t) * m / (sqrt(v^) / sqrt(1 - beta2**t) + eps)

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v) and, with amsgrad,
    ``max_exp_avg_sq`` (vmax).
    """

    state_keys = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    required_state = ("step", "exp_avg", "exp_avg_sq")
    _kernel = staticmethod(_core.adam_step)
    _checker = staticmethod(_core.check_adam)
    _hyper_names = _core.rules["adam"]["hyper"]

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False,
                 nonfinite="propagate"):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults, nonfinite)


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization"): Adam whose
    weight decay shrinks the parameters directly instead of adding to the gradient, with
    torch.optim.AdamW's arguments, defaults (``weight_decay=1e-2``) and semantics. At step t::

        p  = p * (1 - lr * weight_decay)
        then Adam's update with weight_decay = 0 (see :class:`Adam`).

    Its groups hold ``decoupled_weight_decay=True``, as torch's do: :class:`Adam` loading an
    AdamW state_dict steps as AdamW, and AdamW stays AdamW whatever state_dict it loads.
    """

    fixed_hyper = {"decoupled_weight_decay": True}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, nonfinite="propagate"):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True,
                         nonfinite=nonfinite)
