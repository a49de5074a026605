"""Metrics reported by ``fit`` and ``evaluate`` beside the loss: ``metric(pred, y) -> float``,
``pred`` the model's outputs (n, k) (logits for the classification losses), ``y`` in the layout
``Loss.targets`` gives: class labels (n,) for cross_entropy, (n, k) targets otherwise.

Means over rows (``fit`` averages them over the batches, weighted by rows):

    accuracy              labels: argmax(pred, 1) == y; bce (y (n, k) in [0, 1]):
                          (pred > 0) == (y >= 0.5), per element
    log_loss              the mean cross-entropy of the predicted probabilities (softmax of
                          the logits for labels, sigmoid per element for bce), in float64
    mae, mse              mean |pred - y|, mean (pred - y)^2
    directional_accuracy  regression (and trading losses): the fraction of elements with
                          sign(pred) == sign(y) (the direction of a return forecast, or of a
                          position against the next return)

Over the whole data at once (``fit`` keeps the epoch's outputs for them), as
scikit-learn's with its defaults:

    precision, recall, f1 classification: of class 1 for two classes (bce with one output, or
                          cross_entropy with two), else the mean over classes (bce: over
                          outputs), "macro"; 0 where undefined (no predicted/true positives)
    roc_auc               classification: the area under the ROC curve of the class-1 score
                          for two classes, else the mean one-vs-rest AUC over classes of the
                          softmax probabilities (bce: over outputs); NaN if a class is absent
    r2                    regression: 1 - SS_res / SS_tot per output, averaged over outputs
"""

import numpy as np

__all__ = ["accuracy", "log_loss", "mae", "mse", "directional_accuracy", "precision",
           "recall", "f1", "roc_auc", "r2", "get"]


def accuracy(pred, y):
    if y.ndim == 1:
        return float(np.count_nonzero(pred.argmax(axis=1) == y)) / len(y)
    return float(np.count_nonzero((pred > 0) == (y >= 0.5))) / y.size


def log_loss(pred, y):
    p = pred.astype(np.float64)
    if y.ndim == 1:  # labels: logsumexp(p_i) - p_i[y_i]
        top = p.max(axis=1)
        lse = top + np.log(np.exp(p - top[:, None]).sum(axis=1))
        return float(np.mean(lse - p[np.arange(len(p)), y]))
    return float(np.mean(np.maximum(p, 0) - p * y + np.log1p(np.exp(-np.abs(p)))))


def mae(pred, y):
    return float(np.abs(pred - y).mean())


def mse(pred, y):
    return float(np.square(pred - y).mean())


def directional_accuracy(pred, y):
    return float(np.count_nonzero(np.sign(pred) == np.sign(y))) / y.size


def _binary_columns(pred, y):
    """(predicted, true) booleans (n, c) and class-1 scores (n, c) per binary problem: one
    column for two classes, one per class (one-vs-rest) or per bce output otherwise."""
    if y.ndim == 1:
        k = pred.shape[1]
        if k == 2:
            return ((pred[:, 1] > pred[:, 0])[:, None], (y == 1)[:, None],
                    (pred[:, 1].astype(np.float64) - pred[:, 0])[:, None])
        p = pred.astype(np.float64)
        e = np.exp(p - p.max(axis=1, keepdims=True))
        probs = e / e.sum(axis=1, keepdims=True)
        top = pred.argmax(axis=1)
        classes = np.arange(k)
        return top[:, None] == classes, y[:, None] == classes, probs
    return pred > 0, y >= 0.5, pred.astype(np.float64)


def _counts(pred, y):
    predicted, true, _ = _binary_columns(pred, y)
    tp = np.count_nonzero(predicted & true, axis=0).astype(np.float64)
    return tp, np.count_nonzero(predicted, axis=0), np.count_nonzero(true, axis=0)


def _ratio(a, b):
    return np.divide(a, b, out=np.zeros_like(a), where=b > 0)


def precision(pred, y):
    tp, predicted, _ = _counts(pred, y)
    return float(np.mean(_ratio(tp, predicted.astype(np.float64))))


def recall(pred, y):
    tp, _, true = _counts(pred, y)
    return float(np.mean(_ratio(tp, true.astype(np.float64))))


def f1(pred, y):
    tp, predicted, true = _counts(pred, y)
    return float(np.mean(_ratio(2 * tp, (predicted + true).astype(np.float64))))


def _auc(score, positive):
    """The Mann-Whitney statistic: P(score of a positive > of a negative), ties half."""
    n_pos = np.count_nonzero(positive)
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return np.nan
    order = np.argsort(score, kind="mergesort")
    s = score[order]
    ranks = np.empty(len(s))
    # average ranks (1-based) over runs of equal scores
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    ends = np.r_[starts[1:], len(s)]
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return (ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def roc_auc(pred, y):
    _, true, scores = _binary_columns(pred, y)
    return float(np.mean([_auc(scores[:, c], true[:, c]) for c in range(true.shape[1])]))


def r2(pred, y):
    p, t = pred.astype(np.float64), y.astype(np.float64)
    residual = np.square(t - p).sum(axis=0)
    total = np.square(t - t.mean(axis=0)).sum(axis=0)
    # scikit-learn: a constant target scores 1 if predicted exactly, else 0
    scores = np.where(total > 0, 1.0 - residual / np.where(total > 0, total, 1.0),
                      np.where(residual == 0, 1.0, 0.0))
    return float(scores.mean())


# name -> (function, the losses it takes: "classification", "regression" or None: any, whether
# it is a mean over rows)
_BY_NAME = {"accuracy": (accuracy, "classification", True),
            "log_loss": (log_loss, "classification", True),
            "mae": (mae, None, True), "mse": (mse, None, True),
            "directional_accuracy": (directional_accuracy, "regression", True),
            "precision": (precision, "classification", False),
            "recall": (recall, "classification", False),
            "f1": (f1, "classification", False),
            "roc_auc": (roc_auc, "classification", False),
            "r2": (r2, "regression", False)}


def per_row(fn):
    """Whether metric ``fn`` is a mean over rows (so a mean over batches weighted by rows);
    a callable of the user's is taken to be one."""
    return getattr(fn, "_per_row", True)


for _name, (_fn, _, _rows) in _BY_NAME.items():
    _fn._per_row = _rows


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
    fn, needs, _ = _BY_NAME[metric]
    if needs == "classification" and not loss.classification:
        raise ValueError(f"metric {metric!r} needs a classification loss (cross_entropy or "
                         f"bce_with_logits), not {loss.kind}")
    if needs == "regression" and loss.classification:
        raise ValueError(f"metric {metric!r} needs a regression loss (not a classification "
                         f"loss such as {loss.kind}): its outputs are compared with y")
    return metric, fn
