"""optuna_pruning: an Optuna study (TPE, MedianPruner) over an MLP's hyperparameters on a
walk-forward split, its bad trials pruned from the epochs' validation losses."""

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")
pytest.importorskip("sklearn")

from steepest.estimators import LinearRegressor, MLPRegressor, optuna_pruning  # noqa: E402
from steepest.trading import WalkForward  # noqa: E402

RNG = np.random.default_rng(2)
X = RNG.standard_normal((400, 3))
Y = np.tanh(X @ np.array([1.0, -1.0, 0.5])) + 0.05 * RNG.standard_normal(400)


def objective(trial):
    est = MLPRegressor(hidden_layer_sizes=(trial.suggest_int("hidden", 4, 32, log=True),),
                       lr=trial.suggest_float("lr", 1e-5, 1e-1, log=True),
                       weight_decay=trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
                       batch_size=trial.suggest_categorical("batch_size", [16, 64]),
                       epochs=12, early_stopping=True, tol=None, seed=0,
                       callbacks=[optuna_pruning(trial, monitor="val_loss")])
    train, test = list(WalkForward(n_splits=1, test_size=100).split(X))[0]
    est.fit(X[train], Y[train])
    return float(np.mean((est.predict(X[test]) - Y[test]) ** 2))


def test_study_with_median_pruner_prunes_bad_trials():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=3,
                                                                   n_warmup_steps=2))
    study.optimize(objective, n_trials=12)
    states = [t.state for t in study.trials]
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert pruned and complete, states
    # every epoch reported its validation loss, and a pruned trial stopped early
    assert sorted(complete[0].intermediate_values) == list(range(12))
    assert all(len(t.intermediate_values) < 12 for t in pruned)
    assert study.best_value < 0.1


class FakeTrial:
    def __init__(self, prune_at):
        self.reports, self.prune_at = [], prune_at

    def report(self, value, step):
        self.reports.append((step, value))

    def should_prune(self):
        return len(self.reports) > self.prune_at


def test_pruning_raises_trial_pruned_and_needs_the_monitored_value():
    trial = FakeTrial(prune_at=2)
    est = LinearRegressor(epochs=10, tol=None, callbacks=[optuna_pruning(trial, "loss")])
    with pytest.raises(optuna.TrialPruned):
        est.fit(X, Y)
    assert [step for step, _ in trial.reports] == [0, 1, 2]
    with pytest.raises(ValueError, match="early_stopping=True"):
        LinearRegressor(callbacks=[optuna_pruning(FakeTrial(5))]).fit(X, Y)
