"""Recurrent layers on sequences of shape (B, T, F): LSTM and GRU, on their shared base
``Recurrent``.

Parameters, names, layouts, gate orders and initialization are torch.nn's, so a torch
state_dict loads and gives the same outputs; the data is batch first (torch's
``batch_first=True``). Each layer of the stack runs its whole time loop in one C++ call per
direction (``steepest.nn.functional``); the output is the whole sequence (B, T, H): put
``LastStep()`` after the layer for the last step alone.
"""

import math
import numbers

import numpy as np

from . import functional as F
from . import init as initializers
from .checks import check_finite, positive_int
from .layers import Dropout, Layer, Parameter, _check_dtype, _check_dy, _grads

__all__ = ["Recurrent", "LSTM", "GRU"]


class Recurrent(Layer):
    """A stack of ``num_layers`` recurrent layers over x (B, T, input_size) -> y (B, T,
    hidden_size), the output sequence of the last layer. Layer k > 0 reads layer k - 1's output
    through dropout (probability ``dropout``, while training; none after the last layer), as
    torch.nn.LSTM / GRU do.

    Parameters of layer k, torch's names and shapes (G gates; F_0 = input_size, else
    hidden_size): ``weight_ih_l{k}`` (G H, F_k), ``weight_hh_l{k}`` (G H, H), ``bias_ih_l{k}``,
    ``bias_hh_l{k}`` (G H,) (without ``bias=False``), drawn in that order, layer by layer, from
    ``seed`` (int, Generator or None), then the dropout seeds. ``init``:

    - "torch" (the default): all from U(-1/sqrt(H), 1/sqrt(H)), torch.nn.LSTM / GRU's;
    - "keras": Keras's LSTM / GRU defaults: weight_ih glorot_uniform (fans F_k and G H),
      weight_hh orthogonal, biases zero but the LSTM forget gate's bias_ih, 1 (unit_forget_bias);
    - a dict with any of the keys "weight_ih", "weight_hh", "bias": an initializer of
      ``steepest.nn.init`` by name or a callable ``init(shape, seed=..., dtype=...)`` (the keys
      left out keep torch's uniform; "bias" draws bias_ih and bias_hh alike).

    ``forward(x, training=True, initial_state=None)`` and ``infer(x, initial_state=None)``:
    ``initial_state`` is the states at t = -1, each (num_layers, B, H) (None: zeros); after the
    call ``final_state`` holds the states at t = T - 1 in the same form (overwritten by the next
    call of the same kind). The backward treats the initial states as constants and the final
    states' gradients as zero (truncated backpropagation through time at the window's edges).

    A subclass sets ``gate_count`` (G) and ``state_names`` and supplies the per-layer kernel
    calls: ``_saved_shapes``, ``_kernel_forward``, ``_kernel_backward``, ``_last_states``.
    """

    gate_count = None   # G
    state_names = ()    # ("h",) or ("h", "c"): initial_state is one array or a tuple of these

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, dropout=0.0,
                 init="torch", seed=None, dtype=np.float32):
        super().__init__()
        self.input_size = positive_int(input_size, "input_size")
        self.hidden_size = positive_int(hidden_size, "hidden_size")
        self.num_layers = positive_int(num_layers, "num_layers")
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"bias must be True or False, got {bias!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) \
                or not 0 <= dropout <= 1 or math.isnan(dropout):
            raise ValueError(f"dropout should be a number in range [0, 1] representing the "
                             f"probability of an element being zeroed, got {dropout!r}")
        dtype = _check_dtype(dtype)
        draws = self._initializers(init)  # every check before any draw
        self.bias, self.p, self.in_features = bool(bias), float(dropout), self.input_size
        rng = initializers.generator(seed)
        H, G = self.hidden_size, self.gate_count
        self._named = []  # [(name, Parameter)] in torch's order
        for k in range(self.num_layers):
            shapes = [(f"weight_ih_l{k}", (G * H, self.input_size if k == 0 else H)),
                      (f"weight_hh_l{k}", (G * H, H))]
            if self.bias:
                shapes += [(f"bias_ih_l{k}", (G * H,)), (f"bias_hh_l{k}", (G * H,))]
            for name, shape in shapes:
                kind = name[:-3]  # weight_ih, weight_hh, bias_ih, bias_hh
                data = draws[kind](shape, seed=rng, dtype=dtype)
                if not isinstance(data, np.ndarray) or data.shape != shape:
                    raise ValueError(f"init for {name} must return an array of shape {shape}, "
                                     f"got {getattr(data, 'shape', type(data).__name__)}")
                p = Parameter(np.ascontiguousarray(data, dtype=dtype))
                setattr(self, name, p)
                self._named.append((name, p))
        seeds = rng.integers(0, 2**63, size=self.num_layers - 1)
        self._dropouts = [Dropout(self.p, seed=int(s)) for s in seeds]
        self.final_state = None
        self._saved = None  # what backward reads: per layer (x_k, initial_k, y_k, saved_k)

    def _initializers(self, init):
        """{weight_ih, weight_hh, bias_ih, bias_hh: init(shape, seed=, dtype=)} from ``init``."""
        bound = 1.0 / math.sqrt(self.hidden_size)

        def uniform(shape, seed, dtype):  # torch's reset_parameters
            return seed.uniform(-bound, bound, size=shape).astype(dtype)

        if isinstance(init, str) and init == "torch":
            return dict.fromkeys(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), uniform)
        if isinstance(init, str) and init == "keras":
            return {"weight_ih": initializers.xavier_uniform, "weight_hh": initializers.orthogonal,
                    "bias_ih": self._keras_bias_ih, "bias_hh": initializers.zeros}
        if not isinstance(init, dict):
            raise ValueError(f'init must be "torch", "keras" or a dict of initializers with '
                             f'keys "weight_ih", "weight_hh", "bias", got {init!r}')
        unknown = set(init) - {"weight_ih", "weight_hh", "bias"}
        if unknown:
            raise ValueError(f'init takes the keys "weight_ih", "weight_hh" and "bias", got '
                             f'{sorted(map(repr, unknown))}')
        got = {key: initializers.get(value) for key, value in init.items()}
        return {"weight_ih": got.get("weight_ih", uniform),
                "weight_hh": got.get("weight_hh", uniform),
                "bias_ih": got.get("bias", uniform), "bias_hh": got.get("bias", uniform)}

    def _keras_bias_ih(self, shape, seed, dtype):
        """Keras's bias: zeros (an LSTM overrides it with its unit forget bias)."""
        return np.zeros(shape, dtype)

    @property
    def dtype(self):
        return self._named[0][1].data.dtype

    def named_parameters(self):
        return list(self._named)

    def layer_parameters(self, k):
        """Layer k's (weight_ih, weight_hh, bias_ih, bias_hh) arrays (biases None if bias=False)."""
        w_ih, w_hh = getattr(self, f"weight_ih_l{k}").data, getattr(self, f"weight_hh_l{k}").data
        if not self.bias:
            return w_ih, w_hh, None, None
        return w_ih, w_hh, getattr(self, f"bias_ih_l{k}").data, getattr(self, f"bias_hh_l{k}").data

    def output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 2 or input_shape[0] < 1 or input_shape[1] != self.input_size:
            raise ValueError(f"{self!r} takes inputs of shape (batch, steps, {self.input_size}), "
                             f"got (batch, {', '.join(map(str, input_shape))})")
        return (input_shape[0], self.hidden_size)

    # -- the subclass's part ------------------------------------------------------------------
    def _saved_shapes(self, batch, steps):
        """``{name: shape}``: the arrays besides y that a layer's forward saves for backward."""
        raise NotImplementedError

    def _kernel_forward(self, k, x, initial, y, saved):
        """Layer k over x (B, T, F_k): writes y (B, T, H) and the arrays of ``saved``;
        ``initial`` has one (B, H) array or None per state."""
        raise NotImplementedError

    def _kernel_backward(self, k, dy, x, initial, y, saved, dgates, dx, accumulate):
        """Layer k's backward from dy (B, T, H): parameter gradients (+)=, dx (B, T, F_k) written
        unless None; dgates (B, T, G H) is a workspace."""
        raise NotImplementedError

    def _last_states(self, y, saved):
        """The states at t = T - 1 of one layer, one (B, H) array per state."""
        raise NotImplementedError

    # -- the protocol -------------------------------------------------------------------------
    def forward(self, x, training=True, initial_state=None):
        y, self._saved = self._run(x, training, initial_state, "")
        return y

    def infer(self, x, initial_state=None):
        return self._run(x, False, initial_state, "_infer")[0]

    def _run(self, x, training, initial_state, kind):
        x = self._check_input(x)
        batch, steps, _ = x.shape
        initial = self._initial(initial_state, batch, kind)  # every check before any work
        saved_layers = []
        for k in range(self.num_layers):
            if k > 0 and kind == "":
                x = self._dropouts[k - 1].forward(x, training)
            y = self._buffers.get(f"y_l{k}{kind}", (batch, steps, self.hidden_size), self.dtype)
            saved = {name: self._buffers.get(f"{name}_l{k}{kind}", shape, self.dtype)
                     for name, shape in self._saved_shapes(batch, steps).items()}
            initial_k = tuple(None if s is None else s[k] for s in initial)
            self._kernel_forward(k, x, initial_k, y, saved)
            saved_layers.append((x, initial_k, y, saved))
            x = y
        final = []
        for i, name in enumerate(self.state_names):
            state = self._buffers.get(f"final_{name}{kind}",
                                      (self.num_layers, batch, self.hidden_size), self.dtype)
            for k, (_, _, y, saved) in enumerate(saved_layers):
                state[k] = self._last_states(y, saved)[i]
            final.append(state)
        self.final_state = final[0] if len(final) == 1 else tuple(final)
        return x, saved_layers

    def _check_input(self, x):
        if not isinstance(x, np.ndarray) or x.ndim != 3 or x.shape[2] != self.input_size \
                or 0 in x.shape:
            raise ValueError(f"{self!r}: x must be a 3-d array (batch, steps, {self.input_size}), "
                             f"got {getattr(x, 'shape', type(x).__name__)}")
        if x.dtype != self.dtype:
            raise TypeError(f"{self!r}: x must have the layer's dtype {self.dtype}, got {x.dtype}")
        if not np.isfinite(x.sum()):  # one pass; the exact check only when something is off
            check_finite(x, "x")
        return np.ascontiguousarray(x)

    def _initial(self, initial_state, batch, kind):
        """One (num_layers, B, H) array per state (copied into a buffer), or None per state."""
        names = self.state_names
        if initial_state is None:
            return (None,) * len(names)
        states = (initial_state,) if len(names) == 1 else initial_state
        form = ("an array h0" if len(names) == 1
                else f"a tuple ({', '.join(n + '0' for n in names)}) of arrays")
        if (len(names) > 1 and not isinstance(states, (tuple, list))) or len(states) != len(names):
            raise TypeError(f"initial_state must be {form}, got {type(initial_state).__name__}")
        shape = (self.num_layers, batch, self.hidden_size)
        for name, s in zip(names, states):
            if not isinstance(s, np.ndarray) or s.shape != shape or s.dtype.kind != "f":
                raise ValueError(f"initial_state: {name}0 must be a float array of shape {shape} "
                                 f"(num_layers, batch, hidden_size), got "
                                 f"{getattr(s, 'shape', type(s).__name__)}")
            check_finite(s, f"initial_state: {name}0")
        copies = []
        for name, s in zip(names, states):
            buffer = self._buffers.get(f"initial_{name}{kind}", shape, self.dtype)
            np.copyto(buffer, s, casting="same_kind")
            copies.append(buffer)
        return tuple(copies)

    def backward(self, dy, *, input_grad=True, write=False):
        if self._saved is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        y_last = self._saved[-1][2]
        _check_dy(self, dy, y_last.shape)
        if dy.dtype != self.dtype:
            raise TypeError(f"{type(self).__name__}.backward: dy must have the layer's dtype "
                            f"{self.dtype}, got {dy.dtype}")
        dy = np.ascontiguousarray(dy)
        _grads(self.parameters())
        batch, steps, H = y_last.shape
        dgates = self._buffers.get("dgates", (batch, steps, self.gate_count * H), self.dtype)
        dx = None
        for k in reversed(range(self.num_layers)):
            x, initial, y, saved = self._saved[k]
            dx = self._buffers.get(f"dx_l{k}", x.shape, self.dtype) if k > 0 or input_grad \
                else None
            self._kernel_backward(k, dy, x, initial, y, saved, dgates, dx, not write)
            if k > 0:
                dy = self._dropouts[k - 1].backward(dx)
        return dx

    def _extra_repr(self):
        return (f"{self.input_size}, {self.hidden_size}"
                + ("" if self.num_layers == 1 else f", num_layers={self.num_layers}")
                + ("" if self.bias else ", bias=False")
                + ("" if self.p == 0 else f", dropout={self.p}")
                + ("" if self.dtype == np.float32 else f", dtype={self.dtype}"))


