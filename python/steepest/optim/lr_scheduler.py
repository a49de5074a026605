"""Learning-rate schedules with torch.optim.lr_scheduler's names, arguments and lr sequences.

A scheduler sets ``group["lr"]`` of every parameter group of an optimizer (a steepest optimizer,
or a wrapper such as :class:`~steepest.optim.Accumulate` that exposes ``param_groups``). Call
``sched.step()`` once after each optimizer step that was applied, as in torch::

    opt = steepest.optim.SGD(params, lr=0.1, momentum=0.9)
    sched = CosineAnnealingLR(opt, T_max=1000)
    for batch in data:
        opt.step(grads(batch))
        sched.step()

t below is ``last_epoch``: the number of ``step()`` calls since construction, and ``lr_0`` the
group's ``initial_lr`` (``base_lrs``). The lrs are computed with torch's own floating-point
operations, in the same order (its "chainable" recursive forms where torch uses them): the
sequences equal torch's bitwise; ChainedScheduler composes schedulers multiplicatively through
that form.

Skipped steps: a scheduler counts only applied optimizer steps. When every optimizer step since
its previous ``step()`` was skipped by the non-finite guard (``nonfinite="skip"``), ``step()``
does nothing: t, the lr and ReduceLROnPlateau's metric history stay as they were. It reads the
optimizer's ``applied_steps`` / ``skipped_steps`` (steepest's optimizers, wrappers and torch
drop-ins keep them); a ``step()`` with no optimizer step since the previous one advances, as in
torch.

Saving and resuming: ``state_dict()`` holds plain values only (numbers, strings, lists, dicts;
no functions) and includes the last lrs. ``load_state_dict()`` writes those
lrs (and a cycled momentum) back into the optimizer's groups, so a resumed run continues on the
same sequence whatever the order in which the optimizer and the scheduler are rebuilt and loaded,
and even when the optimizer's state is not restored. torch.optim.lr_scheduler gets this wrong
in two known cases, checked by tests/optim/test_lr_scheduler.py:

* SequentialLR (pytorch#119168): building the sub-schedulers multiplies ``group["lr"]`` (e.g.
  LinearLR by start_factor) and SequentialLR resets it to ``initial_lr``; torch's
  load_state_dict does not restore the lr, so loading the optimizer *before* building the
  schedulers (or not at all) resumes with a wrong lr for the rest of the run.
* MultiStepLR (pytorch#29697, #153842): torch trusts ``group["lr"]`` between milestones, so a
  resume without the optimizer's lrs stays at the undecayed lr; and its milestones are a
  ``Counter`` with int keys, which a JSON (or DCP) round trip turns into strings, so no later
  milestone ever fires. Here milestones are saved as a sorted list and the lr is restored.

Not supported (deprecated in torch): the ``epoch`` argument of ``step()``, except in
CosineAnnealingWarmRestarts where torch documents fractional epochs.
"""

import copy
import math
import numbers
import types
from bisect import bisect_right
from collections import Counter
from collections.abc import Mapping

import numpy as np

from .optimizer import only_skipped, step_counts, whole_count

__all__ = [
    "LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR",
    "LinearLR", "ExponentialLR", "PolynomialLR", "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR", "SequentialLR", "ChainedScheduler",
    "ReduceLROnPlateau", "LinearWarmup",
]


def _check_optimizer(optimizer):
    if not hasattr(optimizer, "param_groups"):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer (it has no param_groups)")


def _per_group(name, optimizer, value):
    """``value`` as one entry per group: a list/tuple of that length, or one value repeated."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups. {name} has "
                f"{len(value)} values, param_groups has {len(optimizer.param_groups)}."
            )
        return list(value)
    return [value] * len(optimizer.param_groups)


def _set_lrs(optimizer, values):
    """Each group's lr from values, one per group (zip(strict=True) needs Python 3.10)."""
    values = list(values)
    if len(values) != len(optimizer.param_groups):
        raise ValueError(f"{len(values)} learning rates for {len(optimizer.param_groups)} groups")
    for group, lr in zip(optimizer.param_groups, values):
        group["lr"] = float(lr)


