"""Losses with their gradients (mean reduction, torch.nn's names and definitions), over
``steepest.nn.functional.loss_value_and_grad``: one call into C++ gives the value and writes
dL/dpred.

    MSELoss            mean((pred - y)^2)
    L1Loss ("mae")     mean(|pred - y|)
    HuberLoss(delta)   mean(0.5 r^2 if |r| < delta else delta (|r| - 0.5 delta)),  r = pred - y
    CrossEntropyLoss   mean_i(logsumexp(pred_i) - pred_i[y_i]),  pred (B, C) logits, y (B,) int
    BCEWithLogitsLoss  mean(max(x, 0) - x y + log(1 + exp(-|x|))),  x = pred logits, y in [0, 1]

Trading losses (``steepest.reference.trading`` has the equations), over a batch whose rows are
in time order:

    SharpeLoss(cost, periods_per_year)   -sqrt(ppy) mean(R) / std(R),  R = pred y - cost |dpred|
    SortinoLoss(cost, periods_per_year)  the same over the downside deviation
    ReinforceLoss                        -mean(advantage log softmax(pred)[action]),
                                         y (B, 2): the action taken and its advantage

Custom losses: any object with ``value_and_grad(output, target) -> (loss, dL/doutput)`` (a
float and an array of output's shape) is a loss for ``fit`` and ``evaluate``: ``output`` is the
model's output (n, outputs) for the batch, in the model's dtype (a buffer the model reuses: do
not keep it), ``target`` the batch's rows of y. Optional attributes: ``targets(y, outputs,
dtype, name)`` (check and convert the whole y once; by default y becomes a finite float array
of the model's dtype, (n,) for one output becoming (n, 1)), ``classification`` (False),
``time_order`` (False: batches may be shuffled), ``name``. ``steepest.nn.check_grad(loss,
output, target)`` checks its gradient against finite differences. Sample weights need the
built-in losses.

``get("mse")`` gives one by name ("mse", "mae", "huber", "cross_entropy", "bce_with_logits",
"sharpe", "sortino", "reinforce").
``loss.targets(y, outputs, dtype)`` checks a whole target array once, before training, and
returns it in the layout the kernel takes (int64 labels; float targets of shape (n, outputs)).
"""

import numbers

import numpy as np

from . import functional as F
from .checks import check_finite

__all__ = ["Loss", "MSELoss", "L1Loss", "HuberLoss", "CrossEntropyLoss", "BCEWithLogitsLoss",
           "SharpeLoss", "SortinoLoss", "ReinforceLoss", "CustomLoss", "get"]


class Loss:
    kind = None  # the loss's name in functional
    classification = False
    time_order = False  # True: the value depends on the order of a batch's rows (fit refuses
    # shuffle=True then)

    def _options(self):
        return {}

    def value_and_grad(self, pred, target, grad=None):
        """(mean loss as a float, dL/dpred written into ``grad``, allocated if None)."""
        return F.loss_value_and_grad(self.kind, pred, target, grad=grad, **self._options())

    def __call__(self, pred, target):
        """The mean loss alone."""
        return F.loss_value(self.kind, pred, target, **self._options())

    def row_losses(self, pred, target):
        """Each row's loss (n,) in float64 (the mean over its outputs), for sample weights:
        the weighted loss is sum_i w_i l_i / sum_i w_i. None for losses not made of rows (a
        ratio over the batch)."""
        return None

    def targets(self, y, outputs, dtype, name="y"):
        """``y`` checked against a model with ``outputs`` outputs: a float array (n, outputs)
        of ``dtype`` (a 1-d y is one output per row), finite."""
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise TypeError(f"{name}: {self.kind} takes numeric targets, got dtype {y.dtype}")
        if y.ndim == 1 and outputs == 1:
            y = y.reshape(-1, 1)
        if y.ndim != 2 or y.shape[1] != outputs:
            accepted = f"(n, {outputs})" + (" or (n,)" if outputs == 1 else "")
            raise ValueError(f"{name} has shape {y.shape}; the model has {outputs} outputs, "
                             f"so {self.kind} expects targets of shape {accepted}")
        y = np.ascontiguousarray(y, dtype=dtype)
        check_finite(y, name)
        return y

    def __repr__(self):
        options = ", ".join(f"{k}={v!r}" for k, v in self._options().items())
        return f"{type(self).__name__}({options})"


