"""How much of the digits model's training step is the kernels: ``nn.training.train_step``
beside the same kernel calls made directly on ``steepest._core`` (no layers, no checks in
Python), on one batch of 64, interleaved medians.

    python benchmarks/nn_step_floor.py [threads ...]
"""

import sys

import numpy as np

import steepest
from steepest import _core, nn
from steepest.bench.nn_model import digits, steepest_model
from steepest.bench.timing import interleaved_seconds_per_call
from steepest.nn.training import train_step


def main(counts):
    X, y, _, _ = digits()
    xb, yb = X[:64], y[:64]
    model = steepest_model(0)
    opt = steepest.optim.Adam(model.parameters(), lr=1e-3)
    loss, grads = nn.CrossEntropyLoss(), {}
    params = model.parameters()
    (w1, b1), (w2, b2), (w3, b3) = [(p.data, q.data) for p, q in zip(params[::2], params[1::2])]
    (g1, c1), (g2, c2), (g3, c3) = [(p.grad, q.grad) for p, q in zip(params[::2], params[1::2])]
    h1, h2 = np.empty((64, 256), np.float32), np.empty((64, 256), np.float32)
    out, dout = np.empty((64, 10), np.float32), np.empty((64, 10), np.float32)
    e2, e1 = np.empty((64, 256), np.float32), np.empty((64, 256), np.float32)

    def kernels():  # the calls train_step makes, in its order
        _core.dense_forward(h1, xb, w1, b1, "relu")
        _core.dense_forward(h2, h1, w2, b2, "relu")
        _core.dense_forward(out, h2, w3, b3, "none")
        _core.loss("cross_entropy", dout, out, yb, 1.0)
        # the gradients written, not accumulated; each ReLU's backward in the next dx product
        _core.dense_backward(e2, g3, c3, dout, h2, w3, False, h2)
        _core.dense_backward(e1, g2, c2, e2, h1, w2, False, h1)
        _core.dense_backward(None, g1, c1, e1, xb, w1, False)
        opt.step()

    for threads in counts:
        steepest.set_num_threads(threads)
        step, floor = interleaved_seconds_per_call(
            [lambda: train_step(model, loss, opt, xb, yb, grads), kernels], repeats=21)
        print(f"{threads} threads: train_step {step * 1e3:.3f} ms, its kernel calls alone "
              f"{floor * 1e3:.3f} ms ({floor / step:.0%})")


if __name__ == "__main__":
    main([int(t) for t in sys.argv[1:]] or [1, 2])
