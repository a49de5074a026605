"""The rules the harness can time (every row of steepest.optim.registry): how to build each in
steepest, in the NumPy reference and in torch.optim, and the memory pattern of one step (arrays
read, arrays written back in place), which fixes the bytes a fused step must move per parameter."""

from dataclasses import dataclass, field

import steepest
from steepest.optim import registry
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


def _of(row):
    """The harness's view of a row of the registry (steepest.optim.registry)."""
    return Rule(row.key, row.name, row.bench, row.reference, row.reference_kwargs(row.bench),
                row.reads, row.writes, row.torch, row.bench if row.torch else {}, row.passes)


RULES = {key: _of(row) for key, row in registry.RULES.items()}


# AdamW with state_dtype="bfloat16" (optim/_precision.py), timed beside "adamw" (`steepest bench
# --rules adamw,adamw-bf16state`): float32 p, g and bfloat16 m, v read, p, m, v written, 20
# bytes per parameter, the traffic of the float32 (3 reads, 2 writes) pattern, its ceiling. The
# NumPy reference keeps float32 state; torch has no such option.
_ADAMW = RULES["adamw"]
RULES["adamw-bf16state"] = Rule("adamw-bf16state", "AdamW",
                                dict(_ADAMW.hyper, state_dtype="bfloat16"), _ADAMW.reference,
                                _ADAMW.reference_hyper, reads=3, writes=2)

# AdamW with state_dtype="int8" (blockwise 8-bit state): float32 p, g read and p written, m and v
# one byte each read and written, and a float32 absmax per 256 of each: 16 bytes per parameter
# (10 read, 6 written), the traffic of the float32 (3 reads, 1 write) pattern, its ceiling.
RULES["adamw-int8state"] = Rule("adamw-int8state", "AdamW",
                                dict(_ADAMW.hyper, state_dtype="int8"), _ADAMW.reference,
                                _ADAMW.reference_hyper, reads=3, writes=1)
