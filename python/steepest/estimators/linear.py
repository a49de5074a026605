"""Linear models trained by gradient descent: LinearRegressor (like SGDRegressor) and
LogisticClassifier (binary and multinomial logistic regression).

The model: outputs (B, k) = X (B, F) @ coef (k, F).T + intercept (k,). The objective, over a
batch, is the mean loss plus the penalty on coef (never on the intercept), scikit-learn's
elastic net:

    alpha * (l1_ratio * ||coef||_1 + (1 - l1_ratio) / 2 * ||coef||_2^2)

("l2": l1_ratio = 0, "l1": l1_ratio = 1). The L2 part is the rule's weight_decay on coef
(added to the gradient for sgd, adam, ...; decoupled for adamw and lion). The L1 part is a
proximal step after each optimizer step, the soft threshold

    coef <- sign(coef) * max(|coef| - lr * alpha * l1_ratio, 0)

(Tsuruoka, Tsujii & Ananiadou 2009; Duchi & Singer 2009), so weights reach exactly zero.

Each batch is one forward (the kernel of steepest.nn.functional.dense_forward), one loss value
and gradient (loss_value_and_grad's) and one backward writing the gradients of coef and
intercept (dense_backward's), then the optimizer's step. With sgd, adam or adamw a whole
epoch is one C++ call (_core.linear_epoch, csrc/nn/linear_epoch.cc) that calls those kernels
and the rule's kernel per batch, on the optimizer's own state: bitwise the per-batch loop.
"""

import numpy as np

from .. import _core, optim
from ..nn import functional as F
from ..nn.layers import Parameter
from ..nn.training import _weighted
from . import _checks
from ._base import DTYPE, GradientDescentEstimator
from ._optim import RULES, make_optimizer
from .outputs import ClassifierOutputs, RegressorOutputs

PENALTIES = (None, "l2", "l1", "elasticnet")