def _lrs(optimizer):
    return [float(group["lr"]) for group in optimizer.param_groups]


def _set_momentum(group, use_beta1, momentum):
    if use_beta1:
        group["betas"] = (momentum, *group["betas"][1:])
    else:
        group["momentum"] = momentum


class LRScheduler:
    """Base class: keeps ``base_lrs`` (each group's ``initial_lr``), ``last_epoch`` (t) and the
    last lrs set; ``step()`` advances t and sets each group's lr to ``get_lr()``."""

    _unsaved = ("optimizer",)  # attributes that state_dict leaves out (objects, functions)
    # Counts in the state, and the least value each may take: a loaded one must be a whole
    # number from there up to MAX_COUNT (SequentialLR's later children wait at last_epoch -1).
    _counts = {"last_epoch": -1, "_step_count": 0}

    def __init__(self, optimizer, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when resuming "
                        "a scheduler with last_epoch >= 0: load the optimizer's state first"
                    )
        self.base_lrs = [float(group["initial_lr"]) for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._is_initial = False
        self._initial_step()

    def _initial_step(self):
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):
        """The lrs for step ``last_epoch`` (already advanced)."""
        raise NotImplementedError

    def get_last_lr(self):
        """The lrs set by the last ``step()`` (a copy)."""
        return list(self._last_lr)

    def step(self):
        """Advance t by one and set each group's lr (unless every optimizer step since the
        previous call was skipped)."""
        if self._holds():
            return
        self._step_count += 1
        self._update_lr()

    def _holds(self):
        """True when every optimizer step since this scheduler's previous step() was skipped;
        records the optimizer's step counts for the next call."""
        now = step_counts(self.optimizer)
        held = only_skipped(getattr(self, "_seen_steps", None), now)
        self._seen_steps = now
        return held

    def _update_lr(self, epoch=None):
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:  # SequentialLR starting a scheduler at a milestone: the closed form at ``epoch``
            self.last_epoch = epoch
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        _set_lrs(self.optimizer, values)
        self._last_lr = _lrs(self.optimizer)

    # -- saving and resuming -------------------------------------------------------------------

    def state_dict(self):
        """The scheduler's state as plain values (no optimizer, no functions), copied."""
        return {k: copy.deepcopy(v) for k, v in vars(self).items() if k not in self._unsaved}

    def load_state_dict(self, state_dict):
        """Restore a state_dict, and the lrs it last set into the optimizer's groups; nothing
        changes when it is refused (ValueError or TypeError naming the entry)."""
        self._prepare_load(state_dict)()

    def _prepare_load(self, state_dict):
        """Check ``state_dict`` without changing anything; return the function that applies
        it, which cannot fail (steepest.load checks every object before it applies any)."""
        state = self._checked_state(state_dict)

        def apply():
            self.__dict__.update(state)
            self._loaded()

        return apply

    def _checked_state(self, state_dict):
        """The attributes ``state_dict`` restores, copied and checked: the counts
        (``_counts``), the lists of one number per parameter group, the optimizer's step
        counts last seen."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"loaded scheduler state must be a dict, got "
                            f"{type(state_dict).__name__}")
        state = {k: copy.deepcopy(v) for k, v in state_dict.items() if k not in self._unsaved}
        for key, least in self._counts.items():
            if key in state:
                state[key] = whole_count(state[key], f"loaded scheduler state's {key}", least)
        groups = len(self.optimizer.param_groups)
        for key in _PER_GROUP:
            values = state.get(key)
            if values is None:
                continue
            if not isinstance(values, (list, tuple)) or len(values) != groups:
                raise ValueError(f"loaded scheduler state's {key} must be a list of {groups} "
                                 f"numbers, one per parameter group of the optimizer, got "
                                 f"{values!r}")
            state[key] = [_finite(v, f"loaded scheduler state's {key}[{i}]")
                          for i, v in enumerate(values)]
        seen = state.get("_seen_steps")
        if seen is not None:
            if not isinstance(seen, (list, tuple)) or len(seen) != 2:
                raise ValueError(f"loaded scheduler state's _seen_steps must be None or two "
                                 f"step counts, got {seen!r}")
            state["_seen_steps"] = [whole_count(n, f"loaded scheduler state's _seen_steps[{i}]")
                                    for i, n in enumerate(seen)]
        return state

    def _loaded(self):
        """After the state's attributes are set: what follows from them."""
        self._restore_groups()

    def _restore_groups(self):
        last = getattr(self, "_last_lr", None)
        if last is None:
            return
        for group, lr in zip(self.optimizer.param_groups, last):
            group["lr"] = float(lr)


