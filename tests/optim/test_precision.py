"""16-bit storage (optim/_precision.py, csrc/optim/precision.h) for every rule of the registry
(LAMB and LARS by their two passes, csrc/optim/driver_norms.cc; Adafactor by whole tensors,
csrc/optim/driver_adafactor.cc): bfloat16 state, bfloat16/float16 params with and without
float32 master weights, nearest and stochastic rounding. The problems hold a matrix, which
Adafactor factors.

The oracle of a 16-bit step is the rule's own float32 step with the same roundings applied after
it (steepest.reference.precision): the block driver feeds the float32 kernel exactly the widened
values, so the two agree BITWISE, state, params and master copies alike. (The float32 kernels
match their NumPy references within test_parity's tolerances; test_reference_with_roundings
checks that chain end to end within them.)"""

import numpy as np
import pytest

import steepest
from steepest.optim import registry
from steepest.optim._precision import bfloat16
from steepest.reference import precision as rounding
from steepest.reference import quantize


ml_dtypes = pytest.importorskip("ml_dtypes")

SIXTEEN_BIT = [rule for rule in registry.RULES.values() if rule.cls._takes_16bit]
BF16 = bfloat16()

# (param format, state_dtype, master_weights, rounding)
MODES = [
    ("float32", "bfloat16", False, "nearest"),
    ("bfloat16", None, True, "nearest"),
    ("float16", "bfloat16", True, "nearest"),
    ("bfloat16", None, False, "nearest"),
    ("float16", None, False, "nearest"),
    ("bfloat16", "bfloat16", False, "stochastic"),
    ("float16", None, False, "stochastic"),
]
SEED = 12345


def _dtype(fmt):
    return {"float32": np.dtype(np.float32), "float16": np.dtype(np.float16),
            "bfloat16": BF16}[fmt]


def _bits(a):
    return a.view(np.uint16)


def _problem(sizes, steps, fmt, seed=0):
    """Params and per-step grads of ``sizes`` (shapes or lengths): as arrays of ``fmt`` (16-bit
    ones exactly representable) and their float32 values."""
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(n).astype(np.float32) for n in sizes]
    grads = [[rng.standard_normal(n).astype(np.float32) for n in sizes] for _ in range(steps)]
    if fmt == "float32":
        return params, grads, [p.copy() for p in params], [[g.copy() for g in gs] for gs in grads]

    def half(x):
        return rounding.nearest(x, fmt).view(_dtype(fmt))

    params16 = [half(p) for p in params]
    grads16 = [[half(g) for g in gs] for gs in grads]
    return (params16, grads16, [rounding.widen(_bits(p), fmt) for p in params16],
            [[rounding.widen(_bits(g), fmt) for g in gs] for gs in grads16])


def _run(rule, mode, sizes=(37, (12, 25), 1000), steps=3, seed=0):
    """Steps the 16-bit (or int8-state) optimizer and its float32 oracle side by side; asserts
    they agree bitwise after every step; returns the optimizer and its params. int8 state is
    compared with the oracle's state quantized (steepest.reference.quantize), which then
    restores it for the oracle's next step."""
    fmt, state_dtype, master, how = mode
    params, grads, ref_params, ref_grads = _problem(sizes, steps, fmt, seed)
    opt = rule.make(params, **rule.hyper, state_dtype=state_dtype, master_weights=master,
                    rounding=how, seed=SEED)
    ref = rule.make(ref_params, **rule.hyper)
    for t in range(steps):
        opt.step(grads[t])
        ref.step(ref_grads[t])
        for k, (p, rp) in enumerate(zip(params, ref_params)):
            if state_dtype == "int8":
                _check_int8_state(rule, opt.state[k], ref.state[k], p.size)
            if state_dtype == "bfloat16":
                for key in rule.array_keys:
                    if ref.state[k].get(key) is not None:
                        ref.state[k][key][...] = rounding.widen(
                            rounding.nearest(ref.state[k][key], "bfloat16"), "bfloat16")
            if fmt == "float32":
                np.testing.assert_array_equal(p.view(np.uint32), rp.view(np.uint32))
            elif master:
                np.testing.assert_array_equal(opt.state[k]["master_param"].view(np.uint32),
                                              rp.view(np.uint32))
                np.testing.assert_array_equal(_bits(p), rounding.nearest(rp, fmt))
            else:
                if how == "stochastic":
                    key = rounding.stochastic_key(SEED, t, k)
                    expected = rounding.stochastic(rp, fmt, key)
                else:
                    expected = rounding.nearest(rp, fmt)
                rp[...] = rounding.widen(expected, fmt)
                np.testing.assert_array_equal(_bits(p), expected)
            for key in rule.array_keys:
                if ref.state[k].get(key) is None or state_dtype == "int8":
                    continue
                got = opt.state[k][key]
                want = ref.state[k][key]
                if state_dtype == "bfloat16":
                    assert got.dtype == BF16
                    np.testing.assert_array_equal(_bits(got), rounding.nearest(want, "bfloat16"))
                else:
                    assert got.dtype == np.float32
                    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
    return opt, params


