"""``adapt(rule)``: a torch.optim.Optimizer subclass that steps with a steepest rule's kernel.

The kernel works on NumPy views of the tensors' own memory (``Tensor.numpy()`` shares it), so
the update happens in place, as torch's does. State is kept under torch's keys (``exp_avg``,
``momentum_buffer``, ``step``, ...) and ``state_dict()`` gives torch's format (``step`` a 0-d
tensor of torch's scalar dtype): a state_dict saved by either optimizer loads into the other.

A step costs one call into C++ for all groups, and little Python beside it: as in
``steepest.optim``, the lists C++ gets for each group (views of the params and of their state,
the step counts) are built once and kept until something changes them (optimizer.py's plan):
a group's parameters, ``opt.state`` (a watching dict) or where a parameter's memory is (checked
each step by its data pointer). Between those changes a step only views each gradient. The step
counts of a group live in one int64 array that C++ advances; ``state[p]['step']`` is a 0-d
int64 tensor viewing it (torch keeps a float tensor per parameter), and per-tensor numbers
(NAdam's ``mu_product``, ASGD's ``eta``, ``mu``) are 0-d float64 views of the group's (n, K)
array. torch's step wrapper (its hooks and profiler scope) runs only when a hook is registered
or the profiler is on.
"""

import inspect

import numpy as np
import torch
from torch.autograd import profiler as _profiler
from torch.optim import optimizer as _torch_optimizer

from ..optim.optimizer import (NONFINITE, SKIPPED, _count, _scalar_value, _State, _step_count,
                               nonfinite_code)

# torch's switches between its own implementations: accepted so that code written for torch runs
# unchanged, and meaningless here (the kernel is always fused).
_TORCH_SWITCHES = {"foreach": None, "fused": None, "capturable": False, "differentiable": False}
_FLOATS = (torch.float32, torch.float64)
# torch's registries of hooks for every optimizer (dicts it mutates in place).
_GLOBAL_HOOKS = (_torch_optimizer._global_optimizer_pre_hooks,
                 _torch_optimizer._global_optimizer_post_hooks)


def _check_tensor(p, name):
    """Raise, naming the tensor (``params[3]``), unless steepest can update it in place."""
    if not p.is_cpu:
        raise ValueError(f"{name} is on {p.device}; steepest.torch updates CPU tensors only "
                         "(keep the optimizer's parameters on the CPU or use torch.optim)")
    if p.dtype not in _FLOATS:
        raise TypeError(f"{name}: expected a float32 or float64 tensor, got {p.dtype}")
    if p.layout != torch.strided:
        raise ValueError(f"{name}: sparse tensors are not supported")
    if not p.is_contiguous():
        raise ValueError(f"{name}: expected a contiguous tensor; steepest updates in place and "
                         "never works on a copy")


def _grad_views(params, first):
    """A NumPy view of each param's ``.grad`` (None where it has none), checked by name."""
    try:
        return [None if (g := p.grad) is None else g.numpy() for p in params]
    except (TypeError, RuntimeError):  # a tensor NumPy cannot view: say which, and why
        views = []
        for k, p in enumerate(params):
            g = p.grad
            if g is not None:
                _check_tensor(g, f"grads[{first + k}]")
                g = g.detach().numpy()  # a grad that requires grad (create_graph=True)
            views.append(g)
        return views


def _state_view(value, index, key):
    """A NumPy view of the state tensor ``state[index][key]``."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"state[{index}][{key!r}]: expected a tensor, got {type(value).__name__}")
    _check_tensor(value, f"state[{index}][{key!r}]")
    return value.detach().numpy()


class _TensorState(_State):
    """``opt.state``: param -> its state dict, made (empty) on first access, as torch's
    defaultdict does. Changing an entry, or a param's dict, drops the kept plan."""

    __slots__ = ()

    def __missing__(self, param):
        state = _State(self._owner)
        dict.__setitem__(self, param, state)  # an empty state changes nothing C++ sees
        return state


