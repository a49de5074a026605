"""Where the optimizers put new state arrays (csrc/bindings/check.cpp, state_array): one of 4 MiB
or more begins inside an allocation of its own, each state of a tensor (and its master copy) a
different way in, so that the arrays a step streams through do not begin at the same offsets;
a smaller one begins on a 64-byte cache line. The arrays are otherwise ordinary: C-contiguous,
aligned, writable, zeroed, their step bitwise that of arrays placed anywhere else."""

import numpy as np
import pytest

import steepest

BIG = 1 << 20  # elements: 4 MiB of float32


def _offset(a):
    """How far into the allocation that holds it ``a``'s data begins, in bytes."""
    root = a
    while root.base is not None:
        root = root.base
    return a.ctypes.data - root.ctypes.data


@pytest.mark.parametrize("options", [{}, {"state_dtype": "bfloat16"}, {"state_dtype": "int8"}])
def test_large_states_begin_apart(options):
    n = 4 * BIG  # int8 state: 4 MiB
    p = np.ones(n, np.float32)
    opt = steepest.optim.AdamW([p], lr=0.1, **options)
    opt.step([np.full(n, 1e-3, np.float32)])
    m, v = (np.asarray(opt.state[0][k]) for k in ("exp_avg", "exp_avg_sq"))
    offsets = [_offset(m), _offset(v)]
    assert offsets[0] > 0 and offsets[1] > offsets[0]
    for a in (m, v):
        assert a.flags.c_contiguous and a.flags.aligned and a.flags.writeable
        assert a.ctypes.data % 16 == p.ctypes.data % 16  # the allocation's own alignment


def test_master_copy_and_small_states():
    bf16 = pytest.importorskip("ml_dtypes").bfloat16
    p = np.ones(2 * BIG, bf16)
    opt = steepest.optim.AdamW([p, np.ones(1000, np.float32)], lr=0.1, master_weights=False)
    opt.step([np.ones(2 * BIG, bf16), np.ones(1000, np.float32)])
    small = opt.state[1]["exp_avg"]
    assert _offset(small) < 64 and small.ctypes.data % 64 == 0  # on a cache line
    assert small.flags.c_contiguous and small.flags.writeable
    big = steepest.optim.SGD([np.ones(2 * BIG, bf16)], lr=0.1, master_weights=True)
    big.step([np.ones(2 * BIG, bf16)])
    assert _offset(big.state[0]["master_param"]) > 0


def test_step_is_the_same_wherever_the_state_is():
    rng = np.random.default_rng(0)
    p = rng.standard_normal(BIG).astype(np.float32)
    twin = p.copy()
    grads = [rng.standard_normal(BIG).astype(np.float32) for _ in range(3)]
    opt = steepest.optim.AdamW([p], lr=0.01, weight_decay=0.1)
    other = steepest.optim.AdamW([twin], lr=0.01, weight_decay=0.1)
    opt.step([grads[0]])
    other.step([grads[0]])
    for key in ("exp_avg", "exp_avg_sq"):  # state of the other's own: exact-size copies
        other.state[0][key] = other.state[0][key].copy()
    for g in grads[1:]:
        opt.step([g])
        other.step([g])
    np.testing.assert_array_equal(p.view(np.uint32), twin.view(np.uint32))


@pytest.mark.parametrize("options", [{}, {"state_dtype": "bfloat16"}])
def test_loaded_state_lies_as_new_state(options):
    """A state dict's arrays are copied into arrays placed as new ones are (_core.state_like)."""
    n = 2 * BIG
    p = np.ones(n, np.float32)
    opt = steepest.optim.AdamW([p], lr=0.1, **options)
    opt.step([np.full(n, 1e-3, np.float32)])
    saved = {"state": {0: {k: np.array(v) for k, v in opt.state[0].items()}},
             "param_groups": opt.state_dict()["param_groups"]}
    other = steepest.optim.AdamW([p.copy()], lr=0.1, **options)
    other.load_state_dict(saved)
    for key in ("exp_avg", "exp_avg_sq"):
        a, b = np.asarray(opt.state[0][key]), np.asarray(other.state[0][key])
        assert _offset(b) == _offset(a) > 0 and b.dtype == a.dtype
        assert a.tobytes() == b.tobytes()
        assert not np.shares_memory(b, saved["state"][0][key])  # a copy of the loaded dict's
