"""The LSTM of our users (two specs for bench/seq_models.py: hidden 64 and hidden 128).

The model: windows (64, 64, 45) (batch, time steps, features), one LSTM layer of H units
(torch.nn.LSTM's layout), the last time step, Dense(H, 1); float32. PyTorch: torch.nn.LSTM
(batch_first=True), the last step, Linear(H, 1), the same initial weights.

Products, G = 4H: forward, the input projection of all steps (B*T, F) x (F, G) and one recurrent
product (B, H) x (H, G) per step from the second on (h_{-1} = 0 needs none); backward, one
(B, G) x (G, H) per step but the first (dh_{t-1}), dW_ih (G, B*T) x (B*T, F) and dW_hh
(G, B*T) x (B*T, H) (no dX: the LSTM is the first layer). The head's tiny products are left out.
"""

from steepest import nn

from . import seq_models

B, T, F = 64, 64, 45


class LstmSpec:
    """The model at hidden size ``hidden``."""

    MODULE = __spec__.name if __spec__ else __name__  # for seq_models.main

    def __init__(self, hidden):
        self.H = hidden
        self.NAME = f"LSTM-h{hidden}"
        self.TITLE = (f"LSTM training step (windows {B}x{T}x{F}, one LSTM layer of {hidden}, "
                      f"last step, Dense({hidden}, 1), AdamW)")
        self.__doc__ = __doc__

    def steepest_model(self, seed=0):
        return nn.Sequential(nn.LSTM(F, self.H, seed=seed), nn.LastStep(),
                             nn.Dense(self.H, 1, seed=seed + 1))

    def data(self, seed=0):
        return seq_models.windows(B, T, F, seed)

    def torch_model(self):
        """The model in torch.nn with steepest_model()'s initial weights, on (B, T, F) windows."""
        import torch

        class Net(torch.nn.Module):
            def __init__(self, hidden):
                super().__init__()
                self.lstm = torch.nn.LSTM(F, hidden, batch_first=True)
                self.head = torch.nn.Linear(hidden, 1)

            def forward(self, x):
                return self.head(self.lstm(x)[0][:, -1])

        return seq_models.copy_weights(self.steepest_model(), Net(self.H))

    def products(self):
        G, H = 4 * self.H, self.H
        return ([(B * T, G, F, False, True)] + [(B, G, H, False, True)] * (T - 1)
                + [(B, H, G, False, False)] * (T - 1)
                + [(G, F, B * T, True, False), (G, H, B * T, True, False)])


H64, H128 = LstmSpec(64), LstmSpec(128)
SPECS = (H64, H128)


if __name__ == "__main__":
    import sys

    raise SystemExit(max(seq_models.main(spec) for spec in SPECS))
