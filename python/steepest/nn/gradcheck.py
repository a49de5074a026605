"""Finite-difference checks of a loss's gradient, for custom losses (losses.py's protocol)."""

import numpy as np

__all__ = ["check_grad"]


def check_grad(loss, output, target, eps=1e-6, tol=1e-5):
    r"""Check ``loss.value_and_grad(output, target)``'s gradient against central differences
    in float64 and return the largest relative error::

        numeric_i = (L(output + eps e_i) - L(output - eps e_i)) / (2 eps)
        error     = max_i |grad_i - numeric_i| / max(|grad_i|, |numeric_i|, 1e-3 max_j |numeric_j|)

    (the floor keeps elements whose gradient is ~0 from dividing by ~0). ``output`` is copied
    to float64 (so is a float ``target``); ``loss`` is any object of the custom-loss protocol
    or a steepest.nn Loss (then ``target`` in its kernel's layout: int64 labels for
    cross_entropy). Raises AssertionError naming the worst element when the error exceeds
    ``tol``, so it reads as a test::

        assert check_grad(MyLoss(), rng.standard_normal((8, 1)), y) < 1e-6
    """
    x = np.array(output, dtype=np.float64)
    if x.ndim != 2 or x.size == 0:
        raise ValueError(f"output must be a non-empty (n, outputs) array, got shape {x.shape}")
    t = np.asarray(target)
    t = np.array(t, dtype=np.float64) if t.dtype.kind == "f" else t
    if not (isinstance(eps, float) and eps > 0):
        raise ValueError(f"eps must be a float > 0, got {eps!r}")

    def value(a):
        return float(loss.value_and_grad(a, t)[0])

    grad = np.array(loss.value_and_grad(x.copy(), t)[1], dtype=np.float64)
    if grad.shape != x.shape:
        raise AssertionError(f"value_and_grad returned a gradient of shape {grad.shape} for an "
                             f"output of shape {x.shape}")
    numeric = np.empty_like(x)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + eps
        up = value(x)
        x[i] = saved - eps
        down = value(x)
        x[i] = saved
        numeric[i] = (up - down) / (2 * eps)
    floor = max(1e-3 * float(np.abs(numeric).max()), np.finfo(np.float64).tiny)
    errors = np.abs(grad - numeric) / np.maximum(np.maximum(np.abs(grad), np.abs(numeric)),
                                                 floor)
    worst = np.unravel_index(int(np.argmax(errors)), errors.shape)
    error = float(errors[worst])
    if not error <= tol:  # NaN fails too
        raise AssertionError(f"gradient check failed: relative error {error:.3g} > {tol:g} at "
                             f"output{list(worst)}: value_and_grad gives {grad[worst]:.6g}, "
                             f"finite differences {numeric[worst]:.6g}")
    return error
