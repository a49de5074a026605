"""Learning-rate schedulers: lr sequences against torch.optim.lr_scheduler, and resuming.

Parity: each case builds the same scheduler in steepest and in torch over an optimizer with two
parameter groups (lr 0.1 and 0.03) and compares the lrs (and the cycled momentum) of 500 steps
with rtol 1e-12. Measured: every sequence equals torch's bitwise (max deviation 0), since the
same floating-point operations run in the same order.

Resume: a run interrupted after ``CUT`` steps, whose optimizer and scheduler are rebuilt and
loaded from their state_dicts (the scheduler's through JSON), continues on exactly (bitwise) the
lrs of the uninterrupted run -- whether the optimizer is loaded before or after the scheduler is
built, or not at all. torch fails some of these (see the module docstring of
steepest.optim.lr_scheduler). Measured with torch 2.13 on the cases below, cut at step 137:
"SequentialLR" resumed with the optimizer loaded before the schedulers are built (or not
loaded) runs at 0.11 times the right lr for all 363 remaining steps (ConstantLR at 0.25 times,
LinearLR at 0.1 times); "MultiStepLR" resumed from a JSON-saved state never decays again (its
Counter's int keys become strings): 3.3 times the right lr from the next milestone on, and 37
times without the optimizer's state.
"""

import json
import math

import numpy as np
import pytest

import steepest
from steepest.optim import lr_scheduler as S

STEPS = 500
CUT = 137
LRS = (0.1, 0.03)


def metric(t):
    """A loss that falls, then plateaus with noise (drives ReduceLROnPlateau)."""
    return 1.0 / (1.0 + min(t, 150) / 30.0) + 0.01 * math.sin(1.7 * t) * (t > 150)


def warmup_fn(n, s=0.0):
    return lambda t: s + (1.0 - s) * min(t, n) / n


class TorchNames:
    """torch.optim.lr_scheduler, plus LinearWarmup as the LambdaLR it equals."""

    def __init__(self, module):
        self.module = module

    def __getattr__(self, name):
        return getattr(self.module, name)

    def LinearWarmup(self, opt, warmup_steps, start_factor=0.0):
        return self.module.LambdaLR(opt, warmup_fn(warmup_steps, start_factor))


