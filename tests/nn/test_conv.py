"""Conv1d and TCNBlock: the kernels (steepest.nn.functional.conv1d_*) against the float64 NumPy
reference and float64 finite differences, every padding mode, strides, dilations and odd sizes,
on every SIMD target, both dtypes, bitwise on 1 and 2 threads; bad input; the layers against
torch.nn.Conv1d and a torch TCN block with the same weights (torch's layout is (B, C, T): the
data is transposed, never the weights), and their state_dicts both ways.

Tolerances as test_kernels.py: float64 to rounding; float32 to a few ulp times sqrt(depth).
"""
import numpy as np
import pytest

from steepest import _core, nn
from steepest.nn import functional as F
from steepest.reference import nn as ref

DTYPES = [np.float32, np.float64]
H = 1e-6

# (batch, steps, in, out, kernel, stride, dilation, padding): odd channel counts and steps, every
# padding mode, strides 1-3, dilations 1, 2, 4, kernels 1-5; channel counts that are not multiples
# of the tile widths, so packed panels and depth blocks straddle two taps.
CASES = [
    (2, 13, 5, 7, 3, 1, 1, "causal"),
    (3, 17, 9, 17, 3, 1, 2, "causal"),
    (2, 31, 17, 5, 3, 1, 4, "causal"),
    (1, 11, 3, 4, 2, 1, 1, "same"),
    (2, 15, 6, 9, 5, 1, 2, "same"),
    (2, 12, 5, 3, 4, 1, 1, "same"),
    (3, 13, 7, 6, 3, 1, 1, "valid"),
    (2, 19, 4, 11, 3, 2, 1, "valid"),
    (2, 20, 45, 64, 1, 1, 1, "valid"),
    (2, 16, 8, 16, 3, 2, 2, 2),
    (1, 9, 3, 4, 2, 3, 4, (0, 2)),
    (2, 14, 33, 19, 3, 2, 1, "causal"),
    (2, 10, 3, 5, 3, 2, 4, (5, 1)),
    (1, 1, 2, 3, 1, 1, 1, "causal"),
    (2, 3, 1, 1, 3, 1, 1, "causal"),
    (2, 9, 100, 7, 3, 1, 2, "causal"),  # depth 300: blocks of 150 that cut across taps
    (2, 9, 7, 101, 3, 2, 1, 1),         # dx's depth 303 likewise
    (5, 61, 6, 9, 3, 1, 3, "causal"),   # 305 rows: row blocks of 144 that start inside a window
    (1, 5, 1031, 3, 2, 1, 1, "causal"),  # rows over 4 KiB apart: the forward's op(A) packed,
    (1, 5, 3, 1027, 2, 1, 1, "causal"),  # and dx's, not read in place
]


def case_id(c):
    return "B{}T{}i{}o{}K{}s{}d{}p{}".format(*c)


