"""Pure-NumPy reference implementations (oracles) of steepest's update rules.

Written from torch.optim's documented algorithms, not from steepest's C++, so that tests can
check the compiled kernels against an independent implementation. They update their arguments in
place like the kernels do, which also makes them the "NumPy baseline" of the benchmarks. They are
deliberately plain: one NumPy operation per line of the equations, no fusion.
"""

from . import optim as _optim
from .optim import *  # noqa: F403 (every rule's oracle: optim.__all__)

__all__ = list(_optim.__all__)
