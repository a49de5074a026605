"""Fixtures shared by every test file.

``simd_target``: runs a test once per SIMD target this CPU supports (the active target is restored
afterwards). ``threads(n)``: a context manager that lets the kernels use ``n`` threads.
"""

import contextlib

import pytest

import steepest
from steepest import _core


@pytest.fixture(params=list(_core.supported_targets()))
def simd_target(request):
    """Selects each supported SIMD target in turn; yields its name."""
    previous = _core.active_target()
    _core.select_target(request.param)
    try:
        yield request.param
    finally:
        _core.select_target(previous)


@contextlib.contextmanager
def threads(n):
    """``with threads(n):`` runs the kernels on up to ``n`` threads, then restores the count."""
    previous = steepest.get_num_threads()
    steepest.set_num_threads(n)
    try:
        yield n
    finally:
        steepest.set_num_threads(previous)


@pytest.fixture
def num_threads():
    """The ``threads`` context manager, as a fixture (for files that cannot import conftest)."""
    return threads


try:  # torch's intra-op threads only slow its small ops down on a busy 2-core machine
    import torch

    torch.set_num_threads(1)
except ImportError:
    pass
