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

from ..optim import registry
from ..optim.clip import clip_grad_norm_
from . import losses, metrics
from .checks import positive_int
from .early_stopping import EarlyStopping

__all__ = ["fit", "evaluate", "train_step", "History"]

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


def train_step(model, loss, optimizer, xb, yb, grads, clip_grad_norm=None):
    """One step on checked batch arrays: forward, the loss's value and dL/dout (written into
    ``grads[rows]``, a buffer kept across calls), backward writing the gradients (what zeroing
    them first and accumulating gives, without the zeroing pass), with ``clip_grad_norm`` (a
    max norm) the gradients scaled by ``steepest.optim.clip_grad_norm_`` to a total 2-norm of
    at most that, update. Returns (loss value, the output buffer)."""
    max_norm = _max_norm(clip_grad_norm)
    out = model._forward(xb, training=True)
    grad = grads.get(len(xb))
    if grad is None:
        grad = grads[len(xb)] = np.empty(out.shape, out.dtype)
    value, _ = loss.value_and_grad(out, yb, grad=grad)
    model._backward(grad, input_grad=False, write=True)
    if max_norm is not None:
        clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return value, out


def _evaluate(model, X, y, loss, metric_fn, batch_size):
    """(mean loss, mean metric or None) over checked data, at inference."""
    total_loss = total_metric = 0.0
    for start in range(0, len(X), batch_size):
        xb, yb = X[start:start + batch_size], y[start:start + batch_size]
        out = model._infer(xb)
        total_loss += loss(out, yb) * len(xb)
        if metric_fn is not None:
            total_metric += metric_fn(out, yb) * len(xb)
    n = len(X)
    return total_loss / n, (total_metric / n if metric_fn is not None else None)


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
        clip_grad_norm=None):
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
    classification losses), None, "accuracy", "mae", "mse" or ``fn(pred, y) -> float``.
    ``verbose``: 0 silent, 1 a tqdm progress bar over the epochs (a line per epoch without
    tqdm), 2 a line per epoch. ``clip_grad_norm``: None, or a max norm > 0: every step scales
    the gradients to a total 2-norm of at most that (``steepest.optim.clip_grad_norm_``,
    between backward and the optimizer's step; what recurrent models usually need).

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
    stopper = _early_stopping(early_stopping)
    optimizer = _optimizer(optimizer, model)
    rng = np.random.default_rng(seed)

    keys = ["loss"] + ([metric_name] if metric_name else [])
    if validation_data is not None:
        keys += [f"val_{k}" for k in keys]
    history = History(keys)
    if stopper is not None:
        stopper.start(model, validation_data is not None, keys)

    x_rows = np.empty((batch_size,) + X.shape[1:], X.dtype)  # gathered shuffled batches
    y_rows = np.empty((batch_size,) + y.shape[1:], y.dtype)
    grads = {}  # rows -> dL/dout buffer, for train_step
    bar = _progress(verbose, epochs)
    try:
        for epoch in range(epochs):
            began = time.perf_counter()
            order = rng.permutation(n) if shuffle else None
            total_loss = total_metric = 0.0
            for start in range(0, n, batch_size):
                rows = min(batch_size, n - start)
                if order is None:
                    xb, yb = X[start:start + rows], y[start:start + rows]
                else:
                    index = order[start:start + rows]
                    xb = np.take(X, index, axis=0, out=x_rows[:rows], mode="clip")
                    yb = np.take(y, index, axis=0, out=y_rows[:rows], mode="clip")
                value, out = train_step(model, loss, optimizer, xb, yb, grads, max_norm)
                total_loss += value * rows
                if metric_fn is not None:
                    total_metric += metric_fn(out, yb) * rows
                history.steps += 1
            history["loss"].append(total_loss / n)
            if metric_name:
                history[metric_name].append(total_metric / n)
            if validation_data is not None:
                val_loss, val_metric = _evaluate(model, X_val, y_val, loss, metric_fn,
                                                 max(batch_size, 1024))
                history["val_loss"].append(val_loss)
                if metric_name:
                    history[f"val_{metric_name}"].append(val_metric)
            history.epochs += 1
            stop = stopper is not None and stopper.update(epoch, history)
            _report(bar, verbose, epoch, epochs, history, time.perf_counter() - began)
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
