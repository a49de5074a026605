"""steepest: gradient-descent training on the CPU, with fused, vectorized, threaded C++ kernels.

    import steepest
    opt = steepest.optim.AdamW([w, b], lr=1e-3)
    opt.step([grad_w, grad_b])        # updates w and b in place

The kernels run on the best SIMD target this CPU supports; ``STEEPEST_SIMD=<target>`` in the
environment forces another compiled target at import. ``show_config()`` tells which.
"""

import numbers as _numbers
import os as _os

from . import _core

__version__ = "0.1.0"


def _select_target_from_env():
    name = _os.environ.get("STEEPEST_SIMD", "").strip()
    if name:
        try:
            _core.select_target(name)
        except ValueError as e:
            raise ImportError(f"STEEPEST_SIMD={name!r}: {e}") from None


_select_target_from_env()


def get_num_threads():
    """Threads a kernel may use, unless set: ``OMP_NUM_THREADS``, else the CPUs this process may
    run on (its affinity mask, as ``taskset`` or Slurm set it, and its cgroup CPU quota, as a
    container limit sets it: the smaller). ``threadpoolctl.threadpool_limits`` sets it too."""
    return _core.get_num_threads()


def set_num_threads(n):
    """Let kernels use ``n`` >= 1 threads. Results do not depend on it, bitwise."""
    if isinstance(n, bool) or not isinstance(n, _numbers.Integral):
        raise TypeError(f"set_num_threads: expected an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"set_num_threads: num_threads must be >= 1, got {n}")
    if n > 1 << 16:
        raise ValueError(f"set_num_threads: num_threads must be <= 65536, got {n}")
    _core.set_num_threads(int(n))


def show_config(mode="stdout"):
    """Print (``mode="stdout"``) or return (``mode="dicts"``) how steepest was built and runs:
    the SIMD targets compiled in, those this CPU supports, the one in use and how it converts
    float32 to and from bfloat16/float16, the thread count and the compiler."""
    config = {
        "version": __version__,
        "simd": {
            "compiled": list(_core.compiled_targets()),
            "supported": list(_core.supported_targets()),
            "active": _core.active_target(),
            "conversions": _core.conversions(),
        },
        "threads": _core.get_num_threads(),
        "compiler": _core.compiler,
    }
    if mode == "dicts":
        return config
    if mode != "stdout":
        raise ValueError(f"show_config: mode must be 'stdout' or 'dicts', got {mode!r}")
    simd = config["simd"]
    print(f"steepest {config['version']}")
    print(f"  SIMD target in use : {simd['active']}")
    print(f"  conversions        : {simd['conversions']}")
    print(f"  compiled targets   : {', '.join(simd['compiled'])}")
    print(f"  supported by CPU   : {', '.join(simd['supported'])}")
    print(f"  threads            : {config['threads']}")
    print(f"  compiler           : {config['compiler']}")
    return None


from . import _threadpool  # noqa: E402

_threadpool.install()  # threadpoolctl's threadpool_limits and threadpool_info see steepest

from . import optim  # noqa: E402  (needs _core configured)
from . import nn  # noqa: E402
from .checkpoint import CheckpointError, load, save  # noqa: E402
from .checkpoint import load_model  # noqa: E402

__all__ = ["optim", "nn", "save", "load", "CheckpointError", "show_config", "get_num_threads",
           "set_num_threads", "__version__"]
__all__ += ["load_model"]
