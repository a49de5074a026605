"""The training loop every estimator shares: data checks, the model's first build, epochs with a
validation split taken from the end, stopping on a monitored loss, an lr schedule and epoch
callbacks. The estimators supply the model (``_init_model``, ``_make_optimizer``, ``_epoch``,
``_loss``, ``_output``, ``_state``/``_set_state``) and the targets (outputs.py)."""

import math

import numpy as np

from ..nn import losses
from ..nn.training import StopTraining
from . import _checks
from ._sklearn import BaseEstimator, _check_sample_weight, check_is_fitted, validate_data

DTYPE = np.float32  # the models' dtype: X is converted to it once per fit


class GradientDescentEstimator(BaseEstimator):
    """Base of the estimators. Subclasses give ``__init__`` with their keyword parameters, among
    them epochs, tol, early_stopping, validation_fraction, n_iter_no_change, shuffle, warm_start,
    seed and callbacks."""

    _schedule_name = "constant"  # linear models: no lr schedule

    # -- public API ------------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None):
        """Train for ``epochs`` epochs (fewer when the monitored loss stops improving or a
        callback asks to stop) and return self. A fresh model each time, unless ``warm_start``
        (then the fitted weights are kept, with a new optimizer and schedule).

        ``sample_weight`` (n,) numbers >= 0 weighs each row's loss: a batch's loss is
        sum_i w_i l_i / sum_i w_i (so only the weights' ratios count, and equal weights are no
        weights), and so is the validation loss of ``early_stopping``."""
        return self._train(X, y, partial=False, sample_weight=sample_weight)

    # -- the loop --------------------------------------------------------------------------

    def _check_common(self):
        self._epochs = _checks.integer(self, "epochs", 1)
        self._tol = _checks.real(self, "tol", 0.0, allow_none=True)
        self._early = _checks.boolean(self, "early_stopping")
        _checks.real(self, "validation_fraction", 0.0, 1.0, low_open=True, high_open=True)
        self._patience = _checks.integer(self, "n_iter_no_change", 1)
        _checks.boolean(self, "shuffle")
        _checks.boolean(self, "warm_start")
        _checks.seed(self)
        self._batch = _checks.integer(self, "batch_size", 1, allow_none=True)
        _checks.real(self, "lr", 0.0, low_open=True)
        self._callbacks = _checks.callbacks(self)

    def _train(self, X, y, partial, classes=None, sample_weight=None):
        self._check_params()
        fitted = hasattr(self, "n_outputs_") and hasattr(self, "_optimizer")
        fresh = not fitted or (not partial and not self.warm_start)
        before = dict(self.__dict__)
        try:  # bad data raises here, the estimator as it was (validate_data sets attributes)
            X, y = self._validate_fit(X, y, reset=fresh)
            targets = self._targets(y, fresh, partial, classes)
            weights = self._sample_weights(sample_weight, X,
                                           self._class_weights(targets, partial))
            n_val = (math.ceil(self.validation_fraction * len(X)) if self._early and not partial
                     else 0)
            if n_val >= len(X):
                raise ValueError(f"{type(self).__name__}: early_stopping with "
                                 f"validation_fraction={self.validation_fraction} leaves no "
                                 f"training rows of the {len(X)} samples")
            if weights is not None and not weights[:len(X) - n_val].sum() > 0:
                raise ValueError(f"{type(self).__name__}: the sample weights of the training "
                                 f"rows sum to 0: no row would count")
        except Exception:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise
        if fresh:
            self._rng = np.random.default_rng(self.seed)
            self._init_model(self.n_features_in_, self.n_outputs_, self._rng)
            self.loss_curve_, self.validation_loss_curve_ = [], []
            self.n_iter_ = 0
        if fresh or not partial:
            self._optimizer = self._make_optimizer()
            self._scheduler = self._make_scheduler(self._epochs)
        if partial:
            self._run(X, targets, weights, None, None, None, epochs=1, stopping=False)
            return self
        X_val = T_val = W_val = None
        self.__dict__.pop("best_epoch_", None)  # of an earlier fit
        if n_val:
            # the last rows validate: in time order, the model is judged on its future
            X, X_val = X[:-n_val], X[-n_val:]
            targets, T_val = targets[:-n_val], targets[-n_val:]
            if weights is not None:
                weights, W_val = weights[:-n_val], weights[-n_val:]
        self.n_iter_ = 0
        self._run(X, targets, weights, X_val, T_val, W_val, epochs=self._epochs,
                  stopping=self._tol is not None)
        return self

    def _sample_weights(self, sample_weight, X, by_class=None):
        """The rows' weights, float64 (n,): sample_weight checked by scikit-learn (a ValueError
        for a wrong shape, a negative or non-finite weight) times ``by_class`` (each row's
        class weight, or None); None for none, or for equal weights, which weigh nothing: each
        batch's loss is divided by its rows' total weight."""
        if sample_weight is None and by_class is None:
            return None
        w = np.ones(len(X))
        if sample_weight is not None:
            w = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                     ensure_non_negative=True)
            if not np.isfinite(w).all():
                raise ValueError(f"{type(self).__name__}: sample_weight must be finite")
        if by_class is not None:
            w = w * by_class
        if not w.sum() > 0:
            raise ValueError(f"{type(self).__name__}: the sample weights sum to 0: no row "
                             f"would count")
        return None if (w == w[0]).all() else w

    def _weighted_loss(self, X, T, W):
        """The loss over (X, T) with rows weighted by W: sum_i w_i l_i / sum_i w_i (the plain
        mean where W is None or sums to 0)."""
        if W is None or not W.sum() > 0:
            return self._loss(X, T)
        return float(self._row_loss().row_losses(self._output(X), T) @ W) / float(W.sum())

    def _row_loss(self):
        """The loss as a steepest.nn Loss (its row_losses weigh the rows)."""
        kind = self._loss_kind()
        return losses.HuberLoss(self._delta()) if kind == "huber" else losses.get(kind)

    def _delta(self):
        return 1.0  # the Huber loss's delta (LinearRegressor's parameter)

    def _run(self, X, T, W, X_val, T_val, W_val, epochs, stopping):
        """``epochs`` epochs over (X, T) with row weights W (or None). After each, the callbacks get the epoch (counted over
        the estimator's training, from 0) and its logs: "loss" (the mean over the epoch's
        batches), "lr" (the epoch's learning rate) and with a validation split "val_loss".
        With ``stopping``: stop once the monitored loss (val_loss with a validation split, else
        the training loss) has not beaten its best by more than ``tol`` for
        ``n_iter_no_change`` epochs in a row; with a validation split the weights of the best
        epoch are put back."""
        best, wait, best_state = math.inf, 0, None
        for _ in range(epochs):
            lr = self._optimizer.param_groups[0]["lr"]
            loss = self._epoch(X, T, W, int(self._rng.integers(2**63)))
            if not math.isfinite(loss):
                raise ValueError(f"{type(self).__name__}: training diverged (loss {loss} at "
                                 f"epoch {len(self.loss_curve_) + 1}); lower lr")
            logs = {"loss": loss, "lr": lr}
            self.loss_curve_.append(loss)
            if X_val is not None:
                logs["val_loss"] = self._weighted_loss(X_val, T_val, W_val)
                self.validation_loss_curve_.append(logs["val_loss"])
            epoch = len(self.loss_curve_) - 1
            self.n_iter_ += 1
            monitored = logs.get("val_loss", loss)
            stop = False
            if stopping:
                wait = wait + 1 if monitored > best - self._tol else 0
                if monitored < best:
                    best = monitored
                    if X_val is not None:
                        best_state, self.best_epoch_ = self._state(), epoch
                stop = wait >= self._patience
            if self._scheduler is not None:
                if self._schedule_name == "plateau":
                    self._scheduler.step(monitored)
                else:
                    self._scheduler.step()
            for callback in self._callbacks:
                try:
                    if callback(epoch, dict(logs)):
                        stop = True
                except StopTraining:
                    stop = True
            if stop:
                break
        if best_state is not None:
            self._set_state(best_state)
        self._publish()

    # -- hooks with defaults ---------------------------------------------------------------

    def _make_scheduler(self, epochs):
        return None

    def _class_weights(self, targets, partial):
        """Each row's weight of its class (n,), or None (regressors; classifiers without
        class_weight)."""
        return None

    def _publish(self):
        """Set the learned attributes that copy the weights (coef_, ...) after training."""

    def _validate_fit(self, X, y, reset):
        """(X, y) checked by scikit-learn (which sets n_features_in_ when ``reset``), X as the
        model's dtype."""
        X, y = validate_data(self, X, y, reset=reset, dtype=(np.float64, np.float32),
                             **self._y_checks)
        return np.ascontiguousarray(X, dtype=DTYPE), y

    def _input(self, X):
        """X checked for prediction against the fitted model, as the model's dtype."""
        check_is_fitted(self, "n_outputs_")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return np.ascontiguousarray(X, dtype=DTYPE)
