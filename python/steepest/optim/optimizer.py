"""The Optimizer base: parameter groups, per-parameter state, state_dict.

A parameter is a float32/float64 NumPy array updated in place, or an object whose ``.data`` is
such an array and whose ``.grad`` holds its gradient (what ``steepest.nn`` layers expose).
Parameters are numbered by their position in the flattened list of all groups: ``opt.state[i]``
is the state of parameter ``i``, and the state_dict uses the same numbers (as torch.optim does).

Per-tensor scalar state (NAdam's ``mu_product``): a rule lists it in ``scalar_state`` with its
initial value. Each group keeps one float64 array of shape (n, K) for it beside the step counts;
C++ advances it, and ``state[i][key]`` is a 0-d view into it, as ``state[i]['step']`` is.

Non-finite gradients (``nonfinite=``, every optimizer): "propagate" (the default, torch's
behaviour) lets NaN/Inf flow into the update; "skip" makes a step whose gradients hold a NaN or
an infinity change nothing (parameters, state, step counts) and counts it in
``skipped_steps``; "raise" raises FloatingPointError naming the first such ``grads[k]`` and
changes nothing. The check is one threaded pass over the gradients inside the step's C++ call,
after the input checks and before anything is written (none for "propagate"). ``step(grads)``
returns True when it applied the update, False when it skipped it; ``applied_steps`` and
``skipped_steps`` count both and are saved in the state_dict. Schedulers and averages (EMA,
SWA) built on an optimizer read these counts: when every optimizer step since their last
``step()``/``update()`` was skipped, they do nothing (``only_skipped``).

A step is one call into C++ for all groups: the loops over groups and tensors, every input check
and the creation of new state run there. The lists handed to C++ (the state arrays of each
group, its step counts: the step plan, optim/_plan.py, shared with the torch drop-ins) are built
once and kept until something changes them: the state, a group's parameters, a load_state_dict.
So are the group tuples with the hyperparameters, until a group dict is changed or replaced
(``Optimizer._group_args``).
"""

import functools
import math
import numbers
from collections.abc import Mapping

import numpy as np

from .. import _core
from ..reference import quantize as _quantize
from ._plan import ArrayView, adopt_new_state, current_plan
from ._precision import Precision, half_format

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

# Keys that learning-rate schedulers add to param groups (as torch's do), carried through a
# state_dict beside the optimizer's own hyperparameters.
SCHEDULER_KEYS = frozenset({"initial_lr", "max_lr", "min_lr", "base_momentum", "max_momentum"})


# The non-finite guard's policies; C++ takes a policy as its index here.
NONFINITE = ("propagate", "skip", "raise")
# What a step's C++ call returns when the guard skipped it.
SKIPPED = -1


def nonfinite_code(policy):
    """The index of a ``nonfinite=`` policy; ValueError naming the choices otherwise."""
    if not (isinstance(policy, str) and policy in NONFINITE):
        raise ValueError(f"nonfinite must be 'propagate', 'skip' or 'raise', got {policy!r}")
    return NONFINITE.index(policy)


def step_counts(optimizer):
    """``[applied_steps, skipped_steps]`` of a steepest optimizer (or wrapper, or drop-in);
    None for an optimizer that does not count them."""
    applied = getattr(optimizer, "applied_steps", None)
    skipped = getattr(optimizer, "skipped_steps", None)
    return None if applied is None or skipped is None else [int(applied), int(skipped)]


def only_skipped(seen, now):
    """True when between the step counts ``seen`` and ``now`` (of step_counts) the optimizer
    stepped at least once and skipped every step: a scheduler or an average then holds. With no
    optimizer step in between (a scheduler stepped on its own) it does not hold, as in torch."""
    return seen is not None and now is not None and now[0] == seen[0] and now[1] != seen[1]


def prepare_load(obj, state_dict):
    """Check a state dict for ``obj`` (an optimizer, a wrapper, a scheduler) without changing
    anything and return the function that applies it: ``obj._prepare_load(state_dict)``. An
    object without ``_prepare_load`` (a torch optimizer) is checked only as it loads."""
    prepare = getattr(obj, "_prepare_load", None)
    if prepare is None:
        return lambda: obj.load_state_dict(state_dict)
    return prepare(state_dict)


