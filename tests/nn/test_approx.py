"""The error of the float32 exp, tanh and erf approximations (steepest/nn/approx.h) against
float64 math, over a dense sweep of every range that matters: both saturation regions, the
subnormal and overflow ends of exp, and 0. Measured on this machine (avx2 and baseline):
exp 1.03 ulp, tanh 2.49 ulp, erf 2.24 ulp; the bounds the header states are 2, 3 and 3 ulp.
float64 runs on libm: checked to within 2 ulp.
"""
import math

import numpy as np
import pytest

from steepest import _core

# A float32's ulp at the exact value's float32 rounding (np.spacing of 0 is the least subnormal).
BOUNDS = {"exp": 2.0, "tanh": 3.0, "erf": 3.0}
EXACT = {"exp": np.exp, "tanh": np.tanh, "erf": np.vectorize(math.erf, otypes=[np.float64])}
SWEEPS = {
    "exp": [(-110.0, 90.0, 400001), (-1.0, 1.0, 100001)],
    "tanh": [(-12.0, 12.0, 400001), (-1e-3, 1e-3, 10001)],
    "erf": [(-5.0, 5.0, 200001), (-1e-3, 1e-3, 10001)],
}


def ulp_errors(name, x, dtype):
    y = np.empty_like(x)
    _core.approx(name, y, x)
    with np.errstate(over="ignore"):
        want = EXACT[name](x.astype(np.float64))
        rounded = want.astype(dtype)
    finite = np.isfinite(rounded)
    # Beyond the float range the result must be what rounding gives (inf, or 0 below it).
    assert np.array_equal(y[~finite], rounded[~finite])
    spacing = np.spacing(np.abs(rounded[finite])).astype(np.float64)
    return np.abs(y[finite].astype(np.float64) - want[finite]) / spacing


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_float32_within_bound(simd_target, name):
    for lo, hi, n in SWEEPS[name]:
        x = np.linspace(lo, hi, n, dtype=np.float32)
        x = np.concatenate([x, np.float32([0.0, -0.0, 1e-30, -1e-30, 1e30, -1e30])])
        assert ulp_errors(name, x, np.float32).max() <= BOUNDS[name]


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_float64_is_libm(simd_target, name):
    x = np.linspace(-30.0, 30.0, 20001)
    assert ulp_errors(name, x, np.float64).max() <= 2.0


def test_nan_propagates(simd_target):
    x = np.float32([np.nan, np.inf, -np.inf])
    for name, want in [("exp", [np.nan, np.inf, 0.0]), ("tanh", [np.nan, 1.0, -1.0]),
                       ("erf", [np.nan, 1.0, -1.0])]:
        y = np.empty_like(x)
        _core.approx(name, y, x)
        np.testing.assert_array_equal(y, np.float32(want))


# NaN of either sign and of several payloads (quiet and signalling), infinities, and finite
# values far beyond every clamp and range reduction (of float32; where f rounds to its limits
# in float64).
NAN_BITS = [0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, 0x7FBFFFFF, 0x7FFFFFFF, 0xFFFFFFFF]
HUGE = {np.float32: [np.inf, 3.4028235e38, 1e30, 1e10, 131072.0, 200.0, 104.0],
        np.float64: [np.inf, 1.7976931348623157e308, 1e300, 1e30, 1e10]}
# f(-huge), f(+huge): the limits.
LIMITS = {"exp": (0.0, np.inf), "tanh": (-1.0, 1.0), "erf": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}


def special_inputs(dtype, shift):
    """(x, kind): 67 ordinary values (no multiple of any vector width) with the special ones at
    every third element from `shift` on (so that, over the shifts, each takes several lane
    positions in the vector body and in the scalar tail); kind is 0 ordinary, 1 NaN, 2 -huge,
    3 +huge."""
    with np.errstate(invalid="ignore"):  # a signalling NaN converted to float64
        nan = np.array(NAN_BITS, np.uint32).view(np.float32).astype(dtype)
    huge = HUGE[dtype]
    specials = [(v, 1) for v in nan] + [(-h, 2) for h in huge] + [(h, 3) for h in huge]
    x = np.random.default_rng(0).uniform(-3, 3, 67).astype(dtype)
    kind = np.zeros(67, int)
    for i, (v, k) in enumerate(specials):
        j = (3 * i + shift) % 67
        x[j], kind[j] = v, k
    return x, kind


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(LIMITS))
def test_nan_inf_huge(simd_target, name, dtype):
    """NaN gives NaN, ±inf and huge values the limits, and the ordinary values among them are
    computed exactly as without them."""
    def f(x):
        y = np.full_like(x, 7)
        if name == "sigmoid":
            _core.activation_forward("sigmoid", y, x, 0.0)
        else:
            _core.approx(name, y, x)
        return y

    for shift in range(0, 67, 5):
        x, kind = special_inputs(dtype, shift)
        y = f(x)
        assert np.isnan(y[kind == 1]).all()
        assert (y[kind == 2] == LIMITS[name][0]).all() and (y[kind == 3] == LIMITS[name][1]).all()
        clean = np.where(kind == 0, x, 0).astype(dtype)
        assert f(clean)[kind == 0].tobytes() == y[kind == 0].tobytes()