def _check_int8_state(rule, state, ref_state, n):
    """Each state array of ``state`` is ``ref_state``'s (float32) quantized by its map; the
    oracle's state then takes the restored values."""
    for key in rule.array_keys:
        want = ref_state.get(key)
        if want is None:
            continue
        signed = key not in rule.cls._non_negative
        q, absmax = quantize.quantize(want, signed)
        got = state[key]
        assert got.dtype == np.uint8 and got.shape == (quantize.packed_size(n),)
        np.testing.assert_array_equal(got, quantize.pack(q, absmax))
        want[...] = quantize.dequantize(q, absmax, signed).reshape(want.shape)


@pytest.mark.parametrize("mode", MODES, ids=lambda m: "-".join(map(str, m)))
@pytest.mark.parametrize("rule", SIXTEEN_BIT, ids=lambda r: r.key)
def test_matches_float32_step_with_roundings(rule, mode):
    _run(rule, mode)


@pytest.mark.parametrize("mode", MODES[:1] + MODES[2:3] + MODES[-1:],
                         ids=lambda m: "-".join(map(str, m)))
@pytest.mark.parametrize("rule", SIXTEEN_BIT, ids=lambda r: r.key)
def test_every_simd_target(rule, mode, simd_target):
    _run(rule, mode, sizes=(1, 7, (3, 257), 1029))


@pytest.mark.parametrize("mode", MODES, ids=lambda m: "-".join(map(str, m)))
@pytest.mark.parametrize("key", ["adamw", "lamb", "lars", "adafactor"])
def test_threads_bitwise(key, mode, num_threads):
    """1 and 2 threads, bitwise, and each bitwise its float32 oracle: LAMB's and LARS's norms
    are summed over ranges cut across the threads, each range block by block (512 elements);
    Adafactor's over chunks of rows."""
    rule = registry.RULES[key]
    sizes = ((331, 317), 70_001)
    results = []
    for n in (1, 2):
        with num_threads(n):
            opt, params = _run(rule, mode, sizes=sizes, steps=2)
        results.append([_bits(p).copy() if p.dtype.itemsize == 2 else p.copy() for p in params])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_reference_with_roundings():
    """AdamW with bfloat16 state against the NumPy reference run in float32 with the state
    rounded to bfloat16 after each step: within a few float32 ulps of the update (the kernel's
    fused multiply-adds against the reference's separate operations; a state element whose
    float32 values straddle a bfloat16 rounding boundary would differ by one bfloat16 ulp, which
    these draws do not hit)."""
    rule = registry.RULES["adamw"]
    params, grads, ref_params, ref_grads = _problem((513,), 3, "float32")
    opt = rule.make(params, lr=0.01, state_dtype="bfloat16")
    state = {}
    for t in range(3):
        opt.step(grads[t])
        rule.reference_step(ref_params[0], ref_grads[t][0], state, dict(lr=0.01))
        for key in ("exp_avg", "exp_avg_sq"):
            state[key][...] = rounding.widen(rounding.nearest(state[key], "bfloat16"), "bfloat16")
        np.testing.assert_allclose(params[0], ref_params[0], rtol=0, atol=1e-6)


