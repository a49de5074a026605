"""Blockwise 8-bit state (state_dtype="int8": csrc/include/steepest/optim/precision.h) for the
rules that take it: Adam, AdamW, SGD with momentum, Lion, AdaBelief.

The quantizer of every SIMD target against the NumPy oracle (steepest.reference.quantize) on
values chosen to land on and beside every midpoint; and each rule's step against its own
float32 step whose state goes through the oracle's quantizer after every step: the block
driver feeds the float32 kernel exactly the restored values, so the two agree BITWISE, the
packed state arrays included."""

import numpy as np
import pytest

import steepest
from steepest import _core
from steepest.optim import registry
from steepest.reference import quantize as Q
from test_precision import _problem, _run  # the problems and the oracle's side-by-side run

INT8 = [rule for rule in registry.RULES.values() if rule.cls._int8]


def test_int8_rules():
    assert sorted(rule.key for rule in INT8) == ["adabelief", "adam", "adamw", "lion", "sgd"]


@pytest.mark.parametrize("signed", [True, False])
def test_maps(signed):
    code, thresholds = _core.quant_map(signed)
    np.testing.assert_array_equal(code, Q.codes(signed))
    np.testing.assert_array_equal(thresholds, Q.thresholds(signed))
    assert (np.diff(code) > 0).all() and code.size == 256
    assert code[255] == 1.0 and code[127 if signed else 0] == 0.0
    if signed:  # symmetric but for +1
        np.testing.assert_array_equal(code[:127], -code[128:255][::-1])
    # the decades: 1e-7 .. 1, linear inside each
    positive = code[code > 0]
    assert 1e-7 < positive.min() < 1e-6


def _midpoints(signed):
    m = Q.magnitudes(signed).astype(np.float64)
    return ((m[:-1] + m[1:]) / 2).astype(np.float32)


def _hard_values(signed, rng):
    """Values on, just above and just below every midpoint and code, with each block's absmax
    1, and random draws of several magnitudes."""
    m = _midpoints(signed)
    c = Q.codes(signed)
    points = np.concatenate([m, np.nextafter(m, 2), np.nextafter(m, -2), c])
    points = np.concatenate([points, -points]) if signed else points
    rng.shuffle(points)
    blocks = []
    for b in range(0, points.size, 255):  # 255 values and the block's absmax 1
        blocks.append(np.append(points[b:b + 255], 1.0))
    x = np.concatenate(blocks).astype(np.float32)
    draws = (rng.standard_normal(3000) * 10.0 ** rng.integers(-8, 8, 3000)).astype(np.float32)
    if not signed:
        draws = np.abs(draws)
    return np.concatenate([x, draws]).astype(np.float32)


@pytest.fixture(params=[True, False], ids=["vbmi", "no-vbmi"])
def vbmi(request):
    """Runs a test with and without AVX-512 VBMI's byte permutes (the avx512 target uses them
    where the CPU has them: restoring 8-bit state)."""
    _core._allow_avx512_vbmi(request.param)
    try:
        yield request.param
    finally:
        _core._allow_avx512_vbmi(True)


@pytest.mark.parametrize("signed", [True, False])
def test_quantizer_matches_oracle(signed, simd_target, vbmi):
    rng = np.random.default_rng(0)
    special = np.array([0.0, -0.0, 1e-45, -1e-45, 1e-38, 3.4e38, -3.4e38, 1.0, -1.0, 0.5],
                       np.float32)
    nonfinite = np.array([0.5] * 100 + [np.nan, np.inf], np.float32)
    cases = [_hard_values(signed, rng), special, nonfinite, np.zeros(300, np.float32)]
    cases += [rng.standard_normal(n).astype(np.float32)
              for n in (1, 15, 16, 17, 63, 64, 65, 255, 256, 257, 1000)]
    for x in cases:
        q, absmax = _core._quantize(x, signed)
        want_q, want_absmax = Q.quantize(x, signed)
        np.testing.assert_array_equal(q, want_q)
        np.testing.assert_array_equal(absmax, want_absmax)  # NaN where NaN
        got = _core._dequantize(q, absmax, signed)
        want = Q.dequantize(want_q, want_absmax, signed)
        np.testing.assert_array_equal(got, want)


def test_nearest_code():
    """The arithmetic quantizer picks the nearest magnitude (searchsorted over the midpoints,
    in float64) but within a relative 2.2e-6 of a midpoint (the rounding of a S + B, which is
    about base + k: 2n 2^-24 in units of 1/S)."""
    rng = np.random.default_rng(5)
    for signed in (True, False):
        a = np.concatenate([rng.random(200_000, dtype=np.float32) ** 8,
                            rng.random(200_000, dtype=np.float32)])
        mid = (Q.magnitudes(signed).astype(np.float64)[:-1] +
               Q.magnitudes(signed).astype(np.float64)[1:]) / 2
        nearest = np.searchsorted(mid, a.astype(np.float64), side="left")
        got = Q.magnitude_index(a, signed)
        off = got != nearest
        assert off.sum() < 10 and (np.abs(got - nearest) <= 1).all()
        gap = np.abs(a[off].astype(np.float64) - mid[np.minimum(got, nearest)[off]])
        assert (gap <= 2.2e-6 * a[off]).all()


