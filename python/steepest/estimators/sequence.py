"""Sequence models over steepest.nn.Sequential: SequenceRegressor and SequenceClassifier, on
windows X (n, T, F) (n windows of T time steps of F features; a 2-d X (n, F) is n windows of
one step). The network, by ``model``:

    "tcn"          Conv1d(F, H, 1), num_layers causal TCNBlock(H, H, kernel_size, dilation 2^i,
                   dropout) (i = 0, 1, ...)
    "lstm", "gru"  LSTM(F, H, num_layers, dropout) or GRU(...)
    "transformer"  Dense(F, H), PositionalEncoding(H), num_layers causal
                   TransformerEncoderLayer(H, num_heads, dim_feedforward, dropout)

then the last step and Dense(H, k);
H = hidden_size, k the outputs. Trained as every network estimator is (_network.py).
"""

import numpy as np

from .. import nn
from . import _checks
from ._base import DTYPE
from ._network import NetworkEstimator
from ._sklearn import check_array, check_is_fitted, check_X_y
from .outputs import ClassifierOutputs, RegressorOutputs


def _tcn(est, n_features, n_outputs, rng):
    H = est.hidden_size
    blocks = [nn.TCNBlock(H, H, est.kernel_size, dilation=2**i, dropout=est.dropout, seed=rng,
                          dtype=DTYPE) for i in range(est.num_layers)]
    return [nn.Conv1d(n_features, H, 1, seed=rng, dtype=DTYPE), *blocks]


def _recurrent(layer):
    def build(est, n_features, n_outputs, rng):
        return [layer(n_features, est.hidden_size, num_layers=est.num_layers,
                      dropout=est.dropout, seed=rng, dtype=DTYPE)]
    return build


def _transformer(est, n_features, n_outputs, rng):
    H = est.hidden_size
    return [nn.Dense(n_features, H, seed=rng, dtype=DTYPE), nn.PositionalEncoding(H, dtype=DTYPE),
            *[nn.TransformerEncoderLayer(H, est.num_heads, est.dim_feedforward,
                                         dropout=est.dropout, causal=True, seed=rng, dtype=DTYPE)
              for _ in range(est.num_layers)]]


# model name -> the layers from the input to the hidden sequence (n, T, H)
MODELS = {"tcn": _tcn, "lstm": _recurrent(nn.LSTM), "gru": _recurrent(nn.GRU),
          "transformer": _transformer}


class _SequenceModel(NetworkEstimator):
    def _check_params(self):
        self._check_network_params()
        _checks.choice(self, "model", sorted(MODELS))
        _checks.integer(self, "hidden_size", 1)
        _checks.integer(self, "num_layers", 1)
        _checks.integer(self, "kernel_size", 1)
        heads = _checks.integer(self, "num_heads", 1)
        _checks.integer(self, "dim_feedforward", 1)
        if self.model == "transformer" and self.hidden_size % heads:
            raise ValueError(f"{type(self).__name__}: hidden_size ({self.hidden_size}) must be "
                             f"a multiple of num_heads ({heads}) for the transformer")

    def _init_model(self, n_features, n_outputs, rng):
        body = MODELS[self.model](self, n_features, n_outputs, rng)
        self.model_ = nn.Sequential(*body, nn.LastStep(),
                                    nn.Dense(self.hidden_size, n_outputs, seed=rng, dtype=DTYPE))

    def _windows(self, X, y, reset, fitting):
        """X as float32 windows (n, T, F), y checked as the targets' kind wants. A 2-d X takes
        scikit-learn's checks (feature names, n_features_in_) and is n windows of one step; a
        3-d X is checked here: n_features_in_ is F."""
        ndim = getattr(X, "ndim", None)  # not np.ndim: array-likes may refuse __array_function__
        if ndim is None:
            ndim = np.asarray(X).ndim
        if ndim != 3:
            if not fitting:
                X = super()._input(X)
            else:
                X, y = super()._validate_fit(X, y, reset)
            return X[:, None, :], y
        if not fitting:
            X = check_array(X, allow_nd=True, dtype=(np.float64, np.float32))
        else:
            X, y = check_X_y(X, y, allow_nd=True, dtype=(np.float64, np.float32),
                             **self._y_checks)
        n_features = X.shape[2]
        if reset:
            self.__dict__.pop("feature_names_in_", None)
            self.n_features_in_ = n_features
        elif n_features != self.n_features_in_:
            raise ValueError(f"X has {n_features} features, but {type(self).__name__} is "
                             f"expecting {self.n_features_in_} features as input.")
        return np.ascontiguousarray(X, dtype=DTYPE), y

    def _validate_fit(self, X, y, reset):
        return self._windows(X, y, reset, fitting=True)

    def _input(self, X):
        check_is_fitted(self, "n_outputs_")
        return self._windows(X, None, False, fitting=False)[0]


