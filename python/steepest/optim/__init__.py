"""Update rules with torch.optim's names, defaults and semantics, on NumPy arrays."""

from . import lr_scheduler
from .accumulate import Accumulate
from .adam import Adam, AdamW
from .averaging import EMA, SWA
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .sam import SAM
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "LBFGS", "Accumulate", "EMA", "SWA", "SAM",
           "lr_scheduler"]
