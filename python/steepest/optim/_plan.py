"""The step plan: what C++ gets for each param group, built once and kept until something changes.

Shared by steepest.optim (NumPy arrays, state keyed by parameter number) and the torch drop-in
(tensors, state keyed by tensor), which differ only in how a parameter and its state are viewed:
a ``View`` (``ArrayView`` here; steepest.torch's ``TensorView`` views a tensor's own memory,
through its real view if complex, or a contiguous working copy).

A group's plan (``GroupPlan``) holds the lists C++ takes beside the gradients and the
hyperparameters: the params' arrays, one list per state array key (None where the state does not
exist yet: C++ creates it), the step counts (one int64 array of shape (n,) that C++ advances;
``state[i]['step']`` is a 0-d view into it) and the per-tensor scalar state (one float64 array
of shape (n, K), or None; ``state[i][key]`` is a 0-d view into column k).
"""

import numpy as np

from ._precision import bits_view


class GroupPlan:
    """What C++ gets for one group each step, beside its gradients and hyperparameters.
    ``head`` is C++'s group tuple up to the hyperparameters (None when the params are objects
    whose ``.data`` is read each step); ``pointers`` are what ``View.pointers`` saw; ``copies``
    the (index, param, working copy) of params stepped through a working copy; ``complex`` the
    indices of complex params; ``direct`` whether every param is stepped on its own memory."""

    __slots__ = ("group", "params", "size", "first", "pointers", "state_lists", "steps",
                 "scalars", "head", "copies", "complex", "direct", "masters")

    def __init__(self, group, first, arrays, state_lists, steps, scalars, pointers=None,
                 copies=(), complex_=(), masters=None):
        self.group = group
        self.params = params = group["params"]
        self.size = len(params)
        self.first = first
        self.pointers = pointers
        self.state_lists = state_lists  # one list per state array key, in the rule's order
        self.steps = steps
        self.scalars = scalars
        self.head = None if arrays is None else (arrays, *state_lists, steps, scalars)
        self.copies = copies
        self.complex = complex_
        self.direct = not copies and not complex_
        # The float32 master copies of 16-bit params (master_weights=True), or None: not part
        # of the group tuple (C++ takes them with the step's 16-bit options).
        self.masters = masters

    @property
    def all_lists(self):
        """The state lists and the master copies' list, in the order of ``_array_keys``."""
        return self.state_lists if self.masters is None else (*self.state_lists, self.masters)

    def args(self, hyper):
        """The group's tuple for C++, given its hyperparameters."""
        head = self.head or ([p.data for p in self.params], *self.state_lists, self.steps,
                             self.scalars)
        return head + hyper


class ArrayView:
    """How steepest.optim views its parameters: a float array as it is (or an object's
    ``.data``, read each step), its state arrays as they are, state keyed by the parameter's
    number. A View's methods:

    - ``key(param, index)``: the key of a parameter's state in ``opt.state``;
    - ``arrays(params, first)``: (the arrays C++ updates, or None to read each ``.data`` every
      step; the working copies as (k, param, copy); the indices of complex params);
    - ``pointers(params)``: what tells that a param's memory moved (None: nothing can);
    - ``state_array(state, key, index)``: the array C++ reads for ``state[key]``;
    - ``counts(array)``: what ``state['step']`` and the scalar state view, as ``[k, ...]``;
    - ``new_state(array, is_complex)``: the state value of an array C++ created;
    - ``always_state``: whether a stepped param gets a state dict even without state arrays.
    """

    always_state = False

    @staticmethod
    def key(param, index):
        return index

    @staticmethod
    def arrays(params, first):
        objects = not all(isinstance(p, np.ndarray) for p in params)
        return None if objects else params, (), ()

    @staticmethod
    def pointers(params):
        return None

    @staticmethod
    def state_array(state, key, index):
        return state[key]

    @staticmethod
    def counts(array):
        return array

    @staticmethod
    def new_state(array, is_complex):
        # bfloat16 state arrives as its uint16 bits
        return bits_view(array) if array.dtype == np.uint16 else array


def _keys(rule):
    """(state array keys, per-tensor scalar keys, whether the rule counts steps) of a rule."""
    array_keys = [k for k in rule.state_keys if k != "step" and k not in rule.scalar_state]
    return array_keys, list(rule.scalar_state), "step" in rule.state_keys