def test_roundtrip_error():
    """Each value restores to its nearest code times the block's absmax: the error is at most
    half the gap between the codes around it; a block's absmax, when positive, is exact."""
    rng = np.random.default_rng(1)
    for signed in (True, False):
        x = rng.standard_normal(256 * 50).astype(np.float32)
        x = x if signed else x * x
        back = Q.roundtrip(x, signed)
        y = x.reshape(-1, 256) / np.abs(x.reshape(-1, 256)).max(axis=1, keepdims=True)
        c = Q.codes(signed).astype(np.float64)
        nearest = np.abs(y.reshape(-1, 1) - c[None, :]).min(axis=1).reshape(y.shape)
        got = np.abs(back.reshape(-1, 256) - x.reshape(-1, 256)) / np.abs(
            x.reshape(-1, 256)).max(axis=1, keepdims=True)
        np.testing.assert_allclose(got, nearest, atol=1e-6)
        top = np.argmax(np.abs(x.reshape(-1, 256)), axis=1)
        largest = x.reshape(-1, 256)[np.arange(50), top]
        restored = back.reshape(-1, 256)[np.arange(50), top]
        np.testing.assert_array_equal(restored[largest > 0], largest[largest > 0])


# (param format, state_dtype, master_weights, rounding): test_precision's _run, int8 state
MODES = [("float32", "int8", False, "nearest"), ("bfloat16", "int8", True, "nearest"),
         ("float16", "int8", False, "stochastic")]


@pytest.mark.parametrize("mode", MODES, ids=lambda m: "-".join(map(str, m)))
@pytest.mark.parametrize("rule", INT8, ids=lambda r: r.key)
def test_matches_float32_step_with_quantized_state(rule, mode):
    _run(rule, mode)


@pytest.mark.parametrize("rule", INT8, ids=lambda r: r.key)
def test_every_simd_target(rule, simd_target):
    _run(rule, MODES[0], sizes=(1, 7, 257, 1029))


def test_threads_bitwise(num_threads):
    """Large enough to split across threads: chunks are cut at multiples of 256 within each
    tensor (a block of the state), whatever the tensor sizes before it."""
    rule = registry.RULES["adamw"]
    results = []
    for n in (1, 2):
        with num_threads(n):
            opt, params = _run(rule, MODES[0], sizes=(100_003, 70_001, 5), steps=2)
        results.append([p.copy() for p in params] +
                       [opt.state[k]["exp_avg_sq"].copy() for k in range(3)])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def _assert_same(rule, params, twin, opt, other):
    """Two runs of ``rule`` left the same params and the same state arrays."""
    for a, b in zip(params, twin):
        np.testing.assert_array_equal(a, b)
    for k in range(len(params)):
        for key in rule.array_keys:
            assert (key in opt.state[k]) == (key in other.state[k])
            if key in opt.state[k]:
                np.testing.assert_array_equal(opt.state[k][key], other.state[k][key])


@pytest.mark.parametrize("rule", INT8, ids=lambda r: r.key)
def test_state_dict_round_trip(rule):
    params, grads, _, _ = _problem((33, 700), 4, "float32")
    twin = [p.copy() for p in params]
    opt = rule.make(params, **rule.hyper, state_dtype="int8")
    for t in range(2):
        opt.step(grads[t])
    saved = opt.state_dict()
    for k, p in enumerate(params):
        twin[k][...] = p
    other = rule.make(twin, **rule.hyper, state_dtype="int8")
    other.load_state_dict(saved)
    for t in range(2, 4):
        opt.step(grads[t])
        other.step(grads[t])
    _assert_same(rule, params, twin, opt, other)


def test_state_dict_from_floats():
    """Float state of the param's shape loads quantized (each key by its own map); a float32
    optimizer's state dict thus loads into an int8 one."""
    p = np.ones(300, np.float32)
    rng = np.random.default_rng(3)
    m = rng.standard_normal(300).astype(np.float32)
    v = (m * m).astype(np.float32)
    opt = steepest.optim.AdamW([p], state_dtype="int8")
    opt.load_state_dict({"state": {0: {"step": 3, "exp_avg": m, "exp_avg_sq": v}},
                         "param_groups": opt.state_dict()["param_groups"]})
    np.testing.assert_array_equal(opt.state[0]["exp_avg"], Q.pack(*Q.quantize(m, True)))
    np.testing.assert_array_equal(opt.state[0]["exp_avg_sq"], Q.pack(*Q.quantize(v, False)))


