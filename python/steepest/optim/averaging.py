"""Averages of the parameters over training (EMA, SWA), swapped in for evaluation."""

import contextlib
import numbers

import numpy as np

from .accumulate import flat_params
from .optimizer import _data, only_skipped, step_counts, whole_count


def _lerp(avg, new, weight):
    """``avg <- avg + weight * (new - avg)`` in place, as torch.lerp computes it (for
    weight >= 0.5 it uses ``new - (new - avg) * (1 - weight)``)."""
    diff = new - avg
    if weight < 0.5:
        diff *= weight
        avg += diff
    else:
        diff *= 1 - weight
        np.subtract(new, diff, out=avg)


class _Averaged:
    """The parameters (arrays, objects with ``.data``, or an optimizer's) and one average
    array per parameter, made by the first ``update()`` as a copy of it. Built on an optimizer,
    ``update()`` does nothing when every optimizer step since the previous update was skipped
    by the non-finite guard; built on parameters, call it only when ``step()`` returned True."""

    def __init__(self, params):
        self._optimizer = None
        if hasattr(params, "param_groups"):
            self._optimizer = params
            params = flat_params(params)
        elif isinstance(params, np.ndarray) or hasattr(params, "data"):
            raise TypeError(f"{type(self).__name__}: params must be a list of parameters or an "
                            "optimizer, not one array")
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        self.averages = None
        self.n_averaged = 0
        self.swapped = False
        self._seen_steps = None  # the optimizer's step counts at the last update

    def update(self):
        """Fold the current parameters into the averages (unless only skipped steps were
        taken since the previous update)."""
        if self.swapped:
            raise RuntimeError(f"{type(self).__name__}.update: the averages are swapped in; "
                               "swap them out first")
        now = step_counts(self._optimizer)
        held = only_skipped(self._seen_steps, now)
        self._seen_steps = now
        if held:
            return
        if self.averages is None:
            self.averages = [_data(p).copy() for p in self.params]
        else:
            weight = self._weight()
            for avg, p in zip(self.averages, self.params):
                _lerp(avg, _data(p), weight)
        self.n_averaged += 1

    def swap(self):
        """Exchange the parameters' values with the averages, in place (the arrays the
        optimizer holds keep their identity). Call again to swap back."""
        if self.averages is None:
            raise RuntimeError(f"{type(self).__name__}.swap: nothing averaged yet; call "
                               "update() first")
        for avg, p in zip(self.averages, self.params):
            data = _data(p)
            current = data.copy()
            data[...] = avg
            avg[...] = current
        self.swapped = not self.swapped

    @contextlib.contextmanager
    def swapped_in(self):
        """``with avg.swapped_in():`` evaluate with the averaged parameters; the training
        values come back on exit, even on error."""
        self.swap()
        try:
            yield self
        finally:
            self.swap()

    def state_dict(self):
        return {"n_averaged": self.n_averaged, "swapped": self.swapped,
                "averages": None if self.averages is None else [a.copy() for a in self.averages],
                **self._hyper()}

    def load_state_dict(self, state_dict):
        saved = state_dict["averages"]
        averages = None
        if saved is not None:
            if len(saved) != len(self.params):
                raise ValueError(f"{type(self).__name__}: the state has {len(saved)} averages, "
                                 f"there are {len(self.params)} parameters")
            averages = []
            for i, (a, p) in enumerate(zip(saved, self.params)):
                data = _data(p)
                a = np.asarray(a)
                if a.shape != data.shape:
                    raise ValueError(f"{type(self).__name__}: averages[{i}] has shape "
                                     f"{a.shape}, the parameter has {data.shape}")
                if a.dtype.kind != "f":
                    raise TypeError(f"{type(self).__name__}: averages[{i}] has dtype {a.dtype}, "
                                    "expected a floating-point array")
                averages.append(np.array(a, dtype=data.dtype, order="C", copy=True))
        hyper = {key: type(value)(state_dict.get(key, value))
                 for key, value in self._hyper().items()}
        n_averaged = whole_count(state_dict["n_averaged"],
                                 f"{type(self).__name__}: loaded n_averaged")
        swapped = state_dict["swapped"]
        if not isinstance(swapped, (bool, np.bool_)):
            raise TypeError(f"{type(self).__name__}: loaded swapped must be a bool, got "
                            f"{swapped!r}")
        for key, value in hyper.items():
            setattr(self, key, value)
        self.averages = averages
        self.n_averaged = n_averaged
        self.swapped = bool(swapped)

    def _weight(self):
        raise NotImplementedError

    def _hyper(self):
        return {}


class EMA(_Averaged):
    r"""Exponential moving average of the parameters, as torch.optim.swa_utils.AveragedModel
    with ``get_ema_multi_avg_fn(decay)`` computes it (Polyak & Juditsky 1992, "Acceleration of
    Stochastic Approximation by Averaging", in its exponentially weighted form)::

        a_1 = p_1                                   (first update: a copy)
        a_n = decay * a_{n-1} + (1 - decay) * p_n   (= lerp(a_{n-1}, p_n, 1 - decay))

    Call ``update()`` after each optimizer step; evaluate inside ``with ema.swapped_in():``.
    """

    def __init__(self, params, decay=0.999):
        if not isinstance(decay, numbers.Real) or not 0.0 <= decay <= 1.0:
            raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                             "[0,1] range.")
        super().__init__(params)
        self.decay = float(decay)

    def _weight(self):
        return 1.0 - self.decay

    def _hyper(self):
        return {"decay": self.decay}


class SWA(_Averaged):
    r"""Stochastic weight averaging (Izmailov et al. 2018, "Averaging Weights Leads to Wider
    Optima and Better Generalization"): the running mean of the parameters at each
    ``update()``, as torch.optim.swa_utils.AveragedModel computes it::

        a_1 = p_1;    a_n = a_{n-1} + (p_n - a_{n-1}) / n   (= lerp(a_{n-1}, p_n, 1 / n))

    Call ``update()`` at the points to average (e.g. each epoch after a start epoch, with a
    constant or cyclic lr); evaluate inside ``with swa.swapped_in():``.
    """

    def _weight(self):
        return 1.0 / (self.n_averaged + 1)