def _array_keys(owner, rule):
    """The state array keys of ``rule``'s plan for ``owner``: with master weights, the master
    copies last."""
    master = getattr(getattr(owner, "_precision", None), "master_weights", False)
    return _keys(rule)[0] + (["master_param"] if master else [])


def current_plan(opt, view, rule):
    """``opt._plan`` while it holds for ``opt.param_groups`` (the same group dicts and param
    lists of the same lengths, the params' memory where it was); else a new plan, kept there."""
    plan = opt._plan
    groups = opt.param_groups
    if plan is not None and len(plan) == len(groups):
        for gp, group in zip(plan, groups):
            params = group["params"]
            if (gp.group is not group or gp.params is not params or gp.size != len(params)
                    or gp.pointers is not None and view.pointers(params) != gp.pointers):
                break
        else:
            return plan
    opt._plan = plan = make_plan(opt, opt.state, view, rule)
    return plan


def make_plan(owner, state, view, rule):
    """A GroupPlan per group of ``owner.param_groups`` for ``rule``'s state (``state``, keyed by
    ``view.key``). Plain dicts in ``state`` become watching dicts (a change drops the plan); the
    step counts and scalars in state become views of the plan's arrays."""
    from .optimizer import _scalar_value, _State, _step_count

    _, scalar_keys, counts_steps = _keys(rule)
    array_keys = _array_keys(owner, rule)
    scalar_initial = [float(v) for v in rule.scalar_state.values()]
    for key, s in list(state.items()):
        if isinstance(s, dict) and not isinstance(s, _State):  # load_state_dict, the user
            dict.__setitem__(state, key, _State(owner, s))
    plan, first = [], 0
    for group in owner.param_groups:
        params = group["params"]
        arrays, copies, complex_ = view.arrays(params, first)
        states = [state.get(view.key(p, first + k), {}) for k, p in enumerate(params)]
        lists = tuple([None if s.get(key) is None else view.state_array(s, key, first + k)
                       for k, s in enumerate(states)] for key in array_keys)
        masters = None
        if array_keys[-1:] == ["master_param"]:
            lists, masters = lists[:-1], lists[-1]
        steps = None
        if counts_steps:
            steps = np.array([_step_count(s["step"], first + k) if "step" in s else 0
                              for k, s in enumerate(states)], dtype=np.int64)
            counts = view.counts(steps)
            for k, s in enumerate(states):
                if "step" in s:
                    dict.__setitem__(s, "step", counts[k, ...])
        scalars = None
        if scalar_keys:
            scalars = np.array([[_scalar_value(s[key], first + k, key) if key in s else init
                                 for key, init in zip(scalar_keys, scalar_initial)]
                                for k, s in enumerate(states)],
                               dtype=np.float64).reshape(len(params), len(scalar_keys))
            numbers = view.counts(scalars)
            for k, s in enumerate(states):
                for j, key in enumerate(scalar_keys):
                    if key in s:
                        dict.__setitem__(s, key, numbers[k, j, ...])
        plan.append(GroupPlan(group, first, arrays, lists, steps, scalars,
                              view.pointers(params), copies, complex_, masters))
        first += len(params)
    return plan


def adopt_new_state(owner, state, plan, grads, view, rule):
    """Store in ``state`` the state arrays C++ created during a step (as ``view.new_state``),
    and views of the step counts and scalars of the params stepped for the first time."""
    from .optimizer import _State

    _, scalar_keys, _ = _keys(rule)
    array_keys = _array_keys(owner, rule)
    for gp in plan:
        counts = None if gp.steps is None else view.counts(gp.steps)
        numbers = None if gp.scalars is None else view.counts(gp.scalars)
        for k, p in enumerate(gp.params):
            if grads[gp.first + k] is None:
                continue
            created = [(key, arrays[k]) for key, arrays in zip(array_keys, gp.all_lists)
                       if arrays[k] is not None]
            if not created and not view.always_state:
                continue
            key_of_p = view.key(p, gp.first + k)
            s = state.get(key_of_p)
            if s is None:
                s = _State(owner)
                dict.__setitem__(state, key_of_p, s)
            for key, array in created:
                if s.get(key) is None:
                    dict.__setitem__(s, key, view.new_state(array, k in gp.complex))
            if counts is not None and "step" not in s:
                dict.__setitem__(s, "step", counts[k, ...])
            for j, key in enumerate(scalar_keys):
                if key not in s:
                    dict.__setitem__(s, key, numbers[k, j, ...])
