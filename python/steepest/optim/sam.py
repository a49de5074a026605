"""Sharpness-aware minimization (SAM) and its adaptive form (ASAM), around any optimizer."""

import math

import numpy as np

from ._closure import evaluate
from .accumulate import flat_params
from .optimizer import Wrapper, _data, prepare_load


class SAM(Wrapper):
    r"""Sharpness-aware minimization (Foret et al. 2021, "Sharpness-Aware Minimization for
    Efficiently Improving Generalization"), with the adaptive variant ASAM (Kwon et al. 2021,
    "ASAM: Adaptive Sharpness-Aware Minimization for Scale-Invariant Learning of Deep Neural
    Networks"). Each ``step(closure)`` evaluates the gradient twice::

        g   = grad L(w)                                   (first closure call)
        T   = |w| + eta  (adaptive)      T = 1  (SAM)     (elementwise)
        e   = rho * T**2 * g / (||T * g|| + eps)          (norm over all parameters)
        g'  = grad L(w + e)                               (second closure call)
        w   = base optimizer step from w with gradient g'

    The parameters are restored exactly (copied back) before the base step. ``closure()``
    returns ``(loss, grads)``, or the loss after setting each parameter's ``.grad`` (see
    steepest.optim._closure); ``step`` returns the loss at w. Parameters with no gradient are
    not perturbed. ``param_groups``, ``defaults`` and ``state`` are the base optimizer's, so a
    scheduler or a checkpoint works on the wrapper.
    """

    def __init__(self, optimizer, rho=0.05, adaptive=False, eta=0.01, eps=1e-12):
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"SAM: {type(optimizer).__name__} is not an optimizer")
        if not rho >= 0.0:
            raise ValueError(f"Invalid rho, should be non-negative: {rho}")
        if not eta >= 0.0:
            raise ValueError(f"Invalid eta, should be non-negative: {eta}")
        super().__init__(optimizer)
        self.rho = float(rho)
        self.adaptive = bool(adaptive)
        self.eta = float(eta)
        self.eps = float(eps)

    def zero_grad(self, set_to_none=False):
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def perturbation(self, grads):
        """``e`` for the current parameters and their gradients ``grads`` (None where none)."""
        data = [_data(p) for p in flat_params(self.optimizer)]
        scales = [np.abs(w) + w.dtype.type(self.eta) if self.adaptive and g is not None else None
                  for w, g in zip(data, grads)]                                   # T
        tg = [g if t is None else t * g for g, t in zip(grads, scales)]           # T * g
        sq = sum(float(np.dot(x.ravel(), x.ravel().astype(np.float64)))  # ||T g||**2
                 for x in tg if x is not None)
        factor = self.rho / (math.sqrt(sq) + self.eps)
        return [None if x is None else (x if t is None else t * x) * x.dtype.type(factor)
                for x, t in zip(tg, scales)]                                      # T**2 g rho/norm

    def step(self, closure):
        """One SAM step; returns the loss at the current parameters."""
        params = flat_params(self.optimizer)
        loss, grads = evaluate(closure, params, "SAM.step")
        perturb = self.perturbation(grads)
        saved = []
        for p, e in zip(params, perturb):
            if e is not None:
                data = _data(p)
                saved.append((data, data.copy()))
                data += e
        try:
            _, grads = evaluate(closure, params, "SAM.step")
        finally:
            for data, original in saved:
                data[...] = original
        self.optimizer.step(grads)
        return loss

    def state_dict(self):
        return {"optimizer": self.optimizer.state_dict()}

    def _prepare_load(self, state_dict):
        return prepare_load(self.optimizer, self._inner_state(state_dict))
