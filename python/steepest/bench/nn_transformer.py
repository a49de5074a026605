"""The small Transformer encoder of our users (a spec for bench/seq_models.py).

The model: windows (64, 64, 45) (batch, time steps, features), Dense(45, 64), the sinusoidal
PositionalEncoding, two post-norm TransformerEncoderLayers (4 heads, feed-forward 128, ReLU,
dropout 0), the last time step, Dense(64, 1); float32. PyTorch: Linear, the same table added,
torch.nn.TransformerEncoder(batch_first=True) of two such layers, Linear; the same initial
weights.

Products: every dense product, forward (B*T, out, in), dx (B*T, in, out) (not for the first
layer), dweight (out, in, B*T); per encoder layer the packed Q, K, V projection (3 d_model
outputs), the output projection, linear1 and linear2; and the attention's per-head products,
each of the B * heads problems' (T, T) over d scores, (T, d) over T outputs, and in backward
dV, dP, dQ and dK, counted as one product per kind with the B * heads problems' rows stacked
(the same FLOPs and the same panel shapes).
"""

import numpy as np

from steepest import nn
from steepest.reference import nn as ref

from . import seq_models

NAME = "Transformer"
B, T, F, D, HEADS, FF, LAYERS = 64, 64, 45, 64, 4, 128, 2
TITLE = (f"Transformer training step (windows {B}x{T}x{F}, {LAYERS} encoder layers of d_model {D}, "
         f"{HEADS} heads, feed-forward {FF}, AdamW)")


def steepest_model(seed=0):
    return nn.Sequential(nn.Dense(F, D, seed=seed), nn.PositionalEncoding(D, max_len=T),
                         *[nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.0, seed=seed + 1 + i)
                           for i in range(LAYERS)],
                         nn.LastStep(), nn.Dense(D, 1, seed=seed + 9))


def data(seed=0):
    return seq_models.windows(B, T, F, seed)


def torch_model():
    """The Transformer in torch.nn with steepest_model()'s initial weights, on (B, T, F)."""
    import torch

    class Transformer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = torch.nn.Linear(F, D)
            layer = torch.nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.0, batch_first=True)
            self.encoder = torch.nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
            self.head = torch.nn.Linear(D, 1)
            pe = ref.positional_encoding(T, D).astype(np.float32)
            self.register_buffer("pe", torch.from_numpy(pe))

        def forward(self, x):  # x (B, T, F)
            return self.head(self.encoder(self.proj(x) + self.pe)[:, -1])

    return seq_models.copy_weights(steepest_model(), Transformer())


def products():
    rows, problems, d = B * T, B * HEADS, D // HEADS
    out = []

    def dense(inp, outp, dx=True):
        out.append((rows, outp, inp, False, True))       # y = x W^T
        if dx:
            out.append((rows, inp, outp, False, False))  # dx = dy W
        out.append((outp, inp, rows, True, False))       # dW = dy^T x

    dense(F, D, dx=False)
    for _ in range(LAYERS):
        dense(D, 3 * D)
        out += [(problems * T, T, d, False, True),   # S = Q K^T
                (problems * T, d, T, False, False),  # O = P V
                (problems * T, d, T, True, False),   # dV = P^T dO
                (problems * T, T, d, False, True),   # dP = dO V^T
                (problems * T, d, T, False, False),  # dQ = dS K
                (problems * T, d, T, True, False)]   # dK = dS^T Q
        dense(D, D)
        dense(D, FF)
        dense(FF, D)
    out += [(B, 1, D, False, True), (B, D, 1, False, False), (1, D, B, True, False)]
    return out


if __name__ == "__main__":
    import sys

    raise SystemExit(seq_models.main(sys.modules[__name__]))
