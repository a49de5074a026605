"""The rules the harness can time: how to build each in steepest, in the NumPy reference and in
torch.optim, and the memory pattern of one step (arrays read, arrays written back in place),
which fixes the bytes a fused step must move per parameter."""

from dataclasses import dataclass, field

import steepest
from steepest.reference import optim as reference


@dataclass(frozen=True)
class Rule:
    name: str
    steepest_class: str  # in steepest.optim
    hyper: dict  # constructor arguments, torch.optim's names
    reference: str  # function in steepest.reference.optim
    reference_hyper: dict
    reads: int  # arrays read per parameter: p, g and the state
    writes: int  # arrays written back in place: p and the state
    torch_class: str = None  # in torch.optim, where torch has the rule
    torch_hyper: dict = field(default_factory=dict)

    def bytes_per_param(self, itemsize):
        return (self.reads + self.writes) * itemsize

    def make(self, params):
        return getattr(steepest.optim, self.steepest_class)(params, **self.hyper)

    def reference_step(self, p, g, state):
        getattr(reference, self.reference)(p, g, state, **self.reference_hyper)


_ADAM = dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)

RULES = {
    rule.name: rule
    for rule in [
        # SGD with momentum: reads p, g, b; writes p, b.
        Rule("sgd", "SGD", dict(lr=1e-3, momentum=0.9), "sgd", dict(lr=1e-3, momentum=0.9),
             3, 2, "SGD", dict(lr=1e-3, momentum=0.9)),
        # Adam: reads p, g, m, v; writes p, m, v: 28 bytes per float32 parameter.
        Rule("adam", "Adam", dict(lr=1e-3), "adam", _ADAM, 4, 3, "Adam", dict(lr=1e-3)),
        Rule("adamw", "AdamW", dict(lr=1e-3, weight_decay=1e-2), "adam",
             dict(_ADAM, weight_decay=1e-2, decoupled_weight_decay=True), 4, 3,
             "AdamW", dict(lr=1e-3, weight_decay=1e-2)),
        # RMSprop: reads p, g, v; writes p, v.
        Rule("rmsprop", "RMSprop", dict(lr=1e-2), "rmsprop", dict(lr=1e-2), 3, 2, "RMSprop",
             dict(lr=1e-2)),
        # Adagrad: reads p, g, sum; writes p, sum.
        Rule("adagrad", "Adagrad", dict(lr=1e-2), "adagrad", dict(lr=1e-2), 3, 2, "Adagrad",
             dict(lr=1e-2)),
        # Adadelta: reads p, g, v, u; writes p, v, u.
        Rule("adadelta", "Adadelta", dict(), "adadelta", dict(), 4, 3, "Adadelta", dict()),
        # Adamax: reads p, g, m, u; writes p, m, u.
        Rule("adamax", "Adamax", dict(lr=2e-3), "adamax", dict(lr=2e-3), 4, 3, "Adamax",
             dict(lr=2e-3)),
        # NAdam: reads p, g, m, v; writes p, m, v.
        Rule("nadam", "NAdam", dict(lr=2e-3), "nadam", dict(lr=2e-3), 4, 3, "NAdam",
             dict(lr=2e-3)),
        # RAdam: reads p, g, m, v; writes p, m, v.
        Rule("radam", "RAdam", dict(lr=1e-3), "radam", dict(lr=1e-3), 4, 3, "RAdam",
             dict(lr=1e-3)),
        # Rprop: reads p, g, prev, step_size; writes p, prev, step_size.
        Rule("rprop", "Rprop", dict(lr=1e-2), "rprop", dict(lr=1e-2), 4, 3, "Rprop",
             dict(lr=1e-2)),
        # ASGD with the default t0 (mu = 1, ax = p): reads p, g; writes p, ax. ax is only
        # written, but a write-allocating cache reads its lines first: the (3, 2) pattern.
        Rule("asgd", "ASGD", dict(lr=1e-2), "asgd", dict(lr=1e-2), 3, 2, "ASGD", dict(lr=1e-2)),
        # Lion (not in torch): reads p, g, m; writes p, m.
        Rule("lion", "Lion", dict(lr=1e-4), "lion", dict(lr=1e-4), 3, 2),
    ]
}