def draw(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def tol(dtype, depth):
    if dtype == np.float32:
        return dict(rtol=1e-5, atol=2e-6 * np.sqrt(depth))
    return dict(rtol=1e-12, atol=1e-12)


def inputs(case, dtype, seed=0):
    batch, steps, cin, cout, k, stride, dilation, padding = case
    rng = np.random.default_rng(seed)
    x, w, b = draw(rng, (batch, steps, cin), dtype), draw(rng, (cout, cin, k), dtype), \
        draw(rng, cout, dtype)
    pad = F.conv1d_padding(padding, k, dilation, stride)
    steps_out = (steps + sum(pad) - dilation * (k - 1) - 1) // stride + 1
    dy = draw(rng, (batch, steps_out, cout), dtype)
    return x, w, b, dy, dict(stride=stride, dilation=dilation, padding=pad)


# --- kernels against the reference ----------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_conv1d_matches_reference(simd_target, dtype, case):
    x, w, b, dy, geo = inputs(case, dtype)
    t = tol(dtype, w.shape[1] * w.shape[2])
    for bias, act in [(b, "none"), (None, "none"), (b, "relu")]:
        y = F.conv1d_forward(x, w, bias, activation=act, **geo)
        assert y.shape == dy.shape and y.dtype == dtype
        np.testing.assert_allclose(y, ref.conv1d_forward(x, w, bias, activation=act, **geo), **t)
    rdx, rdw, rdb = ref.conv1d_backward(dy, x, w, **geo)
    dw, db = np.zeros_like(w), np.zeros_like(b)
    dx = F.conv1d_backward(dy, x, w, dw, db, **geo)
    t = tol(dtype, max(w.shape[0] * w.shape[2], dy.shape[0] * dy.shape[1]))
    np.testing.assert_allclose(dx, rdx, **t)
    np.testing.assert_allclose(dw, rdw, **t)
    np.testing.assert_allclose(db, rdb, **t)
    # relu fused into dx: 0 where relu_output <= 0
    mask = np.maximum(x, 0)
    dx_masked = F.conv1d_backward(dy, x, w, dw, None, relu_output=mask, **geo)
    np.testing.assert_array_equal(dx_masked, np.where(mask <= 0, 0, dx))
    # dx added into another path's gradient (a residual's)
    other = draw(np.random.default_rng(9), x.shape, dtype)
    into = other.copy()
    assert F.conv1d_backward(dy, x, w, dw, None, dx=into, accumulate_dx=True, **geo) is into
    np.testing.assert_allclose(into, other + rdx, **t)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES[:4] + CASES[9:12], ids=case_id)
def test_conv1d_write_and_accumulate(simd_target, dtype, case):
    x, w, b, dy, geo = inputs(case, dtype, seed=1)
    zw, zb = np.zeros_like(w), np.zeros_like(b)
    F.conv1d_backward(dy, x, w, zw, zb, input_grad=False, **geo)
    ww, wb = np.full_like(w, np.nan), np.full_like(b, np.nan)
    F.conv1d_backward(dy, x, w, ww, wb, input_grad=False, accumulate=False, **geo)
    np.testing.assert_array_equal(ww, zw)  # written = accumulated into zeros, bitwise
    np.testing.assert_array_equal(wb, zb)
    aw, ab = draw(np.random.default_rng(2), w.shape, dtype), np.ones_like(b)
    before_w, before_b = aw.copy(), ab.copy()
    assert F.conv1d_backward(dy, x, w, aw, ab, input_grad=False, **geo) is None
    np.testing.assert_allclose(aw, before_w + zw, **tol(dtype, 1))
    np.testing.assert_allclose(ab, before_b + zb, **tol(dtype, 1))


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_conv1d_finite_differences(simd_target, case):
    x, w, b, dy, geo = inputs(case, np.float64, seed=3)
    rng = np.random.default_rng(4)

    def loss():
        return float(np.sum(F.conv1d_forward(x, w, b, **geo) * dy))

    # The loss is linear in each entry: the central difference errs by its rounding only, about
    # eps * sum |y dy| / H (1e-7 for the widest case).
    atol = 1e-8 + 4 * np.finfo(np.float64).eps / H * float(np.sum(np.abs(
        F.conv1d_forward(x, w, b, **geo) * dy)))
    dw, db = np.zeros_like(w), np.zeros_like(b)
    dx = F.conv1d_backward(dy, x, w, dw, db, **geo)
    for array, grad in [(x, dx), (w, dw), (b, db)]:
        flat = array.reshape(-1)
        for i in rng.choice(flat.size, min(12, flat.size), replace=False):
            keep = flat[i]
            flat[i] = keep + H
            up = loss()
            flat[i] = keep - H
            down = loss()
            flat[i] = keep
            np.testing.assert_allclose(grad.reshape(-1)[i], (up - down) / (2 * H), rtol=1e-6,
                                       atol=atol)