class _LinearModel(GradientDescentEstimator):
    def _check_params(self):
        self._check_common()
        _checks.choice(self, "penalty", PENALTIES)
        alpha = _checks.real(self, "alpha", 0.0)
        l1_ratio = _checks.real(self, "l1_ratio", 0.0, 1.0)
        _checks.choice(self, "optimizer", sorted(RULES))
        l1_ratio = {None: 0.0, "l2": 0.0, "l1": 1.0, "elasticnet": l1_ratio}[self.penalty]
        alpha = 0.0 if self.penalty is None else alpha
        self._l2, self._l1 = alpha * (1.0 - l1_ratio), alpha * l1_ratio

    def _init_model(self, n_features, n_outputs, rng):
        # zeros, as scikit-learn's SGD: the objective is convex
        self._weight = Parameter(np.zeros((n_outputs, n_features), DTYPE))
        self._bias = Parameter(np.zeros(n_outputs, DTYPE))

    def _make_optimizer(self):
        return make_optimizer(self.optimizer, self.lr, [self._weight], [self._bias], self._l2)

    def _epoch(self, X, T, W, seed):
        """One pass over (X, T) in batches; returns the mean loss over its batches (weighted by
        their rows), as the weights moved. With a rule the epoch kernel covers (_FUSED) and no
        row weights W, the batches run in one C++ call (_core.linear_epoch), bitwise the
        per-batch loop; the optimizer's first step, which creates its state, runs in the loop."""
        n = len(X)
        rows = n if self._batch is None else min(self._batch, n)
        batches = -(-n // rows)
        order = np.random.default_rng(seed).permutation(n) if self.shuffle else None
        opt, total, start = self._optimizer, 0.0, 0
        if W is not None:
            return self._batches(X, T, order, rows, 0, batches, total, W) / n
        fused = _fused_rule(opt)
        if fused == "missing state":
            total, start = self._batches(X, T, order, rows, 0, 1, total), 1
            fused = _fused_rule(opt)
        if fused is None or start == batches:
            total = self._batches(X, T, order, rows, start, batches, total)
            return total / n
        l1 = opt.param_groups[0]["lr"] * self._l1 if self._l1 > 0 else 0.0
        total = _core.linear_epoch(X, T, order, rows, start, batches, total, self._loss_kind(),
                                   self._delta(), l1, self._weight.data, self._bias.data,
                                   self._weight.grad, self._bias.grad, *fused)
        opt.applied_steps = opt.applied_steps + (batches - start)
        return total / n

    def _batches(self, X, T, order, rows, first, end, total, W=None):
        """Batches [first, end) of the epoch, one optimizer step each; returns total plus
        their loss values times their rows. The loop calls the bindings behind
        steepest.nn.functional's dense_forward, loss_value_and_grad and dense_backward
        directly (they check every array; the wrappers' Python checks were done by fit).
        With row weights W a batch's loss is sum_i w_i l_i / sum_i w_i (nn.training's)."""
        n, k = len(X), self.n_outputs_
        x_buf = np.empty((rows, X.shape[1]), DTYPE) if order is not None else None
        t_buf = np.empty((rows,) + T.shape[1:], T.dtype) if order is not None else None
        out, grad = np.empty((rows, k), DTYPE), np.empty((rows, k), DTYPE)
        w, dw = self._weight.data, self._weight.grad
        b, db = self._bias.data, self._bias.grad
        kind, delta, opt = self._loss_kind(), self._delta(), self._optimizer
        prox = np.empty_like(w) if self._l1 > 0 else None
        row_loss = self._row_loss() if W is not None else None
        forward, loss, backward = _core.dense_forward, _core.loss, _core.dense_backward
        for start in range(first * rows, min(end * rows, n), rows):
            m = min(rows, n - start)
            if order is None:
                xb, tb = X[start:start + m], T[start:start + m]
                wb = W[start:start + m] if W is not None else None
            else:
                # mode="clip": take with out= and the default mode="raise" buffers the output
                index = order[start:start + m]
                xb = np.take(X, index, axis=0, out=x_buf if m == rows else x_buf[:m],
                             mode="clip")
                tb = np.take(T, index, axis=0, out=t_buf if m == rows else t_buf[:m],
                             mode="clip")
                wb = W[index] if W is not None else None
            out_b, grad_b = (out, grad) if m == rows else (out[:m], grad[:m])
            forward(out_b, xb, w, b, "none")                   # out = xb w^T + b
            value = loss(kind, grad_b, out_b, tb, delta)        # grad = dL/dout
            if W is not None:
                value = _weighted(row_loss, out_b, tb, wb, grad_b)
            backward(None, dw, db, grad_b, xb, w, False, None)  # dw = grad^T xb, db = sum
            opt.step()
            if prox is not None:
                _soft_threshold(w, opt.param_groups[0]["lr"] * self._l1, prox)
            total += value * m
        return total

    def _loss(self, X, T):
        return F.loss_value(self._loss_kind(), self._output(X), T, delta=self._delta())

    def _output(self, X):
        return F.dense_forward(X, self._weight.data, self._bias.data)

    def _state(self):
        return self._weight.data.copy(), self._bias.data.copy()

    def _set_state(self, state):
        self._weight.data[...], self._bias.data[...] = state

    def _publish(self):
        coef, intercept = self._weight.data.copy(), self._bias.data.copy()
        if getattr(self, "_y_ndim", 2) == 1:  # a regressor fitted on a 1-d y: sklearn's shapes
            coef = coef[0]
        self.coef_, self.intercept_ = coef, intercept


# The rules the epoch kernel applies (its "sgd" and "adam" kernels), by optimizer class; other
# rules, subclasses and the non-finite guard run the per-batch loop.
_FUSED = {optim.SGD: "sgd", optim.Adam: "adam", optim.AdamW: "adam"}


def _fused_rule(opt):
    """The rule arguments of _core.linear_epoch for ``opt`` (two groups: weight, bias) from its
    step plan, what its own step would read: (rule, the groups' hyperparameters (checked by
    the rule's check), per tensor its state arrays in the rule's order and its step count).
    None when the kernel does not cover the optimizer; "missing state" before its first step
    (that step creates the state)."""
    rule = _FUSED.get(type(opt))
    if rule is None or opt.nonfinite != "propagate":
        return None
    plan = opt._current_plan()
    hyper = tuple(opt._hyper(group) for group in opt.param_groups)
    for values in hyper:
        opt._checker(*values)
    states = [[arrays[0] for arrays in gp.state_lists] for gp in plan]
    for group, state in zip(opt.param_groups, states):
        used = ([group["momentum"] != 0] if rule == "sgd"
                else [True, True, bool(group["amsgrad"])])
        if any(u and a is None for u, a in zip(used, state)):
            return "missing state"
    steps = [None if gp.steps is None else gp.steps[0, ...] for gp in plan]
    return rule, hyper, states, steps


def _soft_threshold(w, threshold, buf):
    """w <- sign(w) * max(|w| - threshold, 0), in place (buf: w's shape, scratch)."""
    np.abs(w, out=buf)
    buf -= DTYPE(threshold)
    np.maximum(buf, 0, out=buf)
    np.copysign(buf, w, out=w)


class LinearRegressor(RegressorOutputs, _LinearModel):
    """Linear regression by gradient descent (scikit-learn's SGDRegressor, with any steepest
    rule and mini-batches).

    loss: "mse" mean((p - y)^2), "mae" mean(|p - y|), "huber" (threshold ``delta``).
    penalty, alpha, l1_ratio: the elastic-net penalty on coef (module docstring); L1 by a
    proximal step, so coefficients reach exactly zero.
    optimizer: a steepest.optim rule by name ("sgd", "adam", "adamw", "rmsprop", ...) with its
    defaults and learning rate ``lr``.
    batch_size: None (full batch: one step per epoch), 1 (stochastic) or k (mini-batches).
    epochs: the most epochs a fit runs. tol, n_iter_no_change: stop once the monitored loss has
    not beaten its best by more than tol for n_iter_no_change epochs in a row (tol=None: never).
    early_stopping: monitor the loss on the last validation_fraction of the rows (in time order,
    held out of training) instead of the training loss, and keep the best epoch's weights.
    shuffle: reorder the rows every epoch. warm_start: fit continues from the fitted weights.
    seed: None (fresh entropy) or an int, for the shuffling. callbacks: a list of
    ``cb(epoch, logs) -> bool``, called after every epoch with its logs (``{"loss": ...,
    "lr": ..., "val_loss": ...}``); True stops training.

    Learned: coef_ ((n_features,) for a 1-d y, else (n_outputs, n_features)), intercept_
    (n_outputs,), n_features_in_, n_outputs_, n_iter_ (epochs of the last fit), loss_curve_ and
    validation_loss_curve_ (per epoch), best_epoch_ (with early stopping).
    """

    def __init__(self, loss="mse", penalty="l2", alpha=1e-4, l1_ratio=0.15, optimizer="sgd",
                 lr=0.01, batch_size=32, epochs=100, tol=1e-3, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=5, shuffle=True, warm_start=False,
                 seed=None, delta=1.0, callbacks=None):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.optimizer = optimizer
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.warm_start = warm_start
        self.seed = seed
        self.delta = delta
        self.callbacks = callbacks

    def _check_params(self):
        super()._check_params()
        _checks.choice(self, "loss", ("mse", "mae", "huber"))
        _checks.real(self, "delta", 0.0, low_open=True)

    def _delta(self):
        return float(self.delta)


class LogisticClassifier(ClassifierOutputs, _LinearModel):
    """Logistic regression by gradient descent: binary (one logit, binary cross-entropy) or
    multinomial (one logit per class, softmax cross-entropy), labels of any type.

    The parameters are LinearRegressor's, without loss and delta, and lr defaults to 0.1 (the
    mean cross-entropy's gradient is smaller than the squared error's). Learned: classes_, coef_
    (1, n_features) for two classes, else (n_classes, n_features), intercept_, n_features_in_,
    n_iter_, loss_curve_, validation_loss_curve_, best_epoch_ (with early stopping).
    """

    def __init__(self, penalty="l2", alpha=1e-4, l1_ratio=0.15, optimizer="sgd", lr=0.1,
                 batch_size=32, epochs=100, tol=1e-3, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=5, shuffle=True, warm_start=False,
                 seed=None, callbacks=None, class_weight=None):
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.optimizer = optimizer
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.warm_start = warm_start
        self.seed = seed
        self.callbacks = callbacks
        self.class_weight = class_weight
