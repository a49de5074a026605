"""Sequential: layers applied in order, their parameters, and the training entry points.

    model = Sequential(Dense(64, 256, seed=0), ReLU(), Dense(256, 10, seed=1))
    history = model.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=10)
    labels = model.predict(X_test).argmax(1)

A Dense followed by a ReLU runs as one product with the ReLU in its epilogue (the ReLU keeps
y = relu(x W^T + b) for its backward: relu'(x) = 0 where y <= 0, else 1). In backward, a ReLU
followed by a Dense runs inside the Dense's dx product (dx = 0 where the ReLU's y <= 0, else
dy W). NaN propagates as in torch. The first layer with parameters
computes no input gradient, and the layers before it are skipped in backward.
"""

import numpy as np

from ..optim.optimizer import loadable
from . import checks
from .training import evaluate as _evaluate
from .training import fit as _fit
from .layers import Dense, Layer, ReLU

__all__ = ["Sequential"]


class Sequential:
    def __init__(self, *layers):
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {i} is a {type(layer).__name__}, not a steepest.nn "
                                "Layer")
        if len({id(layer) for layer in layers}) != len(layers):
            raise ValueError("a layer appears twice in the model (its buffers would be shared)")
        self.layers = list(layers)
        dense = [layer for layer in layers if isinstance(layer, Dense)]
        dtypes = {layer.weight.data.dtype for layer in dense}
        if len(dtypes) > 1:
            raise TypeError(f"the Dense layers mix dtypes {sorted(map(str, dtypes))}")
        self.dtype = dtypes.pop() if dtypes else np.dtype(np.float32)
        for a, b in zip(dense, dense[1:]):
            if a.out_features != b.in_features:
                raise ValueError(f"{a!r} gives {a.out_features} features but the next Dense, "
                                 f"{b!r}, takes {b.in_features}")
        self.in_features = dense[0].in_features if dense else None
        self.out_features = dense[-1].out_features if dense else None
        # forward's plan: (layer, None) or (Dense, the ReLU right after it, fused into it)
        self._plan, i = [], 0
        while i < len(self.layers):
            layer, after = self.layers[i], self.layers[i + 1: i + 2]
            fused = isinstance(layer, Dense) and after and type(after[0]) is ReLU
            self._plan.append((layer, after[0] if fused else None))
            i += 2 if fused else 1
        self._named = [(f"{i}.{name}", p) for i, layer in enumerate(self.layers)
                       for name, p in layer.named_parameters()]
        trainable = [i for i, layer in enumerate(self.layers) if layer.named_parameters()]
        first = trainable[0] if trainable else len(self.layers)
        # backward runs from the last layer down to the first with parameters, which computes
        # no input gradient: (backward, input_grad, is a Dense, the ReLU before that Dense whose
        # backward it runs fused, or None). A Dense can write the gradients of its parameters
        # instead of accumulating.
        self._backward_steps, i = [], len(self.layers) - 1
        while i >= first:
            layer = self.layers[i]
            dense = isinstance(layer, Dense)
            relu = (self.layers[i - 1] if dense and i - 1 > first
                    and type(self.layers[i - 1]) is ReLU else None)
            self._backward_steps.append((layer.backward, i > first, dense, relu))
            i -= 2 if relu is not None else 1
        # the parameters of other layers (user-defined ones): zeroed before a writing backward
        self._accumulated = [p for layer in layers if not isinstance(layer, Dense)
                             for _, p in layer.named_parameters()]
        self._output_shape = None  # of the last forward, for backward's check

    # -- parameters ------------------------------------------------------------------------

    def named_parameters(self):
        """``[("0.weight", Parameter), ("0.bias", ...), ...]``: layer index, then name."""
        return list(self._named)

    def parameters(self):
        """The Parameter objects (``.data``, ``.grad``) every steepest.optim optimizer takes."""
        return [p for _, p in self._named]

    def zero_grad(self):
        """Zero every parameter's gradient (backward accumulates into it)."""
        for _, p in self._named:
            if p.grad is None:
                p.grad = np.zeros_like(p.data)
            else:
                p.grad.fill(0)

    def state_dict(self):
        """``{name: copy of the parameter's array}``."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state_dict):
        """Copy the arrays of ``state_dict`` into the parameters, in place (cast to their
        dtype from another floating-point dtype; an integer, bool or complex array is refused).
        The names and shapes must match exactly; nothing changes otherwise."""
        named = dict(self.named_parameters())
        missing = sorted(set(named) - set(state_dict))
        unexpected = sorted(set(state_dict) - set(named))
        if missing or unexpected:
            raise ValueError(f"load_state_dict: missing {missing}, unexpected {unexpected}")
        arrays = {}
        for name, p in named.items():
            arrays[name] = loadable(state_dict[name], p.data, f"load_state_dict: {name!r}")
        for name, p in named.items():
            np.copyto(p.data, arrays[name], casting="same_kind")

    # -- forward / backward ----------------------------------------------------------------

    def forward(self, x, training=True):
        """The model's output (B, out_features) for x (B, in_features), as a new array.
        ``training`` turns Dropout on; a float64 x given to a float32 model (or the reverse)
        is converted. x is not checked for NaN here (``predict`` and ``fit`` check), and is
        kept, not copied, for backward: change it only after the backward."""
        x = self._input(x, "x", finite=False)
        return self._forward(x, training).copy()

    def backward(self, dout):
        """Backpropagate dL/dout (the last forward's output shape) through the model,
        accumulating into every parameter's ``.grad``."""
        if self._output_shape is None:
            raise RuntimeError("backward called before forward")
        if not isinstance(dout, np.ndarray) or dout.shape != self._output_shape:
            raise ValueError(f"dout must be an array of the last output's shape "
                             f"{self._output_shape}, got "
                             f"{getattr(dout, 'shape', type(dout).__name__)}")
        self._backward(np.ascontiguousarray(dout, dtype=self.dtype))

    def predict(self, x, batch_size=1024):
        """The output for every row of x, at inference (no dropout), ``batch_size`` rows at a
        time; a new array. A forward's pending backward is not disturbed."""
        x = self._input(x, "x")
        batch_size = checks.positive_int(batch_size, "batch_size")
        out = None
        for start in range(0, len(x), batch_size):
            y = self._infer(x[start:start + batch_size])
            if out is None:
                out = np.empty((len(x),) + y.shape[1:], y.dtype)
            out[start:start + len(y)] = y
        if out is None:  # no rows
            out = np.empty((0, self.out_features), self.dtype)
        return out

    def fit(self, X, y, **kwargs):
        return _fit(self, X, y, **kwargs)

    fit.__doc__ = _fit.__doc__

    def evaluate(self, X, y, loss, metric="auto", batch_size=1024):
        """``{"loss": mean loss, <metric>: value}`` over (X, y), at inference."""
        return _evaluate(self, X, y, loss=loss, metric=metric, batch_size=batch_size)

    def _input(self, x, name, finite=True):
        if self.in_features is None:
            raise ValueError("the model has no Dense layer, so no input size")
        return checks.features(x, self.in_features, self.dtype, name, finite)

    def _forward(self, x, training):
        """The output in the last layer's buffer (overwritten by the next forward)."""
        for layer, relu in self._plan:
            if relu is None:
                x = layer.forward(x, training)
            else:
                x = relu.follow_fused(layer.forward(x, training, relu=True))
        self._output_shape = x.shape
        return x

    def _infer(self, x):
        """The output at inference, in buffers of its own: a pending backward is unaffected."""
        for layer, relu in self._plan:
            x = layer.infer(x) if relu is None else layer.infer(x, relu=True)
        return x

    def _backward(self, dout, accumulate=True):
        """With ``accumulate=False``, zero_grad() then backward: the Dense layers write their
        gradients instead of adding to zeros (bitwise the same, without the zeroing pass); every
        one is reached, backward stops only before the first layer with parameters."""
        if not accumulate:
            for p in self._accumulated:
                if p.grad is not None:
                    p.grad.fill(0)
        for backward, input_grad, dense, relu in self._backward_steps:
            if dense:
                dout = backward(dout, input_grad, accumulate=accumulate, relu=relu)
            else:
                dout = backward(dout, input_grad)

    def __repr__(self):
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)"