def test_conv1d_causal_sees_only_the_past():
    rng = np.random.default_rng(5)
    x, w = draw(rng, (2, 20, 3), np.float64), draw(rng, (4, 3, 3), np.float64)
    y = F.conv1d_forward(x, w, dilation=4, padding="causal")
    x2 = x.copy()
    x2[:, 12:] = 99.0
    np.testing.assert_array_equal(F.conv1d_forward(x2, w, dilation=4, padding="causal")[:, :12],
                                  y[:, :12])


# --- threads ----------------------------------------------------------------------------------

def run_all(dtype):
    """Forward and backward at sizes the GEMM cuts into several chunks (and odd ones)."""
    out = []
    for case in [(16, 64, 64, 64, 3, 1, 2, "causal"), (9, 37, 45, 33, 3, 2, 1, 1),
                 (8, 64, 45, 64, 1, 1, 1, "valid")]:
        x, w, b, dy, geo = inputs(case, dtype, seed=6)
        out.append(F.conv1d_forward(x, w, b, activation="relu", **geo))
        dw, db = np.zeros_like(w), np.zeros_like(b)
        out += [F.conv1d_backward(dy, x, w, dw, db, relu_output=x, **geo), dw, db]
    return out


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv1d_bitwise_across_thread_counts(simd_target, num_threads, dtype):
    with num_threads(1):
        one = run_all(dtype)
    with num_threads(2):
        two = run_all(dtype)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


# --- bad input --------------------------------------------------------------------------------

def read_only(a):
    a = a.copy()
    a.setflags(write=False)
    return a


def test_conv1d_forward_bad_input():
    f32 = np.float32
    x, w, b = np.ones((2, 9, 3), f32), np.ones((4, 3, 3), f32), np.ones(4, f32)
    out = np.full((2, 9, 4), 7, f32)
    kw = dict(stride=1, dilation=1, padding=(2, 0))
    bad = [
        (dict(x=x.astype(np.float64)), TypeError, "weight"),
        (dict(w=w.astype(np.float64)), TypeError, "weight"),
        (dict(b=b.astype(np.float64)), TypeError, "bias"),
        (dict(x=np.ones((2, 9, 5), f32)), ValueError, r"weight must have shape \(4, 5, 3\)"),
        (dict(x=np.ones((9, 3), f32)), ValueError, "3-d"),
        (dict(w=np.ones((4, 3), f32)), ValueError, "3-d"),
        (dict(b=np.ones(5, f32)), ValueError, r"bias must have shape \(4,\)"),
        (dict(out=np.ones((2, 8, 4), f32)), ValueError, r"out must have shape \(2, 9, 4\)"),
        (dict(out=read_only(out)), ValueError, "out"),
        (dict(out=np.ones((2, 9, 8), f32)[:, :, ::2]), ValueError, "out"),
        (dict(x=np.ones((2, 9, 6), f32)[:, :, ::2]), ValueError, "x"),
        (dict(x=np.ones((2, 1, 3), f32), kw=dict(padding=(1, 0), dilation=1, stride=1)),
         ValueError, "fewer than the kernel's span 3"),
        (dict(x=np.ones((2, 5, 3), f32), kw=dict(padding="valid", dilation=3, stride=1)),
         ValueError, "span 7"),
        (dict(kw=dict(stride=0, dilation=1, padding=0)), ValueError, "stride"),
        (dict(kw=dict(stride=1, dilation=0, padding=0)), ValueError, "dilation"),
        (dict(kw=dict(stride=1, dilation=1, padding=-1)), ValueError, "padding"),
        (dict(kw=dict(stride=1, dilation=1, padding="full")), ValueError, "padding"),
        (dict(kw=dict(stride=2, dilation=1, padding="same")), ValueError, "same"),
        (dict(kw=dict(stride=1.5, dilation=1, padding=0)), ValueError, "stride"),
        (dict(act="tanh"), ValueError, "activation"),
    ]
    for change, error, match in bad:
        args = dict(x=x, w=w, b=b, out=out, kw=kw, act="none") | change
        before = args["out"].copy()
        with pytest.raises(error, match=match):
            F.conv1d_forward(args["x"], args["w"], args["b"], activation=args["act"],
                             out=args["out"], **args["kw"])
        np.testing.assert_array_equal(args["out"], before)
    # out overlapping x: refused, nothing written
    buf = np.ones((2, 9, 4), f32)
    with pytest.raises(ValueError, match="out overlaps x"):
        _core.conv1d_forward(buf, buf, np.ones((4, 4, 1), f32), None, 1, 1, 0, 0, "none")
    np.testing.assert_array_equal(buf, 1)