def loadable(value, target, what, shape=None):
    """``value`` as an array fit to be loaded into ``target`` (an ndarray), or TypeError /
    ValueError naming ``what``: the shape exactly ``shape`` (by default the target's; no
    broadcasting) and a floating-point dtype (an int, bool or complex array is refused, not cast
    silently). Its copy into the target casts from one float dtype to another (float64 saved,
    float32 loaded): ``np.copyto(target, a, casting="same_kind")``."""
    a = np.asarray(value)
    expected = target.shape if shape is None else tuple(shape)
    if a.shape != expected:
        raise ValueError(f"{what} has shape {a.shape}, " + (
            f"the parameter has {target.shape}" if expected == target.shape else
            f"expected {expected} (the parameter has {target.shape})"))
    if a.dtype.kind != "f":
        raise TypeError(f"{what} has dtype {a.dtype}, expected a floating-point array (the "
                        f"parameter is {target.dtype})")
    return a


def _data(p):
    """The array of a parameter: the array itself, or its ``.data``."""
    return p if isinstance(p, np.ndarray) else p.data


@functools.lru_cache(maxsize=None)
def _hyper_fields(names):
    """The C++ rule's hyperparameter names (``_core.rules[rule]["hyper"]``) as group fields:
    ``(name, key, index)`` per name ("betas[1]" is ("betas[1]", "betas", 1), "lr" is ("lr",
    "lr", None)), and the length each sequence must have ({"betas": 2})."""
    fields, lengths = [], {}
    for name in names:
        key, bracket, index = name.partition("[")
        if bracket:
            index = int(index.rstrip("]"))
            lengths[key] = max(lengths.get(key, 0), index + 1)
        fields.append((name, key, index if bracket else None))
    return tuple(fields), lengths