_COMMON_DOC = """
    model: "tcn", "lstm", "gru" or "transformer" (the networks above). hidden_size: H, the
    width of every hidden layer. num_layers: the number of TCNBlocks, recurrent layers or
    encoder layers. kernel_size: the TCN's taps. num_heads, dim_feedforward: the transformer's.
    dropout: the probability of the layers' dropouts (0: none).
    optimizer: a steepest.optim rule by name ("adamw", "adam", "sgd", ...), learning rate lr,
    weight_decay on the weights (not the biases). lr_schedule: "constant", "cosine", "step",
    "exponential", "linear" or "plateau", stepped once per epoch. batch_size: windows per step
    (None: all). epochs, tol, n_iter_no_change, early_stopping, validation_fraction (the last
    windows, in time order), shuffle, warm_start, seed, callbacks: as LinearRegressor.
    Learned: model_ (the steepest.nn.Sequential), n_features_in_ (F), n_outputs_, n_iter_,
    loss_curve_, validation_loss_curve_, best_epoch_ (with early stopping)."""


class SequenceRegressor(RegressorOutputs, _SequenceModel):
    __doc__ = ("A sequence model regressor (loss \"mse\", \"mae\" or \"huber\") on windows "
               "(n, T, F), trained by steepest.nn." + _COMMON_DOC)

    def __init__(self, model="tcn", hidden_size=32, num_layers=2, kernel_size=3, num_heads=4,
                 dim_feedforward=64, dropout=0.0, loss="mse", optimizer="adamw", lr=1e-3, weight_decay=1e-4,
                 lr_schedule="constant", batch_size=64, epochs=50, tol=1e-4,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 shuffle=True, warm_start=False, seed=None, callbacks=None):
        self.model = model
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.kernel_size = kernel_size
        self.num_heads = num_heads
        self.dim_feedforward = dim_feedforward
        self.dropout = dropout
        self.loss = loss
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
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

    def _check_params(self):
        super()._check_params()
        _checks.choice(self, "loss", ("mse", "mae", "huber"))


class SequenceClassifier(ClassifierOutputs, _SequenceModel):
    __doc__ = ("A sequence model classifier (softmax cross-entropy; binary cross-entropy on one "
               "logit for two classes) on windows (n, T, F), labels of any type, trained by "
               "steepest.nn." + _COMMON_DOC + " classes_: the labels, sorted.")

    def __init__(self, model="tcn", hidden_size=32, num_layers=2, kernel_size=3, num_heads=4,
                 dim_feedforward=64, dropout=0.0, optimizer="adamw", lr=1e-3, weight_decay=1e-4, lr_schedule="constant",
                 batch_size=64, epochs=50, tol=1e-4, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, shuffle=True, warm_start=False,
                 seed=None, callbacks=None, class_weight=None):
        self.model = model
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.kernel_size = kernel_size
        self.num_heads = num_heads
        self.dim_feedforward = dim_feedforward
        self.dropout = dropout
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
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