def test_conversions_special_values(simd_target):
    """The C++ narrowing of every target on NaN, infinities, overflow, subnormals, ties: the
    bfloat16 state of SGD's first step is its gradient rounded (bits as ml_dtypes rounds them,
    NaN as NaN); a float16 param stepped from 0 by -g with lr = 1 is g rounded (as NumPy
    rounds it)."""
    special = np.array([0.0, -0.0, 1.0, -1.5, np.inf, -np.inf, np.nan, 3.4e38, -3.4e38, 1e-40,
                        65504.0, 65520.0, 70000.0, 1e-7, 6e-8, 2.9e-8, 1.00390625, 1.01171875,
                        1 + 2**-11, 1 + 3 * 2**-11, -(1 + 2**-11)], np.float32)
    g = np.concatenate([special, np.random.default_rng(1).standard_normal(300)]).astype(np.float32)
    p = np.zeros_like(g)
    opt = steepest.optim.SGD([p], lr=0.0, momentum=0.9, state_dtype="bfloat16")
    opt.step([g])
    got = opt.state[0]["momentum_buffer"]
    want = g.astype(BF16)
    assert np.array_equal(np.isnan(got.astype(np.float32)), np.isnan(g))
    finite = ~np.isnan(g)
    np.testing.assert_array_equal(_bits(got)[finite], _bits(want)[finite])
    np.testing.assert_array_equal(_bits(got), rounding.nearest(g, "bfloat16"))
    # float16: from 0, p = 0 - 1 * (-g) = g exactly in float32, then rounded
    p16 = np.zeros(g.size, np.float16)
    opt = steepest.optim.SGD([p16], lr=1.0)
    with np.errstate(over="ignore"):
        want16 = g.astype(np.float16)
    opt.step([(-want16.astype(np.float32)).astype(np.float16)])  # exact: g's float16 values
    np.testing.assert_array_equal(np.isnan(p16), np.isnan(want16))
    signed = ~np.isnan(want16) & (want16 != 0)  # 0 - (+0) is +0 for g = -0
    np.testing.assert_array_equal(_bits(p16)[signed], _bits(want16)[signed])