# Lists in a scheduler's state with one number per parameter group.
_PER_GROUP = ("base_lrs", "_last_lr", "_last_momentum", "max_lrs", "base_momentums",
              "max_momentums")


def _finite(value, what):
    """A loaded number (an lr, a momentum) as a finite float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what}: expected a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond float64's range
        raise ValueError(f"{what}: expected a finite number, got an int too large for a "
                         "float") from None
    if not math.isfinite(number):
        raise ValueError(f"{what}: expected a finite number, got {value!r}")
    return number


class _LambdaState:
    """state_dict for schedulers holding lr_lambdas: functions are not saved; a callable object's
    ``__dict__`` is (as in torch)."""

    _unsaved = ("optimizer", "lr_lambdas")

    def state_dict(self):
        state = LRScheduler.state_dict(self)
        state["lr_lambdas"] = [
            None if isinstance(fn, types.FunctionType) else copy.deepcopy(fn.__dict__)
            for fn in self.lr_lambdas
        ]
        return state

    def _prepare_load(self, state_dict):
        saved = state_dict.get("lr_lambdas", ()) if isinstance(state_dict, Mapping) else ()
        if not isinstance(saved, (list, tuple)) or not all(
                s is None or isinstance(s, Mapping) for s in saved):
            raise ValueError("loaded scheduler state's lr_lambdas must be a list of None or "
                             f"dicts (the attributes of callable objects), got {saved!r}")
        attributes = [None if s is None else copy.deepcopy(dict(s)) for s in saved]
        own = LRScheduler._prepare_load(self, state_dict)

        def apply():
            for fn, saved_attributes in zip(self.lr_lambdas, attributes):
                if saved_attributes is not None:
                    fn.__dict__.update(saved_attributes)
            own()

        return apply


def _lambdas(optimizer, lr_lambda):
    if isinstance(lr_lambda, (list, tuple)):
        if len(lr_lambda) != len(optimizer.param_groups):
            raise ValueError(
                f"Expected {len(optimizer.param_groups)} lr_lambdas, but got {len(lr_lambda)}"
            )
        fns = list(lr_lambda)
    else:
        fns = [lr_lambda] * len(optimizer.param_groups)
    for fn in fns:
        if not callable(fn):
            raise TypeError(f"lr_lambda should be a function, but got {type(fn).__name__}")
    return fns


class LambdaLR(_LambdaState, LRScheduler):
    """``lr_t = lr_0 * lr_lambda(t)`` (one function, or one per group)."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        _check_optimizer(optimizer)
        self.lr_lambdas = _lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaState, LRScheduler):
    """``lr_t = lr_{t-1} * lr_lambda(t)`` for t >= 1 (``lr_0`` unchanged)."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        _check_optimizer(optimizer)
        self.lr_lambdas = _lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return _lrs(self.optimizer)
        return [group["lr"] * fn(self.last_epoch)
                for fn, group in zip(self.lr_lambdas, self.optimizer.param_groups)]


class StepLR(LRScheduler):
    """``lr_t = lr_0 * gamma ** floor(t / step_size)`` (applied as a multiplication by gamma
    every step_size steps)."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return _lrs(self.optimizer)
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """``lr_t = lr_0 * gamma ** (number of milestones <= t)``; a milestone listed twice decays
    twice. Saved milestones are a sorted list (torch saves a ``Counter``, whose int keys do not
    survive JSON); a ``Counter`` or a dict with string keys from torch loads too."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones = Counter(int(m) for m in milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return _lrs(self.optimizer)
        return [group["lr"] * self.gamma ** self.milestones[self.last_epoch]
                for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [base * self.gamma ** bisect_right(milestones, self.last_epoch)
                for base in self.base_lrs]

    def state_dict(self):
        state = super().state_dict()
        state["milestones"] = sorted(self.milestones.elements())
        return state

    def _checked_state(self, state_dict):
        state = super()._checked_state(state_dict)
        saved = state.get("milestones", sorted(self.milestones.elements()))
        what = "loaded scheduler state's milestones"
        if isinstance(saved, Mapping):  # torch's Counter, or one whose keys went through JSON
            milestones = Counter()
            for m, n in saved.items():
                try:
                    m = int(m) if isinstance(m, str) else m
                except ValueError:
                    raise ValueError(f"{what}: {m!r} is not a whole number") from None
                milestones[whole_count(m, what)] += whole_count(n, f"{what}[{m}]")
        elif isinstance(saved, (list, tuple)):
            milestones = Counter(whole_count(m, what) for m in saved)
        else:
            raise ValueError(f"{what} must be a list of steps, got {saved!r}")
        state["milestones"] = milestones
        return state


class ConstantLR(LRScheduler):
    """``lr_t = lr_0 * factor`` for t < total_iters, then ``lr_0``."""

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        if factor > 1.0 or factor < 0:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return _lrs(self.optimizer)
        return [group["lr"] * (1.0 / self.factor) for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base in self.base_lrs]


class LinearLR(LRScheduler):
    """``lr_t = lr_0 * (s + (e - s) * min(t, total_iters) / total_iters)`` with
    s = start_factor, e = end_factor."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and "
                             "less or equal to 1.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return _lrs(self.optimizer)
        delta = self.end_factor - self.start_factor
        ratio = 1.0 + delta / (self.total_iters * self.start_factor + (self.last_epoch - 1) * delta)
        return [group["lr"] * ratio for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * (self.start_factor + (self.end_factor - self.start_factor)
                        * min(self.total_iters, self.last_epoch) / self.total_iters)
                for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """``lr_t = lr_0 * gamma ** t`` (a multiplication by gamma each step)."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return _lrs(self.optimizer)
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """``lr_t = lr_0 * (1 - min(t, total_iters) / total_iters) ** power``."""

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial or self.last_epoch > self.total_iters:
            return _lrs(self.optimizer)
        t, n = self.last_epoch, self.total_iters
        decay = ((1.0 - t / n) / (1.0 - (t - 1) / n)) ** self.power
        return [group["lr"] * decay for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters)
                ** self.power for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """SGDR's cosine annealing without restarts (Loshchilov & Hutter 2017, "SGDR: Stochastic
    Gradient Descent with Warm Restarts")::

        lr_t = eta_min + (lr_0 - eta_min) * (1 + cos(pi * t / T_max)) / 2

    computed, as torch does, recursively from lr_{t-1} (so it composes in ChainedScheduler);
    past T_max the cosine continues (the lr rises again over the next T_max steps).
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if self._is_initial:
            return _lrs(self.optimizer)
        if self._step_count == 1 and t > 0:
            return [eta_min + (base - eta_min) * (1 + math.cos(t * math.pi / T)) / 2
                    for base in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:
            return [group["lr"] + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base, group in zip(self.base_lrs, groups)]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (group["lr"] - eta_min) + eta_min for group in groups]

    def _get_closed_form_lr(self):
        return [self.eta_min + (base - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov & Hutter 2017, "SGDR: Stochastic Gradient Descent with Warm
    Restarts")::

        lr_t = eta_min + (lr_0 - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2

    T_cur counts steps since the last restart; a restart happens when T_cur reaches T_i, and
    then T_i <- T_i * T_mult (T_0 first). ``step(epoch)`` with a fractional epoch is accepted,
    as in torch.
    """

    _counts = {**LRScheduler._counts, "T_i": 1}

    def _checked_state(self, state_dict):
        state = super()._checked_state(state_dict)
        if "T_cur" in state:  # fractional after step(epoch)
            state["T_cur"] = _finite(state["T_cur"], "loaded scheduler state's T_cur")
        return state

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        if T_0 <= 0 or not isinstance(T_0, int):
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if T_mult < 1 or not isinstance(T_mult, int):
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(f"Expected float or int eta_min, but got {eta_min} of type "
                             f"{type(eta_min)}")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [self.eta_min + (base - self.eta_min)
                * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2 for base in self.base_lrs]

    def step(self, epoch=None):
        """Advance one step, or jump to ``epoch`` (which may be fractional)."""
        if epoch is None and self._holds():
            return
        self._step_count += 1
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"Expected non-negative epoch, but got {epoch}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log((epoch / self.T_0 * (self.T_mult - 1) + 1), self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        _set_lrs(self.optimizer, self.get_lr())
        self._last_lr = _lrs(self.optimizer)


class _CycledMomentum:
    """Saving and restoring the momentum (or beta1) that CyclicLR / OneCycleLR set."""

    def _store_momentum(self, momentums):
        for group, m in zip(self.optimizer.param_groups, momentums):
            _set_momentum(group, self.use_beta1, m)
        self._last_momentum = [float(m) for m in momentums]

    def _checked_state(self, state_dict):
        state = super()._checked_state(state_dict)
        for key in ("cycle_momentum", "use_beta1"):
            if key in state and state[key] != getattr(self, key, None):
                raise ValueError(f"loaded scheduler state has {key}={state[key]!r}, this "
                                 f"{type(self).__name__} has {getattr(self, key, None)!r}")
        return state

    def _restore_groups(self):
        LRScheduler._restore_groups(self)
        if self.cycle_momentum and getattr(self, "_last_momentum", None) is not None:
            for group, m in zip(self.optimizer.param_groups, self._last_momentum):
                _set_momentum(group, self.use_beta1, m)


def _momentum_setup(sched, optimizer, base_momentum, max_momentum, last_epoch):
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError(
            "optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
    sched.use_beta1 = "betas" in optimizer.defaults
    bases = _per_group("base_momentum", optimizer, base_momentum)
    maxes = _per_group("max_momentum", optimizer, max_momentum)
    if last_epoch == -1:
        for m, b, group in zip(maxes, bases, optimizer.param_groups):
            _set_momentum(group, sched.use_beta1, m)
            group["max_momentum"] = m
            group["base_momentum"] = b
    return bases, maxes


class CyclicLR(_CycledMomentum, LRScheduler):
    """Cyclical learning rates (Smith 2017, "Cyclical Learning Rates for Training Neural
    Networks"). With S = step_size_up + step_size_down and r = step_size_up / S::

        cycle = floor(1 + t / S);   x = 1 + t / S - cycle
        h     = x / r  if x <= r  else  (x - 1) / (r - 1)
        lr_t  = base_lr + (max_lr - base_lr) * h * scale
        scale = 1 ("triangular"), 1 / 2 ** (cycle - 1) ("triangular2"),
                gamma ** t ("exp_range"), or scale_fn(cycle or t)

    With cycle_momentum the momentum (or beta1) moves the opposite way, between max_momentum
    and base_momentum: ``m_t = max_momentum - (max_momentum - base_momentum) * h * scale``.
    A custom scale_fn is not saved in the state_dict.
    """

    _unsaved = ("optimizer", "_scale_fn_ref", "_scale_fn_custom")

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None,
                 mode="triangular", gamma=1.0, scale_fn=None, scale_mode="cycle",
                 cycle_momentum=True, base_momentum=0.8, max_momentum=0.9, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        base_lrs = _per_group("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = float(lr)
        self.max_lrs = _per_group("max_lr", optimizer, max_lr)
        step_size_up = float(step_size_up)
        step_size_down = float(step_size_down) if step_size_down is not None else step_size_up
        self.total_size = step_size_up + step_size_down
        self.step_ratio = step_size_up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError("mode is invalid and scale_fn is None")
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._init_scale_fn()
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.base_momentums, self.max_momentums = _momentum_setup(
                self, optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = [float(lr) for lr in base_lrs]

    def __getstate__(self):
        # The built-in scale functions are lambdas, which pickle cannot save: they are rebuilt
        # from mode and gamma.
        state = self.__dict__.copy()
        state["_scale_fn_ref"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._init_scale_fn()

    def _init_scale_fn(self):
        self._scale_fn_ref = None
        if self._scale_fn_custom is not None:
            return
        if self.mode == "triangular":
            self._scale_fn_ref = lambda x: 1.0
            self.scale_mode = "cycle"
        elif self.mode == "triangular2":
            self._scale_fn_ref = lambda x: 1 / (2.0 ** (x - 1))
            self.scale_mode = "cycle"
        elif self.mode == "exp_range":
            gamma = self.gamma
            self._scale_fn_ref = lambda x: gamma ** x
            self.scale_mode = "iterations"

    def scale_fn(self, x):
        fn = self._scale_fn_custom if self._scale_fn_custom is not None else self._scale_fn_ref
        return fn(x)

    def get_lr(self):
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            scale_factor = x / self.step_ratio
        else:
            scale_factor = (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [base + (top - base) * scale_factor * scale
               for base, top in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            self._store_momentum([top - (top - base) * scale_factor * scale
                                  for base, top in zip(self.base_momentums, self.max_momentums)])
        return lrs

    def _checked_state(self, state_dict):
        state = super()._checked_state(state_dict)
        mode = state.get("mode", self.mode)
        if self._scale_fn_custom is None and mode not in ("triangular", "triangular2",
                                                          "exp_range"):
            raise ValueError(f"loaded scheduler state has an unknown mode {mode!r}")
        return state

    def _loaded(self):
        super()._loaded()
        self._init_scale_fn()


class OneCycleLR(_CycledMomentum, LRScheduler):
    """The 1cycle policy (Smith & Topin 2019, "Super-Convergence: Very Fast Training of Neural
    Networks Using Large Learning Rates"). Over total_steps = N steps the lr anneals from
    ``max_lr / div_factor`` up to ``max_lr`` during the first ``pct_start * N`` steps, then
    down to ``max_lr / div_factor / final_div_factor``; with three_phase it first comes back to
    the initial lr by ``2 * pct_start * N``, then anneals to the minimum. Within a phase from
    step a to b (b = pct * N - 1, the last phase ends at N - 1)::

        p    = (t - a) / (b - a)
        lr_t = end + (start - end) * (1 + cos(pi * p)) / 2     ("cos")
        lr_t = start + (end - start) * p                        ("linear")

    With cycle_momentum the momentum (or beta1) follows the same phases between max_momentum
    and base_momentum, inversely. Stepping past N raises ValueError.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"Expected positive integer epochs, but got {epochs}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError(
                    f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        if not isinstance(pct_start, float) or pct_start < 0 or pct_start > 1:
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._anneal_func_type = anneal_strategy
        n = self.total_steps
        phase = lambda end, lr0, lr1, m0, m1: dict(  # noqa: E731
            end_step=end, start_lr=lr0, end_lr=lr1, start_momentum=m0, end_momentum=m1)
        if three_phase:
            self._schedule_phases = [
                phase(float(pct_start * n) - 1, "initial_lr", "max_lr", "max_momentum",
                      "base_momentum"),
                phase(float(2 * pct_start * n) - 2, "max_lr", "initial_lr", "base_momentum",
                      "max_momentum"),
                phase(n - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._schedule_phases = [
                phase(float(pct_start * n) - 1, "initial_lr", "max_lr", "max_momentum",
                      "base_momentum"),
                phase(n - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for top, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            _momentum_setup(self, optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(
                f"Tried to step {t} times. The specified number of total steps is "
                f"{self.total_steps}")
        lrs, momentums = [], []
        last = len(self._schedule_phases) - 1
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end = phase["end_step"]
                if t <= end or i == last:
                    pct = (t - start) / (end - start)
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        momentums.append(self._anneal(group[phase["start_momentum"]],
                                                      group[phase["end_momentum"]], pct))
                    break
                start = phase["end_step"]
        if self.cycle_momentum:
            self._store_momentum(momentums)
        return lrs


class LinearWarmup(LRScheduler):
    """Linear warmup (as in Goyal et al. 2017, "Accurate, Large Minibatch SGD: Training ImageNet
    in 1 Hour")::

        lr_t = lr_0 * (s + (1 - s) * min(t, warmup_steps) / warmup_steps),   s = start_factor

    from ``s * lr_0`` (default 0) up to ``lr_0`` at ``t = warmup_steps``, then constant. Unlike
    LinearLR, s may be 0. Follow it with a decay through SequentialLR::

        SequentialLR(opt, [LinearWarmup(opt, 100), CosineAnnealingLR(opt, T_max=900)],
                     milestones=[100])
    """

    def __init__(self, optimizer, warmup_steps, start_factor=0.0, last_epoch=-1):
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, numbers.Integral) \
                or warmup_steps < 1:
            raise ValueError(f"Expected positive integer warmup_steps, but got {warmup_steps}")
        if not 0.0 <= start_factor <= 1.0:
            raise ValueError(f"start_factor expected to be between 0 and 1, got {start_factor}")
        self.warmup_steps = int(warmup_steps)
        self.start_factor = start_factor
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        s, n = self.start_factor, self.warmup_steps
        factor = s + (1.0 - s) * min(self.last_epoch, n) / n
        return [base * factor for base in self.base_lrs]

    _get_closed_form_lr = get_lr


def _check_children(name, optimizer, schedulers):
    for i, sched in enumerate(schedulers):
        if not hasattr(sched, "optimizer"):
            raise TypeError(f"{name} at index {i} should have `optimizer` as its attribute.")
        if isinstance(sched, ReduceLROnPlateau):
            raise ValueError(
                f"{name} does not support `ReduceLROnPlateau` scheduler as it requires "
                "additional kwargs to be specified when calling `step`, but got one at index "
                f"{i} in the given schedulers sequence.")
        if sched.optimizer is not optimizer:
            raise ValueError(f"{name} expects all schedulers to belong to the same optimizer, "
                             f"but the scheduler at index {i} has another one.")


class _Composite:
    """state_dict of a scheduler made of schedulers: theirs nested under ``_schedulers``. On
    load the children restore their lrs first, then the composite sets its own last lrs."""

    _unsaved = ("optimizer", "_schedulers")

    def state_dict(self):
        state = LRScheduler.state_dict(self)
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def _prepare_load(self, state_dict):
        saved = state_dict.get("_schedulers") if isinstance(state_dict, Mapping) else None
        if not isinstance(saved, (list, tuple)):
            raise ValueError(f"loaded {type(self).__name__} state must hold a list of its "
                             "schedulers' states under '_schedulers'")
        if len(saved) != len(self._schedulers):
            raise ValueError(f"loaded state has {len(saved)} schedulers, this "
                             f"{type(self).__name__} has {len(self._schedulers)}")
        children = [sched._prepare_load(sub) for sched, sub in zip(self._schedulers, saved)]
        own = LRScheduler._prepare_load(self, state_dict)

        def apply():  # the children restore their lrs first, then the composite its own
            for child in children:
                child()
            own()

        return apply


class SequentialLR(_Composite, LRScheduler):
    """Runs ``schedulers[i]`` between ``milestones[i-1]`` and ``milestones[i]``: at step t the
    active scheduler is ``schedulers[bisect_right(milestones, t)]``, which starts from its own
    step 0 (closed form, from ``initial_lr``) at its milestone. Resume with load_state_dict:
    as in torch, ``last_epoch >= 0`` only starts the first scheduler (pytorch#162591)."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        if len(schedulers) < 1:
            raise ValueError(f"{type(self).__name__} expects at least one scheduler, but got no "
                             "scheduler.")
        _check_children(type(self).__name__, optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more than "
                f"the number of milestone points, but got number of schedulers {len(schedulers)} "
                f"and the number of milestones to be equal to {len(milestones)}")
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:  # undo what the children's constructors did
            group["lr"] = float(group["initial_lr"])
        self._undo(self)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def _checked_state(self, state_dict):
        state = super()._checked_state(state_dict)
        milestones = state.get("_milestones", self._milestones)
        what = "loaded scheduler state's _milestones"
        expected = len(self._schedulers) - 1
        if not isinstance(milestones, (list, tuple)) or len(milestones) != expected:
            raise ValueError(f"{what} must be a list of {expected} steps, got {milestones!r}")
        state["_milestones"] = [whole_count(m, what) for m in milestones]
        return state

    @classmethod
    def _undo(cls, sched):
        """Take back the initial step of every (nested) child."""
        for s in sched._schedulers:
            if hasattr(s, "_schedulers"):
                cls._undo(s)
            elif hasattr(s, "last_epoch"):
                s.last_epoch -= 1

    def step(self):
        if self._holds():
            return
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        sched = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            sched._update_lr(0)
        else:
            sched.step()
        self._last_lr = sched.get_last_lr()


class ChainedScheduler(_Composite, LRScheduler):
    """Steps every scheduler in turn each step: their (chainable) effects multiply, e.g.
    ConstantLR then ExponentialLR gives ``lr_0 * factor(t) * gamma ** t``."""

    def __init__(self, schedulers, optimizer=None):
        if len(schedulers) < 1:
            raise ValueError(f"{type(self).__name__} expects at least one scheduler to be "
                             "chained, but got no scheduler.")
        optimizer = schedulers[0].optimizer if optimizer is None else optimizer
        _check_children(type(self).__name__, optimizer, schedulers)
        self._schedulers = list(schedulers)
        self.optimizer = optimizer
        self._last_lr = _lrs(optimizer)

    def step(self):
        if self._holds():
            return
        for sched in self._schedulers:
            sched.step()
        self._last_lr = _lrs(self.optimizer)


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by ``factor`` when a metric stops improving. ``step(metric)``: the metric
    improves when ``metric < best * (1 - threshold)`` (mode "min", threshold_mode "rel"),
    ``metric < best - threshold`` ("min", "abs"), or the mirror images for "max". After more
    than ``patience`` steps without improvement, ``lr = max(lr * factor, min_lr)`` (skipped when
    the change is at most eps), then ``cooldown`` steps ignore bad epochs."""

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        _check_optimizer(optimizer)
        self.factor = factor
        self.optimizer = optimizer
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(optimizer.param_groups):
                raise ValueError(
                    f"expected {len(optimizer.param_groups)} min_lrs, got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = _lrs(optimizer)
        self._init_is_better(mode, threshold, threshold_mode)
        self._reset()

    def _reset(self):
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def step(self, metrics):
        """Record one value of the metric (a number or a 0-d array)."""
        current = float(metrics)
        if self._holds():
            return
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = _lrs(self.optimizer)

    def _reduce_lr(self):
        if len(self.optimizer.param_groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"The number of param groups in the optimizer "
                    f"({len(self.optimizer.param_groups)}) differs from when ReduceLROnPlateau "
                    f"was initialized ({len(self.min_lrs)}): set `min_lrs` to match.")
            self.min_lrs = [self.default_min_lr] * len(self.optimizer.param_groups)
        for i, group in enumerate(self.optimizer.param_groups):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, self.min_lrs[i])
            if old_lr - new_lr > self.eps:
                group["lr"] = float(new_lr)

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def _is_better(self, a, best):
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def _init_is_better(self, mode, threshold, threshold_mode):
        if mode not in ("min", "max"):
            raise ValueError(f"mode {mode} is unknown!")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold mode {threshold_mode} is unknown!")
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode

    _counts = {"last_epoch": 0, "num_bad_epochs": 0, "cooldown_counter": 0}

    def _checked_state(self, state_dict):
        state = super()._checked_state(state_dict)
        if state.get("mode", self.mode) not in ("min", "max"):
            raise ValueError(f"loaded scheduler state has an unknown mode {state['mode']!r}")
        if state.get("threshold_mode", self.threshold_mode) not in ("rel", "abs"):
            raise ValueError("loaded scheduler state has an unknown threshold_mode "
                             f"{state['threshold_mode']!r}")
        return state

    def _loaded(self):
        super()._loaded()
        self._init_is_better(self.mode, self.threshold, self.threshold_mode)
