"""Fewer bytes per parameter: the 16-bit options of the update rules (all but L-BFGS: SGD, Adam,
AdamW, RMSprop, Adagrad, Adadelta, Adamax, NAdam, RAdam, Rprop, ASGD, Lion, AdaBelief, Adan,
LAMB, LARS, Adafactor), taken by their constructors as keywords:

- ``state_dtype=None | "float32" | "bfloat16" | "int8"``: the state arrays (exp_avg, exp_avg_sq,
  momentum_buffer, ...) stored in bfloat16, rounded to nearest even after each step, the
  arithmetic in float32. None keeps the param's dtype (float32 for 16-bit params). Takes
  float32, bfloat16 and float16 params.
  ``"int8"`` (Adam, AdamW, SGD, Lion, AdaBelief): blockwise 8-bit state (Dettmers et al. 2022,
  "8-bit Optimizers via Block-wise Quantization"): each block of 256 elements keeps its absmax
  and one byte per element, the nearest code of a dynamic map (signed for first moments and
  momentum, unsigned for second moments; ``steepest.reference.quantize``). ``state[i][key]`` is
  then one uint8 array: the blocks' float32 absmax, then the bytes;
  ``steepest.reference.quantize.unpack`` and ``dequantize`` read it. Loading a state_dict takes
  that array, or float values of the param's shape (quantized).
- bfloat16 (``ml_dtypes.bfloat16``) and float16 params and grads, with the arithmetic in float32.
  ``master_weights=True`` keeps a float32 copy of each in ``state[i]['master_param']`` (created
  from the param at its first step, saved in state_dicts): the step updates the copy and writes
  it back to the param rounded to nearest even. Without it the param itself is widened, updated
  and rounded back: ``rounding="nearest"`` (even) or ``"stochastic"`` (unbiased: rounds up with
  probability the fraction of the ulp; seeded by ``seed``, counter-based, so a run is the same
  for any thread count).

The step runs the rule's float32 kernel on blocks of 512 elements widened into scratch
(csrc/optim/precision.h). LAMB and LARS take their per-tensor norms over the widened blocks in a
first pass; Adafactor widens each tensor's 16-bit arrays whole into float32 scratch held for the
step (its norms and means span the tensor). Every step is bitwise the rule's float32 step on the
widened values, rounded (Adafactor's ``eps1=None`` is then float32's machine epsilon). bfloat16
state is kept as uint16 bits; ``state[i][key]`` shows them as an ``ml_dtypes.bfloat16`` array
when ml_dtypes is installed (an optional dependency), else as uint16.
"""

import functools
import numbers
from dataclasses import dataclass

import numpy as np

from ..reference import precision as _rounding
from ..reference import quantize as _quantize

STATE_DTYPES = (None, "float32", "bfloat16", "int8")
_STATE_CODES = {None: 0, "float32": 0, "bfloat16": 1, "int8": 3}  # bindings/step.h's Precision
ROUNDINGS = ("nearest", "stochastic")
OPTIONS = ("state_dtype", "master_weights", "rounding", "seed")


def bfloat16():
    """``ml_dtypes.bfloat16`` as a NumPy dtype, or None without ml_dtypes."""
    try:
        import ml_dtypes
    except ImportError:
        return None
    return np.dtype(ml_dtypes.bfloat16)


def half_format(dtype):
    """"bfloat16" / "float16" for a 16-bit float dtype, else None."""
    if dtype == np.float16:
        return "float16"
    if dtype.kind == "V" and dtype.itemsize == 2 and dtype.name == "bfloat16":
        return "bfloat16"
    return None


def bits_view(bits):
    """uint16 bfloat16 bits as the user sees them: an ml_dtypes.bfloat16 view if installed."""
    dtype = bfloat16()
    return bits if dtype is None else bits.view(dtype)


@dataclass(frozen=True)
class Precision:
    """The options, checked (ValueError/TypeError naming the argument)."""

    state_dtype: str = None
    master_weights: bool = False
    rounding: str = "nearest"
    seed: int = 0

    def __post_init__(self):
        if self.state_dtype not in STATE_DTYPES:
            raise ValueError(f"state_dtype must be None, 'float32', 'bfloat16' or 'int8', got "
                             f"{self.state_dtype!r}")
        if not isinstance(self.master_weights, (bool, np.bool_)):
            raise TypeError(f"master_weights must be a bool, got {self.master_weights!r}")
        if self.rounding not in ROUNDINGS:
            raise ValueError(f"rounding must be 'nearest' or 'stochastic', got {self.rounding!r}")
        if self.master_weights and self.rounding == "stochastic":
            raise ValueError("rounding='stochastic' rounds 16-bit params kept without master "
                             "weights; with master_weights=True they round to nearest")
        if (isinstance(self.seed, (bool, np.bool_)) or not isinstance(self.seed, numbers.Integral)
                or not 0 <= self.seed < 2**64):
            raise ValueError(f"seed must be an int in [0, 2**64), got {self.seed!r}")

    @functools.cached_property
    def default(self):
        return self == Precision()  # read every step: computed once

    def check_param(self, data, k):
        """Raise unless params[k] (its array ``data``) may take these options."""
        half = half_format(data.dtype)
        if self.master_weights and half is None:
            raise ValueError(f"params[{k}]: master_weights=True keeps float32 copies of "
                             f"bfloat16 or float16 params, got a {data.dtype} param")
        if self.state_dtype in ("bfloat16", "int8") and data.dtype == np.float64:
            raise ValueError(f"params[{k}]: state_dtype={self.state_dtype!r} takes float32, "
                             "bfloat16 or float16 params, got a float64 param")

    def args(self, counter, masters):
        """C++'s ``precision`` argument (bindings/step.h)."""
        return (_STATE_CODES[self.state_dtype], ROUNDINGS.index(self.rounding),
                int(self.seed), int(counter), masters)

    def stored(self, key, data):
        """How state array ``key`` of a param whose array is ``data`` is stored: "bfloat16"
        (uint16 bits), "int8" (the packed uint8 array) or a NumPy dtype."""
        if key == "master_param":
            return np.dtype(np.float32)
        if self.state_dtype in ("bfloat16", "int8"):
            return self.state_dtype
        return np.dtype(np.float32) if half_format(data.dtype) else data.dtype

    def loaded(self, value, key, data, signed=True):
        """A saved state array as it is stored (a view of ``value`` where no conversion is
        needed: the loader copies it): bfloat16 state from its bits (uint16 or
        ml_dtypes.bfloat16) or from floats rounded to nearest even; int8 state from its packed
        uint8 array or from floats quantized (by the ``signed`` map or not); others cast."""
        stored = self.stored(key, data)
        a = np.asarray(value)
        if stored == "int8":
            if a.dtype == np.uint8:
                return a
            return _quantize.pack(*_quantize.quantize(np.asarray(a, dtype=np.float32), signed))
        if stored != "bfloat16":
            if half_format(a.dtype):
                a = a.astype(np.float32)
            return np.asarray(a, dtype=stored)
        if a.dtype == np.uint16 or half_format(a.dtype) == "bfloat16":
            bits = a.view(np.uint16)
        else:
            bits = _rounding.nearest(np.asarray(a, dtype=np.float32), "bfloat16")
        return bits_view(bits)
