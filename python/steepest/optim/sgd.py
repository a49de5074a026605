"""Stochastic gradient descent with momentum (torch.optim.SGD)."""

import math

from .. import _core
from .optimizer import Optimizer, check_positive


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

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        check_positive(group["lr"], "learning rate")
        check_positive(group["momentum"], "momentum value")
        check_positive(group["weight_decay"], "weight_decay value")
        if not math.isfinite(group["dampening"]):
            raise ValueError(f"Invalid dampening value: {group['dampening']}")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _update(self, group, params, grads, indices, check_only):
        buffers, created, first = [], {}, []
        if group["momentum"] != 0:
            buffers, created = self._states(indices, "momentum_buffer", params)
            first = [i in created for i in indices]
        _core.sgd_step(
            params, grads, buffers, first, indices, check_only=check_only,
            lr=group["lr"], momentum=group["momentum"], dampening=group["dampening"],
            weight_decay=group["weight_decay"], nesterov=group["nesterov"],
            maximize=group["maximize"],
        )
        if not check_only:
            for i, buffer in created.items():
                self.state.setdefault(i, {})["momentum_buffer"] = buffer

