"""scikit-learn, an optional dependency: the estimators subclass its BaseEstimator and mixins,
so ``import steepest.estimators`` needs it (``import steepest`` alone never imports it)."""

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import (_check_sample_weight, check_array, check_is_fitted,
                                          check_X_y, column_or_1d, validate_data)
except ImportError as e:  # pragma: no cover - exercised in a subprocess without sklearn
    raise ImportError("steepest.estimators follows scikit-learn's estimator API and needs "
                      "scikit-learn >= 1.6: pip install scikit-learn (or steepest[sklearn])"
                      ) from e

__all__ = ["_check_sample_weight", "BaseEstimator", "ClassifierMixin", "RegressorMixin",
           "check_array", "check_classification_targets", "check_is_fitted", "check_X_y",
           "column_or_1d", "validate_data"]
