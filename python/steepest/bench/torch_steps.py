"""torch.optim's implementations of a rule, stepped on the same data (optional: torch may be
absent). ``variants(rule, params, grads)`` returns {name: step function} for each of torch's
implementations that runs here: the for-loop, foreach and fused=True."""

import importlib

import numpy as np

VARIANTS = {"torch": dict(foreach=False), "torch-foreach": dict(foreach=True),
            "torch-fused": dict(fused=True)}


def available():
    """torch's version, or None when torch cannot be imported."""
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        return None
    return torch.__version__


def variants(rule, params, grads):
    import torch

    if rule.torch_class is None:
        return {}
    steps = {}
    for name, flags in VARIANTS.items():
        tensors = [torch.from_numpy(np.array(p)) for p in params]
        for t, g in zip(tensors, grads):
            t.grad = torch.from_numpy(g)
        try:
            opt = getattr(torch.optim, rule.torch_class)(tensors, **rule.torch_hyper, **flags)
            with torch.no_grad():
                opt.step()
        except (RuntimeError, TypeError, ValueError):
            continue  # this torch has no such implementation of the rule on the CPU
        steps[name] = opt.step
    return steps
