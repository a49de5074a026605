"""An Optuna search (TPE sampler, median pruner) over an MLP's learning rate, weight decay,
hidden size and batch size, for the direction of the next bar, validated walk-forward.

OHLCV bars (the seeded synthetic series of direction_walk_forward.py) -> 50 features
(steepest.trading.features, no look-ahead) -> Pipeline(StandardScaler, MLPClassifier) whose
label is whether the next bar closes up. Each trial trains on the first 70% of the rows with
early stopping on the last tenth of them (in time order); ``optuna_pruning`` reports that
validation loss after every epoch, and the MedianPruner stops trials worse than the median
of earlier ones at the same epoch. The best parameters are then scored walk-forward
(steepest.trading.WalkForward, retrained each period) on the whole series, beside the
defaults.

Run: python examples/optuna_walk_forward.py [--trials 30]   (pip install optuna scikit-learn)
"""

import argparse
import importlib.util
from pathlib import Path

import numpy as np
import optuna
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from steepest import trading
from steepest.estimators import MLPClassifier, optuna_pruning


def _synthetic_bars(n, seed):
    spec = importlib.util.spec_from_file_location(
        "direction_walk_forward", Path(__file__).with_name("direction_walk_forward.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.synthetic_bars(n, seed)


def dataset(n=4000, seed=0):
    """(X (rows, 50) features of bars <= t, y: "up"/"down" of bar t + 1), in time order."""
    open_, high, low, close, volume = _synthetic_bars(n, seed)
    X, _ = trading.features(open_, high, low, close, volume)
    up = np.where(close[1:] > close[:-1], "up", "down")
    start = trading.WARMUP
    return X[start:-1], up[start:]


def model(epochs, **params):
    return make_pipeline(StandardScaler(), MLPClassifier(epochs=epochs, seed=0, **params))


def search(X, y, trials=30, epochs=30, seed=0):
    """The Optuna study; the first 70% of the rows train (the last tenth of them validate)."""
    train = slice(0, int(0.7 * len(X)))

    def objective(trial):
        est = model(epochs, hidden_layer_sizes=(trial.suggest_int("hidden", 8, 128, log=True),),
                    lr=trial.suggest_float("lr", 1e-4, 3e-2, log=True),
                    weight_decay=trial.suggest_float("weight_decay", 1e-6, 1e-1, log=True),
                    batch_size=trial.suggest_categorical("batch_size", [32, 128, 512]),
                    early_stopping=True, tol=None,
                    callbacks=[optuna_pruning(trial, monitor="val_loss")])
        clf = est.fit(X[train], y[train])[-1]
        return min(clf.validation_loss_curve_)

    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=5,
                                                                   n_warmup_steps=3))
    study.optimize(objective, n_trials=trials)
    return study


def main(n=4000, trials=30, epochs=30, quiet=False):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = dataset(n)
    study = search(X, y, trials, epochs)
    pruned = len(study.get_trials(states=[optuna.trial.TrialState.PRUNED]))
    best = dict(study.best_params)
    best["hidden_layer_sizes"] = (best.pop("hidden"),)
    cv = trading.WalkForward(n_splits=4)
    scores = {"defaults": cross_val_score(model(epochs), X, y, cv=cv),
              "best": cross_val_score(model(epochs, **best), X, y, cv=cv)}
    if not quiet:
        print(f"{len(study.trials)} trials, {pruned} pruned; best validation loss "
              f"{study.best_value:.4f} with {best}")
        for name, s in scores.items():
            print(f"walk-forward accuracy, {name:<8}: {s.mean():.3f} ({np.round(s, 3)})")
    return study, best, scores


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--epochs", type=int, default=30)
    args = ap.parse_args()
    main(trials=args.trials, epochs=args.epochs)
