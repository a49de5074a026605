"""The rules the harness can time: how to build each one in steepest and in the NumPy reference,
and how many bytes one step moves per parameter (the memory traffic a fused kernel cannot avoid).
"""

from dataclasses import dataclass
from typing import Callable

import steepest
from steepest.reference import optim as reference


@dataclass(frozen=True)
class Rule:
    name: str
    make: Callable  # make(params) -> a steepest optimizer
    reference: Callable  # reference(p, g, state) -> one in-place NumPy step
    streams_read: int  # arrays read per parameter: p, g and the state
    streams_written: int  # arrays written back in place: p and the state

    def bytes_per_param(self, itemsize):
        return (self.streams_read + self.streams_written) * itemsize


SGD_HYPER = dict(lr=1e-3, momentum=0.9)
ADAM_HYPER = dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)

RULES = {
    # SGD with momentum: reads p, g, b; writes p, b.
    "sgd": Rule(
        "sgd",
        lambda params: steepest.optim.SGD(params, **SGD_HYPER),
        lambda p, g, state: reference.sgd(p, g, state, **SGD_HYPER),
        3, 2,
    ),
    # Adam: reads p, g, m, v; writes p, m, v.
    "adam": Rule(
        "adam",
        lambda params: steepest.optim.Adam(params, lr=1e-3),
        lambda p, g, state: reference.adam(p, g, state, **ADAM_HYPER),
        4, 3,
    ),
    "adamw": Rule(
        "adamw",
        lambda params: steepest.optim.AdamW(params, lr=1e-3, weight_decay=1e-2),
        lambda p, g, state: reference.adam(p, g, state, **ADAM_HYPER, weight_decay=1e-2,
                                           decoupled_weight_decay=True),
        4, 3,
    ),
}
