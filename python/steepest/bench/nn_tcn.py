"""The TCN of our users (a spec for bench/seq_models.py).

The model: windows (64, 64, 45) (batch, time steps, features), a 1x1 Conv1d to 64 channels,
four TCNBlocks (kernel 3, dilations 1, 2, 4, 8, 64 channels, causal), the last time step,
Dense(64, 1); float32. PyTorch: the same architecture as torch users write it (Conv1d on
(B, C, T), causal by left padding), the same initial weights.

Products: per convolution of c_in channels and k taps, forward (B*T, c_in*k) x (c_in*k, C), dx
(B*T, C*k) x (C*k, c_in) (not for the first), dW (C, B*T) x (B*T, c_in*k): a convolution's
im2col matrices, which our Conv1d reads in place.
"""

from steepest import nn

from . import seq_models

NAME = "TCN"
B, T, F, C, K = 64, 64, 45, 64, 3
DILATIONS = (1, 2, 4, 8)
TITLE = f"TCN training step (windows {B}x{T}x{F}, 4 TCNBlocks of {C} channels, AdamW)"


def steepest_model(seed=0):
    return nn.Sequential(nn.Conv1d(F, C, 1, seed=seed),
                         *[nn.TCNBlock(C, C, K, dilation=d, seed=seed + 1 + i)
                           for i, d in enumerate(DILATIONS)],
                         nn.LastStep(), nn.Dense(C, 1, seed=seed + 9))


def data(seed=0):
    return seq_models.windows(B, T, F, seed)


def torch_model():
    """The TCN in torch.nn with steepest_model()'s initial weights, on (B, T, F) windows."""
    import torch

    class Block(torch.nn.Module):
        def __init__(self, d):
            super().__init__()
            self.pad = (K - 1) * d
            self.conv1 = torch.nn.Conv1d(C, C, K, dilation=d)
            self.conv2 = torch.nn.Conv1d(C, C, K, dilation=d)

        def forward(self, x):  # (B, C, T): pad the past only
            h = torch.relu(self.conv1(torch.nn.functional.pad(x, (self.pad, 0))))
            h = torch.relu(self.conv2(torch.nn.functional.pad(h, (self.pad, 0))))
            return torch.relu(h + x)

    class TCN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.Sequential(torch.nn.Conv1d(F, C, 1),
                                            *[Block(d) for d in DILATIONS])
            self.head = torch.nn.Linear(C, 1)

        def forward(self, x):  # x (B, T, F), as torch users transpose it for Conv1d
            return self.head(self.body(x.transpose(1, 2))[:, :, -1])

    return seq_models.copy_weights(steepest_model(), TCN())


def products():
    out = []
    for c_in, taps, dx in [(F, 1, False)] + [(C, K, True)] * (2 * len(DILATIONS)):
        out.append((B * T, C, c_in * taps, False, False))
        if dx:
            out.append((B * T, c_in, C * taps, False, False))
        out.append((C, c_in * taps, B * T, True, False))
    return out


if __name__ == "__main__":
    import sys

    raise SystemExit(seq_models.main(sys.modules[__name__]))