# name -> (optimizer kind, builder(L, opt)); L is steepest's module or TorchNames(torch's).
CASES = {
    "LambdaLR": ("sgd", lambda L, o: L.LambdaLR(o, lambda t: 0.99 ** t)),
    "LambdaLR-per-group": ("sgd", lambda L, o: L.LambdaLR(o, [lambda t: 1 / (1 + t),
                                                              lambda t: 0.97 ** t])),
    "MultiplicativeLR": ("sgd", lambda L, o: L.MultiplicativeLR(o, lambda t: 1 - 1 / (t + 20))),
    "StepLR": ("sgd", lambda L, o: L.StepLR(o, step_size=30, gamma=0.5)),
    "StepLR-every-step": ("sgd", lambda L, o: L.StepLR(o, step_size=1, gamma=0.99)),
    "MultiStepLR": ("sgd", lambda L, o: L.MultiStepLR(o, [50, 120, 120, 300], gamma=0.3)),
    "ConstantLR": ("sgd", lambda L, o: L.ConstantLR(o, factor=0.25, total_iters=40)),
    "LinearLR": ("sgd", lambda L, o: L.LinearLR(o, start_factor=0.1, total_iters=100)),
    "LinearLR-decay": ("sgd", lambda L, o: L.LinearLR(o, 1.0, 0.05, total_iters=300)),
    "ExponentialLR": ("sgd", lambda L, o: L.ExponentialLR(o, gamma=0.99)),
    "PolynomialLR": ("sgd", lambda L, o: L.PolynomialLR(o, total_iters=400, power=2.0)),
    "PolynomialLR-linear": ("sgd", lambda L, o: L.PolynomialLR(o, total_iters=200)),
    "CosineAnnealingLR": ("sgd", lambda L, o: L.CosineAnnealingLR(o, T_max=100, eta_min=1e-3)),
    "CosineAnnealingLR-long": ("sgd", lambda L, o: L.CosineAnnealingLR(o, T_max=500)),
    "WarmRestarts": ("sgd", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=50)),
    "WarmRestarts-T_mult": ("sgd", lambda L, o: L.CosineAnnealingWarmRestarts(
        o, T_0=10, T_mult=2, eta_min=1e-4)),
    "CyclicLR-triangular": ("sgd", lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=40)),
    "CyclicLR-triangular2": ("sgd", lambda L, o: L.CyclicLR(
        o, [0.01, 0.002], [0.1, 0.05], step_size_up=30, step_size_down=70, mode="triangular2")),
    "CyclicLR-exp_range": ("adam", lambda L, o: L.CyclicLR(
        o, 0.001, 0.01, step_size_up=25, mode="exp_range", gamma=0.995)),
    "CyclicLR-scale_fn": ("sgd", lambda L, o: L.CyclicLR(
        o, 0.01, 0.1, step_size_up=20, scale_fn=lambda x: 1 / (1 + 0.1 * x),
        scale_mode="iterations", cycle_momentum=False)),
    "OneCycleLR-cos": ("sgd", lambda L, o: L.OneCycleLR(o, max_lr=0.5, total_steps=STEPS)),
    "OneCycleLR-linear": ("adam", lambda L, o: L.OneCycleLR(
        o, max_lr=[0.5, 0.2], total_steps=STEPS, pct_start=0.25, anneal_strategy="linear")),
    "OneCycleLR-three-phase": ("sgd", lambda L, o: L.OneCycleLR(
        o, max_lr=0.3, epochs=10, steps_per_epoch=50, three_phase=True, div_factor=10.0)),
    "SequentialLR": ("sgd", lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, start_factor=0.1, total_iters=50), L.CosineAnnealingLR(o, T_max=450)],
        milestones=[50])),
    "SequentialLR-three": ("sgd", lambda L, o: L.SequentialLR(
        o, [L.ConstantLR(o, factor=0.5, total_iters=20), L.ExponentialLR(o, gamma=0.99),
            L.StepLR(o, step_size=50, gamma=0.5)], milestones=[30, 200])),
    "ChainedScheduler": ("sgd", lambda L, o: L.ChainedScheduler(
        [L.ConstantLR(o, factor=0.1, total_iters=20), L.ExponentialLR(o, gamma=0.995)])),
    "ChainedScheduler-cosine": ("sgd", lambda L, o: L.ChainedScheduler(
        [L.LinearLR(o, start_factor=0.5, total_iters=30), L.CosineAnnealingLR(o, T_max=100)])),
    "LinearWarmup": ("sgd", lambda L, o: L.LinearWarmup(o, 50)),
    "LinearWarmup-then-cosine": ("sgd", lambda L, o: L.SequentialLR(
        o, [L.LinearWarmup(o, 50, start_factor=0.01), L.CosineAnnealingLR(o, T_max=450)],
        milestones=[50])),
    "Plateau": ("sgd", lambda L, o: L.ReduceLROnPlateau(o, patience=5)),
    "Plateau-abs-cooldown": ("sgd", lambda L, o: L.ReduceLROnPlateau(
        o, factor=0.5, patience=3, threshold=1e-3, threshold_mode="abs", cooldown=10,
        min_lr=[1e-3, 1e-4])),
    "Plateau-max": ("adam", lambda L, o: L.ReduceLROnPlateau(
        o, mode="max", factor=0.7, patience=2, min_lr=1e-3)),
}


def make_optimizer(kind, lib="steepest"):
    if lib == "torch":
        import torch
        params = [torch.zeros(3, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)]
        cls = torch.optim.SGD if kind == "sgd" else torch.optim.Adam
    else:
        params = [np.zeros(3), np.zeros(2)]
        cls = steepest.optim.SGD if kind == "sgd" else steepest.optim.Adam
    extra = dict(momentum=0.9) if kind == "sgd" else {}
    groups = [{"params": [params[0]]}, {"params": [params[1]], "lr": LRS[1]}]
    return cls(groups, lr=LRS[0], **extra)


def advance(sched, t):
    """One step of the schedule after step t (ReduceLROnPlateau reads the metric)."""
    if isinstance(sched, S.ReduceLROnPlateau) or type(sched).__name__ == "ReduceLROnPlateau":
        sched.step(-metric(t) if sched.mode == "max" else metric(t))
    else:
        sched.step()


def momentum_of(group):
    return group["betas"][0] if "betas" in group else group["momentum"]


