"""Pure-NumPy reference implementations (oracles) of steepest's update rules.

Written from torch.optim's documented algorithms, not from steepest's C++, so that tests can
check the compiled kernels against an independent implementation. They update their arguments in
place like the kernels do, which also makes them the "NumPy baseline" of the benchmarks. They are
deliberately plain: one NumPy operation per line of the equations, no fusion.
"""

from .optim import (adadelta, adafactor, adagrad, adam, adamax, asgd, lamb, lars, lion, nadam,
                    radam, rmsprop, rprop, sgd)

__all__ = ["sgd", "adam", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "radam", "rprop",
           "asgd", "lion", "lamb", "lars", "adafactor"]
