"""The training loop of a Sequential model (``model.fit``) and its evaluation.

One step on a batch of B rows: forward, the loss's value and dL/dout in one call, backward
(writing each ``.grad``: zero_grad() and accumulating, without the zeroing pass),
``optimizer.step()``. The batches come from
preallocated buffers (shuffled rows gathered with ``np.take(out=...)``; without shuffling, views
of X), so a step allocates no arrays beyond what the metric computes.
"""

import numbers
import sys
import time

import numpy as np

from ..optim import lr_scheduler, registry
from ..optim.clip import clip_grad_norm_
from . import functional as F, losses, metrics
from .checks import positive_int
from .early_stopping import EarlyStopping

__all__ = ["fit", "evaluate", "train_step", "History", "StopTraining"]

# Rules a name selects (with their defaults): every fused rule of the registry; wrappers and
# closure-driven rules take an instance.
_RULES = {key: rule.cls for key, rule in registry.RULES.items()}


class History(dict):
    """Per-epoch values, one list per key: "loss" (the mean over the epoch's batches, as the
    weights moved), the metric (e.g. "accuracy", likewise), and with validation data "val_loss"
    and "val_<metric>" (after the epoch). Attributes: ``epochs`` run, optimizer ``steps`` taken,
    and with early stopping ``best_epoch`` and ``stopped_epoch`` (0-based; None if it never
    stopped)."""

    def __init__(self, keys):
        super().__init__((k, []) for k in keys)
        self.epochs = 0
        self.steps = 0
        self.best_epoch = None
        self.stopped_epoch = None

    def plot(self):
        """A matplotlib figure of the history: one panel per quantity (the loss, the metric),
        its training and validation curves over the epochs. Needs matplotlib (imported here
        only); returns the figure (``fig.savefig(path)``, or shown by a notebook)."""
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("History.plot needs matplotlib: pip install matplotlib (or "
                              "steepest[plot])") from None
        names = [k for k in self if not k.startswith("val_")]
        fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.2),
                                 squeeze=False)
        for ax, name in zip(axes[0], names):
            for key, label in ((name, "training"), (f"val_{name}", "validation")):
                if self.get(key):
                    ax.plot(range(1, len(self[key]) + 1), self[key], label=label)
            if self.best_epoch is not None:
                ax.axvline(self.best_epoch + 1, color="gray", linestyle=":", label="best epoch")
            ax.set_xlabel("epoch")
            ax.set_ylabel(name)
            ax.legend()
        fig.tight_layout()
        return fig


def _data(model, X, y, loss, names):
    """(X, y) checked against the model and the loss and converted once for training: X
    (n, *features), the model's output (n, outputs), y as the loss takes it."""
    X = model._input(X, names[0])
    y_shape = np.shape(y)
    if not y_shape or y_shape[0] != len(X):
        raise ValueError(f"{names[0]} has {len(X)} rows but {names[1]} has "
                         f"{y_shape[0] if y_shape else 'none (a scalar)'}")
    out = model.output_shape(X.shape[1:])
    if len(out) != 1:
        raise ValueError(f"for {names[0]} of shape {X.shape} the model's output has shape "
                         f"(n, {', '.join(map(str, out))}); fit and evaluate take an output "
                         "(n, outputs): end the model with LastStep(), MeanOverTime() or "
                         "Flatten()")
    return X, loss.targets(y, out[0], model.dtype, names[1])


def _optimizer(optimizer, model):
    params = model.parameters()
    if isinstance(optimizer, str):
        if optimizer.lower() not in _RULES:
            raise ValueError(f"optimizer {optimizer!r} is not one of {sorted(_RULES)}; pass "
                             "an instance for other rules or options")
        return _RULES[optimizer.lower()](params)
    if not (hasattr(optimizer, "step") and hasattr(optimizer, "param_groups")):
        raise TypeError(f"optimizer must be a steepest.optim optimizer or a name, got "
                        f"{type(optimizer).__name__}")
    held = [p for group in optimizer.param_groups for p in group["params"]]
    if any(isinstance(p, np.ndarray) for p in held):
        raise ValueError("optimizer holds plain arrays; build it from model.parameters() so "
                         "that its step reads their .grad")
    ids = {id(p.data) for p in held}
    if not any(id(p.data) in ids for p in params):
        raise ValueError("optimizer holds none of the model's parameters; build it from "
                         "model.parameters()")
    return optimizer