class _GroupPlan:
    """What C++ gets for one group each step, beside its gradients and hyperparameters: the
    params' views, one list of state views per state key (None where the state does not exist
    yet: C++ creates it), the step counts and the per-tensor scalar state. ``pointers`` are the
    params' data pointers when the views were made."""

    __slots__ = ("params", "size", "first", "pointers", "state_lists", "steps", "scalars",
                 "head")

    def __init__(self, params, first, pointers, arrays, state_lists, steps, scalars):
        self.params = params
        self.size = len(params)
        self.first = first
        self.pointers = pointers
        self.state_lists = state_lists
        self.steps = steps
        self.scalars = scalars
        self.head = (arrays, *state_lists, steps, scalars)  # C++'s group tuple, to the hyper


def adapt(rule):
    """The torch.optim.Optimizer counterpart of the steepest.optim class ``rule``."""
    signature = inspect.signature(rule.__init__)
    hyper_names = [n for n in signature.parameters if n not in ("self", "params", "nonfinite")]
    scalar_keys = list(rule.scalar_state)  # per-tensor numbers (NAdam's mu_product)
    scalar_initial = [float(v) for v in rule.scalar_state.values()]
    array_keys = [k for k in rule.state_keys if k != "step" and k not in rule.scalar_state]
    counts_steps = "step" in rule.state_keys
    # The rule's class-level settings (e.g. AdamW's decoupled decay) without building one.
    prototype = object.__new__(rule)

    def make_plan(opt):
        state = opt.state
        for p, s in list(state.items()):
            if not isinstance(s, _State):  # a plain dict (load_state_dict, the user): watch it
                dict.__setitem__(state, p, _State(opt, s))
        plan, first = [], 0
        for group in opt.param_groups:
            params = group["params"]
            for k, p in enumerate(params):
                _check_tensor(p, f"params[{first + k}]")
            states = [state.get(p, {}) for p in params]
            lists = tuple([None if s.get(key) is None else _state_view(s[key], first + k, key)
                           for k, s in enumerate(states)] for key in array_keys)
            steps = None
            if counts_steps:
                steps = np.array([_step_count(s["step"], first + k) if "step" in s else 0
                                  for k, s in enumerate(states)], dtype=np.int64)
                steps_t = torch.from_numpy(steps)
                for k, s in enumerate(states):
                    if "step" in s:
                        dict.__setitem__(s, "step", steps_t[k])
            scalars = None
            if scalar_keys:
                scalars = np.array([[_scalar_value(s[key], first + k, key) if key in s else init
                                     for key, init in zip(scalar_keys, scalar_initial)]
                                    for k, s in enumerate(states)],
                                   dtype=np.float64).reshape(len(params), len(scalar_keys))
                scalars_t = torch.from_numpy(scalars)
                for k, s in enumerate(states):
                    for j, key in enumerate(scalar_keys):
                        if key in s:
                            dict.__setitem__(s, key, scalars_t[k, j])
            plan.append(_GroupPlan(params, first, [p.data_ptr() for p in params],
                                   [p.detach().numpy() for p in params], lists, steps, scalars))
            first += len(params)
        return plan

    def current_plan(opt):
        plan = opt._plan
        if plan is not None and len(plan) == len(opt.param_groups):
            for gp, group in zip(plan, opt.param_groups):
                params = group["params"]
                if (gp.params is not params or gp.size != len(params)
                        or [p.data_ptr() for p in params] != gp.pointers):
                    break
            else:
                return plan
        opt._plan = plan = make_plan(opt)
        return plan

    def adopt_new_state(opt, plan, grads):
        """Store in ``opt.state`` (as tensors sharing their memory) the state arrays C++
        created, and views of the step counts and scalars of the params stepped first."""
        for gp in plan:
            steps_t = None if gp.steps is None else torch.from_numpy(gp.steps)
            scalars_t = None if gp.scalars is None else torch.from_numpy(gp.scalars)
            for k, p in enumerate(gp.params):
                if grads[gp.first + k] is None:
                    continue
                state = opt.state[p]
                for key, arrays in zip(array_keys, gp.state_lists):
                    if arrays[k] is not None and key not in state:
                        dict.__setitem__(state, key, torch.from_numpy(arrays[k]))
                if steps_t is not None and "step" not in state:
                    dict.__setitem__(state, "step", steps_t[k])
                for j, key in enumerate(scalar_keys):
                    if key not in state:
                        dict.__setitem__(state, key, scalars_t[k, j])

    def update(opt, closure=None):
        """One update of every parameter that has a gradient: the closure's loss when given a
        closure, else whether the update was applied (False: the non-finite guard skipped it)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        plan = current_plan(opt)
        grads = []
        for gp in plan:
            grads += _grad_views(gp.params, gp.first)
        args = [gp.head + rule._hyper(prototype, group) for group, gp in zip(opt.param_groups, plan)]
        try:
            created = rule._kernel(args, grads, opt._nonfinite)
        except BaseException:
            opt._plan = None  # its lists may hold state created for the failed step
            raise
        if created == SKIPPED:
            opt.skipped_steps += 1
            return loss if closure is not None else False
        if created:
            adopt_new_state(opt, plan, grads)
        opt.applied_steps += 1
        return loss if closure is not None else True

    # torch's wrapper of step: its hooks and profiler scope, for when they are in use.
    hooked_update = torch.optim.Optimizer.profile_hook_step(update)

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
            self._plan = None
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

        @property
        def state(self):
            """``state[p]``: the state dict of parameter tensor ``p``."""
            return self._state

        @state.setter
        def state(self, value):
            self._state = _TensorState(self, value)
            self._plan = None

        def __getstate__(self):
            saved = super().__getstate__()
            saved["state"] = {p: dict(s) for p, s in self.state.items()}
            saved.update(nonfinite=self.nonfinite, applied_steps=self.applied_steps,
                         skipped_steps=self.skipped_steps)
            return saved

        def __setstate__(self, saved):
            saved = dict(saved)
            state = saved.pop("state", None)
            self.nonfinite = saved.pop("nonfinite", "propagate")
            self.applied_steps = saved.pop("applied_steps", 0)
            self.skipped_steps = saved.pop("skipped_steps", 0)
            super().__setstate__(saved)
            self._plan = None
            if state is not None:
                self.state = state

        def add_param_group(self, param_group):
            super().add_param_group(param_group)
            group = self.param_groups[-1]
            first = sum(len(g["params"]) for g in self.param_groups[:-1])
            for k, p in enumerate(group["params"]):
                _check_tensor(p, f"params[{first + k}]")
            rule._checker(*rule._hyper(prototype, group))
            self._plan = None

        def step(self, closure=None):
            """One update of every parameter that has a gradient. Returns the closure's loss
            when given a closure (as torch), else True when the update was applied, False when
            the non-finite guard skipped it (see ``skipped_steps``)."""
            if (self._optimizer_step_pre_hooks or self._optimizer_step_post_hooks
                    or _GLOBAL_HOOKS[0] or _GLOBAL_HOOKS[1]
                    or _profiler._is_profiler_enabled):
                return hooked_update(self, closure)
            return update(self, closure)

        step.hooked = True  # torch.optim.Optimizer must not wrap it again

        def state_dict(self):
            """torch's state_dict, with ``step`` as torch keeps it (a 0-d tensor of torch's
            scalar dtype, float32 unless the default dtype is float64, a copy), and the counts of
            applied and skipped steps."""
            saved = super().state_dict()
            saved["applied_steps"] = self.applied_steps
            saved["skipped_steps"] = self.skipped_steps
            dtype = _torch_optimizer._get_scalar_dtype()
            saved["state"] = {
                i: {k: torch.tensor(float(v), dtype=dtype) if k == "step" else v
                    for k, v in s.items()}
                for i, s in saved["state"].items()}
            return saved

        def load_state_dict(self, state_dict):
            """torch's load_state_dict; the step counts are 0 in a state_dict without them."""
            counts = [_count(state_dict.get(k, 0), k) for k in ("applied_steps", "skipped_steps")]
            super().load_state_dict(state_dict)
            self.applied_steps, self.skipped_steps = counts

    Adapter.__name__ = Adapter.__qualname__ = rule.__name__
    Adapter.__module__ = __name__.rsplit(".", 1)[0]
    Adapter.__init__.__signature__ = signature.replace(parameters=[
        *signature.parameters.values(),
        *(inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v)
          for k, v in _TORCH_SWITCHES.items())])
    Adapter.__doc__ = (f"``torch.optim.{rule.__name__}``'s drop-in, stepping with steepest's fused "
                       f"kernel on the tensors' memory.\n\n{rule.__doc__}")
    return Adapter
