"""The GRU of our users (a spec for bench/seq_models.py).

The model: windows (64, 64, 45) (batch, time steps, features), one GRU layer of 64 units
(torch.nn.GRU's layout), the last time step, Dense(64, 1); float32. PyTorch: torch.nn.GRU
(batch_first=True), the last step, Linear(64, 1), the same initial weights.

Products, G = 3H: forward, the input projection of all steps (B*T, F) x (F, G) and one recurrent
product (B, H) x (H, G) per step from the second on (h_{-1} = 0 needs none); backward, one
(B, G) x (G, H) per step but the first (dh_{t-1}), dW_ih (G, B*T) x (B*T, F) and dW_hh
(G, B*T) x (B*T, H) (no dX: the GRU is the first layer). The head's tiny products are left out.
"""

from steepest import nn

from . import seq_models

NAME = "GRU"
B, T, F, H = 64, 64, 45, 64
TITLE = (f"GRU training step (windows {B}x{T}x{F}, one GRU layer of {H}, last step, "
         f"Dense({H}, 1), AdamW)")


def steepest_model(seed=0):
    return nn.Sequential(nn.GRU(F, H, seed=seed), nn.LastStep(), nn.Dense(H, 1, seed=seed + 1))


def data(seed=0):
    return seq_models.windows(B, T, F, seed)


def torch_model():
    """The model in torch.nn with steepest_model()'s initial weights, on (B, T, F) windows."""
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = torch.nn.GRU(F, H, batch_first=True)
            self.head = torch.nn.Linear(H, 1)

        def forward(self, x):
            return self.head(self.gru(x)[0][:, -1])

    return seq_models.copy_weights(steepest_model(), Net())


def products():
    G = 3 * H
    return ([(B * T, G, F, False, True)] + [(B, G, H, False, True)] * (T - 1)
            + [(B, H, G, False, False)] * (T - 1)
            + [(G, F, B * T, True, False), (G, H, B * T, True, False)])


if __name__ == "__main__":
    import sys

    raise SystemExit(seq_models.main(sys.modules[__name__]))
