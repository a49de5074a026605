"""A steepest.nn model and optimizer parameters that went through pickle or deepcopy work, with
bitwise the results of the originals. Their arrays then carry dtype objects of their own (equal to
NumPy's float32, another object), which the C++ bindings must compare by value.
"""
import copy
import pickle

import numpy as np
import pytest

from steepest import optim
from steepest.nn import Dense, Dropout, GELU, ReLU, Sequential, Tanh

COPIES = {"pickle": lambda o: pickle.loads(pickle.dumps(o)), "deepcopy": copy.deepcopy}


def model(dtype):
    return Sequential(Dense(5, 16, seed=0, dtype=dtype), ReLU(), Dense(16, 8, seed=1, dtype=dtype),
                      Tanh(), Dropout(0.25, seed=2), Dense(8, 8, seed=3, dtype=dtype), GELU(),
                      Dense(8, 3, seed=4, dtype=dtype))


def copy_array(a, how):
    """a copied by `how`, in a new array of a copied dtype (as a copied model makes its buffers)."""
    out = np.empty(a.shape, COPIES[how](a.dtype))
    out[...] = COPIES[how](a)
    return out


def weights(m):
    return [p.data.tobytes() for p in m.parameters()]


@pytest.mark.parametrize("how", sorted(COPIES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_copied_model_predicts_and_fits(dtype, how):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((37, 5)).astype(dtype), rng.integers(0, 3, 37)
    original = model(dtype)
    copied = COPIES[how](original)
    assert copied.dtype == original.dtype and copied.dtype is not original.dtype
    assert copied.predict(X).tobytes() == original.predict(X).tobytes()
    histories = [m.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=3, batch_size=8,
                       seed=5) for m in (original, copied)]
    assert histories[0] == histories[1]
    assert weights(copied) == weights(original)
    assert copied.predict(X).tobytes() == original.predict(X).tobytes()


@pytest.mark.parametrize("how", sorted(COPIES))
@pytest.mark.parametrize("rule", [lambda p: optim.Adam(p, lr=1e-2),
                                  lambda p: optim.SGD(p, lr=1e-2, momentum=0.9),
                                  lambda p: optim.Lamb(p, lr=1e-2),
                                  lambda p: optim.Adafactor(p, lr=1e-2)],
                         ids=["Adam", "SGD", "Lamb", "Adafactor"])
def test_copied_arrays_step(rule, how):
    """An optimizer over unpickled / deep-copied params (and grads) steps as over the originals."""
    rng = np.random.default_rng(1)
    params = [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (7,), (2, 3, 5)]]
    grads = [rng.standard_normal(p.shape).astype(np.float32) for p in params]
    copied, copied_grads = [copy_array(p, how) for p in params], [copy_array(g, how) for g in grads]
    assert all(c.dtype is not np.dtype(np.float32) for c in copied + copied_grads)
    a, b = rule(params), rule(copied)
    for _ in range(3):
        a.step(grads)
        b.step(copied_grads)
    assert [p.tobytes() for p in copied] == [p.tobytes() for p in params]
