"""Early stopping for ``fit``: stop when a monitored quantity stops improving, and put back the
weights of its best epoch."""

import math
import numbers

__all__ = ["EarlyStopping"]


# the metrics where higher is better
_SCORES = ("accuracy", "directional_accuracy", "precision", "recall", "f1", "roc_auc", "r2")


class EarlyStopping:
    """Stop training after ``patience`` epochs without improvement of ``monitor``.

    An epoch improves when its value beats the best so far by more than ``min_delta``
    (``value < best - min_delta`` for a quantity to minimize, ``>`` best + min_delta to
    maximize). ``monitor``: a history key ("val_loss", "loss", "val_accuracy", ...; "auto" is
    "val_loss" with validation data, else "loss"). ``mode``: "min", "max" or "auto" (max for
    the scores: accuracy, directional_accuracy, precision, recall, f1, roc_auc, r2; min
    otherwise). With ``restore_best_weights`` the model ends training, stopped or
    not, with the weights of its best epoch. The same names as Keras's callback.
    """

    def __init__(self, monitor="auto", patience=5, min_delta=0.0, mode="auto",
                 restore_best_weights=True):
        if isinstance(patience, bool) or not isinstance(patience, numbers.Integral) \
                or patience < 0:
            raise ValueError(f"patience must be an int >= 0, got {patience!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, numbers.Real) \
                or not min_delta >= 0:
            raise ValueError(f"min_delta must be a number >= 0, got {min_delta!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        if not isinstance(monitor, str):
            raise TypeError(f"monitor must be a history key (a str), got {monitor!r}")
        self.monitor = monitor
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.mode = mode
        self.restore_best_weights = bool(restore_best_weights)

    def start(self, model, has_validation, keys):
        """Reset for a new ``fit``; ``keys`` are the history's keys."""
        monitor = self.monitor
        if monitor == "auto":
            monitor = "val_loss" if has_validation else "loss"
        if monitor not in keys:
            raise ValueError(f"early_stopping: monitor {monitor!r} is not recorded; the "
                             f"history has {sorted(keys)}")
        self.monitored = monitor
        mode = self.mode
        if mode == "auto":
            name = monitor[4:] if monitor.startswith("val_") else monitor
            mode = "max" if name in _SCORES or "accuracy" in name else "min"
        self._sign = 1.0 if mode == "min" else -1.0  # minimizes sign * value
        self._model = model
        self.best = math.inf
        self.best_epoch = None
        self.stopped_epoch = None
        self._wait = 0
        self._best_weights = None

    def update(self, epoch, history):
        """After ``epoch`` (0-based): True to stop training."""
        value = self._sign * history[self.monitored][-1]
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self._wait = value, epoch, 0
            if self.restore_best_weights:
                self._best_weights = self._model.state_dict()
            return False
        self._wait += 1
        if self._wait >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def finish(self):
        """At the end of training: the best epoch's weights back into the model."""
        if self._best_weights is not None:
            self._model.load_state_dict(self._best_weights)
        self._model = self._best_weights = None

    @property
    def best_value(self):
        return None if self.best_epoch is None else self._sign * self.best
