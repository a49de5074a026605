"""Metrics reported by ``fit`` beside the loss: each ``metric(pred, y) -> float`` is a mean over
the batch's rows, with ``y`` in the layout ``Loss.targets`` gives.

    accuracy  class labels y (n,): argmax(pred, 1) == y;
              probabilities y (n, k) (bce_with_logits): (pred > 0) == (y >= 0.5), per element
    mae       mean |pred - y|
    mse       mean (pred - y)^2
"""

import numpy as np

__all__ = ["accuracy", "mae", "mse", "get"]


def accuracy(pred, y):
    if y.ndim == 1:
        return float(np.count_nonzero(pred.argmax(axis=1) == y)) / len(y)
    return float(np.count_nonzero((pred > 0) == (y >= 0.5))) / y.size


def mae(pred, y):
    return float(np.abs(pred - y).mean())


def mse(pred, y):
    return float(np.square(pred - y).mean())


_BY_NAME = {"accuracy": accuracy, "mae": mae, "mse": mse}


def get(metric, loss):
    """``(name, function)`` for ``metric`` given the loss: "auto" is accuracy for a
    classification loss and none (``(None, None)``) for a regression loss; a name; None; or a
    callable ``metric(pred, y) -> float`` (named after its ``__name__``)."""
    if callable(metric):
        return getattr(metric, "__name__", "metric"), metric
    if metric == "auto":
        metric = "accuracy" if loss.classification else None
    if metric is None:
        return None, None
    if metric not in _BY_NAME:
        raise ValueError(f"metric must be 'auto', None, a callable or one of "
                         f"{sorted(_BY_NAME)}, got {metric!r}")
    if metric == "accuracy" and not loss.classification:
        raise ValueError(f"metric 'accuracy' needs a classification loss (cross_entropy or "
                         f"bce_with_logits), not {loss.kind}")
    return metric, _BY_NAME[metric]
