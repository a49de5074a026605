"""walk_forward(): train per fold on the past, predict the next period, in time order."""

import dataclasses
import inspect

import numpy as np


@dataclasses.dataclass(frozen=True)
class WalkForwardResult:
    """The out-of-sample predictions of every fold, in time order, and per-fold scores."""

    predictions: np.ndarray  # (n_test_total, ...) the folds' test predictions, concatenated
    index: np.ndarray  # (n_test_total,) the sample index of each prediction
    fold: np.ndarray  # (n_test_total,) the fold of each prediction
    scores: list  # per fold: {"fold", "train", "test", and the score's entries}
    models: list  # the model of each fold (the same object each time with refit=False)


def _mse(y, pred):
    return {"mse": float(np.mean((np.asarray(pred, np.float64).reshape(np.shape(y)) - y) ** 2))}


def walk_forward(make_model, X, y, splitter, *, fit=None, refit=True, score=_mse, verbose=0):
    """Walk-forward validation of a model.

    For each fold ``(train, test)`` of ``splitter`` (a WalkForward, or any scikit-learn
    splitter): a model from ``make_model()`` (or ``make_model(fold)`` if it takes an argument,
    for a per-fold seed) is fitted on ``X[train], y[train]`` with ``model.fit(X, y, **fit)``,
    then predicts ``X[test]``. With ``refit=False`` the first fold's model is kept and trained
    further on each next fold's training data (a warm start, as a nightly retrain does).

    Any model with ``fit(X, y, ...)`` and ``predict(X)`` works: a steepest.nn model, a
    scikit-learn estimator. ``score(y_true, y_pred)`` -> dict of numbers, per fold (MSE by
    default). Every fold's test must come after its training samples (checked), so no
    prediction has seen its own future. ``verbose=1`` shows a progress bar over the folds (tqdm
    if installed). The same seeds give the same result.
    """
    fit = dict(fit or {})
    n = len(X)
    if len(y) != n:
        raise ValueError(f"walk_forward: X has {n} samples, y has {len(y)}")
    takes_fold = len(inspect.signature(make_model).parameters) > 0
    folds = list(splitter.split(X, y))
    if not folds:
        raise ValueError("walk_forward: the splitter gave no fold")
    bar = None
    if verbose:
        try:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(folds), desc="walk-forward", unit="fold")
        except ImportError:
            pass
    predictions, index, fold_of, scores, models = [], [], [], [], []
    model = None
    try:
        for k, (train, test) in enumerate(folds):
            train, test = np.asarray(train), np.asarray(test)
            if len(train) == 0 or len(test) == 0:
                raise ValueError(f"walk_forward: fold {k} has an empty train or test set")
            if train.max() >= test.min():
                raise ValueError(f"walk_forward: fold {k} trains on sample {train.max()}, "
                                 f"not before its test starting at {test.min()}")
            if model is None or refit:
                model = make_model(k) if takes_fold else make_model()
            model.fit(X[train], y[train], **fit)
            pred = np.asarray(model.predict(X[test]))
            predictions.append(pred)
            index.append(test)
            fold_of.append(np.full(len(test), k))
            scores.append({"fold": k, "train": (int(train.min()), int(train.max())),
                           "test": (int(test.min()), int(test.max())), **score(y[test], pred)})
            models.append(model)
            if bar is not None:
                bar.update()
            elif verbose:
                print(f"fold {k + 1}/{len(folds)}: " + ", ".join(
                    f"{key} {v:.4g}" for key, v in scores[-1].items()
                    if isinstance(v, float)), flush=True)
    finally:
        if bar is not None:
            bar.close()
    index = np.concatenate(index)
    if np.any(np.diff(index) <= 0):
        raise ValueError("walk_forward: the folds' test periods overlap or go back in time")
    return WalkForwardResult(np.concatenate(predictions), index, np.concatenate(fold_of), scores,
                             models)
