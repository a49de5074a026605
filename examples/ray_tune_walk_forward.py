"""A Ray Tune search (ASHA scheduler) over an MLP's learning rate, weight decay, hidden size and
batch size for the direction of the next bar: optuna_walk_forward.py's search, as a function
trainable on a local Ray runtime. The same code runs on a Ray cluster (``ray.init(address=
"auto")``): the path for searches that outgrow one machine.

Each trial fits Pipeline(StandardScaler, MLPClassifier) on the first 70% of the rows with early
stopping on the last tenth of them (in time order); ``ray_report`` reports the validation loss
after every epoch, and ASHA stops the trials in the worse half at each rung. The best
configuration is then scored walk-forward (steepest.trading.WalkForward) on the whole series.

Run: python examples/ray_tune_walk_forward.py [--trials 16]   (pip install "ray[tune]"
scikit-learn)
"""

import argparse
import importlib.util
from pathlib import Path

import numpy as np
import ray
from ray import tune
from ray.tune.schedulers import ASHAScheduler
from sklearn.model_selection import cross_val_score

from steepest import trading
from steepest.estimators import ray_report


def _walk_forward_example():
    spec = importlib.util.spec_from_file_location(
        "optuna_walk_forward", Path(__file__).with_name("optuna_walk_forward.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def trainable(config, data):
    """One trial: the pipeline with the trial's parameters, reporting every epoch to Tune."""
    X, y = data
    train = slice(0, int(0.7 * len(X)))
    est = _walk_forward_example().model(
        config["epochs"], hidden_layer_sizes=(config["hidden"],), lr=config["lr"],
        weight_decay=config["weight_decay"], batch_size=config["batch_size"],
        early_stopping=True, tol=None, callbacks=[ray_report()])
    est.fit(X[train], y[train])


def search(X, y, trials=16, epochs=20, seed=0):
    """The Tune run over the search space; returns the best config (lowest last val_loss)."""
    space = {"hidden": tune.lograndint(8, 128), "lr": tune.loguniform(1e-4, 3e-2),
             "weight_decay": tune.loguniform(1e-6, 1e-1),
             "batch_size": tune.choice([32, 128, 512]), "epochs": epochs}
    tuner = tune.Tuner(
        tune.with_parameters(trainable, data=(X, y)), param_space=space,
        tune_config=tune.TuneConfig(
            metric="val_loss", mode="min", num_samples=trials,
            scheduler=ASHAScheduler(max_t=epochs, grace_period=2, reduction_factor=2),
            search_alg=tune.search.BasicVariantGenerator(random_state=seed)))
    results = tuner.fit()
    return results.get_best_result().config, results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    example = _walk_forward_example()
    X, y = example.dataset()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        best, results = search(X, y, args.trials, args.epochs)
    finally:
        ray.shutdown()
    stopped = sum(r.metrics["epoch"] < args.epochs for r in results)
    print(f"{len(results)} trials, {stopped} stopped early by ASHA; best: {best}")
    est = example.model(best["epochs"], hidden_layer_sizes=(best["hidden"],), lr=best["lr"],
                        weight_decay=best["weight_decay"], batch_size=best["batch_size"])
    scores = cross_val_score(est, X, y, cv=trading.WalkForward(n_splits=5))
    print(f"walk-forward accuracy of the best: {np.mean(scores):.3f}")


if __name__ == "__main__":
    main()
