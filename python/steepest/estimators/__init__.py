"""scikit-learn estimators trained by steepest: linear models by gradient descent,
multi-layer perceptrons and sequence models on windows (n, T, F), for Pipeline, GridSearchCV, cross_val_score (with
``steepest.trading.WalkForward``) and Optuna.

    from steepest.estimators import LinearRegressor, MLPClassifier
    reg = LinearRegressor(penalty="l1", alpha=1e-3, optimizer="adam", lr=1e-2).fit(X, y)
    clf = MLPClassifier(hidden_layer_sizes=(64,), epochs=50, seed=0).fit(X, labels)

scikit-learn's contract: keyword parameters stored unchanged by ``__init__`` (checked by
``fit``), ``fit`` returns self, learned attributes end in ``_``, ``partial_fit`` runs one epoch
keeping the optimizer's state. This module needs scikit-learn (``import steepest`` does not
import it); ``optuna_pruning`` imports optuna and ``ray_report`` ray when called.
"""

from . import _sklearn  # noqa: F401  (a clear ImportError without scikit-learn)
from .callbacks import optuna_pruning, ray_report
from .linear import LinearRegressor, LogisticClassifier
from .mlp import MLPClassifier, MLPRegressor
from .sequence import SequenceClassifier, SequenceRegressor

__all__ = ["LinearRegressor", "LogisticClassifier", "MLPRegressor", "MLPClassifier",
           "SequenceRegressor", "SequenceClassifier", "optuna_pruning", "ray_report"]