class MSELoss(Loss):
    kind = "mse"

    def row_losses(self, pred, target):
        return np.square(pred.astype(np.float64) - target).mean(axis=1)


class L1Loss(Loss):
    kind = "mae"

    def row_losses(self, pred, target):
        return np.abs(pred.astype(np.float64) - target).mean(axis=1)


class HuberLoss(Loss):
    kind = "huber"

    def __init__(self, delta=1.0):
        if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not delta > 0:
            raise ValueError(f"HuberLoss: delta must be a number > 0, got {delta!r}")
        self.delta = float(delta)

    def _options(self):
        return {"delta": self.delta}

    def row_losses(self, pred, target):
        r = np.abs(pred.astype(np.float64) - target)
        d = self.delta
        return np.where(r < d, 0.5 * r * r, d * (r - 0.5 * d)).mean(axis=1)


class CrossEntropyLoss(Loss):
    kind = "cross_entropy"
    classification = True

    def targets(self, y, outputs, dtype, name="y"):
        """Integer class labels (n,) in [0, outputs), as int64."""
        y = np.asarray(y)
        if y.dtype.kind not in "iu":
            raise TypeError(f"{name}: cross_entropy takes integer class labels, got dtype "
                            f"{y.dtype}")
        if y.ndim != 1:
            raise ValueError(f"{name}: cross_entropy takes class labels of shape (n,), got "
                             f"{y.shape}")
        bad = (y < 0) | (y >= outputs)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{name}[{i}] = {y[i]} is out of range: the model has {outputs} "
                             f"outputs, so labels must be in [0, {outputs - 1}]")
        return np.ascontiguousarray(y, dtype=np.int64)

    def row_losses(self, pred, target):
        """logsumexp(pred_i) - pred_i[y_i]."""
        p = pred.astype(np.float64)
        top = p.max(axis=1)
        lse = top + np.log(np.exp(p - top[:, None]).sum(axis=1))
        return lse - p[np.arange(len(p)), target]


class BCEWithLogitsLoss(Loss):
    kind = "bce_with_logits"
    classification = True

    def targets(self, y, outputs, dtype, name="y"):
        """Probabilities in [0, 1], (n, outputs) or (n,) for one output."""
        y = super().targets(y, outputs, dtype, name)
        if ((y < 0) | (y > 1)).any():
            raise ValueError(f"{name}: bce_with_logits takes targets in [0, 1], got values in "
                             f"[{y.min()}, {y.max()}]")
        return y

    def row_losses(self, pred, target):
        x = pred.astype(np.float64)
        return (np.maximum(x, 0) - x * target + np.log1p(np.exp(-np.abs(x)))).mean(axis=1)


def _number(value, name, low, allow_low):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not (value >= low if allow_low else value > low) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number {'>=' if allow_low else '>'} {low}, "
                         f"got {value!r}")
    return value


class _RatioLoss(Loss):
    """A risk-adjusted ratio of the strategy returns R_i = pred_i y_i - cost |pred_i -
    pred_(i-1)|, negated (minimized), over a batch of at least 2 rows: the model's one output
    is the position taken at each row, y the next return. With ``cost`` > 0 the rows of a batch
    must be consecutive periods: ``fit`` then needs ``shuffle=False``. ``periods_per_year``
    annualizes (252 trading days, 8760 hours, 12 months); ``eps`` keeps the deviation above 0."""

    def __init__(self, cost=0.0, periods_per_year=252, eps=1e-12):
        self.cost = _number(cost, "cost", 0.0, True)
        self.periods_per_year = _number(periods_per_year, "periods_per_year", 0.0, False)
        self.eps = _number(eps, "eps", 0.0, False)

    @property
    def time_order(self):
        return self.cost > 0

    def _options(self):
        return {"cost": self.cost, "periods_per_year": self.periods_per_year, "eps": self.eps}

    def value_and_grad(self, pred, target, grad=None):
        return F.ratio_loss(self.kind, pred, target, grad=grad, **self._options())

    def __call__(self, pred, target):
        return F.ratio_loss(self.kind, pred, target, grad=False, **self._options())[0]

    def targets(self, y, outputs, dtype, name="y"):
        """The next returns (n,) or (n, 1), for a model with one output (the position)."""
        if outputs != 1:
            raise ValueError(f"{self.kind} takes a model with one output (the position), not "
                             f"{outputs}")
        return super().targets(y, outputs, dtype, name)