def test_conv1d_backward_bad_input():
    f32 = np.float32
    x, w, dy = np.ones((2, 9, 3), f32), np.ones((4, 3, 3), f32), np.ones((2, 9, 4), f32)
    kw = dict(stride=1, dilation=1, padding=(2, 0))
    bad = [
        (dict(dy=np.ones((2, 8, 4), f32)), ValueError, r"dy must have shape \(2, 9, 4\)"),
        (dict(dw=np.ones((4, 3, 2), f32)), ValueError, "dweight must have shape"),
        (dict(db=np.ones(3, f32)), ValueError, "dbias must have shape"),
        (dict(dx=np.ones((2, 9, 4), f32)), ValueError, "dx must have shape"),
        (dict(dw=np.ones((4, 3, 3), np.float64)), TypeError, "dweight"),
        (dict(dw=read_only(np.ones((4, 3, 3), f32))), ValueError, "dweight"),
        (dict(mask=np.ones((2, 9, 4), f32)), ValueError, "relu_output must have shape"),
        (dict(x=np.ones((2, 2, 3), f32), dy=np.ones((2, 2, 4), f32),
              kw=dict(stride=1, dilation=2, padding=(2, 0))), ValueError, "span 5"),
    ]
    for change, error, match in bad:
        args = dict(x=x, w=w, dy=dy, dw=np.full((4, 3, 3), 5, f32), db=np.full(4, 5, f32),
                    dx=np.full((2, 9, 3), 5, f32), mask=None, kw=kw) | change
        before = [args[k].copy() for k in ("dw", "db", "dx")]
        with pytest.raises(error, match=match):
            F.conv1d_backward(args["dy"], args["x"], args["w"], args["dw"], args["db"],
                              dx=args["dx"], relu_output=args["mask"], **args["kw"])
        for k, old in zip(("dw", "db", "dx"), before):
            np.testing.assert_array_equal(args[k], old)
    # a gradient overlapping another: refused, nothing written
    grads = np.full(4 * 3 * 3 + 4, 5, f32)
    with pytest.raises(ValueError, match="overlaps"):
        F.conv1d_backward(dy, x, w, grads[:36].reshape(4, 3, 3), grads[34:38], **kw)
    np.testing.assert_array_equal(grads, 5)
    with pytest.raises(ValueError, match="relu_output given without dx"):
        _core.conv1d_backward(None, np.zeros_like(w), None, dy, x, w, 1, 1, 2, 0, True, x)
    dw, dx = np.full((4, 3, 3), 5, f32), np.full((2, 9, 3), 5, f32)
    for kwargs in (dict(dx=None), dict(dx=dx, relu_output=x)):  # nothing to add into
        with pytest.raises(ValueError, match="accumulate_dx needs dx and no relu_output"):
            F.conv1d_backward(dy, x, w, dw, accumulate_dx=True, **kwargs, **kw)
        with pytest.raises(ValueError, match="accumulate_dx needs dx and no relu_output"):
            _core.conv1d_backward(kwargs["dx"], dw, None, dy, x, w, 1, 1, 2, 0, True,
                                  kwargs.get("relu_output"), True)
    np.testing.assert_array_equal(dw, 5)
    np.testing.assert_array_equal(dx, 5)


