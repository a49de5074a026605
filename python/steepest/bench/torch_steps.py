"""torch.optim's implementations of a rule, and steepest.torch's drop-in, stepped on the same
data (optional: torch may be absent). ``variants(rule, params, grads)`` returns {name: step
function} for each that runs here: torch's for-loop, foreach and fused=True, and
"steepest.torch" (our kernel behind torch's Optimizer API)."""

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

    steps = {}
    for name, flags in VARIANTS.items() if rule.torch_class else ():
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
    import steepest.torch

    tensors = [torch.from_numpy(np.array(p)) for p in params]
    for t, g in zip(tensors, grads):
        t.grad = torch.from_numpy(g)
    try:
        steps["steepest.torch"] = getattr(steepest.torch, rule.steepest_class)(
            tensors, **rule.hyper).step
    except TypeError:
        pass  # an option the drop-in does not take (adamw-bf16state's, -int8state's state_dtype)
    return steps
