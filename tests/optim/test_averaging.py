"""EMA and SWA of the parameters: the averages, torch parity, swapping in and out, state."""

import numpy as np
import pytest

import steepest
from steepest.optim import EMA, SWA


def walk(params, t):
    """Move the parameters in place, as training would."""
    rng = np.random.default_rng(t)
    for p in params:
        p += rng.standard_normal(p.shape).astype(p.dtype)


def make_params(dtype=np.float64):
    rng = np.random.default_rng(0)
    return [rng.standard_normal((3, 2)).astype(dtype), rng.standard_normal(5).astype(dtype)]


@pytest.mark.parametrize("decay", [0.9, 0.999, 0.3])
def test_ema_is_the_exponential_average(decay):
    params = make_params()
    ema = EMA(params, decay=decay)
    expected = None
    for t in range(50):
        walk(params, t)
        ema.update()
        expected = ([p.copy() for p in params] if expected is None
                    else [decay * e + (1 - decay) * p for e, p in zip(expected, params)])
    assert ema.n_averaged == 50
    for a, e in zip(ema.averages, expected):
        np.testing.assert_allclose(a, e, rtol=1e-13, atol=1e-13)


def test_swa_is_the_running_mean():
    params = make_params()
    swa = SWA(params)
    snapshots = []
    for t in range(40):
        walk(params, t)
        swa.update()
        snapshots.append([p.copy() for p in params])
    for k, a in enumerate(swa.averages):
        np.testing.assert_allclose(a, np.mean([s[k] for s in snapshots], axis=0),
                                   rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("kind", ["ema", "swa"])
def test_matches_torch_averaged_model(kind):
    """torch.optim.swa_utils.AveragedModel over the same parameters (shared memory)."""
    torch = pytest.importorskip("torch")
    from torch.optim import swa_utils
    model = torch.nn.Linear(3, 2, dtype=torch.float64)
    params = [p.detach().numpy() for p in model.parameters()]  # views of torch's tensors
    if kind == "ema":
        ours = EMA(params, decay=0.9)
        theirs = swa_utils.AveragedModel(model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.9))
    else:
        ours, theirs = SWA(params), swa_utils.AveragedModel(model)
    for t in range(30):
        walk(params, t)
        ours.update()
        theirs.update_parameters(model)
    for a, p in zip(ours.averages, theirs.module.parameters()):
        np.testing.assert_allclose(a, p.detach().numpy(), rtol=1e-15, atol=1e-15)


def test_swap_in_and_out():
    params = make_params(np.float32)
    opt = steepest.optim.SGD(params, lr=0.1)
    ema = EMA(opt, decay=0.5)  # the optimizer's parameters
    with pytest.raises(RuntimeError, match="call update"):
        ema.swap()
    for t in range(5):
        walk(params, t)
        ema.update()
    training = [p.copy() for p in params]
    averages = [a.copy() for a in ema.averages]
    ids = [id(p) for p in params]
    with ema.swapped_in():
        assert all(np.array_equal(p, a) for p, a in zip(params, averages))
        with pytest.raises(RuntimeError, match="swapped in"):
            ema.update()
    assert [id(p) for p in opt.param_groups[0]["params"]] == ids
    assert all(np.array_equal(p, q) for p, q in zip(params, training))
    assert all(np.array_equal(a, b) for a, b in zip(ema.averages, averages))


def test_swapped_out_on_error():
    params = make_params()
    swa = SWA(params)
    swa.update()
    walk(params, 1)
    training = [p.copy() for p in params]
    with pytest.raises(KeyError):
        with swa.swapped_in():
            raise KeyError("evaluation failed")
    assert not swa.swapped
    assert all(np.array_equal(p, q) for p, q in zip(params, training))


def test_state_dict_round_trip_continues_bitwise():
    params = make_params()
    ema = EMA(params, decay=0.95)
    for t in range(10):
        walk(params, t)
        ema.update()
    other_params = [p.copy() for p in params]
    restored = EMA(other_params, decay=0.5)
    restored.load_state_dict(ema.state_dict())
    assert restored.decay == 0.95 and restored.n_averaged == 10
    for t in range(10, 20):
        walk(params, t)
        walk(other_params, t)
        ema.update()
        restored.update()
    assert all(np.array_equal(a, b) for a, b in zip(ema.averages, restored.averages))
    with pytest.raises(ValueError, match="has shape"):
        EMA([np.zeros(2), np.zeros(5)]).load_state_dict(ema.state_dict())


def test_bad_arguments():
    with pytest.raises(ValueError, match="Invalid decay"):
        EMA(make_params(), decay=1.5)
    with pytest.raises(TypeError, match="not one array"):
        SWA(np.zeros(3))
