# Type stubs of steepest._core, generated from the built extension by tools/make_stubs.py
# (pybind11-stubgen); tests/test_stubs.py checks them against the extension. Do not edit.
"""
steepest's compiled kernels. Use the steepest package, not this module.
"""
from __future__ import annotations
import numpy
import numpy.typing
import typing
__all__: list[str] = ['StepCache', 'activation_backward', 'activation_forward', 'active_target', 'adabelief_step', 'adadelta_step', 'adafactor_step', 'adagrad_step', 'adam_step', 'adamax_step', 'adan_step', 'approx', 'asgd_step', 'attention_backward', 'attention_forward', 'check_adabelief', 'check_adadelta', 'check_adafactor', 'check_adagrad', 'check_adam', 'check_adamax', 'check_adan', 'check_asgd', 'check_lamb', 'check_lars', 'check_lion', 'check_nadam', 'check_radam', 'check_rmsprop', 'check_rprop', 'check_sgd', 'clip_grad_norm', 'clip_grad_value', 'compiled_targets', 'compiler', 'conv1d_backward', 'conv1d_forward', 'conversions', 'dense_backward', 'dense_forward', 'dropout', 'gemm', 'get_num_threads', 'gru_backward', 'gru_forward', 'lamb_step', 'lars_step', 'layernorm_backward', 'layernorm_forward', 'linear_epoch', 'lion_step', 'loss', 'lstm_backward', 'lstm_forward', 'nadam_step', 'pattern_pass', 'quant_map', 'radam_step', 'ratio_loss', 'reinforce_loss', 'rmsprop_step', 'rprop_step', 'rules', 'select_target', 'set_num_threads', 'sgd_step', 'state_like', 'sum_squares', 'supported_targets']
class StepCache:
    """
    An optimizer's memory of its last step's checks.
    """
    def __getstate__(self) -> tuple:
        ...
    def __init__(self) -> None:
        ...
    def __setstate__(self, arg0: tuple) -> None:
        ...
def _allow_avx512_vbmi(allowed: bool) -> None:
    """
    Tests only: whether the avx512 target may use AVX-512 VBMI where the CPU has it.
    """
def _cgroup_cpu_limit(root: str) -> int:
    """
    Tests only: the CPU limit of the cgroup file system at root (0: none).
    """
def _dequantize(codes: typing.Annotated[numpy.typing.ArrayLike, numpy.uint8], absmax: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], is_signed: bool) -> numpy.typing.NDArray[numpy.float32]:
    """
    Tests only: float32 values of blockwise 8-bit codes.
    """
def _quantize(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], is_signed: bool) -> tuple[numpy.typing.NDArray[numpy.uint8], numpy.typing.NDArray[numpy.float32]]:
    """
    Tests only: x (float32) in blockwise 8 bits.
    """
