"""``adapt(rule)``: a torch.optim.Optimizer subclass that steps with a steepest rule's kernel.

Each step hands the kernel NumPy views of the tensors' own memory (``Tensor.numpy()`` shares
it), so the update happens in place, as torch's does. State is kept in torch's format under
torch's keys (``exp_avg``, ``momentum_buffer``, ``step`` as a 0-d float32 tensor, ...): a
state_dict saved by either optimizer loads into the other.
"""

import inspect

import numpy as np
import torch

from ..optim.optimizer import (NONFINITE, SKIPPED, _count, _scalar_value, _step_count,
                               nonfinite_code)

# torch's switches between its own implementations: accepted so that code written for torch runs
# unchanged, and meaningless here (the kernel is always fused).
_TORCH_SWITCHES = {"foreach": None, "fused": None, "capturable": False, "differentiable": False}
_FLOATS = (torch.float32, torch.float64)


def _check_tensor(p, index, what):
    if p.device.type != "cpu":
        raise ValueError(f"{what}[{index}] is on {p.device}; steepest.torch updates CPU tensors "
                         "only (keep the optimizer's parameters on the CPU or use torch.optim)")
    if p.dtype not in _FLOATS:
        raise TypeError(f"{what}[{index}]: expected a float32 or float64 tensor, got {p.dtype}")
    if p.is_sparse or p.layout != torch.strided:
        raise ValueError(f"{what}[{index}]: sparse tensors are not supported")
    if not p.is_contiguous():
        raise ValueError(f"{what}[{index}]: expected a contiguous tensor; steepest updates in "
                         "place and never works on a copy")


def adapt(rule):
    """The torch.optim.Optimizer counterpart of the steepest.optim class ``rule``."""
    signature = inspect.signature(rule.__init__)
    hyper_names = [n for n in signature.parameters if n not in ("self", "params", "nonfinite")]
    scalar_keys = list(rule.scalar_state)  # per-tensor numbers (NAdam's mu_product)
    array_keys = [k for k in rule.state_keys if k != "step" and k not in rule.scalar_state]
    counts_steps = "step" in rule.state_keys
    # The rule's class-level settings (e.g. AdamW's decoupled decay) without building one.
    prototype = object.__new__(rule)

    class Adapter(torch.optim.Optimizer):
        def __init__(self, params, *args, **kwargs):
            switches = {k: kwargs.pop(k, v) for k, v in _TORCH_SWITCHES.items()}
            if switches["capturable"] or switches["differentiable"]:
                raise ValueError(f"{rule.__name__}: capturable and differentiable are not "
                                 "supported by steepest.torch")
            bound = signature.bind(None, None, *args, **kwargs)
            bound.apply_defaults()
            defaults = {n: bound.arguments[n] for n in hyper_names}
            if "betas" in defaults:
                defaults["betas"] = tuple(defaults["betas"])
            defaults.update(switches)
            self.nonfinite = bound.arguments["nonfinite"]  # optimizer-wide, not a group's
            self.applied_steps = 0
            self.skipped_steps = 0
            super().__init__(params, defaults)

        @property
        def nonfinite(self):
            """The non-finite guard's policy (steepest.optim.Optimizer): "propagate", "skip"
            or "raise"."""
            return NONFINITE[self._nonfinite]

        @nonfinite.setter
        def nonfinite(self, policy):
            self._nonfinite = nonfinite_code(policy)

        def add_param_group(self, param_group):
            super().add_param_group(param_group)
            group = self.param_groups[-1]
            first = sum(len(g["params"]) for g in self.param_groups[:-1])
            for k, p in enumerate(group["params"]):
                _check_tensor(p, first + k, "params")
            rule._checker(*rule._hyper(prototype, group))

        @torch.no_grad()
        def step(self, closure=None):
            """One update of every parameter that has a gradient. Returns the closure's loss
            when given a closure (as torch), else True when the update was applied, False when
            the non-finite guard skipped it (see ``skipped_steps``)."""
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()
            args, grads, stepped = [], [], []
            index = 0
            for group in self.param_groups:
                arrays, lists, counts, numbers = [], [[] for _ in array_keys], [], []
                for p in group["params"]:
                    _check_tensor(p, index, "params")
                    grad = p.grad
                    if grad is not None:
                        _check_tensor(grad, index, "grads")
                        grad = grad.numpy()
                    grads.append(grad)
                    arrays.append(p.detach().numpy())
                    state = self.state[p]
                    for key, values in zip(array_keys, lists):
                        value = state.get(key)
                        values.append(None if value is None else value.numpy())
                    if counts_steps:
                        counts.append(_step_count(state["step"], index) if "step" in state else 0)
                    numbers.append([_scalar_value(state[key], index, key) if key in state
                                    else float(rule.scalar_state[key]) for key in scalar_keys])
                    index += 1
                steps = np.array(counts, dtype=np.int64) if counts_steps else None
                scalars = (np.array(numbers, dtype=np.float64).reshape(len(arrays), len(scalar_keys))
                           if scalar_keys else None)
                args.append((arrays, *lists, steps, scalars, *rule._hyper(prototype, group)))
                stepped.append((group, lists, steps, scalars))
            created = rule._kernel(args, grads, self._nonfinite)
            applied = created != SKIPPED
            if applied:
                self._write_back(stepped, grads, created)
                self.applied_steps += 1
            else:
                self.skipped_steps += 1
            return loss if closure is not None else applied

        def state_dict(self):
            """torch's state_dict, with the counts of applied and skipped steps."""
            state_dict = super().state_dict()
            state_dict["applied_steps"] = self.applied_steps
            state_dict["skipped_steps"] = self.skipped_steps
            return state_dict

        def load_state_dict(self, state_dict):
            """torch's load_state_dict; the step counts are 0 in a state_dict without them."""
            counts = [_count(state_dict.get(k, 0), k) for k in ("applied_steps", "skipped_steps")]
            super().load_state_dict(state_dict)
            self.applied_steps, self.skipped_steps = counts

        def _write_back(self, stepped, grads, created):
            """Store the step counts, per-tensor numbers and new state arrays as tensors."""
            index = 0
            for group, lists, steps, scalars in stepped:
                for k, p in enumerate(group["params"]):
                    if grads[index + k] is not None:
                        state = self.state[p]
                        if created:
                            for key, values in zip(array_keys, lists):
                                if values[k] is not None and key not in state:
                                    state[key] = torch.from_numpy(values[k])
                        if steps is not None:
                            if "step" in state:
                                state["step"].fill_(float(steps[k]))
                            else:
                                state["step"] = torch.tensor(float(steps[k]), dtype=torch.float32)
                        for j, key in enumerate(scalar_keys):  # torch keeps them as 0-d tensors
                            state[key] = torch.tensor(scalars[k, j], dtype=torch.float64)
                index += len(group["params"])

    Adapter.__name__ = Adapter.__qualname__ = rule.__name__
    Adapter.__module__ = __name__.rsplit(".", 1)[0]
    Adapter.__init__.__signature__ = signature.replace(parameters=[
        *signature.parameters.values(),
        *(inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v)
          for k, v in _TORCH_SWITCHES.items())])
    Adapter.__doc__ = (f"``torch.optim.{rule.__name__}``'s drop-in, stepping with steepest's fused "
                       f"kernel on the tensors' memory.\n\n{rule.__doc__}")
    return Adapter