class _Watched(dict):
    """A dict that tells its optimizer when it changes (``_changed``), through every method
    that changes a dict."""

    __slots__ = ("_owner",)

    def __init__(self, owner, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._owner = owner

    def _changed(self):
        raise NotImplementedError

    def __reduce__(self):
        # Rebuilt from its owner and items at once: pickle's and copy's default for a dict
        # subclass sets the items first, through __setitem__, before there is an owner to tell.
        return (type(self), (self._owner, dict(self)))

    def __setitem__(self, key, value):
        self._changed()
        super().__setitem__(key, value)

    def __delitem__(self, key):
        self._changed()
        super().__delitem__(key)

    def clear(self):
        self._changed()
        super().clear()

    def pop(self, *args):
        self._changed()
        return super().pop(*args)

    def popitem(self):
        self._changed()
        return super().popitem()

    def setdefault(self, key, default=None):
        self._changed()
        return super().setdefault(key, default)

    def update(self, *args, **kwargs):
        self._changed()
        super().update(*args, **kwargs)

    def __ior__(self, other):
        self._changed()
        return super().__ior__(other)


class _State(_Watched):
    """``opt.state`` and the state of each parameter: a change rebuilds the lists kept for C++."""

    __slots__ = ()

    def _changed(self):
        self._owner._plan = None


class _Group(_Watched):
    """A parameter group (an entry of ``opt.param_groups``): a change drops the group tuples kept
    for C++ (Optimizer.step), so that the next step reads the hyperparameters again."""

    __slots__ = ()

    def _changed(self):
        self._owner._kept = None


def _immutable(value):
    """Whether ``value`` cannot change without the dict holding it being told: a number, a
    string, None or a tuple of such (a list, a 0-d array or a tensor can change in place)."""
    if isinstance(value, tuple):
        return all(_immutable(v) for v in value)
    return value is None or isinstance(value, (int, float, complex, str, np.generic))


# How steepest.optim views its parameters and their state in the step plan (optim/_plan.py).
_ARRAYS = ArrayView()


# The largest count (of steps, epochs) a state dict may hold. No run reaches it (2**62 steps at
# one step a nanosecond take 146 years), so a larger count comes from a damaged or hand-made
# state dict; the margin below 2**63 - 1 keeps every count loaded far from int64 overflow in the
# C++ step (which adds 1) and wherever counts are added up.
MAX_COUNT = 2**62


def whole_count(value, what, least=0):
    """A saved count as an int in [least, MAX_COUNT]: an int, or a float or 0-d array holding a
    whole number (torch saves step counts as float tensors). TypeError for anything else, a
    bool included; ValueError out of range. ``what`` names the count in the messages."""
    number = value.item() if getattr(value, "ndim", None) == 0 else value  # 0-d array, tensor
    if isinstance(number, (bool, np.bool_)):
        raise TypeError(f"{what}: expected a whole number of steps, got a bool ({number!r})")
    if isinstance(number, numbers.Integral):
        count = int(number)
    elif isinstance(number, numbers.Real) and math.isfinite(number) and float(number).is_integer():
        count = int(number)
    else:
        raise TypeError(f"{what}: expected a whole number of steps, got {number!r}")
    if not least <= count <= MAX_COUNT:
        raise ValueError(f"{what}: expected a count >= {least} and <= 2**62, got {number!r}")
    return count


def _step_count(value, index):
    """A saved step count as an int (torch saves it as a float tensor)."""
    return whole_count(value, f"state[{index}]['step']")


def _count(value, key):
    """A saved count of steps (applied_steps, skipped_steps) as an int >= 0."""
    return whole_count(value, f"loaded state dict's {key}")


def _scalar_value(value, index, key):
    """A saved per-tensor scalar state as a float."""
    if getattr(value, "ndim", None) == 0:  # a 0-d NumPy array or torch tensor
        value = value.item()
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        try:
            return float(value)
        except OverflowError:  # an int beyond float64's range
            raise ValueError(f"state[{index}][{key!r}]: expected a finite number, got an int "
                             "too large for a float") from None
    raise TypeError(f"state[{index}][{key!r}]: expected a number, got {value!r}")


class StepCounts:
    """The non-finite guard's policy and the step counts of an optimizer that steps in C++
    (Optimizer and the torch drop-ins): ``_counts`` is [applied_steps, skipped_steps], which C++
    advances as a step's last act; ``_steps_seen`` the steps whose bookkeeping (new state
    adopted) is done. A step that raised happened if and only if they differ."""

    # What the last step's checks passed, kept for the next (_core.StepCache); None in an
    # optimizer pickled before it existed.
    _step_cache = None

    def _new_counts(self):
        self._counts = np.zeros(2, np.int64)
        self._steps_seen = 0
        self._step_cache = _core.StepCache()

    @property
    def nonfinite(self):
        """The non-finite guard's policy: "propagate", "skip" or "raise"."""
        return NONFINITE[self._nonfinite]

    @nonfinite.setter
    def nonfinite(self, policy):
        self._nonfinite = nonfinite_code(policy)

    @property
    def applied_steps(self):
        """The number of steps that updated the parameters."""
        return int(self._counts[0])

    @applied_steps.setter
    def applied_steps(self, count):
        self._counts[0] = count
        self._steps_seen = int(self._counts.sum())

    @property
    def skipped_steps(self):
        """The number of steps the non-finite guard skipped."""
        return int(self._counts[1])

    @skipped_steps.setter
    def skipped_steps(self, count):
        self._counts[1] = count
        self._steps_seen = int(self._counts.sum())


class Optimizer(StepCounts):
    """Base class of every update rule.

    Subclasses set ``state_keys`` (the names of their per-parameter state, "step" first if they
    count steps, the arrays in the order their C++ rule takes them), ``required_state`` (the keys
    every stepped parameter has), ``_kernel``, ``_checker`` and ``_hyper_names``
    (the rule's ``_core.<rule>_step``, ``_core.check_<rule>`` and
    ``_core.rules[<rule>]["hyper"]``); ``_hyper`` reads a group's hyperparameters by those
    names (a group key each, or ``key[i]`` of a sequence such as betas). Their
    constructors take ``nonfinite`` (keyword-only) and pass it on: it is optimizer-wide, not a
    group's hyperparameter.

    The constructors of the rules with 16-bit storage (``_core.rules[rule]["takes_16bit"]``:
    all of them) also take the keywords ``state_dtype``, ``master_weights``, ``rounding`` and
    ``seed`` (optim/_precision.py: bfloat16 state, bfloat16/float16 params; int8 state for the
    rules that take it), added here to every such class's constructor.
    """

    state_keys = ()
    required_state = ()  # the keys every stepped parameter's state has
    scalar_state = {}  # per-tensor scalar state: key -> initial value (in state_keys too)
    _kernel = None
    _checker = None
    _hyper_names = ()
    fixed_hyper = {}  # hyperparameters the class sets whatever a group says (AdamW's decay)
    _none_as = {}  # a C++ name -> the value a group's None stands for (LAMB's max_weight_norm)
    _takes_16bit = False  # the rule runs on 16-bit storage: it takes the 16-bit options
    _int8 = False  # it takes state_dtype="int8"
    _non_negative = ()  # its state keys of the unsigned 8-bit map
    _precision = Precision()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        kernel = cls.__dict__.get("_kernel")
        if kernel is not None:
            rule = _core.rules[kernel.__func__.__name__[:-len("_step")]]
            cls._takes_16bit = rule["takes_16bit"]
            cls._int8 = rule["int8"]
            cls._non_negative = rule["non_negative"]
        if cls._takes_16bit and "__init__" in cls.__dict__:
            cls.__init__ = _taking_precision(cls.__dict__["__init__"])

    def __init__(self, params, defaults, nonfinite="propagate"):
        self.nonfinite = nonfinite
        self._new_counts()
        if isinstance(params, np.ndarray) or hasattr(params, "data"):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of arrays or "
                f"dicts, but got {type(params).__name__}"
            )
        self.defaults = dict(defaults)
        self.param_groups = []
        self._plan = None
        self._kept = None  # (plan, hyperparameters, group tuples) while they hold (_group_args)
        self._state = _State(self)
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __getstate__(self):
        # For pickle and copy: the plan's arrays are shared with the state (state[i]['step'] is
        # a view of its step counts), which a copy would part; the copy rebuilds its plan.
        state = self.__dict__.copy()
        state.update(_plan=None, _kept=None)
        return state

    @property
    def state(self):
        """``state[i]``: a dict of the state of parameter ``i`` (flattened over the groups)."""
        return self._state

    @state.setter
    def state(self, value):
        self._state = _State(self, value)
        self._plan = None  # the next step watches the per-parameter dicts too

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])

    def add_param_group(self, param_group):
        """Add a group ``{"params": [...], <hyperparameter>: value, ...}``; missing
        hyperparameters take the optimizer's defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        params = param_group.get("params")
        if params is None:
            raise ValueError("param_group has no 'params'")
        single = isinstance(params, np.ndarray) or hasattr(params, "data")
        params = [params] if single else list(params)
        first = sum(len(g["params"]) for g in self.param_groups)
        seen = {id(_data(p)) for g in self.param_groups for p in g["params"]}
        for k, p in enumerate(params):
            data = p if isinstance(p, np.ndarray) else getattr(p, "data", None)
            if not isinstance(data, np.ndarray):
                raise TypeError(
                    f"params[{first + k}]: expected a numpy.ndarray or an object with an "
                    f"ndarray .data, got {type(p).__name__}"
                )
            if data.dtype not in _FLOATS and not (self._takes_16bit and half_format(data.dtype)):
                half = " (or bfloat16, float16)" if self._takes_16bit else ""
                raise TypeError(
                    f"params[{first + k}]: expected a float32 or float64 array{half} in native "
                    f"byte order, got {data.dtype}"
                )
            self._precision.check_param(data, first + k)
            if id(data) in seen:
                raise ValueError(f"params[{first + k}]: some parameters appear more than once")
            seen.add(id(data))
        group = _Group(self, self.defaults)
        group.update(param_group)
        group["params"] = params
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise ValueError(f"param_group has unknown hyperparameters: {sorted(unknown)}")
        self._check_group(group)
        self.param_groups.append(group)
        self._plan = None

    def zero_grad(self, set_to_none=False):
        """Zero every ``.grad`` array in place (keeping the buffers), or set it to None."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = getattr(p, "grad", None)
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    grad[...] = 0

    def step(self, grads=None):
        """Update every parameter in place from its gradient.

        ``grads`` is a list aligned with the parameters (flattened across groups); without it
        each parameter's ``.grad`` is used. A parameter whose gradient is None is skipped, as in
        torch. Invalid input raises before any array changes. Returns True when the update was
        applied, False when the non-finite guard skipped it (``nonfinite="skip"``).
        """
        plan = self._current_plan()
        if grads is None:
            grads = self._grads_of_params()
        elif type(grads) is not list:
            if isinstance(grads, np.ndarray):
                raise TypeError("step: grads must be a list of arrays, one per parameter, "
                                "not an ndarray")
            grads = list(grads)
        args = self._group_args(plan)
        try:
            if self._precision.default:
                created = self._kernel(args, grads, self._nonfinite, self._counts,
                                       self._step_cache)
            else:
                masters = ([gp.masters for gp in plan] if self._precision.master_weights
                           else None)
                created = self._kernel(args, grads, self._nonfinite, self._counts,
                                       self._step_cache,
                                       self._precision.args(self._counts.sum(), masters))
        except BaseException:
            self._after_exception(plan, grads)
            raise
        self._steps_seen += 1
        if created == SKIPPED:  # nothing changed, the plan's lists included
            return False
        if created:
            self._adopt_new_state(plan, grads)
        return True

    def _after_exception(self, plan, grads):
        """Bookkeeping for a step that raised. C++ advances the step counters as its last act,
        so they tell whether the step happened: a KeyboardInterrupt may arrive after the call
        returned, and the step must then fully count (its new state adopted). Otherwise it did
        not happen, but its plan's lists may hold state created during the checks: drop them."""
        if int(self._counts.sum()) != self._steps_seen:
            self._steps_seen += 1
            self._adopt_new_state(plan, grads)
        else:
            self._plan = None

    def state_dict(self):
        """A snapshot (arrays copied) of the state and the hyperparameters, keyed by parameter
        number, in torch.optim's layout, with the counts of applied and skipped steps."""
        state = {}
        for i, s in self.state.items():
            state[i] = {
                k: int(v) if k == "step" else float(v) if k in self.scalar_state
                else v.copy() if isinstance(v, np.ndarray) else v
                for k, v in s.items()
            }
        groups, index = [], 0
        for group in self.param_groups:
            saved = {k: v for k, v in group.items() if k != "params"}
            saved["params"] = list(range(index, index + len(group["params"])))
            index += len(group["params"])
            groups.append(saved)
        return {"state": state, "param_groups": groups, "applied_steps": self.applied_steps,
                "skipped_steps": self.skipped_steps}

    def load_state_dict(self, state_dict):
        """Restore a state_dict of the same optimizer over parameters of the same shapes. The
        arrays are copied (and cast to each parameter's dtype, from a floating-point dtype
        only); nothing changes on error. A state_dict without step counts (torch's) sets them
        to 0."""
        self._prepare_load(state_dict)()

    def _prepare_load(self, state_dict):
        """Check ``state_dict`` and build what it restores, changing nothing; return the
        function that applies it, which cannot fail (steepest.load checks the optimizer, the
        scheduler and the model before it applies any)."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"loaded state dict must be a dict, got {type(state_dict).__name__}")
        for key, kind in (("state", Mapping), ("param_groups", list)):
            if not isinstance(state_dict.get(key), kind):
                raise ValueError(f"loaded state dict's {key!r} must be a {kind.__name__}, got "
                                 f"{type(state_dict.get(key)).__name__}")
        counts = [_count(state_dict.get(key, 0), key) for key in ("applied_steps", "skipped_steps")]
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(saved_groups)} parameter groups, the optimizer "
                f"has {len(self.param_groups)}"
            )
        number = {}  # saved parameter number -> (our number, array)
        index = 0
        for g, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if not isinstance(saved, Mapping) or not isinstance(saved.get("params"), list):
                raise ValueError(f"loaded state dict's parameter group {g} must be a dict with "
                                 "a list 'params'")
            unknown = set(saved) - set(self.defaults) - SCHEDULER_KEYS - {"params"}
            if unknown:
                raise ValueError(
                    f"loaded state dict's parameter group {g} has hyperparameters "
                    f"{sorted(unknown)} that {type(self).__name__} does not have"
                )
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"loaded state dict's parameter group {g} has {len(saved['params'])} "
                    f"parameters, the optimizer's has {len(group['params'])}"
                )
            for saved_index, p in zip(saved["params"], group["params"]):
                if saved_index in number:
                    raise ValueError(f"loaded state dict names parameter {saved_index!r} twice")
                number[saved_index] = (index, _data(p))
                index += 1
        state = {}
        for saved_index, saved_state in state_dict["state"].items():
            if saved_index not in number:
                raise ValueError(f"loaded state dict has state for unknown parameter {saved_index}")
            if not isinstance(saved_state, Mapping):
                raise ValueError(f"loaded state for parameter {saved_index} must be a dict, got "
                                 f"{type(saved_state).__name__}")
            i, data = number[saved_index]
            unknown = set(saved_state) - set(self.state_keys) - (
                {"master_param"} if self._precision.master_weights else set())
            if unknown:
                raise ValueError(
                    f"loaded state for parameter {saved_index} has keys {sorted(unknown)} "
                    f"that {type(self).__name__} does not use (expected {list(self.state_keys)})"
                )
            missing = [k for k in self.required_state if k not in saved_state]
            if saved_state and missing:
                raise ValueError(
                    f"loaded state for parameter {saved_index} lacks {missing}, which "
                    f"{type(self).__name__} keeps for every parameter it has stepped"
                )
            state[i] = _State(self)
            for key, value in saved_state.items():
                if key == "step":
                    value = _step_count(value, saved_index)
                elif key in self.scalar_state:
                    value = _scalar_value(value, saved_index, key)
                elif value is not None:
                    if not self._precision.default or half_format(data.dtype):
                        value = self._loadable_16(value, data, saved_index, key)
                    else:
                        value = np.asarray(loadable(
                            value, data, f"loaded state[{saved_index}][{key!r}]",
                            self._state_shape(key, data.shape)), dtype=data.dtype)
                    # the one copy: placed as new state is, apart from the loaded dict
                    value = _core.state_like(value, self._state_slot(key))
                dict.__setitem__(state[i], key, value)
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            new = dict(group)
            new.update({k: v for k, v in saved.items() if k != "params"})
            self._check_group(new)
            new_groups.append(new)

        def apply():
            for group, new in zip(self.param_groups, new_groups):
                group.update(new)
            self.state = state
            self.applied_steps, self.skipped_steps = counts

        return apply

    def _loadable_16(self, value, data, index, key):
        """A saved state array of an optimizer with 16-bit options or params, as it is
        stored (optim/_precision.py): the shape of its state (``_state_shape``), a float dtype or
        bfloat16 bits. May be a view of ``value``: load_state_dict copies it."""
        a = np.asarray(value)
        what = f"loaded state[{index}][{key!r}]"
        stored = self._precision.stored(key, data)
        if stored == "int8" and a.dtype == np.uint8:
            if a.shape != (_quantize.packed_size(data.size),):
                raise ValueError(f"{what} has shape {a.shape}; int8 state of a parameter of "
                                 f"{data.size} elements is ({_quantize.packed_size(data.size)},) "
                                 "bytes")
            return self._precision.loaded(a, key, data)
        shape = self._state_shape(key, data.shape) if key != "master_param" else data.shape
        if shape is not None and a.shape != shape:
            raise ValueError(f"{what} has shape {a.shape}, " + (
                f"the parameter has {data.shape}" if shape == data.shape else
                f"expected {shape} (the parameter has {data.shape})"))
        bits = stored == "bfloat16" and a.dtype == np.uint16
        if not (a.dtype.kind == "f" or half_format(a.dtype) or bits):
            raise TypeError(f"{what} has dtype {a.dtype}, expected a floating-point array "
                            "(or the uint16 bits of bfloat16 state)")
        return self._precision.loaded(a, key, data, signed=key not in self._non_negative)

    # -- for subclasses ------------------------------------------------------------------

    def _hyper(self, group):
        """The group's hyperparameters as the C++ rule takes them, in the order of its names
        (``_hyper_names``, which C++ exports from the list its rule reads them by): "lr" is
        ``group["lr"]``, "betas[1]" is ``group["betas"][1]``, a class's ``fixed_hyper`` wins
        over the group, and a None listed in ``_none_as`` becomes its value there. Raises
        ValueError when a sequence (betas, etas, ...) does not have the length the rule takes.
        Uses class attributes only: the drop-in calls it on an instance never initialised."""
        fields, lengths = _hyper_fields(self._hyper_names)
        fixed = self.fixed_hyper
        missing = {key for _, key, _ in fields} - set(group) - set(fixed)
        if missing:
            raise RuntimeError(f"internal: {type(self).__name__}'s groups lack the C++ "
                               f"hyperparameters {sorted(missing)}")
        for key, n in lengths.items():
            value = fixed.get(key, group[key])
            if len(value) != n:
                raise ValueError(f"Invalid {key}: expected {n} values, got {len(value)}")
        values = []
        for name, key, index in fields:
            value = fixed[key] if key in fixed else group[key]
            if index is not None:
                value = value[index]
            if value is None and name in self._none_as:
                value = self._none_as[name]
            values.append(value)
        return tuple(values)

    def _state_slot(self, key):
        """C++'s index of state array ``key`` (its place among the rule's state keys), or -1 for
        a master copy: where a new array of it begins in its allocation (_core.state_like)."""
        if key == "master_param":
            return -1
        return [k for k in self.state_keys if k != "step" and k not in self.scalar_state].index(key)

    def _state_shape(self, key, shape):
        """The shape of state array ``key`` of a parameter of ``shape``, or None if such a
        parameter has no such state (Adafactor's factors); the parameter's shape by default."""
        return shape

    def _check_group(self, group):
        """Raise (ValueError, torch's wording) on an invalid hyperparameter: the step's own
        checks, run early."""
        self._checker(*self._hyper(group))

    # -- the lists kept for C++ ----------------------------------------------------------

    def _current_plan(self):
        return current_plan(self, _ARRAYS, type(self))

    def _group_args(self, plan):
        """The group tuples for C++. While the plan is the same and no group has changed, the
        hyperparameters are kept from one step to the next (reading them again costs about
        4 µs a step), and so are the whole tuples unless parameters are given as objects
        (their .data may change, so those are read again each step). Each group is a _Group,
        which tells of its changes; kept only while every group holds immutable values."""
        kept = self._kept
        if kept is not None and kept[0] is plan:
            _, hypers, args = kept
            return args if args is not None else [gp.args(h) for gp, h in zip(plan, hypers)]
        groups = self.param_groups
        hypers = [self._hyper(group) for group in groups]
        args = [gp.args(h) for gp, h in zip(plan, hypers)]
        if all(type(group) is _Group and
               all(_immutable(v) for k, v in group.items() if k != "params")
               for group in groups):
            whole = all(gp.head is not None for gp in plan)
            self._kept = (plan, hypers, args if whole else None)
        return args

    def _grads_of_params(self):
        grads = []
        for group in self.param_groups:
            for p in group["params"]:
                if isinstance(p, np.ndarray):
                    raise ValueError("step: the parameters are plain arrays, so grads must be given")
                grads.append(p.grad)
        return grads

    def _adopt_new_state(self, plan, grads):
        """Store in ``opt.state`` the state arrays C++ created during the step."""
        adopt_new_state(self, self._state, plan, grads, _ARRAYS, type(self))


def _taking_precision(init):
    """The constructor of a rule with 16-bit storage, also taking the 16-bit options
    (keyword-only; a subclass's constructor passing to its base's sets them once)."""

    @functools.wraps(init)
    def __init__(self, *args, state_dtype=None, master_weights=False, rounding="nearest",
                 seed=0, **kwargs):
        given = Precision(state_dtype, master_weights, rounding, seed)
        if state_dtype == "int8" and not type(self)._int8:
            raise ValueError(f"state_dtype='int8' applies to Adam, AdamW, SGD, Lion and "
                             f"AdaBelief, not {type(self).__name__}")
        if "_precision" not in self.__dict__ or not given.default:
            self._precision = given
        init(self, *args, **kwargs)

    return __init__


class Wrapper:
    """Base of the optimizers that wrap another (Accumulate, SAM): ``param_groups``,
    ``defaults`` and ``state`` are the inner optimizer's, so schedulers and checkpoints work on
    the wrapper directly."""

    def __init__(self, optimizer):
        self.optimizer = optimizer

    @property
    def param_groups(self):
        return self.optimizer.param_groups

    @property
    def defaults(self):
        return self.optimizer.defaults

    @property
    def state(self):
        return self.optimizer.state

    @property
    def nonfinite(self):
        return self.optimizer.nonfinite

    @property
    def applied_steps(self):
        return self.optimizer.applied_steps

    @property
    def skipped_steps(self):
        return self.optimizer.skipped_steps

    def load_state_dict(self, state_dict):
        """Restore a state_dict of this wrapper; nothing changes on error."""
        self._prepare_load(state_dict)()

    def _inner_state(self, state_dict):
        """The wrapped optimizer's state dict inside this wrapper's, checked to be there."""
        if not isinstance(state_dict, Mapping) or "optimizer" not in state_dict:
            raise ValueError(f"loaded {type(self).__name__} state must be a dict with the "
                             "wrapped optimizer's state under 'optimizer'")
        return state_dict["optimizer"]