# --- the layers against torch -------------------------------------------------------------------

torch = pytest.importorskip("torch")
TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}


def torch_conv(layer):
    """torch.nn.Conv1d with the layer's weights; its padding on both sides (causal: the right
    end of its output is dropped by the caller)."""
    left, right = layer.pad
    conv = torch.nn.Conv1d(layer.in_channels, layer.out_channels, layer.kernel_size,
                           stride=layer.stride, dilation=layer.dilation,
                           padding=layer.padding if layer.padding in ("same", "valid")
                           else max(left, right), bias=layer.bias is not None,
                           dtype=torch.float64 if layer.dtype == np.float64 else torch.float32)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(layer.weight.data))
        if layer.bias is not None:
            conv.bias.copy_(torch.from_numpy(layer.bias.data))
    return conv


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("stride,dilation,padding", [
    (1, 1, "causal"), (1, 2, "causal"), (1, 4, "causal"), (2, 2, "causal"), (1, 1, "same"),
    (1, 2, "same"), (1, 1, "valid"), (2, 1, "valid"), (1, 2, 3), (2, 1, 1)])
def test_conv1d_layer_vs_torch(simd_target, dtype, stride, dilation, padding):
    layer = nn.Conv1d(5, 7, 3, stride=stride, padding=padding, dilation=dilation, seed=0,
                      dtype=dtype)
    conv = torch_conv(layer)
    rng = np.random.default_rng(7)
    x = draw(rng, (3, 23, 5), dtype)
    y = layer.forward(x)
    assert y.shape == (3,) + layer.output_shape((23, 5))
    xt = torch.from_numpy(x.transpose(0, 2, 1).copy()).requires_grad_(True)
    yt = conv(xt)
    if padding == "causal":  # torch pads both sides; the causal output is the first T_out steps
        yt = yt[:, :, :y.shape[1]]
    np.testing.assert_allclose(y, yt.detach().numpy().transpose(0, 2, 1), **TOL[dtype])
    dy = draw(rng, y.shape, dtype)
    dx = layer.backward(dy, write=True)
    yt.backward(torch.from_numpy(dy.transpose(0, 2, 1).copy()))
    np.testing.assert_allclose(dx, xt.grad.numpy().transpose(0, 2, 1), **TOL[dtype])
    np.testing.assert_allclose(layer.weight.grad, conv.weight.grad.numpy(), **TOL[dtype])
    np.testing.assert_allclose(layer.bias.grad, conv.bias.grad.numpy(), **TOL[dtype])


def test_conv1d_layer_init_and_protocol():
    layer = nn.Conv1d(6, 4, 5, seed=3)
    bound = 1 / np.sqrt(6 * 5)  # torch: kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in))
    assert layer.weight.data.shape == (4, 6, 5) and layer.weight.data.dtype == np.float32
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.8 * bound
    np.testing.assert_array_equal(nn.Conv1d(6, 4, 5, seed=3).weight.data, layer.weight.data)
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in nn.Conv1d(6, 4, 5, bias=False).named_parameters()] == ["weight"]
    assert layer.dtype == np.float32 and nn.Conv1d(2, 2, 1, dtype=np.float64).dtype == np.float64
    assert layer.output_shape((30, 6)) == (30, 4)
    assert nn.Conv1d(6, 4, 5, padding="valid").output_shape((30, 6)) == (26, 4)
    assert nn.Conv1d(6, 4, 5, stride=2, padding=2).output_shape((30, 6)) == (15, 4)
    with pytest.raises(ValueError, match=r"\(batch, steps, 6\)"):
        layer.output_shape((30, 5))
    with pytest.raises(ValueError, match="at least 5 steps"):
        nn.Conv1d(6, 4, 5, padding="valid").output_shape((4, 6))
    with pytest.raises(ValueError, match="kernel_size"):
        nn.Conv1d(6, 4, 0)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv1d(6, 4, 3, stride=2, padding="same")
    with pytest.raises(TypeError, match="dtype"):
        nn.Conv1d(6, 4, 3, dtype=np.int32)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((1, 3, 4), np.float32))
    # zero_grad(set_to_none=True) leaves grad None: backward allocates it
    layer.weight.grad = layer.bias.grad = None
    x = np.ones((2, 8, 6), np.float32)
    y = layer.forward(x)
    layer.backward(np.ones_like(y), input_grad=False)
    assert layer.weight.grad.shape == (4, 6, 5) and layer.bias.grad[0] == 16
    # infer leaves what backward needs untouched; the epilogue applies relu
    np.testing.assert_array_equal(layer.infer(x, epilogue="relu"), np.maximum(y, 0))
    with pytest.raises(ValueError, match="3-d"):
        layer.forward(np.ones((8, 6), np.float32))


