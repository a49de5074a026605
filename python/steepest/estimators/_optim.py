"""The optimizer and the lr schedule an estimator's parameters name."""

import inspect
import math

from .. import optim
from ..optim import lr_scheduler, registry

# Rules a name selects (torch.optim's class names, lower-case): every fused rule of the registry.
RULES = {key: rule.cls for key, rule in registry.RULES.items()}

SCHEDULES = ("constant", "cosine", "step", "exponential", "linear", "plateau")


def check_rule(name):
    if not isinstance(name, str) or name.lower() not in RULES:
        raise ValueError(f"optimizer must be one of {sorted(RULES)}, got {name!r}")
    return RULES[name.lower()]


def takes_weight_decay(rule):
    return "weight_decay" in inspect.signature(rule.__init__).parameters


def make_optimizer(name, lr, weights, biases, weight_decay):
    """The rule ``name`` over two groups: ``weights`` with ``weight_decay`` (the rule's own:
    added to the gradient for sgd/adam..., decoupled for adamw/lion), ``biases`` without."""
    rule = check_rule(name)
    if not takes_weight_decay(rule):
        if weight_decay:
            raise ValueError(f"optimizer {name!r} has no weight_decay: choose another rule for "
                             "an L2 penalty or weight decay")
        return rule([{"params": weights}, {"params": biases}], lr=lr)
    return rule([{"params": weights, "weight_decay": weight_decay},
                 {"params": biases, "weight_decay": 0.0}], lr=lr)


def check_schedule(name):
    if name not in SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {list(SCHEDULES)}, got {name!r}")
    return name


def make_scheduler(name, optimizer, epochs):
    """A scheduler stepped once per epoch over ``epochs`` epochs (None for "constant"):
    "cosine" anneals to 0 (CosineAnnealingLR, T_max=epochs), "step" divides by 10 every third
    of the epochs (StepLR), "exponential" multiplies by 0.01^(1/epochs) a step (ExponentialLR),
    "linear" decays linearly to 0 (LinearLR), "plateau" divides by 10 after 10 epochs without
    improvement of the monitored loss (ReduceLROnPlateau)."""
    epochs = max(int(epochs), 1)
    if name == "constant":
        return None
    if name == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    if name == "step":
        return lr_scheduler.StepLR(optimizer, step_size=max(1, math.ceil(epochs / 3)), gamma=0.1)
    if name == "exponential":
        return lr_scheduler.ExponentialLR(optimizer, gamma=0.01 ** (1.0 / epochs))
    if name == "linear":
        return lr_scheduler.LinearLR(optimizer, start_factor=1.0, end_factor=0.0,
                                     total_iters=epochs)
    return lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.1, patience=10)
