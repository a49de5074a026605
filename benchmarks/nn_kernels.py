"""What each backprop kernel costs at the digits model's shapes (batch 64, 64-256-256-10, ReLU,
softmax cross-entropy), float32: the median of many calls through steepest.nn.functional, beside
the same operation in torch (CPU, 1 thread, no autograd) when torch is installed. Not a test: read
the figures as ratios on a shared machine.

    python benchmarks/nn_kernels.py [--threads N] [--repeats R]
"""
import argparse
import time

import numpy as np

import steepest
from steepest.nn import functional as F


def median_us(f, repeats):
    for _ in range(20):
        f()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return 1e6 * float(np.median(times))


def cases(rng):
    B = 64
    x0 = rng.standard_normal((B, 64)).astype(np.float32)
    h = rng.standard_normal((B, 256)).astype(np.float32)
    w1, w2, w3 = (rng.standard_normal(s).astype(np.float32) * 0.1
                  for s in [(256, 64), (256, 256), (10, 256)])
    b1, b2, b3 = np.zeros(256, np.float32), np.zeros(256, np.float32), np.zeros(10, np.float32)
    logits = rng.standard_normal((B, 10)).astype(np.float32)
    labels = rng.integers(0, 10, B)
    y1, y2, y3 = np.empty((B, 256), np.float32), np.empty((B, 256), np.float32), \
        np.empty((B, 10), np.float32)
    dw1, dw2, dw3 = np.zeros_like(w1), np.zeros_like(w2), np.zeros_like(w3)
    d256 = np.empty((B, 256), np.float32)
    g = np.empty((B, 10), np.float32)
    return [
        ("dense_forward 64->256 +relu", lambda: F.dense_forward(x0, w1, b1, "relu", y1),
         "relu(linear)", (x0, w1, b1, True)),
        ("dense_forward 256->256 +relu", lambda: F.dense_forward(h, w2, b2, "relu", y2),
         "relu(linear)", (h, w2, b2, True)),
        ("dense_forward 256->10", lambda: F.dense_forward(h, w3, b3, "none", y3),
         "linear", (h, w3, b3, False)),
        ("cross_entropy (64, 10)", lambda: F.loss_value_and_grad("cross_entropy", logits, labels, g),
         "cross_entropy", (logits, labels)),
        ("dense_backward 10->256 (dx)", lambda: F.dense_backward(logits, h, w3, dw3, b3, d256),
         "linear_backward", (logits, h, w3, True)),
        ("relu_backward (64, 256)", lambda: F.activation_backward("relu", h, y2, d256),
         "relu_backward", (h, y2)),
        ("dense_backward 256->256 (dx)", lambda: F.dense_backward(h, h, w2, dw2, b2, d256),
         "linear_backward", (h, h, w2, True)),
        ("dense_backward 64->256 (no dx)",
         lambda: F.dense_backward(h, x0, w1, dw1, b1, input_grad=False),
         "linear_backward", (h, x0, w1, False)),
        ("tanh (64, 256)", lambda: F.activation_forward("tanh", h, y2), "tanh", (h,)),
        ("sigmoid (64, 256)", lambda: F.activation_forward("sigmoid", h, y2), "sigmoid", (h,)),
        ("gelu erf (64, 256)", lambda: F.activation_forward("gelu", h, y2), "gelu", (h,)),
        ("gelu erf backward (64, 256)", lambda: F.activation_backward("gelu", h, h, d256),
         "gelu_backward", (h,)),
        ("dropout 0.5 (64, 256)", lambda: F.dropout_forward(h, 0.5, 1, out=y2), "dropout", (h,)),
    ]


def torch_op(kind, args):
    import torch
    import torch.nn.functional as tf

    t = [torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in args]
    if kind in ("relu(linear)", "linear"):
        x, w, b, relu = t
        return (lambda: tf.relu(tf.linear(x, w, b))) if relu else (lambda: tf.linear(x, w, b))
    if kind == "cross_entropy":
        return lambda: _ce(*t)
    if kind == "linear_backward":
        dy, x, w, dx = t
        if dx:
            return lambda: (dy @ w, dy.T @ x, dy.sum(0))
        return lambda: (dy.T @ x, dy.sum(0))
    if kind == "relu_backward":
        dy, y = t
        return lambda: torch.ops.aten.threshold_backward(dy, y, 0)
    x = t[0]
    return {"tanh": lambda: torch.tanh(x), "sigmoid": lambda: torch.sigmoid(x),
            "gelu": lambda: tf.gelu(x),
            "gelu_backward": lambda: torch.ops.aten.gelu_backward(x, x),
            "dropout": lambda: tf.dropout(x, 0.5, True)}[kind]


def _ce(logits, labels):
    """torch's value and gradient of the mean softmax cross-entropy, without autograd."""
    import torch

    lsm = torch.log_softmax(logits, 1)
    loss = torch.nn.functional.nll_loss(lsm, labels)
    grad = torch.softmax(logits, 1)
    grad[torch.arange(len(labels)), labels] -= 1
    return loss, grad / len(labels)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=2000)
    args = ap.parse_args()
    steepest.set_num_threads(args.threads)
    try:
        import torch

        torch.set_num_threads(args.threads)
        torch.set_grad_enabled(False)
    except ImportError:
        torch = None
    print(f"steepest {steepest.__version__}, target {steepest._core.active_target()}, "
          f"{args.threads} thread(s), median of {args.repeats}")
    print(f"{'kernel':<34} {'steepest µs':>12} {'torch µs':>10} {'torch/steepest':>15}")
    total = [0.0, 0.0]
    for name, f, kind, targs in cases(np.random.default_rng(0)):
        ours = median_us(f, args.repeats)
        theirs = median_us(torch_op(kind, targs), args.repeats) if torch else float("nan")
        if not name.startswith(("tanh", "sigmoid", "gelu", "dropout")):
            total[0] += ours
            total[1] += theirs
        print(f"{name:<34} {ours:>12.1f} {theirs:>10.1f} {theirs / ours:>14.2f}x")
    print(f"{'one step fwd+bwd (the rows above tanh)':<34} {total[0]:>12.1f} {total[1]:>10.1f} "
          f"{total[1] / total[0]:>14.2f}x")


if __name__ == "__main__":
    main()