# --- TCNBlock -----------------------------------------------------------------------------------

class TorchTCNBlock(torch.nn.Module):
    """Bai, Kolter & Koltun's TemporalBlock without weight norm: causal convolutions by padding
    both sides and dropping the right end (their Chomp1d)."""

    def __init__(self, cin, cout, k, d, dtype):
        super().__init__()
        pad = (k - 1) * d
        self.conv1 = torch.nn.Conv1d(cin, cout, k, padding=pad, dilation=d, dtype=dtype)
        self.conv2 = torch.nn.Conv1d(cout, cout, k, padding=pad, dilation=d, dtype=dtype)
        self.downsample = torch.nn.Conv1d(cin, cout, 1, dtype=dtype) if cin != cout else None
        self.pad = pad

    def forward(self, x):  # x (B, C, T)
        t = x.shape[2]
        h = torch.relu(self.conv1(x)[:, :, :t])
        h = torch.relu(self.conv2(h)[:, :, :t])
        return torch.relu(h + (x if self.downsample is None else self.downsample(x)))


def state_dict(layer):
    return {name: p.data.copy() for name, p in layer.named_parameters()}


def load(layer, state):
    named = dict(layer.named_parameters())
    assert sorted(named) == sorted(state)
    for name, p in named.items():
        np.copyto(p.data, np.asarray(state[name]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cin,cout,k,d", [(5, 8, 3, 1), (8, 8, 3, 2), (7, 7, 2, 4), (9, 4, 3, 8)])
def test_tcn_block_vs_torch(simd_target, dtype, cin, cout, k, d):
    ours = nn.TCNBlock(cin, cout, k, dilation=d, seed=1, dtype=dtype)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    theirs = TorchTCNBlock(cin, cout, k, d, tdtype)
    names = {n for n, _ in ours.named_parameters()}
    assert names == set(theirs.state_dict()), names
    # torch -> ours, run, compare; then ours -> a fresh torch module
    theirs.load_state_dict({n: v for n, v in theirs.state_dict().items()})
    load(ours, {n: v.numpy() for n, v in theirs.state_dict().items()})
    rng = np.random.default_rng(8)
    x = draw(rng, (3, 21, cin), dtype)
    y = ours.forward(x)
    assert y.shape == (3,) + ours.output_shape((21, cin)) == (3, 21, cout)
    xt = torch.from_numpy(x.transpose(0, 2, 1).copy()).requires_grad_(True)
    yt = theirs(xt)
    np.testing.assert_allclose(y, yt.detach().numpy().transpose(0, 2, 1), **TOL[dtype])
    np.testing.assert_allclose(ours.infer(x), y, **TOL[dtype])
    dy = draw(rng, y.shape, dtype)
    dx = ours.backward(dy, write=True)
    yt.backward(torch.from_numpy(dy.transpose(0, 2, 1).copy()))
    np.testing.assert_allclose(dx, xt.grad.numpy().transpose(0, 2, 1), **TOL[dtype])
    tgrads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, tgrads[name].grad.numpy(), **TOL[dtype],
                                   err_msg=name)
    fresh = TorchTCNBlock(cin, cout, k, d, tdtype)
    fresh.load_state_dict({n: torch.from_numpy(v) for n, v in state_dict(ours).items()})
    np.testing.assert_allclose(fresh(xt).detach().numpy().transpose(0, 2, 1), y, **TOL[dtype])


@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("cin,cout", [(3, 5), (4, 4)])
def test_tcn_block_finite_differences(simd_target, dropout, cin, cout):
    block = nn.TCNBlock(cin, cout, 3, dilation=2, dropout=dropout, seed=2, dtype=np.float64)
    rng = np.random.default_rng(9)
    x = draw(rng, (2, 11, cin), np.float64)
    states = [block.dropout1._state, block.dropout2._state]

    def loss():  # the same dropout masks on every call
        block.dropout1._state, block.dropout2._state = states
        return float(np.sum(block.forward(x) * dy))

    dy = np.ones((2, 11, cout))
    loss()
    dy = draw(rng, (2, 11, cout), np.float64)
    loss()
    dx = block.backward(dy, write=True).copy()
    grads = [(p.data, p.grad.copy()) for _, p in block.named_parameters()]
    if dropout:
        assert (block.forward(x) == 0).any()
    for array, grad in [(x, dx)] + grads:
        flat = array.reshape(-1)
        for i in rng.choice(flat.size, min(8, flat.size), replace=False):
            keep = flat[i]
            flat[i] = keep + H
            up = loss()
            flat[i] = keep - H
            down = loss()
            flat[i] = keep
            np.testing.assert_allclose(grad.reshape(-1)[i], (up - down) / (2 * H), rtol=1e-6,
                                       atol=1e-8)


def test_tcn_block_accumulates_and_writes():
    block = nn.TCNBlock(3, 6, seed=4, dtype=np.float64)
    x = draw(np.random.default_rng(10), (2, 9, 3), np.float64)
    dy = np.ones((2, 9, 6))
    block.forward(x)
    block.backward(dy, write=True)
    once = [p.grad.copy() for p in block.parameters()]
    block.backward(dy)
    for g, p in zip(once, block.parameters()):
        np.testing.assert_allclose(p.grad, 2 * g, rtol=1e-12, atol=1e-14)
    assert block.backward(dy, input_grad=False, write=True) is None
    for g, p in zip(once, block.parameters()):
        np.testing.assert_array_equal(p.grad, g)
    assert [n for n, _ in nn.TCNBlock(4, 4).named_parameters()] == \
        ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias"]


def test_small_tcn_vs_torch_and_state_dict_both_ways():
    """Conv1d 1x1 -> TCNBlocks (dilations 1, 2, 4) -> last step -> Dense, chained by hand."""
    dtype = np.float64
    F_in, C, T = 6, 8, 24
    layers = [("0", nn.Conv1d(F_in, C, 1, seed=0, dtype=dtype))]
    layers += [(str(i + 1), nn.TCNBlock(C, C, 3, dilation=2**i, seed=i + 1, dtype=dtype))
               for i in range(3)]
    head = nn.Dense(C, 1, seed=9, dtype=dtype)

    class TorchTCN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.ModuleList(
                [torch.nn.Conv1d(F_in, C, 1, dtype=torch.float64)]
                + [TorchTCNBlock(C, C, 3, 2**i, torch.float64) for i in range(3)])
            self.head = torch.nn.Linear(C, 1, dtype=torch.float64)

        def forward(self, x):  # (B, F, T)
            for m in self.body:
                x = m(x)
            return self.head(x[:, :, -1])

    def our_state():
        s = {f"body.{i}.{n}": p.data.copy() for i, layer in layers
             for n, p in layer.named_parameters()}
        s.update({f"head.{n}": p.data.copy() for n, p in head.named_parameters()})
        return s

    model = TorchTCN()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in our_state().items()})  # ours -> torch
    rng = np.random.default_rng(12)
    x = draw(rng, (5, T, F_in), dtype)
    h = x
    for _, layer in layers:
        h = layer.forward(h)
    last = np.ascontiguousarray(h[:, -1])
    pred = head.forward(last)
    xt = torch.from_numpy(x.transpose(0, 2, 1).copy())
    np.testing.assert_allclose(pred, model(xt).detach().numpy(), **TOL[dtype])
    # backward of the mean squared error against a target, into written gradients
    target = draw(rng, (5, 1), dtype)
    dpred = 2 * (pred - target) / pred.size
    dlast = head.backward(dpred, write=True)
    dh = np.zeros_like(h)
    dh[:, -1] = dlast
    for i, (_, layer) in enumerate(reversed(layers)):
        dh = layer.backward(dh, input_grad=i < len(layers) - 1, write=True)
    loss = torch.mean((model(xt) - torch.from_numpy(target)) ** 2)
    loss.backward()
    theirs = dict(model.named_parameters())
    for i, layer in layers:
        for n, p in layer.named_parameters():
            np.testing.assert_allclose(p.grad, theirs[f"body.{i}.{n}"].grad.numpy(),
                                       **TOL[dtype], err_msg=f"body.{i}.{n}")
    # torch -> ours: perturb torch's weights, load them, the outputs agree again
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1.5)
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    for i, layer in layers:
        load(layer, {n: state[f"body.{i}.{n}"] for n, _ in layer.named_parameters()})
    load(head, {n: state[f"head.{n}"] for n, _ in head.named_parameters()})
    h = x
    for _, layer in layers:
        h = layer.infer(h)
    np.testing.assert_allclose(head.infer(np.ascontiguousarray(h[:, -1])),
                               model(xt).detach().numpy(), **TOL[dtype])


