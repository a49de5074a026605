"""Epoch callbacks for search tools, imported lazily (optuna and ray are optional
dependencies)."""

import math

__all__ = ["optuna_pruning", "ray_report"]


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


def ray_report(**fixed):
    """A callback for an estimator's ``callbacks=`` inside a Ray Tune function trainable:
    after every epoch it reports the epoch's logs ("loss", "lr", "val_loss" with
    ``early_stopping=True``) plus "epoch" (from 1) and ``fixed`` to Tune
    (``ray.tune.report``), so that a scheduler such as ASHA can stop the trial there. The same
    code runs on a local runtime (``ray.init(num_cpus=2)``) and on a cluster."""
    from ray import tune

    def report(epoch, logs):
        tune.report({**{k: float(v) for k, v in logs.items()}, "epoch": epoch + 1, **fixed})
        return False

    return report
