"""Gradient accumulation: one optimizer step per k micro-batches, with their mean gradient."""

import numbers

import numpy as np

from .optimizer import Wrapper, _data, prepare_load, whole_count


def flat_params(optimizer):
    """The parameters of every group, in the optimizer's flat order."""
    return [p for group in optimizer.param_groups for p in group["params"]]


def gradients(params, grads, caller):
    """``grads`` (or each parameter's ``.grad``) as a list aligned with ``params``, checked:
    None or an array of the parameter's shape and dtype. Raises before anything changes."""
    if grads is None:
        if any(isinstance(p, np.ndarray) for p in params):
            raise ValueError(f"{caller}: the parameters are plain arrays, so grads must be given")
        grads = [p.grad for p in params]
    elif isinstance(grads, np.ndarray):
        raise TypeError(f"{caller}: grads must be a list of arrays, one per parameter, "
                        "not an ndarray")
    grads = list(grads)
    if len(grads) != len(params):
        raise ValueError(f"{caller}: expected {len(params)} gradients (one per parameter), "
                         f"got {len(grads)}")
    for i, (p, g) in enumerate(zip(params, grads)):
        if g is None:
            continue
        data = _data(p)
        if not isinstance(g, np.ndarray):
            raise TypeError(f"{caller}: grads[{i}] must be an ndarray, got {type(g).__name__}")
        if g.dtype != data.dtype:
            raise TypeError(f"{caller}: grads[{i}] has dtype {g.dtype}, the parameter has "
                            f"{data.dtype}")
        if g.shape != data.shape:
            raise ValueError(f"{caller}: grads[{i}] has shape {g.shape}, the parameter has "
                             f"{data.shape}")
    return grads


class Accumulate(Wrapper):
    r"""Gradient accumulation over ``k`` micro-batches: ``step(grads)`` adds the gradients of
    one micro-batch; every k-th call steps the wrapped optimizer once with their mean::

        g = (g_1 + g_2 + ... + g_k) / k      (summed in order, in the parameter's dtype)
        optimizer.step(g)

    so weight decay, momentum and the optimizer's step counter (Adam's bias correction) advance
    only on these real updates. ``step`` returns True when it updated the parameters, False
    when it only accumulated; step a scheduler on True::

        acc = Accumulate(steepest.optim.AdamW(params, lr=1e-3), k=4)
        if acc.step(grads):
            sched.step()

    A parameter whose gradient is None in some micro-batches counts as zero there (the mean
    still divides by k); one whose gradient is None in all k is skipped by the update. When the
    wrapped optimizer's non-finite guard skips the update (``nonfinite="skip"``: a NaN or an
    infinity in some micro-batch reaches the mean), its k micro-batches are dropped, ``step``
    returns False and the next k start afresh; the optimizer counts one skipped step.
    ``param_groups``, ``defaults`` and ``state`` are the wrapped optimizer's, so schedulers and
    checkpoints work on the wrapper. Invalid gradients raise before anything changes.
    """

    def __init__(self, optimizer, k):
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"Accumulate: {type(optimizer).__name__} is not an optimizer")
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"Accumulate: k must be an integer >= 1, got {k!r}")
        super().__init__(optimizer)
        self.k = int(k)
        self.micro_step = 0  # micro-batches accumulated since the last update
        self._sums = None    # per parameter: the running sum of its gradients, or None

    def add_param_group(self, param_group):
        if self.micro_step:
            raise RuntimeError("Accumulate: cannot add a parameter group in the middle of an "
                               "accumulation")
        self.optimizer.add_param_group(param_group)

    def zero_grad(self, set_to_none=False):
        """Zero the parameters' ``.grad`` (not the accumulated sums)."""
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self, grads=None):
        """Accumulate one micro-batch's gradients; on the k-th, update. Returns whether the
        parameters were updated."""
        params = flat_params(self.optimizer)
        grads = gradients(params, grads, "Accumulate.step")
        sums = self._sums if self._sums is not None else [None] * len(params)
        if len(sums) != len(params):
            raise RuntimeError("Accumulate: the parameters changed during an accumulation")
        if self.micro_step + 1 < self.k:
            for i, g in enumerate(grads):
                if g is not None:
                    sums[i] = g.copy() if sums[i] is None else np.add(sums[i], g, out=sums[i])
            self._sums = sums
            self.micro_step += 1
            return False
        mean = []
        for s, g in zip(sums, grads):
            total = s if g is None else g if s is None else s + g
            mean.append(None if total is None else total / self.k)  # keeps the dtype
        applied = self.optimizer.step(mean)  # raises before any change: then nothing is lost
        self._sums = None
        self.micro_step = 0
        return applied is not False  # an optimizer may report a skipped update with False

    def state_dict(self):
        """The wrapped optimizer's state_dict, the count and the sums of the micro-batches
        accumulated so far (copied)."""
        sums = self._sums or []
        return {"optimizer": self.optimizer.state_dict(), "k": self.k,
                "micro_step": self.micro_step,
                "grad_sums": [None if s is None else s.copy() for s in sums]}

    def _prepare_load(self, state_dict):
        inner = prepare_load(self.optimizer, self._inner_state(state_dict))
        k = whole_count(state_dict.get("k"), "Accumulate: loaded k", least=1)
        if k != self.k:
            raise ValueError(f"Accumulate: the state was saved with k={k}, this wrapper has "
                             f"k={self.k}")
        micro_step = whole_count(state_dict.get("micro_step"), "Accumulate: loaded micro_step")
        if micro_step >= k:
            raise ValueError(f"Accumulate: loaded micro_step {micro_step} must be < k={k}")
        params = flat_params(self.optimizer)
        saved = state_dict.get("grad_sums")
        if not isinstance(saved, (list, tuple)):
            raise ValueError(f"Accumulate: loaded grad_sums must be a list, got "
                             f"{type(saved).__name__}")
        if saved and len(saved) != len(params):
            raise ValueError(f"Accumulate: the state has {len(saved)} gradient sums, the "
                             f"optimizer has {len(params)} parameters")
        sums = []
        for i, (s, p) in enumerate(zip(saved, params)):
            if s is not None:
                data = _data(p)
                s = np.asarray(s)
                if s.shape != data.shape:
                    raise ValueError(f"Accumulate: grad_sums[{i}] has shape {s.shape}, the "
                                     f"parameter has {data.shape}")
                if s.dtype.kind != "f":
                    raise TypeError(f"Accumulate: grad_sums[{i}] has dtype {s.dtype}, expected "
                                    "a floating-point array")
                s = np.array(s, dtype=data.dtype, order="C", copy=True)
            sums.append(s)

        def apply():
            inner()
            self._sums = sums or None
            self.micro_step = micro_step

        return apply