class LSTM(Recurrent):
    """Long short-term memory (Hochreiter & Schmidhuber 1997), torch.nn.LSTM(batch_first=True)'s
    equations, per layer and step t (h_{-1} = h0, c_{-1} = c0, zeros by default):

        i = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)        f = σ(W_if x_t + ... )
        g = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)     o = σ(W_io x_t + ... )
        c_t = f c_{t-1} + i g                               h_t = o tanh(c_t)

    with ``weight_ih_l{k}`` = [W_ii W_if W_ig W_io] (4H, F_k) and so on (gate order i, f, g, o).
    y (B, T, H) = h_t of the last layer; ``initial_state`` and ``final_state`` are (h, c), each
    (num_layers, B, H). See ``Recurrent`` for the arguments.
    """

    gate_count = 4
    state_names = ("h", "c")

    def _keras_bias_ih(self, shape, seed, dtype):
        """Keras's unit_forget_bias: the forget gate's bias 1 (block f of i, f, g, o), else 0."""
        bias = np.zeros(shape, dtype)
        bias[self.hidden_size:2 * self.hidden_size] = 1
        return bias

    def _saved_shapes(self, batch, steps):
        H = self.hidden_size
        return {"c": (batch, steps, H), "gates": (batch, steps, 4 * H)}

    def _kernel_forward(self, k, x, initial, y, saved):
        w_ih, w_hh, b_ih, b_hh = self.layer_parameters(k)
        F.lstm_forward(x, w_ih, w_hh, b_ih, b_hh, *initial, out=y, c=saved["c"],
                       gates=saved["gates"])

    def _kernel_backward(self, k, dy, x, initial, y, saved, dgates, dx, accumulate):
        w_ih, w_hh, b_ih, b_hh = self.layer_parameters(k)
        grads = [None if a is None else getattr(self, f"{n}_l{k}").grad
                 for n, a in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"),
                                 (w_ih, w_hh, b_ih, b_hh))]
        F.lstm_backward(dy, x, y, saved["c"], saved["gates"], w_ih, w_hh, *grads, *initial,
                        dgates=dgates, dx=dx, input_grad=dx is not None, accumulate=accumulate)

    def _last_states(self, y, saved):
        return y[:, -1], saved["c"][:, -1]