def _early_stopping(early_stopping):
    if early_stopping is None or isinstance(early_stopping, EarlyStopping):
        return early_stopping
    if isinstance(early_stopping, numbers.Integral) and not isinstance(early_stopping, bool):
        return EarlyStopping(patience=early_stopping)
    raise TypeError("early_stopping must be None, an EarlyStopping or an int (the patience), "
                    f"got {type(early_stopping).__name__}")


def _max_norm(clip_grad_norm):
    """``clip_grad_norm`` checked: None or a finite number > 0."""
    if clip_grad_norm is None:
        return None
    if isinstance(clip_grad_norm, bool) or not isinstance(clip_grad_norm, numbers.Real) \
            or not np.isfinite(clip_grad_norm) or clip_grad_norm <= 0:
        raise ValueError(f"clip_grad_norm must be None or a finite number > 0, got "
                         f"{clip_grad_norm!r}")
    return float(clip_grad_norm)


def train_step(model, loss, optimizer, xb, yb, grads, clip_grad_norm=None, weights=None):
    """One step on checked batch arrays: forward, the loss's value and dL/dout (written into
    ``grads[rows]``, a buffer kept across calls), backward writing the gradients (what zeroing
    them first and accumulating gives, without the zeroing pass), with ``clip_grad_norm`` (a
    max norm) the gradients scaled by ``steepest.optim.clip_grad_norm_`` to a total 2-norm of
    at most that, update. With ``weights`` (the rows' sample weights, (B,)) the loss is the
    weighted mean sum_i w_i l_i / sum_i w_i (``_weighted``). Returns (loss value, the output
    buffer)."""
    max_norm = _max_norm(clip_grad_norm)
    out = model._forward(xb, training=True)
    grad = grads.get(len(xb))
    if grad is None:
        grad = grads[len(xb)] = np.empty(out.shape, out.dtype)
    value, _ = loss.value_and_grad(out, yb, grad=grad)
    if weights is not None:
        value = _weighted(loss, out, yb, weights, grad)
    model._backward(grad, input_grad=False, write=True)
    if max_norm is not None:
        clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return value, out


def _weighted(loss, out, yb, weights, grad):
    """The weighted mean loss over a batch of B rows, sum_i w_i l_i / W (W = sum_i w_i; 0 when
    W = 0), with ``grad`` (the mean loss's gradient, row i of it d(l_i / B)/dout_i) turned
    into the weighted one in place: row i times w_i B / W."""
    total = float(weights.sum(dtype=np.float64))
    if total == 0:
        grad[...] = 0
        return 0.0
    grad *= (weights * (len(weights) / total)).astype(grad.dtype)[:, None]
    return float(loss.row_losses(out, yb) @ weights) / total


def _sample_weights(loss, y, sample_weight, class_weight, n):
    """The rows' weights (n,) float64 from ``sample_weight`` and ``class_weight`` (None when
    both are None): sample_weight (n,) finite >= 0, times the weight of each row's class.
    ``class_weight``: {class index: weight} or "balanced" (n / (classes * count of the class),
    scikit-learn's), for class labels (cross_entropy) or one 0/1 output (bce_with_logits)."""
    if sample_weight is None and class_weight is None:
        return None
    if getattr(type(loss), "row_losses", losses.Loss.row_losses) is losses.Loss.row_losses:
        raise ValueError(f"sample_weight and class_weight need a loss made of rows (mse, mae, "
                         f"huber, cross_entropy, bce_with_logits), not {loss!r}")
    weights = np.ones(n)
    if sample_weight is not None:
        w = np.asarray(sample_weight)
        if w.dtype.kind not in "biuf" or w.shape != (n,):
            raise ValueError(f"sample_weight must be numbers of shape ({n},), one per row of "
                             f"X, got {w.dtype} {w.shape}")
        weights = w.astype(np.float64)
        if not np.isfinite(weights).all() or (weights < 0).any():
            raise ValueError("sample_weight must be finite and >= 0")
    if class_weight is not None:
        if y.ndim == 1:
            labels, classes = y, int(y.max()) + 1
        elif getattr(loss, "kind", None) == "bce_with_logits" and y.shape[1] == 1:
            labels, classes = (y[:, 0] >= 0.5).astype(np.int64), 2
        else:
            raise ValueError("class_weight needs class labels (cross_entropy) or one 0/1 "
                             f"output (bce_with_logits), not {loss!r} with y of shape "
                             f"{y.shape}")
        counts = np.bincount(labels, minlength=classes)
        if isinstance(class_weight, str) and class_weight == "balanced":
            present = np.count_nonzero(counts)
            by_class = np.divide(n, present * counts, out=np.zeros(len(counts)),
                                 where=counts > 0)
        elif isinstance(class_weight, dict):
            for c, w in class_weight.items():
                if isinstance(c, bool) or not isinstance(c, numbers.Integral) or c < 0:
                    raise ValueError(f"class_weight keys must be class indices (ints >= 0), "
                                     f"got {c!r}")
                if isinstance(w, bool) or not isinstance(w, numbers.Real) or \
                        not np.isfinite(w) or w < 0:
                    raise ValueError(f"class_weight[{c}] must be a finite number >= 0, "
                                     f"got {w!r}")
            by_class = np.ones(max([classes] + [int(c) + 1 for c in class_weight]))
            for c, w in class_weight.items():
                by_class[c] = w  # classes not named keep weight 1
        else:
            raise ValueError(f"class_weight must be None, 'balanced' or a dict {{class: "
                             f"weight}}, got {class_weight!r}")
        weights = weights * by_class[labels]
    if not weights.sum() > 0:
        raise ValueError("the sample weights sum to 0: no row would count")
    return weights