class SharpeLoss(_RatioLoss):
    """The negative annualized Sharpe ratio (Lim, Zohren & Roberts 2019):
    -sqrt(periods_per_year) mean(R) / sqrt(mean((R - mean R)^2) + eps)."""

    kind = "sharpe"


class SortinoLoss(_RatioLoss):
    """The negative annualized Sortino ratio:
    -sqrt(periods_per_year) mean(R) / sqrt(mean(min(R, 0)^2) + eps)."""

    kind = "sortino"


class ReinforceLoss(Loss):
    """REINFORCE (Williams 1992) for a softmax policy over A actions: the model's A outputs are
    the logits, y (n, 2) holds each row's action taken (a whole number in [0, A)) and its
    advantage (the return minus a baseline); L = -mean(advantage log softmax(pred)[action])."""

    kind = "reinforce"

    def value_and_grad(self, pred, target, grad=None):
        return F.reinforce_loss(pred, target, grad=grad)

    def __call__(self, pred, target):
        return F.reinforce_loss(pred, target, grad=False)[0]

    def targets(self, y, outputs, dtype, name="y"):
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise TypeError(f"{name}: reinforce takes numeric targets, got dtype {y.dtype}")
        if y.ndim != 2 or y.shape[1] != 2:
            raise ValueError(f"{name} has shape {y.shape}; reinforce takes (n, 2): each row's "
                             "action index and its advantage")
        y = np.ascontiguousarray(y, dtype=dtype)
        check_finite(y, name)
        actions = y[:, 0]
        bad = (actions < 0) | (actions >= outputs) | (actions != np.floor(actions))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{name}[{i}, 0] = {actions[i]} is not an action index: the model "
                             f"has {outputs} outputs, so actions must be whole numbers in "
                             f"[0, {outputs - 1}]")
        return y


_BY_NAME = {"mse": MSELoss, "mae": L1Loss, "l1": L1Loss, "huber": HuberLoss,
            "cross_entropy": CrossEntropyLoss, "bce_with_logits": BCEWithLogitsLoss,
            "sharpe": SharpeLoss, "sortino": SortinoLoss, "reinforce": ReinforceLoss}


class CustomLoss(Loss):
    """A user's loss object (the protocol in the module docstring) as fit uses a Loss: its
    gradient checked (shape, finite value) and written into fit's buffer."""

    def __init__(self, loss):
        self.loss = loss
        self.kind = getattr(loss, "name", type(loss).__name__)
        self.classification = bool(getattr(loss, "classification", False))
        self.time_order = bool(getattr(loss, "time_order", False))

    def value_and_grad(self, pred, target, grad=None):
        value, g = self.loss.value_and_grad(pred, target)
        value = float(value)
        g = np.asarray(g)
        if g.shape != pred.shape:
            raise ValueError(f"{self.kind}.value_and_grad returned a gradient of shape "
                             f"{g.shape}; it must have the output's shape {pred.shape}")
        if grad is None:
            return value, np.array(g, dtype=pred.dtype)
        grad[...] = g
        return value, grad

    def __call__(self, pred, target):
        return self.value_and_grad(pred, target)[0]

    def targets(self, y, outputs, dtype, name="y"):
        if hasattr(self.loss, "targets"):
            return self.loss.targets(y, outputs, dtype, name)
        return super().targets(y, outputs, dtype, name)

    def __repr__(self):
        return f"CustomLoss({self.loss!r})"


def get(loss):
    """A Loss from its name (default options), a Loss, returned as is, or a custom loss (an
    object with ``value_and_grad(output, target)``) wrapped in a CustomLoss."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str) and loss in _BY_NAME:
        return _BY_NAME[loss]()
    if not isinstance(loss, str) and callable(getattr(loss, "value_and_grad", None)):
        return CustomLoss(loss)
    raise ValueError(f"loss must be a steepest.nn Loss, an object with "
                     f"value_and_grad(output, target), or one of {sorted(_BY_NAME)}, got "
                     f"{loss!r}")
