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
    # Rules of several passes (per-tensor norms between them): (reads, writes) of each pass;
    # reads and writes are then the totals. Empty for one-pass rules.
    passes: tuple = ()

    @property
    def patterns(self):
        """(reads, writes) of each pass over memory."""
        return self.passes or ((self.reads, self.writes),)

    def bytes_per_param(self, itemsize):
        return (self.reads + self.writes) * itemsize

    def ceiling(self, bandwidth, itemsize):
        """Bytes per second of a step at the memory ceiling, given ``bandwidth[(reads, writes)]``
        of each pass pattern: the passes run one after the other."""
        seconds = sum((r + w) * itemsize / bandwidth[(r, w)] for r, w in self.patterns)
        return self.bytes_per_param(itemsize) / seconds

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
        # LAMB, two passes: (1) reads p, g, m, v, writes m, v and sums ||p||^2, ||u||^2;
        # (2) reads p, m, v (u recomputed), writes p: 40 bytes per float32 parameter.
        Rule("lamb", "Lamb", dict(lr=1e-3, weight_decay=1e-2), "lamb",
             dict(_ADAM, eps=1e-6, weight_decay=1e-2), 7, 3, passes=((4, 2), (3, 1))),
        # LARS, two passes: (1) reads p, g for ||p||, ||g||; (2) SGD with momentum: reads
        # p, g, b, writes p, b: 28 bytes per float32 parameter.
        Rule("lars", "Lars", dict(lr=0.1, momentum=0.9, weight_decay=1e-4, exclude_1d=False),
             "lars", dict(lr=0.1, momentum=0.9, weight_decay=1e-4, exclude_1d=False), 5, 2,
             passes=((2, 0), (3, 2))),
        # Adafactor on the harness's 1-d tensors (unfactored), three passes: ||p|| and v (reads
        # p, g, v, writes v); ||u|| (reads g, v); p (reads p, g, v, writes p): 40 bytes per
        # float32 parameter. (Factored 2-d tensors: p, g; g; p, g -> p.)
        Rule("adafactor", "Adafactor", dict(), "adafactor", dict(), 8, 2, "Adafactor", dict(),
             passes=((3, 1), (2, 0), (3, 1))),
    ]
}
