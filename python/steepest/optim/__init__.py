"""Update rules with torch.optim's names, defaults and semantics, on NumPy arrays."""

from .adafactor import Adafactor
from .adam import Adam, AdamW
from .lamb import Lamb
from .lars import Lars
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Lamb", "Lars", "Adafactor"]
