"""Multi-layer perceptrons over steepest.nn.Sequential: MLPRegressor and MLPClassifier.

The network: Dense(F, h1), activation, [Dropout(p)], ..., Dense(h_last, k), trained as every
network estimator is (_network.py).
"""

import numpy as np

from .. import nn
from . import _checks
from ._base import DTYPE
from ._network import NetworkEstimator
from .outputs import ClassifierOutputs, RegressorOutputs

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "logistic": nn.Sigmoid,
               "gelu": nn.GELU, "leaky_relu": nn.LeakyReLU, "identity": None}


class _MLPModel(NetworkEstimator):
    def _check_params(self):
        self._check_network_params()
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, (int, np.integer)) and not isinstance(sizes, bool):
            sizes = (sizes,)
        if not isinstance(sizes, (tuple, list)) or not all(
                isinstance(h, (int, np.integer)) and not isinstance(h, bool) and h >= 1
                for h in sizes):
            raise ValueError(f"{type(self).__name__}: hidden_layer_sizes must be a tuple of "
                             f"ints >= 1, got {self.hidden_layer_sizes!r}")
        self._hidden = tuple(int(h) for h in sizes)
        _checks.choice(self, "activation", list(ACTIVATIONS))

    def _init_model(self, n_features, n_outputs, rng):
        sizes = (n_features,) + self._hidden + (n_outputs,)
        layers = []
        for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
            layers.append(nn.Dense(a, b, seed=int(rng.integers(2**63)), dtype=DTYPE))
            if i == len(self._hidden):
                break
            if ACTIVATIONS[self.activation] is not None:
                layers.append(ACTIVATIONS[self.activation]())
            if self.dropout > 0:
                layers.append(nn.Dropout(self.dropout, seed=int(rng.integers(2**63))))
        self.model_ = nn.Sequential(*layers)


_COMMON_DOC = """
    hidden_layer_sizes: the hidden layers' widths. activation: "relu", "tanh", "sigmoid"
    ("logistic"), "gelu", "leaky_relu" or "identity", after every hidden layer. dropout: the
    probability of a Dropout after every hidden activation (0: none).
    optimizer: a steepest.optim rule by name ("adamw", "adam", "sgd", ...), learning rate lr,
    weight_decay on the weights (not the biases): decoupled for adamw and lion, added to the
    gradient (L2) for sgd, adam and the others. lr_schedule: "constant", "cosine", "step",
    "exponential", "linear" or "plateau", stepped once per epoch (steepest.optim.lr_scheduler;
    _optim.make_scheduler says which). batch_size: rows per step (None: the whole set).
    epochs, tol, n_iter_no_change, early_stopping, validation_fraction (the last rows, in time
    order), shuffle, warm_start, seed, callbacks: as LinearRegressor.
    Learned: model_ (the steepest.nn.Sequential), n_features_in_, n_outputs_, n_iter_,
    loss_curve_, validation_loss_curve_, best_epoch_ (with early stopping)."""


class MLPRegressor(RegressorOutputs, _MLPModel):
    __doc__ = ("A multi-layer perceptron regressor (loss \"mse\", \"mae\" or \"huber\") trained "
               "by steepest.nn." + _COMMON_DOC)

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", dropout=0.0, loss="mse",
                 optimizer="adamw", lr=1e-3, weight_decay=1e-4, lr_schedule="constant",
                 batch_size=200, epochs=200, tol=1e-4, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, shuffle=True, warm_start=False,
                 seed=None, callbacks=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
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


class MLPClassifier(ClassifierOutputs, _MLPModel):
    __doc__ = ("A multi-layer perceptron classifier (softmax cross-entropy; binary "
               "cross-entropy on one logit for two classes), labels of any type, trained by "
               "steepest.nn." + _COMMON_DOC + " classes_: the labels, sorted.")

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", dropout=0.0,
                 optimizer="adamw", lr=1e-3, weight_decay=1e-4, lr_schedule="constant",
                 batch_size=200, epochs=200, tol=1e-4, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, shuffle=True, warm_start=False,
                 seed=None, callbacks=None, class_weight=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
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