class StopTraining(Exception):
    """Raised by a fit callback to stop training after the current epoch (like returning
    True)."""


def _callbacks(callbacks):
    if callbacks is None:
        return []
    if callable(callbacks):
        callbacks = [callbacks]
    if not isinstance(callbacks, (list, tuple)) or not all(callable(c) for c in callbacks):
        raise TypeError("callbacks must be None, a callable or a list of callables "
                        "cb(epoch, logs) -> bool (True stops training)")
    return list(callbacks)


def _scheduler(scheduler, optimizer):
    """``scheduler``: None, a steepest lr scheduler of ``optimizer``, or a callable building
    one from it (for an optimizer given by name)."""
    if scheduler is None:
        return None
    if not hasattr(scheduler, "step") and callable(scheduler):
        scheduler = scheduler(optimizer)
    if not (hasattr(scheduler, "step") and hasattr(scheduler, "optimizer")):
        raise TypeError("scheduler must be None, a steepest.optim.lr_scheduler scheduler or a "
                        f"callable optimizer -> scheduler, got {type(scheduler).__name__}")
    if scheduler.optimizer is not optimizer:
        raise ValueError("scheduler is not a scheduler of fit's optimizer: build it from the "
                         "same optimizer instance (or pass a callable optimizer -> scheduler)")
    return scheduler


def _is_plateau(scheduler):
    return isinstance(scheduler, lr_scheduler.ReduceLROnPlateau)


class _Metric:
    """A metric over an epoch: a mean over rows is accumulated batch by batch; another metric
    (f1, roc_auc, r2, ...) is computed once over the rows' outputs and targets, kept here."""

    def __init__(self, fn, n, out_shape, dtype, y):
        self.fn, self.rows = fn, metrics.per_row(fn)
        if not self.rows:
            self.out = np.empty((n,) + out_shape, dtype)
            self.y = np.empty_like(y)
        self.total, self.seen = 0.0, 0

    def add(self, out, yb):
        if self.rows:
            self.total += self.fn(out, yb) * len(out)
        else:
            self.out[self.seen:self.seen + len(out)] = out
            self.y[self.seen:self.seen + len(out)] = yb
        self.seen += len(out)

    def value(self):
        if self.rows:
            return self.total / self.seen
        return self.fn(self.out[:self.seen], self.y[:self.seen])


def _evaluate(model, X, y, loss, metric_fn, batch_size):
    """(mean loss, metric or None) over checked data, at inference."""
    total_loss = 0.0
    metric = None
    if metric_fn is not None:
        metric = _Metric(metric_fn, len(X), model.output_shape(X.shape[1:]), model.dtype, y)
    for start in range(0, len(X), batch_size):
        xb, yb = X[start:start + batch_size], y[start:start + batch_size]
        out = model._infer(xb)
        total_loss += loss(out, yb) * len(xb)
        if metric is not None:
            metric.add(out, yb)
    return total_loss / len(X), (metric.value() if metric is not None else None)


def evaluate(model, X, y, loss, metric="auto", batch_size=1024):
    """``{"loss": mean loss, <metric>: value}`` of ``model`` over (X, y), at inference."""
    loss = losses.get(loss)
    name, metric_fn = metrics.get(metric, loss)
    X, y = _data(model, X, y, loss, ("X", "y"))
    if len(X) == 0:
        raise ValueError("X has no rows")
    batch_size = positive_int(batch_size, "batch_size")
    value, metric_value = _evaluate(model, X, y, loss, metric_fn, batch_size)
    return {"loss": value} if name is None else {"loss": value, name: metric_value}


