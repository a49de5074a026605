"""``adapt(rule)``: a torch.optim.Optimizer subclass that steps with a steepest rule's kernel.

The kernel works on NumPy views of the tensors' own memory (``Tensor.numpy()`` shares it), so
the update happens in place, as torch's does. State is kept under torch's keys (``exp_avg``,
``momentum_buffer``, ``step``, ...) and ``state_dict()`` gives torch's format (``step`` a 0-d
tensor of torch's scalar dtype): a state_dict saved by either optimizer loads into the other.

bfloat16 and float16 parameters are stepped as torch's ``fused=True`` steps them: the
arithmetic in float32, the parameter and its state (kept in the parameter's dtype, as torch
keeps it) rounded to nearest even (every rule but Adafactor; optim/_precision.py). NumPy has no
bfloat16: such tensors reach C++ as ``ml_dtypes.bfloat16`` views, so they need ml_dtypes
(``pip install steepest[bfloat16]``).

Tensors the kernel cannot take as they are, stepped as torch steps them:
- a complex parameter is stepped as its real view (``torch.view_as_real``, shape (..., 2)), as
  torch's rules do; its state is complex, as torch's (a view of the real state C++ keeps);
- a non-contiguous parameter (a transposed weight, a slice) is stepped through a contiguous
  working copy, copied in before the kernel and back after it, within the same step: two copies
  of the parameter a step, and one of its size in memory. Its state is contiguous;
- a non-contiguous or complex gradient is read through a contiguous (real) copy.
A parameter whose elements share memory (an expanded tensor) cannot be updated in place, by
torch either: it is refused by name.

A step costs one call into C++ for all groups, and little Python beside it: as in
``steepest.optim``, the lists C++ gets for each group (views of the params and of their state,
the step counts) are built once and kept until something changes them (optim/_plan.py):
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

from ..optim._plan import adopt_new_state, current_plan
from ..optim._precision import bfloat16, bits_view
from ..optim.optimizer import SKIPPED, StepCounts, _count, _State

# torch's switches between its own implementations: accepted so that code written for torch runs
# unchanged, and meaningless here (the kernel is always fused).
_TORCH_SWITCHES = {"foreach": None, "fused": None, "capturable": False, "differentiable": False}
_FLOATS = (torch.float32, torch.float64, torch.bfloat16, torch.float16)
# C++'s 16-bit options of a rule's step (bindings/step.h): state in the param's dtype,
# 16-bit ones included, rounded to nearest even, no master copies: torch's fused steps.
_LIKE_PARAM = (2, 0, 0, 0, None)
_COMPLEX = (torch.complex64, torch.complex128)
# Rules whose torch counterpart refuses complex parameters (at the step), and its words.
_REAL_ONLY = {"Adafactor": "Adafactor does not support complex parameters"}
# Rules that check tensor betas as torch.optim.Adam does (the others take any 1-element betas).
_ADAM_BETAS = ("Adam", "AdamW", "Lion", "Lamb")
# torch's registries of hooks for every optimizer (dicts it mutates in place).
_GLOBAL_HOOKS = (_torch_optimizer._global_optimizer_pre_hooks,
                 _torch_optimizer._global_optimizer_post_hooks)


def _check_tensor(t, name):
    """Raise, naming the tensor (``params[3]``), unless steepest can step it."""
    if not t.is_cpu:
        raise ValueError(f"{name} is on {t.device}; steepest.torch updates CPU tensors only "
                         "(keep the optimizer's parameters on the CPU or use torch.optim)")
    if t.dtype not in _FLOATS and t.dtype not in _COMPLEX:
        raise TypeError(f"{name}: expected a float32, float64, bfloat16 or float16 tensor (or a "
                        f"complex64 or complex128 one, stepped as its real view), got {t.dtype}")
    if t.dtype == torch.bfloat16 and bfloat16() is None:
        raise TypeError(f"{name}: a bfloat16 tensor reaches C++ as an ml_dtypes.bfloat16 array: "
                        "pip install ml_dtypes (or steepest[bfloat16])")
    if t.layout != torch.strided:
        raise ValueError(f"{name}: sparse tensors are not supported")


def _check_param(p, name):
    _check_tensor(p, name)
    # 1: some elements certainly share memory (2, "too hard to tell", is never an expanded
    # tensor); torch.optim's in-place update and our copy back both refuse such a tensor.
    if torch._debug_has_internal_overlap(p) == 1:
        raise ValueError(f"{name}: some of its elements share memory (an expanded tensor?), so "
                         "it cannot be updated in place (torch.optim refuses it too); clone() it")


def _in_place(t):
    """Whether C++ can work on the memory of ``t`` itself (through its real view if complex):
    contiguous, with no lazy conjugation or negation."""
    return t.is_contiguous() and not t.is_conj() and not t.is_neg()


def _real_array(t):
    """A NumPy view of ``t`` (contiguous), of its real view if complex, of its bits as
    ml_dtypes.bfloat16 if bfloat16."""
    if t.dtype == torch.bfloat16:
        return bits_view(t.view(torch.int16).numpy().view(np.uint16))
    return (torch.view_as_real(t) if t.is_complex() else t).numpy()


def _grad_array(g, name):
    """The gradient ``g`` as C++ reads it, checked by name: a view of its own memory, or of a
    contiguous copy of it."""
    _check_tensor(g, name)
    g = g.detach()  # a grad that requires grad (create_graph=True)
    if not _in_place(g):
        g = g.resolve_conj().resolve_neg().contiguous()
    return _real_array(g)


def _checked_grads(plan):
    return [None if (g := p.grad) is None else _grad_array(g, f"grads[{gp.first + k}]")
            for gp in plan for k, p in enumerate(gp.params)]


def _grads(plan):
    """Each param's gradient for C++ (None where it has none): in a group of plain params, a
    view of each gradient's own memory, unchecked (C++ refuses one it cannot read in place, a
    non-contiguous one say, and update steps again with _checked_grads); elsewhere
    _grad_array."""
    grads = []
    try:
        for gp in plan:
            if gp.direct:
                grads += [None if (g := p.grad) is None else g.numpy() for p in gp.params]
            else:
                grads += [None if (g := p.grad) is None
                          else _grad_array(g, f"grads[{gp.first + k}]")
                          for k, p in enumerate(gp.params)]
    except (TypeError, RuntimeError):  # a tensor NumPy cannot view: say which, and why
        return _checked_grads(plan)
    return grads


def _state_view(state, key, index):
    """A NumPy view of the state tensor ``state[key]`` (of parameter ``index``); a
    non-contiguous one is first replaced by a contiguous copy (the state C++ keeps)."""
    value = state[key]
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"state[{index}][{key!r}]: expected a tensor, got {type(value).__name__}")
    _check_tensor(value, f"state[{index}][{key!r}]")
    value = value.detach()
    if not _in_place(value):
        value = value.resolve_conj().resolve_neg().contiguous()
        dict.__setitem__(state, key, value)
    return _real_array(value)


class _TensorState(_State):
    """``opt.state``: param -> its state dict, made (empty) on first access, as torch's
    defaultdict does. Changing an entry, or a param's dict, drops the kept plan. Keys other
    than params, and values other than dicts, are kept as torch keeps them."""

    __slots__ = ()

    def __missing__(self, param):
        state = _State(self._owner)
        dict.__setitem__(self, param, state)  # an empty state changes nothing C++ sees
        return state


class TensorView:
    """How the drop-in views a parameter in the step plan (optim/_plan.py): a NumPy view of the
    tensor's own memory (of its real view if complex), or of a contiguous working copy; its
    state tensors likewise; state keyed by the tensor; the params' data pointers tell when a
    param's memory moved. ``name``: the rule's (whether it takes complex params)."""

    always_state = True  # torch's state[p] exists once p has been stepped

    def __init__(self, name):
        self.name = name

    @staticmethod
    def key(param, index):
        return param

    def arrays(self, params, first):
        arrays, copies, complex_ = [], [], []
        for k, p in enumerate(params):
            _check_param(p, f"params[{first + k}]")
            if p.is_complex() and self.name in _REAL_ONLY:
                raise RuntimeError(_REAL_ONLY[self.name])
            if _in_place(p):
                arrays.append(_real_array(p.detach()))
            else:
                work = torch.empty(p.shape, dtype=p.dtype)
                arrays.append(_real_array(work))
                copies.append((k, p, work))
            if p.is_complex():
                complex_.append(k)
        return arrays, copies, complex_

    @staticmethod
    def pointers(params):
        return [p.data_ptr() for p in params]

    @staticmethod
    def state_array(state, key, index):
        return _state_view(state, key, index)

    @staticmethod
    def counts(array):
        return torch.from_numpy(array)

    @staticmethod
    def new_state(array, is_complex):
        if array.dtype == np.uint16:  # bfloat16 state, as its bits
            return torch.from_numpy(array.view(np.int16)).view(torch.bfloat16)
        value = torch.from_numpy(array)
        return torch.view_as_complex(value) if is_complex else value


def adapt(rule):
    """The torch.optim.Optimizer counterpart of the steepest.optim class ``rule``."""
    name = rule.__name__
    signature = inspect.signature(rule.__init__)
    hyper_names = [n for n in signature.parameters if n not in ("self", "params", "nonfinite")]
    # What torch's __setstate__ fills in a loaded group that lacks a key (a state_dict of an
    # older release): the value the key's behaviour had before it existed, its default.
    group_defaults = {n: signature.parameters[n].default for n in hyper_names}
    group_defaults.update(_TORCH_SWITCHES)
    fixed_hyper = getattr(rule, "fixed_hyper", {})  # AdamW's decoupled decay
    view = TensorView(name)
    precision = (_LIKE_PARAM,) if rule._takes_16bit else ()
    # The rule's class-level settings (e.g. AdamW's fixed_hyper) without building one.
    prototype = object.__new__(rule)

    def check_hyper(group):
        """Raise torch's error (its words, torch.optim.Adam's order) on an invalid
        hyperparameter of ``group``: a tensor lr, then the values (the rule's checks), then
        tensor betas."""
        lr = group.get("lr")
        foreach_only = group.get("foreach") and not group.get("capturable")
        if isinstance(lr, torch.Tensor):
            if foreach_only and name in ("Adam", "AdamW"):
                raise ValueError("lr as a Tensor is not supported for capturable=False and "
                                 "foreach=True")
            if lr.numel() != 1:
                raise ValueError("Tensor lr must be 1-element")
        rule._checker(*rule._hyper(prototype, group))
        betas = group.get("betas")
        if name in _ADAM_BETAS:
            if isinstance(betas[0], torch.Tensor) != isinstance(betas[1], torch.Tensor):
                raise ValueError("betas must be either both floats or both Tensors")
            for i, beta in enumerate(betas):
                if isinstance(beta, torch.Tensor):
                    if foreach_only:
                        raise ValueError(f"betas[{i}] as a Tensor is not supported for "
                                         "capturable=False and foreach=True")
                    if beta.numel() != 1:
                        raise ValueError(f"Tensor betas[{i}] must be 1-element")

    def run(opt, plan, grads):
        """The kernel's call, between the copies in and out of the working copies."""
        args = [gp.args(rule._hyper(prototype, group))
                for group, gp in zip(opt.param_groups, plan)]
        for gp in plan:
            for k, p, work in gp.copies:
                if grads[gp.first + k] is not None:
                    work.copy_(p.detach())
        created = opt._kernel(args, grads, opt._nonfinite, opt._counts, opt._step_cache,
                              *precision)
        copy_back(plan, grads)
        return created

    def copy_back(plan, grads):
        """Copy the working copies into their params (a skipped step left them as copied in)."""
        for gp in plan:
            for k, p, work in gp.copies:
                if grads[gp.first + k] is not None:
                    p.detach().copy_(work)

    def update(opt, closure=None):
        """One update of every parameter that has a gradient: the closure's loss when given a
        closure, else whether the update was applied (False: the non-finite guard skipped it)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        plan = current_plan(opt, view, rule)
        grads = _grads(plan)
        try:
            try:
                created = run(opt, plan, grads)
            except (TypeError, ValueError):
                if not any(gp.direct for gp in plan):
                    raise
                # A gradient C++ cannot read in place (not contiguous, say): C++ refused the
                # step before writing anything but the new state of the plan's lists, which
                # a new plan drops. Step again, each gradient checked and copied if need be.
                opt._plan = None
                plan = current_plan(opt, view, rule)
                grads = _checked_grads(plan)
                created = run(opt, plan, grads)
        except BaseException:
            # C++ advances the step counters as a step's last act. A KeyboardInterrupt that
            # arrives after the call returned must leave the step fully counted: its copies
            # back and its new state done. Otherwise the step did not happen, but the plan's
            # lists may hold state created during the checks: drop them.
            if int(opt._counts.sum()) != opt._steps_seen:
                opt._steps_seen += 1
                copy_back(plan, grads)
                adopt_new_state(opt, opt.state, plan, grads, view, rule)
            else:
                opt._plan = None
            raise
        opt._steps_seen += 1
        if created == SKIPPED:
            return loss if closure is not None else False
        if created:
            adopt_new_state(opt, opt.state, plan, grads, view, rule)
        return loss if closure is not None else True
    # torch's wrapper of step: its hooks and profiler scope, for when they are in use.
    hooked_update = torch.optim.Optimizer.profile_hook_step(update)

    class Adapter(StepCounts, torch.optim.Optimizer):
        def __init__(self, params, *args, **kwargs):
            switches = {k: kwargs.pop(k, v) for k, v in _TORCH_SWITCHES.items()}
            if switches["capturable"] or switches["differentiable"]:
                raise ValueError(f"{name}: capturable and differentiable are not supported by "
                                 "steepest.torch")
            bound = signature.bind(None, None, *args, **kwargs)
            bound.apply_defaults()
            defaults = {n: bound.arguments[n] for n in hyper_names}
            if "betas" in defaults:
                defaults["betas"] = tuple(defaults["betas"])
            defaults.update(switches)
            defaults.update(fixed_hyper)
            check_hyper(defaults)  # before params are touched, as torch
            self._plan = None
            self.nonfinite = bound.arguments["nonfinite"]  # optimizer-wide, not a group's
            self._new_counts()
            super().__init__(params, defaults)

        _kernel = staticmethod(rule._kernel)

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
            saved["state"] = {p: dict(s) if isinstance(s, dict) else s
                              for p, s in self.state.items()}
            saved.update(nonfinite=self.nonfinite, applied_steps=self.applied_steps,
                         skipped_steps=self.skipped_steps)
            return saved

        def __setstate__(self, saved):
            """For pickle and copy, and for torch's load_state_dict (state and param_groups
            only: the guard and the counts stay). As torch's rules do, a group lacking a key
            (an older release's) gets its default, and fixed_hyper is set in every group."""
            saved = dict(saved)
            state = saved.pop("state", None)
            self.nonfinite = saved.pop("nonfinite", getattr(self, "nonfinite", "propagate"))
            if "_counts" not in self.__dict__:  # unpickling
                self._new_counts()
            self.applied_steps = saved.pop("applied_steps", getattr(self, "applied_steps", 0))
            self.skipped_steps = saved.pop("skipped_steps", getattr(self, "skipped_steps", 0))
            super().__setstate__(saved)
            for group in self.param_groups:
                for key, value in group_defaults.items():
                    group.setdefault(key, value)
                group.update(fixed_hyper)
            self._plan = None
            if state is not None:
                self.state = state

        def add_param_group(self, param_group):
            super().add_param_group(param_group)
            group = self.param_groups[-1]
            first = sum(len(g["params"]) for g in self.param_groups[:-1])
            for k, p in enumerate(group["params"]):
                _check_param(p, f"params[{first + k}]")
            check_hyper(group)
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
            saved["state"] = {  # the params' states; other keys (torch allows any) as they are
                i: {k: torch.tensor(float(v), dtype=dtype) if k == "step" else v
                    for k, v in s.items()} if isinstance(i, int) and isinstance(s, dict) else s
                for i, s in saved["state"].items()}
            return saved

        def load_state_dict(self, state_dict):
            """torch's load_state_dict; the step counts are 0 in a state_dict without them."""
            counts = [_count(state_dict.get(k, 0), k) for k in ("applied_steps", "skipped_steps")]
            super().load_state_dict(state_dict)
            self.applied_steps, self.skipped_steps = counts

    Adapter.__name__ = Adapter.__qualname__ = name
    Adapter.__module__ = __name__.rsplit(".", 1)[0]
    Adapter.__init__.__signature__ = signature.replace(parameters=[
        *signature.parameters.values(),
        *(inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v)
          for k, v in _TORCH_SWITCHES.items())])
    Adapter.__doc__ = (f"``torch.optim.{name}``'s drop-in, stepping with steepest's fused "
                       f"kernel on the tensors' memory.\n\n{rule.__doc__}")
    return Adapter
