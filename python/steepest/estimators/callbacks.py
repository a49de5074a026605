"""Epoch callbacks for search tools, imported lazily (optuna is an optional dependency)."""

import math

__all__ = ["optuna_pruning"]


def optuna_pruning(trial, monitor="val_loss"):
    """A callback for an estimator's ``callbacks=``: after every epoch it reports
    ``logs[monitor]`` to the Optuna ``trial`` (``trial.report(value, epoch)``) and raises
    ``optuna.TrialPruned`` when ``trial.should_prune()``. "val_loss" needs
    ``early_stopping=True`` (the validation split; ``tol=None`` keeps the split without
    stopping early). The callback is a plain function: cloning the estimator (GridSearchCV,
    cross_val_score) keeps the same trial."""
    import optuna

    def prune(epoch, logs):
        if monitor not in logs:
            raise ValueError(f"optuna_pruning: monitor {monitor!r} is not in the epoch's logs "
                             f"{sorted(logs)}; val_loss needs early_stopping=True")
        value = float(logs[monitor])
        trial.report(value if math.isfinite(value) else math.inf, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {epoch} ({monitor} {value:.6g})")
        return False

    return prune
