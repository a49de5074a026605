"""Sequential: layers applied in order, their parameters, and the training entry points.

    model = Sequential(Dense(64, 256, seed=0), ReLU(), Dense(256, 10, seed=1))
    history = model.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=10)
    labels = model.predict(X_test).argmax(1)

Sequential knows no layer by type: shapes and dtype come from the layer protocol (layers.Layer),
and fusions from the capabilities layers offer. A layer followed by one whose ``as_epilogue``
it lists in its ``epilogue_activations`` applies it in its own forward (Dense then ReLU: one
product with the ReLU in its epilogue; the ReLU adopts y = relu(x W^T + b) for its backward).
In backward, a layer that ``takes_input_mask`` after one that offers ``input_mask()`` applies
that layer's backward inside its own dx (a ReLU before a Dense: dx = 0 where the ReLU's y <= 0,
else dy W). NaN propagates as in torch. In training the first layer with parameters computes no
input gradient, and the layers before it are skipped in backward.

A Sequential is itself a layer (a Block whose children are named by index: "0.weight"), so it
can sit inside another Sequential or a composite layer.
"""

import sys

import numpy as np

from . import checks
from .training import evaluate as _evaluate
from .training import fit as _fit
from .layers import Block, Layer

__all__ = ["Sequential"]


class Sequential(Block):
    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {i} is a {type(layer).__name__}, not a steepest.nn "
                                "Layer")
        if len({id(layer) for layer in layers}) != len(layers):
            raise ValueError("a layer appears twice in the model (its buffers would be shared)")
        self.layers = list(layers)
        self._dtype = Block.dtype.fget(self) or np.dtype(np.float32)  # TypeError if mixed
        # the input's last dimension, when the first layer fixes one (for a clear message)
        self.in_features = getattr(layers[0], "in_features", None) if layers else None
        self._shapes = {}  # input feature shape -> output feature shape, checked once each
        # the input shape, when the first layer fixes it; else each new one is checked at the
        # first forward, predict or fit that brings it
        self.input_shape = layers[0].input_shape if layers else None
        if self.input_shape is not None:
            self.output_shape(self.input_shape)
        # forward's plan: (forward, infer, epilogue, adopt): a layer alone (epilogue None), or
        # a layer applying the next one (an activation named `epilogue`) in its own forward,
        # whose result that next layer adopts.
        self._plan, i = [], 0
        while i < len(layers):
            layer, after = layers[i], layers[i + 1] if i + 1 < len(layers) else None
            act = after.as_epilogue if after is not None else None
            if act is not None and act in layer.epilogue_activations:
                self._plan.append((layer.forward, layer.infer, act, after.adopt_output))
                i += 2
            else:
                self._plan.append((layer.forward, layer.infer, None, None))
                i += 1
        self._backward_plans = {False: self._backward_plan(False),
                                True: self._backward_plan(True)}
        self._output_shape = None  # of the last forward, for backward's check

    def _backward_plan(self, input_grad):
        """(backward, input_grad, input_mask or None) from the last layer down. Without an
        input gradient the plan stops at the first layer with parameters, which computes no dx.
        A layer that takes an input mask runs the backward of a masking layer before it (whose
        own step is then skipped)."""
        layers = self.layers
        if input_grad:
            first = 0
        else:
            first = next((i for i, layer in enumerate(layers) if layer.named_parameters()),
                         len(layers))
        steps, i = [], len(layers) - 1
        while i >= first:
            layer, before = layers[i], layers[i - 1] if i > first else None
            dx = input_grad or i > first
            if dx and before is not None and before.as_input_mask and layer.takes_input_mask:
                steps.append((layer.backward, True, before.input_mask))
                i -= 2
            else:
                steps.append((layer.backward, dx, None))
                i -= 1
        return steps

    # -- the protocol ----------------------------------------------------------------------

    def children(self):
        return [(str(i), layer) for i, layer in enumerate(self.layers)]

    @property
    def dtype(self):
        """The layers' dtype (float32 when none has parameters)."""
        return self._dtype

    def output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        shape = self._shapes.get(input_shape)
        if shape is None:
            shape = self._shapes[input_shape] = super().output_shape(input_shape)
        return shape

    def forward(self, x, training=True):
        """The model's output (B, *out) for x (B, *features), as a new array.
        ``training`` turns Dropout on; a float64 x given to a float32 model (or the reverse)
        is converted. x is not checked for NaN here (``predict`` and ``fit`` check), and is
        kept, not copied, for backward: change it only after the backward."""
        x = self._input(x, "x", finite=False)
        return self._forward(x, training).copy()

    def backward(self, dout, *, input_grad=True, write=False):
        """Backpropagate dL/dout (the last forward's output shape) through the model, adding to
        every parameter's ``.grad`` (``write=True``: writing it). Returns dL/dx (in the first
        layer's buffer), or None with ``input_grad=False`` (the first layer with parameters
        then computes no input gradient)."""
        if self._output_shape is None:
            raise RuntimeError("backward called before forward")
        if not isinstance(dout, np.ndarray) or dout.shape != self._output_shape:
            raise ValueError(f"dout must be an array of the last output's shape "
                             f"{self._output_shape}, got "
                             f"{getattr(dout, 'shape', type(dout).__name__)}")
        return self._backward(np.ascontiguousarray(dout, dtype=self.dtype),
                              input_grad=input_grad, write=write)

    def infer(self, x):
        """The output at inference in the last layer's buffer; a pending backward is kept."""
        return self._infer(self._input(x, "x", finite=False))

    def predict(self, x, batch_size=1024):
        """The output for every row of x, at inference (no dropout), ``batch_size`` rows at a
        time; a new array. A forward's pending backward is not disturbed."""
        x = self._input(x, "x")
        batch_size = checks.positive_int(batch_size, "batch_size")
        out = np.empty((len(x),) + self.output_shape(x.shape[1:]), self.dtype)
        for start in range(0, len(x), batch_size):
            y = self._infer(x[start:start + batch_size])
            out[start:start + len(y)] = y
        return out

    def predict_proba(self, x, batch_size=1024, multilabel=False):
        """Class probabilities (n, outputs), float64, from the logits ``predict`` gives: the
        softmax over the outputs (cross_entropy's classes), or the sigmoid of each output for a
        model with one output or with ``multilabel=True`` (bce_with_logits: the probability of
        class 1 of each output)."""
        z = self.predict(x, batch_size).astype(np.float64)
        if z.ndim != 2:
            raise ValueError(f"predict_proba needs outputs (n, classes), got {z.shape}")
        if z.shape[1] == 1 or multilabel:
            return np.exp(-np.logaddexp(0.0, -z))  # sigmoid(z), stable for large |z|
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def summary(self, input_shape=None, file=sys.stdout):
        """The layers, their output shapes and parameter counts as a table, printed to
        ``file`` (as Keras's summary; returns None), or returned as a string with file=None. ``input_shape`` (without the batch
        dimension, e.g. (30, 45)) gives the shapes; without it the first layer's fixed input
        shape or the last one the model saw is used, else the shapes are left out."""
        shape = input_shape or self.input_shape or next(reversed(self._shapes), None)
        shape = None if shape is None else tuple(shape)
        rows = [("layer", "output shape", "parameters")]
        total = 0
        for i, layer in enumerate(self.layers):
            if shape is not None:
                shape = layer.output_shape(shape)
            count = sum(p.data.size for _, p in layer.named_parameters())
            total += count
            rows.append((f"{i}: {layer!r}",
                         "?" if shape is None else "(B, " + ", ".join(map(str, shape)) + ")",
                         f"{count:,}"))
        widths = [max(len(r[c]) for r in rows) for c in range(3)]
        lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}" for a, b, c in rows]
        rule = "-" * (sum(widths) + 4)
        text = "\n".join(lines[:1] + [rule] + lines[1:] +
                         [rule, f"parameters: {total:,} ({self.dtype})"])
        if file is None:
            return text
        print(text, file=file)

    def fit(self, X, y, **kwargs):
        return _fit(self, X, y, **kwargs)

    fit.__doc__ = _fit.__doc__

    def evaluate(self, X, y, loss, metric="auto", batch_size=1024):
        """``{"loss": mean loss, <metric>: value}`` over (X, y), at inference."""
        return _evaluate(self, X, y, loss=loss, metric=metric, batch_size=batch_size)

    def _input(self, x, name, finite=True):
        """x as a C-contiguous array of the model's dtype whose feature shape the layers take
        (ValueError naming ``name`` and the layer otherwise)."""
        x = checks.batch(x, self.dtype, name, self.in_features, finite)
        try:
            self.output_shape(x.shape[1:])
        except ValueError as e:
            raise ValueError(f"{name} of shape {x.shape} does not fit the model: {e}") from None
        return x

    def _forward(self, x, training):
        """The output in the last layer's buffer (overwritten by the next forward)."""
        for forward, _, epilogue, adopt in self._plan:
            if epilogue is None:
                x = forward(x, training)
            else:
                x = adopt(forward(x, training, epilogue=epilogue))
        self._output_shape = x.shape
        return x

    def _infer(self, x):
        """The output at inference, in buffers of its own: a pending backward is unaffected."""
        for _, infer, epilogue, _ in self._plan:
            x = infer(x) if epilogue is None else infer(x, epilogue=epilogue)
        return x

    def _backward(self, dout, input_grad=False, write=True):
        """Without ``input_grad`` the layers before the first with parameters are skipped.
        ``write=True`` is zero_grad() then backward, without the zeroing pass."""
        for backward, dx, input_mask in self._backward_plans[input_grad]:
            if input_mask is None:
                dout = backward(dout, input_grad=dx, write=write)
            else:
                dout = backward(dout, input_grad=True, write=write, input_mask=input_mask())
        return dout

    def __repr__(self):
        return "Sequential(" + self._extra_repr() + ")"
