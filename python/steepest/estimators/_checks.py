"""Checks of an estimator's hyperparameters, run by ``fit`` (scikit-learn's contract: ``__init__``
and ``set_params`` store values unchecked). Errors name the parameter."""

import numbers

import numpy as np


def integer(est, name, low, allow_none=False):
    value = getattr(est, name)
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{type(est).__name__}: {name} must be an int >= {low}"
                         + (" or None" if allow_none else "") + f", got {value!r}")
    return int(value)


def real(est, name, low, high=None, low_open=False, high_open=False, allow_none=False):
    """A number in [low, high] (an open end excluded); None when ``allow_none``."""
    value = getattr(est, name)
    if value is None and allow_none:
        return None
    ok = (not isinstance(value, bool) and isinstance(value, numbers.Real)
          and (value > low if low_open else value >= low)
          and (high is None or (value < high if high_open else value <= high)))
    if not ok:
        span = (("(" if low_open else "[") + f"{low}, "
                + (f"{high}" + (")" if high_open else "]") if high is not None else "inf)"))
        raise ValueError(f"{type(est).__name__}: {name} must be a number in {span}"
                         + (" or None" if allow_none else "") + f", got {value!r}")
    return float(value)


def choice(est, name, choices):
    value = getattr(est, name)
    if not any(value is c or (isinstance(value, str) and value == c) for c in choices):
        raise ValueError(f"{type(est).__name__}: {name} must be one of {list(choices)}, "
                         f"got {value!r}")
    return value


def boolean(est, name):
    value = getattr(est, name)
    if not isinstance(value, (bool, np.bool_, numbers.Integral)) or value not in (0, 1):
        raise ValueError(f"{type(est).__name__}: {name} must be True or False, got {value!r}")
    return bool(value)


def seed(est):
    value = est.seed
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral)
                              or value < 0):
        raise ValueError(f"{type(est).__name__}: seed must be None or an int >= 0, "
                         f"got {value!r}")
    return value


def callbacks(est):
    value = est.callbacks
    if value is None:
        return []
    if callable(value):
        value = [value]
    value = list(value) if isinstance(value, (list, tuple)) else None
    if value is None or not all(callable(cb) for cb in value):
        raise ValueError(f"{type(est).__name__}: callbacks must be None or a list of "
                         "callables cb(epoch, logs) -> bool (True stops training), got "
                         f"{est.callbacks!r}")
    return value
