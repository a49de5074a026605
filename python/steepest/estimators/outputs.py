"""Targets and predictions of regressors and classifiers, over a model's raw outputs (n, k).

Regressors: y (n,) or (n, k) floats; the model has k outputs and predicts them (float64, (n,)
for a 1-d y). Classifiers: any labels (numbers, strings); ``classes_`` sorted; two classes are
one logit z (binary cross-entropy, P(classes_[1]) = sigmoid(z)), more are one logit per class
(softmax cross-entropy).
"""

import numbers

import numpy as np

from ._base import DTYPE
from ._sklearn import (ClassifierMixin, RegressorMixin, check_classification_targets,
                       column_or_1d)


class RegressorOutputs(RegressorMixin):
    _y_checks = {"multi_output": True, "y_numeric": True}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _loss_kind(self):
        return self.loss

    def _targets(self, y, fresh, partial, classes):
        """y as float targets (n, k); sets n_outputs_ when fresh."""
        y = np.asarray(y)
        outputs = 1 if y.ndim == 1 else y.shape[1]
        if fresh:
            self.n_outputs_, self._y_ndim = outputs, y.ndim
        elif outputs != self.n_outputs_:
            raise ValueError(f"{type(self).__name__}: y has {outputs} outputs, the fitted "
                             f"model {self.n_outputs_}")
        return np.ascontiguousarray(y.reshape(len(y), outputs), dtype=DTYPE)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), keeping the weights and the optimizer's state of earlier
        calls; ``sample_weight`` as in fit."""
        return self._train(X, y, partial=True, sample_weight=sample_weight)

    def predict(self, X):
        """The predicted targets: (n,) float64 when fitted on a 1-d y, else (n, k)."""
        out = self._output(self._input(X)).astype(np.float64)
        return out.ravel() if self._y_ndim == 1 else out


class ClassifierOutputs(ClassifierMixin):
    _y_checks = {}

    def _loss_kind(self):
        return "bce_with_logits" if len(self.classes_) == 2 else "cross_entropy"

    def _targets(self, y, fresh, partial, classes):
        """Labels as class indices: (n, 1) floats 0/1 for two classes (binary cross-entropy),
        int64 (n,) otherwise; sets classes_ and n_outputs_ when fresh (from ``classes`` if
        given, partial_fit's first call)."""
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if fresh:
            if classes is None and partial:
                raise ValueError(f"{type(self).__name__}: classes must be passed on the first "
                                 "call to partial_fit")
            found = np.unique(y if classes is None else np.asarray(classes))
            if len(found) < 2:
                raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes "
                                 f"in the data, but the data contains only one class: "
                                 f"{found[0] if len(found) else None!r}")
            self.classes_ = found
            self.n_outputs_ = 1 if len(found) == 2 else len(found)
        unknown = ~np.isin(y, self.classes_)
        if unknown.any():
            raise ValueError(f"{type(self).__name__}: y holds labels not in classes_ "
                             f"{list(self.classes_)}, e.g. {y[unknown][0]!r}")
        codes = np.searchsorted(self.classes_, y)
        if len(self.classes_) == 2:
            return codes.astype(DTYPE).reshape(-1, 1)
        return codes.astype(np.int64)

    def _class_weights(self, codes, partial):
        """Each row's weight of its class (n,) from ``class_weight``: None; "balanced", n /
        (classes present * rows of the class), scikit-learn's (not in partial_fit, which sees
        part of y); or a dict {label: weight >= 0}, the classes it leaves out weighing 1."""
        cw, name = self.class_weight, type(self).__name__
        if cw is None:
            return None
        k, rows = len(self.classes_), codes.ravel().astype(np.intp)
        if isinstance(cw, str) and cw == "balanced":
            if partial:
                raise ValueError(f"{name}: class_weight='balanced' needs all of y, which "
                                 f"partial_fit does not see; pass a dict {{label: weight}}")
            counts = np.bincount(rows, minlength=k)
            return np.divide(len(rows), np.count_nonzero(counts) * counts, out=np.zeros(k),
                             where=counts > 0)[rows]
        if not isinstance(cw, dict):
            raise ValueError(f"{name}: class_weight must be None, 'balanced' or a dict "
                             f"{{label: weight}}, got {cw!r}")
        by_class = np.ones(k)
        for label, w in cw.items():
            at = [i for i, c in enumerate(self.classes_) if c == label]
            if not at:
                raise ValueError(f"{name}: class_weight names {label!r}, which is not a class: "
                                 f"classes_ {list(self.classes_)}")
            if isinstance(w, (bool, np.bool_)) or not isinstance(w, numbers.Real) \
                    or not np.isfinite(w) or w < 0:
                raise ValueError(f"{name}: class_weight[{label!r}] must be a finite number "
                                 f">= 0, got {w!r}")
            by_class[at[0]] = w
        return by_class[rows]

    def decision_function(self, X):
        """Logits, float64: (n,) of classes_[1] for two classes, else (n, n_classes)."""
        out = self._output(self._input(X)).astype(np.float64)
        return out.ravel() if len(self.classes_) == 2 else out

    def predict_proba(self, X):
        """(n, n_classes) class probabilities: [1 - sigmoid(z), sigmoid(z)] for two classes,
        softmax(z) otherwise (computed in float64)."""
        z = self.decision_function(X)
        if z.ndim == 1:
            p = np.exp(-np.logaddexp(0.0, -z))  # sigmoid(z), stable for large |z|
            return np.column_stack([1.0 - p, p])
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class of every row, a label of classes_."""
        z = self.decision_function(X)
        index = (z > 0).astype(np.intp) if z.ndim == 1 else z.argmax(axis=1)
        return self.classes_[index]

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over (X, y), keeping the weights and the optimizer's state of earlier
        calls; ``classes`` (every label there will be) is required on the first call;
        ``sample_weight`` as in fit."""
        return self._train(X, y, partial=True, classes=classes, sample_weight=sample_weight)