class GRU(Recurrent):
    """Gated recurrent unit (Cho et al. 2014, "Learning Phrase Representations using RNN
    Encoder-Decoder for Statistical Machine Translation"), torch.nn.GRU(batch_first=True)'s
    equations, per layer and step t (h_{-1} = h0, zeros by default):

        r = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)        z = σ(W_iz x_t + ... )
        n = tanh(W_in x_t + b_in + r * (W_hn h_{t-1} + b_hn))
        h_t = (1 - z) * n + z * h_{t-1}

    with ``weight_ih_l{k}`` = [W_ir W_iz W_in] (3H, F_k) and so on (gate order r, z, n).
    y (B, T, H) = h_t of the last layer; ``initial_state`` and ``final_state`` are h, an array
    (num_layers, B, H). See ``Recurrent`` for the arguments.
    """

    gate_count = 3
    state_names = ("h",)

    def _saved_shapes(self, batch, steps):
        return {"gates": (batch, steps, 4 * self.hidden_size)}  # r, z, n, W_hn h + b_hn

    def _kernel_forward(self, k, x, initial, y, saved):
        w_ih, w_hh, b_ih, b_hh = self.layer_parameters(k)
        F.gru_forward(x, w_ih, w_hh, b_ih, b_hh, *initial, out=y, gates=saved["gates"])

    def _kernel_backward(self, k, dy, x, initial, y, saved, dgates, dx, accumulate):
        w_ih, w_hh, b_ih, b_hh = self.layer_parameters(k)
        grads = [None if a is None else getattr(self, f"{n}_l{k}").grad
                 for n, a in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"),
                                 (w_ih, w_hh, b_ih, b_hh))]
        # dgates: the input side's gate gradients; the recurrent side's differ in n's third
        dgates_hh = self._buffers.get("dgates_hh", dgates.shape, dgates.dtype)
        F.gru_backward(dy, x, w_ih, w_hh, y, saved["gates"], *grads, *initial, dx=dx,
                       input_grad=dx is not None, accumulate=accumulate, dgates_ih=dgates,
                       dgates_hh=dgates_hh)

    def _last_states(self, y, saved):
        return (y[:, -1],)