def test_float16_conversion_exhaustive(simd_target):
    """Every float16 value widens exactly and narrows back to itself (NaN to a NaN)."""
    all16 = np.arange(2**16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    p = all16.copy()
    steepest.optim.SGD([p], lr=0.0).step([np.zeros_like(p)])  # p = widen(p) - 0, rounded back
    nan = np.isnan(all16)
    np.testing.assert_array_equal(_bits(p)[~nan], _bits(all16)[~nan])
    assert np.isnan(p[nan]).all()


@pytest.mark.parametrize("fmt", ["float16", "bfloat16"])
def test_narrowing_random_floats(fmt, simd_target):
    """2**20 random finite float32 master values written back to the param: rounded as NumPy
    (float16) and ml_dtypes (bfloat16) round them, to nearest even."""
    x = np.random.default_rng(2).integers(0, 2**32, 2**20, dtype=np.uint64).astype(np.uint32)
    x = x.view(np.float32)
    x = x[np.isfinite(x)]
    p = np.zeros(x.size, _dtype(fmt))
    opt = steepest.optim.SGD([p], lr=0.0, master_weights=True)
    opt.load_state_dict({"state": {0: {"master_param": x}},
                         "param_groups": opt.state_dict()["param_groups"]})
    opt.step([np.zeros(x.size, _dtype(fmt))])
    with np.errstate(over="ignore"):
        want = x.astype(_dtype(fmt))
    np.testing.assert_array_equal(_bits(p), _bits(want))
    np.testing.assert_array_equal(_bits(p), rounding.nearest(x, fmt))


@pytest.mark.parametrize("fmt, g, p_up", [("bfloat16", -(2.0**-10), 1 / 8),
                                          ("float16", -(2.0**-12), 1 / 4)])
def test_stochastic_rounding_unbiased(fmt, g, p_up):
    """1 + 2^-10 in bfloat16 (ulp 2^-7) rounds up with probability 1/8; 1 + 2^-12 in float16
    (ulp 2^-10) with 1/4: the mean over 200000 elements is within 4 standard errors."""
    n = 200_000
    p = np.ones(n, _dtype(fmt))
    opt = steepest.optim.SGD([p], lr=1.0, rounding="stochastic", seed=3)
    opt.step([np.full(n, g, np.float32).astype(_dtype(fmt))])
    ups = (p.astype(np.float32) > 1).mean()
    assert set(np.unique(p.astype(np.float32))) <= {1.0, 1.0 + (2.0**-7 if fmt == "bfloat16"
                                                                 else 2.0**-10)}
    assert abs(ups - p_up) < 4 * np.sqrt(p_up * (1 - p_up) / n)


def test_stochastic_rounding_seeded():
    rule = registry.RULES["sgd"]

    def run(seed):
        p = np.full(4000, 1.0, BF16)
        opt = rule.make([p], lr=1.0, rounding="stochastic", seed=seed)
        for _ in range(3):
            opt.step([np.full(4000, -(2.0**-9), BF16)])
        return _bits(p).copy()

    np.testing.assert_array_equal(run(5), run(5))
    assert not np.array_equal(run(5), run(6))


@pytest.mark.parametrize("mode", MODES, ids=lambda m: "-".join(map(str, m)))
@pytest.mark.parametrize("rule", SIXTEEN_BIT, ids=lambda r: r.key)
def test_state_dict_round_trip(rule, mode):
    fmt, state_dtype, master, how = mode
    params, grads, _, _ = _problem((33, (5, 14)), 4, fmt)
    twin = [p.copy() for p in params]
    kwargs = dict(state_dtype=state_dtype, master_weights=master, rounding=how, seed=SEED)
    opt = rule.make(params, **rule.hyper, **kwargs)
    for t in range(2):
        opt.step(grads[t])
    saved = opt.state_dict()
    for k, p in enumerate(params):
        twin[k][...] = p
    other = rule.make(twin, **rule.hyper, **kwargs)
    other.load_state_dict(saved)
    for t in range(2, 4):
        opt.step(grads[t])
        other.step(grads[t])
    for a, b in zip(params, twin):
        np.testing.assert_array_equal(a.view(np.uint8), b.view(np.uint8))
    for k in range(len(params)):
        for key, value in opt.state[k].items():
            if isinstance(value, np.ndarray) and value.ndim:
                assert other.state[k][key].dtype == value.dtype
                np.testing.assert_array_equal(value.view(np.uint8),
                                              other.state[k][key].view(np.uint8))
    if master:
        assert saved["state"][0]["master_param"].dtype == np.float32


def test_state_dict_bfloat16_from_floats():
    """A float32 state dict loaded into bfloat16 state is rounded to nearest even."""
    p = np.ones(5, np.float32)
    opt = steepest.optim.AdamW([p], state_dtype="bfloat16")
    m = np.array([1.00390625, 1.01171875, -3.0, 0.1, np.inf], np.float32)
    opt.load_state_dict({"state": {0: {"step": 3, "exp_avg": m, "exp_avg_sq": np.abs(m)}},
                         "param_groups": opt.state_dict()["param_groups"]})
    np.testing.assert_array_equal(_bits(opt.state[0]["exp_avg"]), rounding.nearest(m, "bfloat16"))


# -- bad input --------------------------------------------------------------------------------


def test_bad_options():
    p32 = np.ones(4, np.float32)
    with pytest.raises(ValueError, match=r"params\[0\]: master_weights=True keeps float32 copies"):
        steepest.optim.AdamW([p32], master_weights=True)
    with pytest.raises(ValueError, match=r"state_dtype must be None, 'float32', 'bfloat16' or "
                                         r"'int8'"):
        steepest.optim.AdamW([p32], state_dtype="int4")
    with pytest.raises(ValueError, match=r"rounding must be 'nearest' or 'stochastic'"):
        steepest.optim.AdamW([p32], rounding="up")
    with pytest.raises(ValueError, match=r"with master_weights=True they round to nearest"):
        steepest.optim.AdamW([np.ones(4, BF16)], master_weights=True, rounding="stochastic")
    with pytest.raises(ValueError, match=r"seed must be an int"):
        steepest.optim.SGD([p32], lr=0.1, seed=-1)
    with pytest.raises(ValueError, match=r"params\[0\]: state_dtype='bfloat16' takes float32"):
        steepest.optim.AdamW([np.ones(4)], state_dtype="bfloat16")
    with pytest.raises(ValueError, match=r"state_dtype='int8' applies to Adam, AdamW, SGD, Lion "
                                         r"and AdaBelief, not Adafactor"):
        steepest.optim.Adafactor([np.ones((2, 2), BF16)], state_dtype="int8")
    opt = steepest.optim.AdamW([np.ones(4, BF16)], master_weights=True)
    with pytest.raises(ValueError, match=r"params\[1\]: master_weights=True"):
        opt.add_param_group({"params": [p32]})


@pytest.mark.parametrize("param, grad, error", [
    (np.ones(6, np.float32), np.ones(6, BF16), r"grads\[0\]: expected dtype float32, the dtype of "
                                                r"params\[0\], got bfloat16"),
    (np.ones(6, BF16), np.ones(6, np.float16), r"grads\[0\]: expected dtype bfloat16, the dtype "
                                               r"of params\[0\], got float16"),
    (np.ones(6, BF16), np.ones(6, np.float32), r"grads\[0\]: expected dtype bfloat16"),
    (np.ones(6, np.float16), np.ones(5, np.float16), r"grads\[0\]: expected shape \(6,\)"),
])
@pytest.mark.parametrize("state_dtype", [None, "bfloat16"])
def test_bad_grads_change_nothing(param, grad, error, state_dtype):
    opt = steepest.optim.AdamW([param], lr=0.1, state_dtype=state_dtype)
    opt.step([np.full(6, 0.5, param.dtype)])
    before = param.copy(), {k: np.copy(v) for k, v in opt.state[0].items()}
    with pytest.raises(TypeError if "dtype" in error else ValueError, match=error):
        opt.step([grad])
    np.testing.assert_array_equal(param.view(np.uint8), before[0].view(np.uint8))
    for k, v in before[1].items():
        assert np.asarray(opt.state[0][k]).tobytes() == v.tobytes()


def test_bad_state_changes_nothing():
    p = np.ones(6, np.float32)
    opt = steepest.optim.AdamW([p], lr=0.1, state_dtype="bfloat16")
    opt.step([np.ones(6, np.float32)])
    opt.state[0]["exp_avg"] = np.zeros(6, np.float32)  # float32 where bfloat16 is kept
    before = p.copy()
    with pytest.raises(TypeError, match=r"state\[0\]\['exp_avg'\]: expected dtype bfloat16"):
        opt.step([np.ones(6, np.float32)])
    np.testing.assert_array_equal(p, before)
    assert int(opt.state[0]["step"]) == 1


@pytest.mark.parametrize("cls, shape", [(steepest.optim.AdamW, (6,)),
                                        (steepest.optim.Adafactor, (2, 3))])
def test_nonfinite_guard_on_16bit_grads(cls, shape):
    """The guard scans 16-bit grads; the state it then creates (after the scan) has its shape
    and storage: Adafactor's factors (2, 1) and (1, 3) in bfloat16."""
    p = np.ones(shape, BF16)
    opt = cls([p], lr=0.1, master_weights=True, state_dtype="bfloat16", nonfinite="skip")
    g = np.ones(shape, BF16)
    g.flat[3] = np.inf
    assert opt.step([g]) is False
    assert opt.state == {} and (p == 1).all()
    assert opt.step([np.ones(shape, BF16)]) is True
    assert opt.state[0]["master_param"].dtype == np.float32
    twin = np.ones(shape, BF16)
    unguarded = cls([twin], lr=0.1, master_weights=True, state_dtype="bfloat16")
    unguarded.step([np.ones(shape, BF16)])
    np.testing.assert_array_equal(_bits(p), _bits(twin))
    for key, value in unguarded.state[0].items():
        assert opt.state[0][key].dtype == value.dtype and opt.state[0][key].shape == value.shape
        assert np.asarray(opt.state[0][key]).tobytes() == np.asarray(value).tobytes()


def test_adafactor_bad_factor_changes_nothing():
    p = np.ones((4, 5), BF16)
    opt = steepest.optim.Adafactor([p], state_dtype="bfloat16")
    opt.step([np.ones((4, 5), BF16)])
    before = p.copy()
    opt.state[0]["row_var"] = np.zeros((4, 5), BF16)  # the param's shape where (4, 1) is kept
    with pytest.raises(ValueError, match=r"state\[0\]\['row_var'\]: expected shape \(4,1\), "
                                         r"got \(4,5\)"):
        opt.step([np.ones((4, 5), BF16)])
    np.testing.assert_array_equal(_bits(p), _bits(before))
    assert int(opt.state[0]["step"]) == 1
    with pytest.raises(ValueError, match=r"loaded state\[0\]\['col_var'\] has shape \(5,\), "
                                         r"expected \(1, 5\)"):
        opt.load_state_dict({"state": {0: {"step": 1, "row_var": np.zeros((4, 1)),
                                           "col_var": np.zeros(5)}},
                             "param_groups": opt.state_dict()["param_groups"]})