def _progress(verbose, epochs):
    """A tqdm bar over the epochs for verbose=1 when tqdm is installed, else None."""
    if verbose != 1:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=epochs, desc="fit", unit="epoch")


def fit(model, X, y, *, loss, optimizer="adam", epochs=1, batch_size=32, shuffle=True,
        seed=None, validation_data=None, early_stopping=None, metric="auto", verbose=0,
        clip_grad_norm=None, callbacks=None, scheduler=None, scheduler_per_batch=False,
        sample_weight=None, class_weight=None):
    """Train ``model`` on (X, y) and return its History.

    X (n, *features): (n, features) rows or (n, T, F) windows of T time steps, any shape the
    model's layers take, converted once to the model's dtype; the model's output must be
    (n, outputs). y as the loss takes it (int class labels (n,) for "cross_entropy", the next
    returns for "sharpe" and "sortino", (n, 2) action and advantage for "reinforce",
    (n, outputs) or (n,) floats otherwise). ``loss``: a name ("mse", "mae", "huber",
    "cross_entropy", "bce_with_logits", "sharpe", "sortino", "reinforce") or a Loss.
    ``optimizer``: a
    steepest.optim optimizer over ``model.parameters()``, or a rule's name ("adam", "sgd", ...)
    to build one with its defaults. ``batch_size``: None for full-batch gradient descent (one
    step per epoch), 1 for stochastic, k for mini-batches (the last one of an epoch may be
    smaller). ``shuffle`` reorders the rows every epoch from ``seed`` (None: fresh entropy).
    ``validation_data``: (X_val, y_val), evaluated after every epoch. ``early_stopping``: an
    EarlyStopping, or an int patience for ``EarlyStopping(patience=...)`` (monitors val_loss with
    validation data, else loss; restores the best weights). ``metric``: "auto" (accuracy for
    classification losses), None, a name of steepest.nn.metrics ("accuracy", "log_loss",
    "precision", "recall", "f1", "roc_auc" for classification; "mae", "mse", "r2",
    "directional_accuracy" for regression) or ``fn(pred, y) -> float`` (a mean over rows).
    ``verbose``: 0 silent, 1 a tqdm progress bar over the epochs (a line per epoch without
    tqdm), 2 a line per epoch. ``clip_grad_norm``: None, or a max norm > 0: every step scales
    the gradients to a total 2-norm of at most that (``steepest.optim.clip_grad_norm_``,
    between backward and the optimizer's step; what recurrent models usually need).

    ``callbacks``: a list of ``cb(epoch, logs)`` called after every epoch (0-based) with its
    logs (the epoch's history values and "lr", the first group's learning rate during the
    epoch); a callback returning True or raising ``StopTraining`` stops training after it.
    ``scheduler``: a steepest.optim.lr_scheduler scheduler of the optimizer (or a callable
    optimizer -> scheduler, e.g. ``lambda opt: CosineAnnealingLR(opt, T_max=10)``), stepped
    after every epoch, or after every batch with ``scheduler_per_batch=True``;
    ReduceLROnPlateau is stepped with the monitored value (val_loss with validation data, else
    the loss; per batch: the batch's loss).
    ``sample_weight`` (n,) numbers >= 0 and ``class_weight`` ("balanced" or {class index:
    weight}, for class labels or one 0/1 output) weight the rows: each batch's loss is
    sum_i w_i l_i / sum_i w_i (the losses made of rows: mse, mae, huber, cross_entropy,
    bce_with_logits), and the epoch's "loss" the weighted mean over its rows. Validation is
    unweighted.

    Bad input (a feature shape the layers do not take, NaN or infinity in X or y, labels out of range or not
    integers, X and y of different lengths) raises before any weight changes.
    """
    loss = losses.get(loss)
    metric_name, metric_fn = metrics.get(metric, loss)
    X, y = _data(model, X, y, loss, ("X", "y"))
    if len(X) == 0:
        raise ValueError("X has no rows")
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise TypeError("validation_data must be a pair (X_val, y_val)")
        X_val, y_val = _data(model, *validation_data, loss,
                             ("validation_data[0]", "validation_data[1]"))
        if len(X_val) == 0:
            raise ValueError("validation_data[0] has no rows")
    if shuffle and loss.time_order:
        raise ValueError(f"{loss!r} depends on the order of a batch's rows (its cost is on the "
                         "change of consecutive positions): pass shuffle=False")
    epochs = positive_int(epochs, "epochs", allow_zero=True)
    n = len(X)
    batch_size = n if batch_size is None else min(positive_int(batch_size, "batch_size"), n)
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
    max_norm = _max_norm(clip_grad_norm)
    weights = _sample_weights(loss, y, sample_weight, class_weight, n)
    callbacks = _callbacks(callbacks)
    stopper = _early_stopping(early_stopping)
    optimizer = _optimizer(optimizer, model)
    scheduler = _scheduler(scheduler, optimizer)
    rng = np.random.default_rng(seed)

    keys = ["loss"] + ([metric_name] if metric_name else [])
    if validation_data is not None:
        keys += [f"val_{k}" for k in keys]
    history = History(keys)
    if stopper is not None:
        stopper.start(model, validation_data is not None, keys)

    x_rows = F.empty((batch_size,) + X.shape[1:], X.dtype)  # gathered shuffled batches
    y_rows = np.empty((batch_size,) + y.shape[1:], y.dtype)
    w_rows = np.empty(batch_size) if weights is not None else None
    total_weight = float(weights.sum()) if weights is not None else float(n)
    grads = {}  # rows -> dL/dout buffer, for train_step
    out_shape = model.output_shape(X.shape[1:])
    bar = _progress(verbose, epochs)
    try:
        for epoch in range(epochs):
            began = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            order = rng.permutation(n) if shuffle else None
            total_loss = 0.0
            metric = (_Metric(metric_fn, n, out_shape, model.dtype, y)
                      if metric_fn is not None else None)
            for start in range(0, n, batch_size):
                rows = min(batch_size, n - start)
                wb = None
                if order is None:
                    xb, yb = X[start:start + rows], y[start:start + rows]
                    if weights is not None:
                        wb = weights[start:start + rows]
                else:
                    index = order[start:start + rows]
                    xb = np.take(X, index, axis=0, out=x_rows[:rows], mode="clip")
                    yb = np.take(y, index, axis=0, out=y_rows[:rows], mode="clip")
                    if weights is not None:
                        wb = np.take(weights, index, out=w_rows[:rows], mode="clip")
                value, out = train_step(model, loss, optimizer, xb, yb, grads, max_norm, wb)
                total_loss += value * (rows if wb is None else float(wb.sum()))
                if metric is not None:
                    metric.add(out, yb)
                history.steps += 1
                if scheduler is not None and scheduler_per_batch:
                    if _is_plateau(scheduler):
                        scheduler.step(value)
                    else:
                        scheduler.step()
            history["loss"].append(total_loss / total_weight)
            if metric_name:
                history[metric_name].append(metric.value())
            if validation_data is not None:
                val_loss, val_metric = _evaluate(model, X_val, y_val, loss, metric_fn,
                                                 max(batch_size, 1024))
                history["val_loss"].append(val_loss)
                if metric_name:
                    history[f"val_{metric_name}"].append(val_metric)
            history.epochs += 1
            stop = stopper is not None and stopper.update(epoch, history)
            if scheduler is not None and not scheduler_per_batch:
                if _is_plateau(scheduler):
                    scheduler.step(history["val_loss" if validation_data is not None
                                           else "loss"][-1])
                else:
                    scheduler.step()
            _report(bar, verbose, epoch, epochs, history, time.perf_counter() - began)
            logs = {k: v[-1] for k, v in history.items()}
            logs["lr"] = lr
            for callback in callbacks:
                try:
                    if callback(epoch, dict(logs)):
                        stop = True
                except StopTraining:
                    stop = True
            if stop:
                break
    finally:
        if bar is not None:
            bar.close()
    if stopper is not None:
        stopper.finish()
        history.best_epoch, history.stopped_epoch = stopper.best_epoch, stopper.stopped_epoch
        if verbose and stopper.stopped_epoch is not None:
            print(f"early stopping after epoch {stopper.stopped_epoch + 1}: best "
                  f"{stopper.monitored} {stopper.best_value:.4g} at epoch "
                  f"{stopper.best_epoch + 1}"
                  + (", its weights restored" if stopper.restore_best_weights else ""))
    return history


def _report(bar, verbose, epoch, epochs, history, seconds):
    if not verbose:
        return
    values = {k: v[-1] for k, v in history.items()}
    if bar is not None:
        bar.set_postfix({k: f"{v:.4g}" for k, v in values.items()}, refresh=False)
        bar.update(1)
        return
    text = ", ".join(f"{k} {v:.4g}" for k, v in values.items())
    print(f"epoch {epoch + 1}/{epochs}: {text} ({seconds:.2f}s)", file=sys.stdout, flush=True)