def test_nonfinite_state_block():
    """A NaN gradient (nonfinite='propagate') makes its block's state NaN, as float32 state
    would hold it there; the other blocks are untouched by it."""
    p = np.zeros(600, np.float32)
    opt = steepest.optim.SGD([p], lr=0.1, momentum=0.9, state_dtype="int8")
    g = np.ones(600, np.float32)
    g[300] = np.nan
    opt.step([g])
    q, absmax = Q.unpack(opt.state[0]["momentum_buffer"], 600)
    assert np.isnan(absmax[1]) and absmax[0] == 1 and absmax[2] == 1
    back = Q.dequantize(q, absmax, True)
    assert np.isnan(back[256:512]).all() and (back[:256] == 1).all() and (back[512:] == 1).all()


@pytest.mark.parametrize("rule", INT8, ids=lambda r: r.key)
def test_nonfinite_guard_creates_state_after_the_scan(rule):
    """With nonfinite='skip' the state is created once the scan has passed (its pending path):
    a skipped first step leaves none, the next step creates it as a fresh step would."""
    params, grads, _, _ = _problem((300, 5), 2, "float32")
    twin = [p.copy() for p in params]
    opt = rule.make(params, **rule.hyper, state_dtype="int8", nonfinite="skip")
    bad = [g.copy() for g in grads[0]]
    bad[0][7] = np.inf
    assert opt.step(bad) is False and opt.state == {}
    ref = rule.make(twin, **rule.hyper, state_dtype="int8")
    for t in range(2):
        assert opt.step(grads[t]) is True
        ref.step(grads[t])
    _assert_same(rule, params, twin, opt, ref)


def test_trains_like_float32():
    """Least squares by AdamW, 1200 full-batch steps: int8 state reaches the noise floor
    (0.01) as float32 state does, within 10% of its loss (8-bit moments slow the middle of the
    run a little; bfloat16 state ends about as far)."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((512, 40)).astype(np.float32)
    y = (X @ rng.standard_normal(40) + 0.1 * rng.standard_normal(512)).astype(np.float32)

    def fit(state_dtype):
        w = np.zeros(40, np.float32)
        opt = steepest.optim.AdamW([w], lr=0.01, state_dtype=state_dtype)
        for _ in range(1200):
            r = X @ w - y
            opt.step([(2 / len(y) * X.T @ r).astype(np.float32)])
        return float(np.mean((X @ w - y) ** 2))

    fp32, int8 = fit(None), fit("int8")
    assert fp32 < 0.0105 and int8 < 1.1 * fp32


# -- bad input --------------------------------------------------------------------------------


def test_bad_options():
    p = np.ones(4, np.float32)
    with pytest.raises(ValueError, match=r"state_dtype='int8' applies to Adam, AdamW, SGD, Lion "
                                         r"and AdaBelief, not RMSprop"):
        steepest.optim.RMSprop([p], state_dtype="int8")
    with pytest.raises(ValueError, match=r"params\[0\]: state_dtype='int8' takes float32"):
        steepest.optim.AdamW([np.ones(4)], state_dtype="int8")


def test_bad_state_changes_nothing():
    p = np.ones(300, np.float32)
    opt = steepest.optim.AdamW([p], lr=0.1, state_dtype="int8")
    opt.step([np.ones(300, np.float32)])
    before = p.copy(), opt.state[0]["exp_avg"].copy()
    for bad, error, match in [
            (np.zeros(300, np.float32), TypeError, "got dtype float32"),
            (np.zeros(Q.packed_size(300) - 1, np.uint8), ValueError, r"got shape \(307,\)"),
            (np.zeros((2, 154), np.uint8), ValueError, r"got shape \(2,154\)"),
            (np.zeros(Q.packed_size(300) + 1, np.uint8)[1:], ValueError, "aligned to 4 bytes")]:
        opt.state[0]["exp_avg_sq"] = bad
        with pytest.raises(error, match=r"state\[0\]\['exp_avg_sq'\]: expected .*" + match):
            opt.step([np.ones(300, np.float32)])
        np.testing.assert_array_equal(p, before[0])
        np.testing.assert_array_equal(opt.state[0]["exp_avg"], before[1])
        assert int(opt.state[0]["step"]) == 1


def test_bad_state_dict_changes_nothing():
    p = np.ones(300, np.float32)
    opt = steepest.optim.AdamW([p], state_dtype="int8")
    opt.step([np.ones(300, np.float32)])
    saved = opt.state_dict()
    before = opt.state[0]["exp_avg"].copy()
    bad = {"state": {0: {"step": 1, "exp_avg": np.zeros(10, np.uint8),
                         "exp_avg_sq": saved["state"][0]["exp_avg_sq"]}},
           "param_groups": saved["param_groups"]}
    with pytest.raises(ValueError, match=r"int8 state of a parameter of 300 elements is \(308,\)"):
        opt.load_state_dict(bad)
    np.testing.assert_array_equal(opt.state[0]["exp_avg"], before)
