"""A step uses the hyperparameters the param groups hold at that step, however they were changed.

Optimizer.step keeps the group tuples it hands to C++ from one step to the next while no group
has changed (Optimizer._group_args). These tests change a hyperparameter between two steps in
every way a user or a scheduler can, and check the second step used the new value. Plain SGD
with lr 0.5 then 0.25 on p = 1, g = 1 is exact in binary: 1 -> 0.5 -> 0.25."""

import numpy as np
import pytest

import steepest

LR_CHANGES = {
    "setitem": lambda opt: opt.param_groups[0].__setitem__("lr", 0.25),
    "update": lambda opt: opt.param_groups[0].update(lr=0.25),
    "ior": lambda opt: opt.param_groups[0].__ior__({"lr": 0.25}),
    "replaced dict": lambda opt: opt.param_groups.__setitem__(0, dict(opt.param_groups[0], lr=0.25)),
    "replaced list": lambda opt: setattr(opt, "param_groups", [dict(opt.param_groups[0], lr=0.25)]),
    "load_state_dict": lambda opt: opt.load_state_dict(
        {**opt.state_dict(), "param_groups": [dict(opt.state_dict()["param_groups"][0], lr=0.25)]}),
    "scheduler": lambda opt: steepest.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5).step(),
}


@pytest.mark.parametrize("change", list(LR_CHANGES))
@pytest.mark.parametrize("objects", [False, True], ids=["arrays", "Parameters"])
def test_a_changed_lr_is_used_by_the_next_step(change, objects):
    """Also for parameters given as objects (steepest.nn.Parameter): their tuples are built
    each step, from kept hyperparameters."""
    p = np.ones(5, np.float32)
    g = [np.ones(5, np.float32)]
    if objects:
        param = steepest.nn.Parameter(p)
        param.grad, g = g[0], None
        p = param.data
    opt = steepest.optim.SGD([param if objects else p], lr=0.5)
    opt.step(g)
    assert np.all(p == 0.5)
    opt.step(g)  # a step with nothing changed: the kept tuples
    assert np.all(p == 0.0)
    p[:] = 0.5
    LR_CHANGES[change](opt)
    opt.step(g)
    assert np.all(p == 0.25), change


def test_an_lr_array_changed_in_place_is_used_by_the_next_step():
    p = np.ones(5, np.float32)
    lr = np.array(0.5)
    opt = steepest.optim.SGD([p], lr=lr)
    opt.step([np.ones(5, np.float32)])
    lr[...] = 0.25  # the dict is not told: groups holding mutable values are read every step
    opt.step([np.ones(5, np.float32)])
    assert np.all(p == 0.25)


def test_betas_in_a_list_changed_in_place_are_used_by_the_next_step():
    rng = np.random.default_rng(0)
    p0, g = rng.standard_normal(9), [rng.standard_normal(9) for _ in range(2)]
    listed, told, unchanged = p0.copy(), p0.copy(), p0.copy()
    a = steepest.optim.Adam([listed])
    b = steepest.optim.Adam([told])
    c = steepest.optim.Adam([unchanged])
    betas = [0.9, 0.999]
    a.param_groups[0]["betas"] = betas  # a list: the group can change without being told
    for opt in (a, b, c):
        opt.step([g[0]])
    betas[0] = 0.5
    b.param_groups[0]["betas"] = (0.5, 0.999)
    for opt in (a, b, c):
        opt.step([g[1]])
    assert listed.tobytes() == told.tobytes()
    assert listed.tobytes() != unchanged.tobytes()


def test_a_flag_and_a_new_group_are_used_by_the_next_step():
    p = np.ones(5, np.float32)
    q = np.ones(3, np.float32)
    opt = steepest.optim.SGD([p], lr=0.5)
    opt.step([np.ones(5, np.float32)])
    opt.param_groups[0]["maximize"] = True
    opt.add_param_group({"params": [q], "lr": 0.25})
    opt.step([np.ones(5, np.float32), np.ones(3, np.float32)])
    assert np.all(p == 1.0) and np.all(q == 0.75)
