"""Update rules with torch.optim's names, defaults and semantics, on NumPy arrays, and the
training tools around them (schedulers, clipping, accumulation, averaging, SAM, L-BFGS)."""

from . import lr_scheduler
from .accumulate import Accumulate
from .adabelief import AdaBelief
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adan import Adan
from .adamax import Adamax
from .asgd import ASGD
from .averaging import EMA, SWA
from .clip import clip_grad_norm_, clip_grad_value_
from .lamb import Lamb
from .lars import Lars
from .lbfgs import LBFGS
from .lion import Lion
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sam import SAM
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
           "NAdam", "RAdam", "Rprop", "ASGD", "Adafactor", "Lion", "Lamb", "Lars", "AdaBelief",
           "Adan", "LBFGS",
           "Accumulate", "EMA", "SWA", "SAM", "lr_scheduler", "clip_grad_norm_",
           "clip_grad_value_"]