def record(opt, sched, start, stop, torch_opt=False):
    """lrs and momentums of every group for steps start..stop-1, stepping after each."""
    lrs, moms = [], []
    for t in range(start, stop):
        lrs.append([float(g["lr"]) for g in opt.param_groups])
        moms.append([float(momentum_of(g)) for g in opt.param_groups])
        if torch_opt:
            opt.step()  # no gradients: a no-op that keeps torch from warning about the order
        advance(sched, t)
    return np.array(lrs), np.array(moms)


# -- parity with torch ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(CASES))
def test_lr_sequence_matches_torch(name):
    torch = pytest.importorskip("torch")
    kind, build = CASES[name]
    opt = make_optimizer(kind)
    ours, our_moms = record(opt, build(S, opt), 0, STEPS)
    topt = make_optimizer(kind, "torch")
    theirs, their_moms = record(topt, build(TorchNames(torch.optim.lr_scheduler), topt), 0, STEPS,
                                torch_opt=True)
    assert len(np.unique(ours[:, 0])) > 1, "the schedule should change the lr"
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)
    np.testing.assert_allclose(our_moms, their_moms, rtol=1e-12, atol=0)


def test_get_last_lr_and_groups():
    opt = make_optimizer("sgd")
    sched = S.StepLR(opt, step_size=2, gamma=0.5)
    assert [g["initial_lr"] for g in opt.param_groups] == list(LRS)
    assert sched.base_lrs == list(LRS) and sched.last_epoch == 0
    for _ in range(4):
        sched.step()
    assert sched.last_epoch == 4
    assert sched.get_last_lr() == [lr * 0.25 for lr in LRS] == [g["lr"] for g in opt.param_groups]


def test_optimizer_uses_the_scheduled_lr():
    w = np.zeros(1)
    opt = steepest.optim.SGD([w], lr=1.0)
    sched = S.MultiStepLR(opt, milestones=[2], gamma=0.1)
    for _ in range(4):
        opt.step([np.ones(1)])
        sched.step()
    np.testing.assert_allclose(w, [-(1.0 + 1.0 + 0.1 + 0.1)], rtol=1e-15)


def test_bad_arguments():
    opt = make_optimizer("sgd")
    with pytest.raises(ValueError, match="one more than the number of milestone"):
        S.SequentialLR(opt, [S.ConstantLR(opt), S.ExponentialLR(opt, 0.9)], milestones=[])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        S.ChainedScheduler([S.ReduceLROnPlateau(opt)])
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        S.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="warmup_steps"):
        S.LinearWarmup(opt, 0)
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(make_optimizer("sgd"), step_size=3, last_epoch=5)
    with pytest.raises(TypeError, match="not an Optimizer"):
        S.StepLR(object(), step_size=3)
    one = S.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        one.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        one.step()


# -- resuming ------------------------------------------------------------------------------------

@pytest.mark.parametrize("order", ["scheduler-first", "optimizer-first", "no-optimizer"])
@pytest.mark.parametrize("name", list(CASES))
def test_resume_mid_schedule_continues_bitwise(name, order):
    kind, build = CASES[name]
    opt = make_optimizer(kind)
    expected, expected_moms = record(opt, build(S, opt), 0, STEPS)

    opt = make_optimizer(kind)
    sched = build(S, opt)
    first, first_moms = record(opt, sched, 0, CUT)
    opt_state = opt.state_dict()
    sched_state = json.loads(json.dumps(sched.state_dict()))  # plain values only

    opt = make_optimizer(kind)  # fresh, at the constructor's lr
    if order == "optimizer-first":
        opt.load_state_dict(opt_state)
    sched = build(S, opt)
    if order == "scheduler-first":
        opt.load_state_dict(opt_state)
    sched.load_state_dict(sched_state)
    rest, rest_moms = record(opt, sched, CUT, STEPS)

    assert np.array_equal(np.concatenate([first, rest]), expected)
    assert np.array_equal(np.concatenate([first_moms, rest_moms]), expected_moms)


def test_multisteplr_loads_torch_style_milestones():
    """torch saves milestones as a Counter; through JSON its keys become strings."""
    opt = make_optimizer("sgd")
    sched = S.MultiStepLR(opt, milestones=[3, 8], gamma=0.5)
    state = sched.state_dict()
    assert state["milestones"] == [3, 8]
    state["milestones"] = {"3": 1, "8": 2}
    sched.load_state_dict(state)
    for _ in range(10):
        sched.step()
    assert sched.get_last_lr() == [lr * 0.5 ** 3 for lr in LRS]
