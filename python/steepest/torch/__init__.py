"""Drop-in torch.optim optimizers whose step runs in steepest's C++ kernels, directly on the
tensors' memory (no copies)::

    from steepest.torch import AdamW      # instead of: from torch.optim import AdamW

One class per fused rule of ``steepest.optim``, each a ``torch.optim.Optimizer`` with torch's
constructor arguments, param groups, hooks, ``zero_grad`` and state_dict format, so torch's lr
schedulers work with it and a state_dict moves between ``torch.optim.AdamW`` and
``steepest.torch.AdamW`` both ways. Parameters are float32/float64 CPU tensors, or complex64/
complex128 ones, stepped as their real view (``torch.view_as_real``) as torch's rules step them.
A non-contiguous parameter (a transposed weight, a slice) is stepped through a contiguous working
copy within the step (two copies of it a step), a non-contiguous gradient through a contiguous
copy. Anything else (CUDA, sparse, half precision, an expanded tensor) is a clear error naming
the parameter.

Importing this module imports torch; ``import steepest`` alone never does.
"""

from .. import optim as _optim
from ..optim.clip import clip_grad_norm_, clip_grad_value_  # torch tensors and params welcome
from ._adapter import adapt

__all__ = ["clip_grad_norm_", "clip_grad_value_"]
for _name in _optim.__all__:
    _rule = getattr(_optim, _name)
    if isinstance(_rule, type) and issubclass(_rule, _optim.Optimizer) and _rule._kernel is not None:
        globals()[_name] = adapt(_rule)
        __all__.append(_name)