class _TorchLastStep(torch.nn.Module):
    def forward(self, x):  # (B, C, T) -> (B, C)
        return x[:, :, -1]


@pytest.mark.parametrize("dtype", DTYPES)
def test_sequential_tcn_state_dict_round_trip_with_torch(dtype):
    """The issue's TCN as a Sequential (a 1x1 Conv1d, TCNBlocks of dilations 1, 2, 4, the last
    step, a Dense head) and the same architecture in torch.nn: the state_dict keys are the same,
    it loads both ways, and outputs and every gradient agree."""
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    F_in, C, T = 7, 6, 11
    ours = nn.Sequential(nn.Conv1d(F_in, C, 1, seed=0, dtype=dtype),
                         *[nn.TCNBlock(C, C, 3, dilation=2**i, seed=1 + i, dtype=dtype)
                           for i in range(3)],
                         nn.LastStep(), nn.Dense(C, 1, seed=5, dtype=dtype))
    theirs = torch.nn.Sequential(torch.nn.Conv1d(F_in, C, 1, dtype=tdtype),
                                 *[TorchTCNBlock(C, C, 3, 2**i, tdtype) for i in range(3)],
                                 _TorchLastStep(), torch.nn.Linear(C, 1, dtype=tdtype))
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    rng = np.random.default_rng(3)
    x, target = draw(rng, (4, T, F_in), dtype), draw(rng, (4, 1), dtype)
    xt = torch.from_numpy(x.transpose(0, 2, 1).copy())
    pred = ours.forward(x)
    np.testing.assert_allclose(pred, theirs(xt).detach().numpy(), **TOL[dtype])
    ours.zero_grad()
    ours.backward(2 * (pred - target) / pred.size)
    torch.mean((theirs(xt) - torch.from_numpy(target)) ** 2).backward()
    grads = {k: p.grad.numpy() for k, p in theirs.named_parameters()}
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, grads[name], **TOL[dtype], err_msg=name)
    with torch.no_grad():  # torch -> ours
        for p in theirs.parameters():
            p.mul_(1.5)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    np.testing.assert_allclose(ours.predict(x), theirs(xt).detach().numpy(), **TOL[dtype])
