"""The thread pool's split (csrc/runtime/pool.cc): each participant runs its home share of the
chunks, then steals from the back of the others'. Whoever runs a chunk, an update and a norm are
bitwise the same for any thread count. Here the parallel thresholds are lifted, so that steps
too small to be split in use (8K-16K elements: 2-4 chunks) are split, and 3 and 4 threads share
2 cores, so that participants are late and their shares stolen."""

import numpy as np
import pytest

import steepest
from steepest import _core

RULES = {
    "SGD": dict(lr=1e-2, momentum=0.9, nesterov=True),
    "AdamW": dict(lr=1e-2, weight_decay=1e-2),
    "Lamb": dict(lr=1e-2),
    "Lars": dict(lr=1e-1, exclude_1d=False),
    "Adafactor": dict(lr=1e-2, weight_decay=1e-2),
}
SHAPES = [(12289,), (3,), (4097,)]  # 16389 elements: 5 chunks, cuts inside tensors
# Adafactor cuts each tensor on its own, factored ones into chunks of 32 rows: (3, 37, 301) has
# 4 (batches span chunks), (12289,) has 4.
SHAPES_OF = {"Adafactor": [(12289,), (3, 37, 301), (3,)]}


@pytest.fixture
def lifted():
    """Every loop of two or more chunks runs on the threads (the rules' thresholds lifted)."""
    _core._set_parallel_min_override(1)
    try:
        yield
    finally:
        _core._set_parallel_min_override(0)


def trajectory(rule, hyper, threads, steps=30):
    rng = np.random.default_rng(5)
    shapes = SHAPES_OF.get(rule, SHAPES)
    params = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    opt = getattr(steepest.optim, rule)(params, **hyper)
    previous = steepest.get_num_threads()
    steepest.set_num_threads(threads)
    try:
        for _ in range(steps):
            opt.step([rng.standard_normal(s).astype(np.float32) for s in shapes])
    finally:
        steepest.set_num_threads(previous)
    return [p.tobytes() for p in params] + [
        v.tobytes() for s in opt.state.values() for v in s.values() if isinstance(v, np.ndarray)]


@pytest.mark.parametrize("rule", list(RULES))
def test_split_is_bitwise_the_same_for_any_thread_count(rule, lifted):
    one = trajectory(rule, RULES[rule], 1)
    for threads in (2, 3, 4):
        assert trajectory(rule, RULES[rule], threads) == one, f"{threads} threads"


def test_negative_override_is_refused():
    with pytest.raises(ValueError, match="must be >= 0"):
        _core._set_parallel_min_override(-1)
