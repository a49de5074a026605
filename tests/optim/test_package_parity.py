"""Parity of the rules torch.optim lacks with their authors' packages, where one is installed
(each test is skipped when its package is absent):

- AdaBelief against adabelief-pytorch (``pip install adabelief-pytorch``) with
  ``rectify=False`` (its RAdam-style rectification is not the paper's algorithm and not ours),
  in every combination of amsgrad, decoupled weight decay (its ``weight_decouple``) and
  weight_decay 0 / 0.1: 200 free-running steps on two groups of odd-sized tensors, both dtypes.
  Measured max difference over the 16 cases (params relative to max(|p|, 1), state relative to
  its largest element): 2.9e-7 / 1.8e-7 (float32), 4.4e-16 / 2.7e-16 (float64); the tolerance
  is torch.optim's (the registry's TORCH_RTOL: 2e-6, 5e-15).
- Adan: its authors' code (github.com/sail-sg/Adan) is not on PyPI; the ``adan-pytorch``
  package there runs another algorithm (no moment update at the first step, the paper's beta
  convention), so Adan is checked against its NumPy reference only (test_parity).
"""

import itertools

import numpy as np
import pytest

import steepest
from steepest.optim.registry import TORCH_RTOL

torch = pytest.importorskip("torch")

STEPS = 200
SHAPES = [[(7,), (33, 5), (1031,)], [(3, 11)]]
ADABELIEF_CASES = [dict(amsgrad=a, decoupled_weight_decay=d, weight_decay=w)
                   for a, d, w in itertools.product((False, True), (False, True), (0.0, 0.1))]


@pytest.mark.parametrize("dtype", (np.float32, np.float64), ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("hyper", ADABELIEF_CASES,
                         ids=lambda h: "-".join(f"{k}={v}" for k, v in h.items()))
def test_adabelief_matches_adabelief_pytorch(hyper, dtype):
    package = pytest.importorskip("adabelief_pytorch")
    rng = np.random.default_rng(5)
    start = [[rng.standard_normal(s).astype(dtype) for s in group] for group in SHAPES]
    ours = [[p.copy() for p in group] for group in start]
    theirs = [[torch.nn.Parameter(torch.from_numpy(p.copy())) for p in group] for group in start]
    lr = (0.01, 0.003)
    opt = steepest.optim.AdaBelief([{"params": ours[0], "lr": lr[0]},
                                    {"params": ours[1], "lr": lr[1]}], betas=(0.9, 0.99),
                                   amsgrad=hyper["amsgrad"], weight_decay=hyper["weight_decay"],
                                   decoupled_weight_decay=hyper["decoupled_weight_decay"])
    ref = package.AdaBelief([{"params": theirs[0], "lr": lr[0]},
                             {"params": theirs[1], "lr": lr[1]}], betas=(0.9, 0.99), eps=1e-16,
                            amsgrad=hyper["amsgrad"], weight_decay=hyper["weight_decay"],
                            weight_decouple=hyper["decoupled_weight_decay"], rectify=False,
                            print_change_log=False)
    flat_ours = [p for group in ours for p in group]
    flat_theirs = [p for group in theirs for p in group]
    for t in range(STEPS):
        noise = [rng.standard_normal(p.shape).astype(dtype) for p in flat_ours]
        # the gradient depends on the parameter: each side's own, as in training
        grads = [n + dtype(0.1) * p for n, p in zip(noise, flat_ours)]
        for p, n in zip(flat_theirs, noise):
            p.grad = torch.from_numpy(n) + 0.1 * p.detach()
        opt.step(grads)
        ref.step()
    rtol = TORCH_RTOL[np.dtype(dtype).name]
    for k, (a, b) in enumerate(zip(flat_ours, flat_theirs)):
        np.testing.assert_allclose(a, b.detach().numpy(), rtol=rtol, atol=rtol,
                                   err_msg=f"param {k}")
        for key in ("exp_avg", "exp_avg_var") + (("max_exp_avg_var",) if hyper["amsgrad"] else ()):
            expected = ref.state[b][key].numpy()
            # relative to the array's largest element: a moment near 0 carries the rounding of
            # its larger terms
            np.testing.assert_allclose(opt.state[k][key], expected, rtol=rtol,
                                       atol=rtol * np.abs(expected).max(),
                                       err_msg=f"state[{k}][{key!r}]")
        assert int(opt.state[k]["step"]) == ref.state[b]["step"] == STEPS
