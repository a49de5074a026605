"""Sequence estimators over steepest.nn: SequenceRegressor and SequenceClassifier on windows
X (n, T, F) (T time steps of F features, channels last; a 2-d X (n, T) is T steps of one
feature), predicting from the last step.

The network is chosen by name from MODELS, a table of builders: ``builder(n_features,
n_outputs, estimator, rng) -> [layers]`` ending in outputs (n, n_outputs). Today "tcn"; the
recurrent and attention layers add "lstm", "gru" and "transformer" as one row each. Training
is the MLP estimators' (mlp.py): Sequential.fit one epoch at a time, the optimizer kept by the
estimator, an lr schedule, the stopping rule and callbacks (_base.py).
"""

from .. import nn
from . import _checks
from ._base import DTYPE
from ._optim import RULES, SCHEDULES
from .mlp import _MLPModel
from .outputs import ClassifierOutputs, RegressorOutputs


def _seed(rng):
    return int(rng.integers(2**63))


def _tcn(n_features, n_outputs, est, rng):
    """num_layers causal TCNBlocks of hidden_size channels, dilations 1, 2, 4, ..., the last
    step, a Dense to the outputs (Bai, Kolter & Koltun 2018)."""
    layers, channels = [], n_features
    for i in range(est.num_layers):
        layers.append(nn.TCNBlock(channels, est.hidden_size, kernel_size=est.kernel_size,
                                  dilation=2 ** i, dropout=est.dropout, seed=_seed(rng),
                                  dtype=DTYPE))
        channels = est.hidden_size
    return layers + [nn.LastStep(), nn.Dense(channels, n_outputs, seed=_seed(rng), dtype=DTYPE)]


# model name -> builder(n_features, n_outputs, estimator, rng) -> layers
MODELS = {"tcn": _tcn}


class _SequenceModel(_MLPModel):
    _x_checks = {"allow_nd": True}

    def _check_params(self):
        self._check_common()
        _checks.choice(self, "model", sorted(MODELS))
        _checks.integer(self, "hidden_size", 1)
        _checks.integer(self, "num_layers", 1)
        _checks.integer(self, "kernel_size", 1)
        _checks.real(self, "dropout", 0.0, 1.0, high_open=True)
        _checks.real(self, "weight_decay", 0.0)
        _checks.choice(self, "optimizer", sorted(RULES))
        self._schedule_name = _checks.choice(self, "lr_schedule", SCHEDULES)

    def _shaped(self, X):
        if X.ndim == 2:
            return X[:, :, None]
        if X.ndim != 3:
            raise ValueError(f"{type(self).__name__} takes windows X (n, T, F) or (n, T), got "
                             f"shape {X.shape}")
        return X

    def _init_model(self, n_features, n_outputs, rng):
        self.model_ = nn.Sequential(*MODELS[self.model](n_features, n_outputs, self, rng))


_COMMON_DOC = """
    model: the network, a name of MODELS ("tcn": num_layers causal TCNBlocks of hidden_size
    channels with kernel_size and dilations 1, 2, 4, ..., then the last step and a Dense).
    dropout: inside the blocks. optimizer, lr, weight_decay, lr_schedule, batch_size, epochs,
    tol, n_iter_no_change, early_stopping, validation_fraction (the last windows, in time
    order), shuffle, warm_start, seed, callbacks: as MLPRegressor.
    X: windows (n, T, F), or (n, T) for one feature. Learned: model_ (the
    steepest.nn.Sequential), n_features_in_ (T, scikit-learn's second dimension), n_outputs_,
    n_iter_, loss_curve_, validation_loss_curve_, best_epoch_ (with early stopping)."""


def _poor_score(tags):
    """scikit-learn's checks give 2-d X of unrelated features, which these estimators read as
    a univariate series of len(features) steps predicted from its end: the checks' score
    thresholds do not apply."""
    for kind in (tags.regressor_tags, tags.classifier_tags):
        if kind is not None:
            kind.poor_score = True
    return tags


class SequenceRegressor(RegressorOutputs, _SequenceModel):
    __doc__ = ("A regressor on windows (loss \"mse\", \"mae\" or \"huber\") over a sequence "
               "model of steepest.nn." + _COMMON_DOC)

    def __init__(self, model="tcn", hidden_size=32, num_layers=2, kernel_size=3, dropout=0.0,
                 loss="mse", optimizer="adamw", lr=1e-3, weight_decay=1e-4,
                 lr_schedule="constant", batch_size=64, epochs=100, tol=1e-4,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 shuffle=True, warm_start=False, seed=None, callbacks=None):
        self.model = model
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.kernel_size = kernel_size
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

    def __sklearn_tags__(self):
        return _poor_score(super().__sklearn_tags__())

    def _check_params(self):
        super()._check_params()
        _checks.choice(self, "loss", ("mse", "mae", "huber"))


class SequenceClassifier(ClassifierOutputs, _SequenceModel):
    __doc__ = ("A classifier on windows (softmax cross-entropy; binary cross-entropy on one "
               "logit for two classes), labels of any type, over a sequence model of "
               "steepest.nn." + _COMMON_DOC + " classes_: the labels, sorted.")

    def __init__(self, model="tcn", hidden_size=32, num_layers=2, kernel_size=3, dropout=0.0,
                 optimizer="adamw", lr=1e-3, weight_decay=1e-4, lr_schedule="constant",
                 batch_size=64, epochs=100, tol=1e-4, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, shuffle=True, warm_start=False,
                 seed=None, callbacks=None):
        self.model = model
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.kernel_size = kernel_size
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

    def __sklearn_tags__(self):
        return _poor_score(super().__sklearn_tags__())
