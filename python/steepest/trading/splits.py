"""Walk-forward validation: train on the past, test on the next period, move forward."""

import numpy as np


def _count(name, value, low, allow_none=True):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"WalkForward: {name} must be an int >= {low}"
                         + (" or None" if allow_none else "") + f", got {value!r}")
    return int(value)


class WalkForward:
    """Time-ordered train/test splits, with scikit-learn's splitter interface (``split``,
    ``get_n_splits``), so it serves ``cross_val_score``, ``GridSearchCV`` and friends.

    Samples are in time order. Each fold tests ``test_size`` consecutive samples and trains on
    samples before them only:

    - ``n_splits`` given: the folds' tests are the last ``n_splits * test_size`` samples, one
      after the other (``test_size`` defaults to ``n_samples // (n_splits + 1)``), as
      ``sklearn.model_selection.TimeSeriesSplit``;
    - ``n_splits=None``: the first fold trains on the first ``train_size`` samples, and the folds
      move forward by ``step`` (default ``test_size``) while a whole test period fits.

    ``expanding=True`` trains on everything before the test (less the gap); ``expanding=False``
    on the last ``train_size`` samples only (a rolling window).

    ``gap`` purges the ``gap`` samples just before each test period from its training set (López
    de Prado's purging). With a target spanning ``horizon`` bars (the return over the next
    ``horizon`` bars of ``windows``), the last ``horizon - 1`` training targets overlap the first
    test targets' bars: ``gap = horizon - 1`` removes them. A larger gap, up to ``lookback +
    horizon - 1``, also keeps the bars of the test's first window out of every training window
    (against serial correlation). No embargo is needed: in walk-forward no training sample
    comes after its test period.
    """

    def __init__(self, n_splits=None, train_size=None, test_size=None, step=None, gap=0,
                 expanding=True):
        self.n_splits = n_splits
        self.train_size = train_size
        self.test_size = test_size
        self.step = step
        self.gap = gap
        self.expanding = expanding

    def __repr__(self):
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in
                         ("n_splits", "train_size", "test_size", "step", "gap", "expanding"))
        return f"WalkForward({args})"

    def _folds(self, n):
        n_splits = _count("n_splits", self.n_splits, 1)
        train_size = _count("train_size", self.train_size, 1)
        test_size = _count("test_size", self.test_size, 1)
        step = _count("step", self.step, 1)
        gap = _count("gap", self.gap, 0, allow_none=False)
        if not self.expanding and train_size is None:
            raise ValueError("WalkForward: a rolling window (expanding=False) needs train_size")
        if n_splits is not None:
            if self.expanding and train_size is not None:
                raise ValueError("WalkForward: with n_splits, train_size sets a rolling window "
                                 "(expanding=False); an expanding one trains on all the past")
            if step is not None:
                raise ValueError("WalkForward: give step or n_splits, not both (with n_splits "
                                 "the test periods follow one another)")
            test_size = test_size or n // (n_splits + 1)
            first_test = n - n_splits * test_size
            if test_size < 1 or first_test - gap < 1:
                raise ValueError(f"WalkForward: {n} samples are too few for {n_splits} splits "
                                 f"of test_size={test_size} and gap={gap}")
            starts = [first_test + k * test_size for k in range(n_splits)]
        else:
            if train_size is None or test_size is None:
                raise ValueError("WalkForward: without n_splits, give train_size and test_size")
            step = step or test_size
            first_test = train_size + gap
            if first_test + test_size > n:
                raise ValueError(f"WalkForward: {n} samples are too few for train_size="
                                 f"{train_size}, gap={gap} and test_size={test_size}")
            starts = list(range(first_test, n - test_size + 1, step))
        for s in starts:
            end = s - gap
            begin = 0 if self.expanding or train_size is None else max(0, end - train_size)
            yield np.arange(begin, end), np.arange(s, min(s + test_size, n))

    def split(self, X, y=None, groups=None):
        """Yields ``(train, test)`` index arrays of each fold, in time order."""
        yield from self._folds(len(X))

    def get_n_splits(self, X=None, y=None, groups=None):
        """The number of folds (``X`` is needed unless ``n_splits`` is set)."""
        if self.n_splits is not None:
            return _count("n_splits", self.n_splits, 1)
        if X is None:
            raise ValueError("WalkForward: get_n_splits needs X when n_splits is None")
        return sum(1 for _ in self._folds(len(X)))