def _set_parallel_min_override(n: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Benchmarks only: every loop runs on one thread below n elements (0: each its own).
    """
def activation_backward(name: str, dx: typing.Any, dy: typing.Any, saved: typing.Any, negative_slope: typing.SupportsFloat | typing.SupportsIndex) -> None:
    """
    dx = dy * f'(x), from the saved x (y for tanh and sigmoid).
    """
def activation_forward(name: str, out: typing.Any, x: typing.Any, negative_slope: typing.SupportsFloat | typing.SupportsIndex, addend: typing.Any = None) -> None:
    """
    out = f(x), or f(x + addend) (x's shape), element-wise.
    """
def active_target() -> str:
    """
    The SIMD target the kernels run on.
    """
def adabelief_step(groups: list, grads: list, nonfinite: typing.SupportsInt | typing.SupportsIndex = 0, counts: typing.Any = None, cache: typing.Any = None, precision: typing.Any = None) -> int:
    ...
def adadelta_step(groups: list, grads: list, nonfinite: typing.SupportsInt | typing.SupportsIndex = 0, counts: typing.Any = None, cache: typing.Any = None, precision: typing.Any = None) -> int:
    ...
def adafactor_step(groups: list, grads: list, nonfinite: typing.SupportsInt | typing.SupportsIndex = 0, counts: typing.Any = None, cache: typing.Any = None, precision: typing.Any = None) -> int:
    ...
def adagrad_step(groups: list, grads: list, nonfinite: typing.SupportsInt | typing.SupportsIndex = 0, counts: typing.Any = None, cache: typing.Any = None, precision: typing.Any = None) -> int:
    ...
def adam_step(groups: list, grads: list, nonfinite: typing.SupportsInt | typing.SupportsIndex = 0, counts: typing.Any = None, cache: typing.Any = None, precision: typing.Any = None) -> int:
    ...
def adamax_step(groups: list, grads: list, nonfinite: typing.SupportsInt | typing.SupportsIndex = 0, counts: typing.Any = None, cache: typing.Any = None, precision: typing.Any = None) -> int:
    ...
def adan_step(groups: list, grads: list, nonfinite: typing.SupportsInt | typing.SupportsIndex = 0, counts: typing.Any = None, cache: typing.Any = None, precision: typing.Any = None) -> int:
    ...
def approx(name: str, out: typing.Any, x: typing.Any) -> None:
    """
    out = exp, tanh or erf of x by the kernels' own approximations (float32) or libm.
    """
def asgd_step(groups: list, grads: list, nonfinite: typing.SupportsInt | typing.SupportsIndex = 0, counts: typing.Any = None, cache: typing.Any = None, precision: typing.Any = None) -> int:
    ...
def attention_backward(dqkv: typing.Any, dout: typing.Any, qkv: typing.Any, probs: typing.Any, dropped: typing.Any, num_heads: typing.SupportsInt | typing.SupportsIndex, causal: bool) -> None:
    """
    dqkv (B, T, 3E) written from dout (B, T, E) and the forward's probs and dropped.
    """
def attention_forward(out: typing.Any, probs: typing.Any, dropped: typing.Any, qkv: typing.Any, num_heads: typing.SupportsInt | typing.SupportsIndex, causal: bool, p: typing.SupportsFloat | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Self-attention per (batch, head) on qkv (B, T, 3E): probs (B, H, T, T) the softmax of
    Q K^T / sqrt(d) (masked above the diagonal if causal), dropped (or None) its dropout
    with probability p and seed, out (B, T, E) = dropped (or probs) V per head.
    """
def check_adabelief(*args) -> None:
    ...
def check_adadelta(*args) -> None:
    ...
def check_adafactor(*args) -> None:
    ...
def check_adagrad(*args) -> None:
    ...
def check_adam(*args) -> None:
    ...
def check_adamax(*args) -> None:
    ...
def check_adan(*args) -> None:
    ...
def check_asgd(*args) -> None:
    ...
def check_lamb(*args) -> None:
    ...
def check_lars(*args) -> None:
    ...
def check_lion(*args) -> None:
    ...
def check_nadam(*args) -> None:
    ...
def check_radam(*args) -> None:
    ...
def check_rmsprop(*args) -> None:
    ...
def check_rprop(*args) -> None:
    ...
def check_sgd(*args) -> None:
    ...
def clip_grad_norm(grads: list, max_norm: typing.SupportsFloat | typing.SupportsIndex, norm_type: typing.SupportsFloat | typing.SupportsIndex, error_if_nonfinite: bool) -> float:
    ...
def clip_grad_value(grads: list, clip_value: typing.SupportsFloat | typing.SupportsIndex) -> None:
    ...
def compiled_targets() -> list[str]:
    """
    SIMD targets compiled in, lowest first.
    """
def conv1d_backward(dx: typing.Any, dweight: typing.Any, dbias: typing.Any, dy: typing.Any, x: typing.Any, weight: typing.Any, stride: typing.SupportsInt | typing.SupportsIndex, dilation: typing.SupportsInt | typing.SupportsIndex, pad_left: typing.SupportsInt | typing.SupportsIndex, pad_right: typing.SupportsInt | typing.SupportsIndex, accumulate: bool = True, relu_output: typing.Any = None, accumulate_dx: bool = False) -> None:
    """
    dx (B, T, in) written (if not None; 0 where relu_output is not > 0), or accumulated
    (+=) with accumulate_dx; dweight and dbias accumulated, or written with
    accumulate=False.
    """
def conv1d_forward(out: typing.Any, x: typing.Any, weight: typing.Any, bias: typing.Any, stride: typing.SupportsInt | typing.SupportsIndex, dilation: typing.SupportsInt | typing.SupportsIndex, pad_left: typing.SupportsInt | typing.SupportsIndex, pad_right: typing.SupportsInt | typing.SupportsIndex, activation: str) -> None:
    """
    out (B, T_out, out) = conv1d of x (B, T, in) with weight (out, in, K) + bias, then
    'none' or 'relu'; channels last, x zero-padded by pad_left / pad_right steps.
    """
def conversions() -> str:
    """
    How the active SIMD target converts between float32 and bfloat16/float16.
    """
def dense_backward(dx: typing.Any, dweight: typing.Any, dbias: typing.Any, dy: typing.Any, x: typing.Any, weight: typing.Any, accumulate: bool = True, relu_output: typing.Any = None, accumulate_dx: bool = False) -> None:
    """
    dx = dy @ weight (if not None; dx += with accumulate_dx); dweight += dy.T @ x; dbias
    += dy.sum(0) (if not None); with accumulate=False dweight and dbias are written (=)
    instead; with relu_output (x's shape) dx is 0 where relu_output is not > 0 (a ReLU's
    backward, fused).
    """
def dense_forward(out: typing.Any, x: typing.Any, weight: typing.Any, bias: typing.Any, activation: str) -> None:
    """
    out (B, out) = x (B, in) @ weight (out, in).T + bias, then 'none' or 'relu'.
    """
def dropout(out: typing.Any, x: typing.Any, p: typing.SupportsFloat | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    out = x * keep(seed, i) / (1 - p), keep from a counter-based hash.
    """
def gemm(a: typing.Any, b: typing.Any, c: typing.Any, trans_a: bool = False, trans_b: bool = False, accumulate: bool = False, bias: typing.Any = None, activation: str = 'none') -> None:
    """
    c = op(a) @ op(b) (+ c if accumulate) (+ bias), then the activation; in place.
    """
def get_num_threads() -> int:
    """
    Threads a kernel may use.
    """
def gru_backward(dx: typing.Any, dh0: typing.Any, dweight_ih: typing.Any, dweight_hh: typing.Any, dbias_ih: typing.Any, dbias_hh: typing.Any, dgates_ih: typing.Any, dgates_hh: typing.Any, dy: typing.Any, x: typing.Any, h0: typing.Any, y: typing.Any, gates: typing.Any, weight_ih: typing.Any, weight_hh: typing.Any, accumulate: bool = True) -> None:
    """
    Backward through time from dy (B, T, H): dx (B, T, F) and dh0 (B, H) written (if not
    None); weight and bias gradients accumulated (+=), or written with accumulate=False;
    dgates_ih, dgates_hh (B, T, 3H) written (the gates' gradients, scratch).
    """
def gru_forward(out: typing.Any, gates: typing.Any, x: typing.Any, h0: typing.Any, weight_ih: typing.Any, weight_hh: typing.Any, bias_ih: typing.Any, bias_hh: typing.Any) -> None:
    """
    One GRU layer over x (B, T, F) from h0 (B, H) (None: zeros), torch.nn.GRU's gates:
    out (B, T, H) = h_1..h_T; gates (B, T, 4H) = r, z, n, W_hn h + b_hn per step (for
    backward). weight_ih (3H, F), weight_hh (3H, H), biases (3H,) or None.
    """
def lamb_step(groups: list, grads: list, nonfinite: typing.SupportsInt | typing.SupportsIndex = 0, counts: typing.Any = None, cache: typing.Any = None, precision: typing.Any = None) -> int:
    ...
def lars_step(groups: list, grads: list, nonfinite: typing.SupportsInt | typing.SupportsIndex = 0, counts: typing.Any = None, cache: typing.Any = None, precision: typing.Any = None) -> int:
    ...
def layernorm_backward(dx: typing.Any, dweight: typing.Any, dbias: typing.Any, dy: typing.Any, x: typing.Any, mean: typing.Any, rstd: typing.Any, weight: typing.Any, accumulate: bool = True) -> None:
    """
    dx (rows, C) written unless None; dweight, dbias (C) added to (written with
    accumulate=False) unless None; from the forward's mean and rstd.
    """
def layernorm_forward(out: typing.Any, mean: typing.Any, rstd: typing.Any, x: typing.Any, weight: typing.Any, bias: typing.Any, eps: typing.SupportsFloat | typing.SupportsIndex) -> None:
    """
    out (rows, C) = (x - mean) * rstd * weight + bias per row; mean, rstd (rows) saved
    unless None; weight, bias (C) or None.
    """
def linear_epoch(x: typing.Any, targets: typing.Any, order: typing.Any, rows: typing.SupportsInt | typing.SupportsIndex, first: typing.SupportsInt | typing.SupportsIndex, end: typing.SupportsInt | typing.SupportsIndex, total: typing.SupportsFloat | typing.SupportsIndex, loss: str, delta: typing.SupportsFloat | typing.SupportsIndex, l1: typing.SupportsFloat | typing.SupportsIndex, weight: typing.Any, bias: typing.Any, dweight: typing.Any, dbias: typing.Any, rule: str, hyper: tuple, states: list, steps: list) -> float:
    """
    Batches [first, end) of mini-batch gradient descent on a linear model (steepest/nn/linear_epoch.h); returns total + sum of value * rows.
    """
def lion_step(groups: list, grads: list, nonfinite: typing.SupportsInt | typing.SupportsIndex = 0, counts: typing.Any = None, cache: typing.Any = None, precision: typing.Any = None) -> int:
    ...
def loss(name: str, grad: typing.Any, pred: typing.Any, target: typing.Any, delta: typing.SupportsFloat | typing.SupportsIndex) -> float:
    """
    The mean loss; writes d loss / d pred into grad unless it is None.
    """
def lstm_backward(dx: typing.Any, dweight_ih: typing.Any, dweight_hh: typing.Any, dbias_ih: typing.Any, dbias_hh: typing.Any, dgates: typing.Any, dy: typing.Any, x: typing.Any, h0: typing.Any, c0: typing.Any, y: typing.Any, c: typing.Any, gates: typing.Any, weight_ih: typing.Any, weight_hh: typing.Any, accumulate: bool = True) -> None:
    """
    Backward through time of lstm_forward from dy (B, T, H): dx (B, T, F) written (if not
    None), dgates (B, T, 4H) written (the pre-activation gradients), dweight_* and dbias_*
    accumulated (+=), or written with accumulate=False.
    """
def lstm_forward(out: typing.Any, c: typing.Any, gates: typing.Any, x: typing.Any, h0: typing.Any, c0: typing.Any, weight_ih: typing.Any, weight_hh: typing.Any, bias_ih: typing.Any, bias_hh: typing.Any) -> None:
    """
    One LSTM layer over x (B, T, F): out (B, T, H) = h_t, c (B, T, H) = c_t and gates
    (B, T, 4H) = i, f, g, o (torch's order) after their activations, written; h0, c0
    (B, H) or None (zeros), bias_ih, bias_hh (4H,) or None.
    """
def nadam_step(groups: list, grads: list, nonfinite: typing.SupportsInt | typing.SupportsIndex = 0, counts: typing.Any = None, cache: typing.Any = None, precision: typing.Any = None) -> int:
    ...
def pattern_pass(arrays: list, writes: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    One pass of a step's memory pattern: read every array, write the first `writes` back.
    """
def quant_map(is_signed: bool) -> tuple[numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.float32]]:
    """
    The dynamic map's codes and the midpoints around its decades.
    """
def radam_step(groups: list, grads: list, nonfinite: typing.SupportsInt | typing.SupportsIndex = 0, counts: typing.Any = None, cache: typing.Any = None, precision: typing.Any = None) -> int:
    ...
def ratio_loss(kind: str, grad: typing.Any, pred: typing.Any, target: typing.Any, cost: typing.SupportsFloat | typing.SupportsIndex, periods_per_year: typing.SupportsFloat | typing.SupportsIndex, eps: typing.SupportsFloat | typing.SupportsIndex) -> float:
    """
    The negative annualized Sharpe ('sharpe') or Sortino ('sortino') ratio of the returns pred * target (less costs) over the batch; writes dL/dpred into grad unless None.
    """
def reinforce_loss(grad: typing.Any, pred: typing.Any, target: typing.Any) -> float:
    """
    REINFORCE's loss of a softmax policy (pred: logits (n, A); target (n, 2): the action taken and its advantage); writes dL/dpred into grad unless None.
    """
def rmsprop_step(groups: list, grads: list, nonfinite: typing.SupportsInt | typing.SupportsIndex = 0, counts: typing.Any = None, cache: typing.Any = None, precision: typing.Any = None) -> int:
    ...
def rprop_step(groups: list, grads: list, nonfinite: typing.SupportsInt | typing.SupportsIndex = 0, counts: typing.Any = None, cache: typing.Any = None, precision: typing.Any = None) -> int:
    ...
def select_target(name: str) -> None:
    """
    Run the kernels on the named SIMD target (ValueError if unknown or unsupported).
    """
def set_num_threads(n: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Set the threads a kernel may use.
    """
def sgd_step(groups: list, grads: list, nonfinite: typing.SupportsInt | typing.SupportsIndex = 0, counts: typing.Any = None, cache: typing.Any = None, precision: typing.Any = None) -> int:
    ...
def state_like(values: numpy.ndarray, slot: typing.SupportsInt | typing.SupportsIndex) -> numpy.ndarray:
    """
    A copy of `values` placed as the optimizers place a new state array `slot` (a state's
    index, or -1 for a master copy): loaded state dicts lie as fresh state does.
    """
def sum_squares(arrays: list) -> list:
    """
    Sum of squares of each array, in double; bitwise the same for any thread count.
    """
def supported_targets() -> list[str]:
    """
    Compiled SIMD targets this CPU can run.
    """
compiler: str
rules: dict
